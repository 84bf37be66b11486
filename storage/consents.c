/*
 * consents.c: what a person allowed a client (SPEC §4.1): one row per
 * (tenant, person, client) holding the scopes and resources consented to.
 * A new consent adds to the old one (set union), so a later request for a
 * subset of everything ever allowed is not asked again. Its task details
 * (RFC 9396, SPEC §12) are united the same way, by the caller (the set
 * operation is policy/details.c's), inside the transaction that merged the
 * row.
 */
#include "storage/users.h"
#include "storage/db.h"
#include "util/arena.h"

#include <string.h>

int store_consent_get(struct dbtx *tx, const char *tenant_id, const char *user_id,
                      const char *client_id, struct scopeset *scopes, struct scopeset *resources)
{
    memset(scopes, 0, sizeof *scopes);
    memset(resources, 0, sizeof *resources);
    const char *p[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(tx,
                         "SELECT array_to_json(scopes)::text, array_to_json(resources)::text "
                         "FROM consents WHERE tenant_id = $1 AND user_id = $2::uuid "
                         "AND client_id = $3",
                         3, p);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    if (store_json_string_set(tx, PQgetvalue(res, 0, 0), scopes) < 0 ||
        store_json_string_set(tx, PQgetvalue(res, 0, 1), resources) < 0)
        return -1;
    return 1;
}

int store_consent_merge(struct dbtx *tx, const char *tenant_id, const char *user_id,
                        const char *client_id, const char *scopes_pg, const char *resources_pg)
{
    const char *p[5] = {tenant_id, user_id, client_id, scopes_pg, resources_pg};
    return db_q(tx,
                "INSERT INTO consents (tenant_id, user_id, client_id, scopes, resources) "
                "VALUES ($1, $2::uuid, $3, ARRAY(SELECT DISTINCT s FROM unnest($4::text[]) AS s ORDER BY s), "
                "ARRAY(SELECT DISTINCT x FROM unnest($5::text[]) AS x ORDER BY x)) "
                "ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET "
                "scopes = ARRAY(SELECT DISTINCT s FROM unnest(consents.scopes || EXCLUDED.scopes) "
                "AS s ORDER BY s), "
                "resources = ARRAY(SELECT DISTINCT x FROM "
                "unnest(consents.resources || EXCLUDED.resources) AS x ORDER BY x), "
                "updated_at = now()",
                5, p)
               ? 0
               : -1;
}

int store_consent_details_get(struct dbtx *tx, const char *tenant_id, const char *user_id,
                              const char *client_id, const char **details_json)
{
    *details_json = NULL;
    const char *p[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(tx,
                         "SELECT authorization_details::text FROM consents WHERE tenant_id = $1 "
                         "AND user_id = $2::uuid AND client_id = $3",
                         3, p);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    if (!PQgetisnull(res, 0, 0))
        *details_json = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    return 1;
}

int store_consent_details_set(struct dbtx *tx, const char *tenant_id, const char *user_id,
                              const char *client_id, const char *details_json)
{
    const char *p[4] = {tenant_id, user_id, client_id, details_json};
    return db_q(tx,
                "UPDATE consents SET authorization_details = $4::jsonb, updated_at = now() "
                "WHERE tenant_id = $1 AND user_id = $2::uuid AND client_id = $3",
                4, p)
               ? 0
               : -1;
}
