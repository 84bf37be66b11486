-- 010_task_details: task details (RFC 9396 authorization_details of type
-- mcp_tools, SPEC §12), in the normalized JSON form of authz/policy/details.h.
--
-- A consent holds the union of the details a person approved for a client
-- (step-up adds to it, as to its scopes); a grant (a code flow's, or a
-- session's: the grant whose id is the sid) holds the details its tokens
-- carry, and nothing derived from it carries more; a backchannel request
-- holds what the agent asked for until the person decides. NULL: none.
ALTER TABLE consents ADD COLUMN authorization_details jsonb;
ALTER TABLE grants ADD COLUMN authorization_details jsonb;
ALTER TABLE ciba_requests ADD COLUMN authorization_details jsonb;
