-- 006_refresh_rotation: refresh tokens are rotated in batches (storage/rotate.c).
-- Every row is updated exactly once (rotated_at), so leave room on each page
-- for that new row version: the update is then HOT (no index entries
-- written), which was most of a rotation's cost. Rows already stored keep
-- their pages; new ones get the room.
ALTER TABLE refresh_tokens SET (fillfactor = 50);
-- A refresh token's tenant is its grant's, and grants already cascade from
-- tenants: the second foreign key only cost a check per rotation.
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_tenant_id_fkey;
