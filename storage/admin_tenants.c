/*
 * admin_tenants.c: the admin API's and authzctl's statements on tenants,
 * their signing keys' lifetime and their resources (storage/admin.h).
 * Creating a tenant and rotating keys are in tenants.c and keys.c.
 */
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/store.h"

#include <stdio.h>
#include <string.h>

/* One statement per setting: the column is never built from input. */
static const struct {
    const char *member, *sql;
} TENANT_SETTINGS[] = {
    {"registration_policy",
     "UPDATE tenants SET registration_policy = $2, updated_at = now() WHERE id = $1"},
    {"access_token_ttl",
     "UPDATE tenants SET access_token_ttl = $2::int, updated_at = now() WHERE id = $1"},
    {"max_session_ttl",
     "UPDATE tenants SET max_session_ttl = $2::int, updated_at = now() WHERE id = $1"},
    {"approval_webhook_url",
     "UPDATE tenants SET approval_webhook_url = $2, updated_at = now() WHERE id = $1"},
    {"approval_webhook_secret",
     "UPDATE tenants SET approval_webhook_secret = $2, updated_at = now() WHERE id = $1"},
    {"display_name", "UPDATE tenants SET display_name = $2, updated_at = now() WHERE id = $1"},
    {"signing_alg", "UPDATE tenants SET signing_alg = $2, updated_at = now() WHERE id = $1"},
};

int store_tenant_set(struct dbtx *tx, const char *tenant_id, const char *member, const char *value)
{
    for (size_t i = 0; i < sizeof TENANT_SETTINGS / sizeof TENANT_SETTINGS[0]; i++)
        if (!strcmp(member, TENANT_SETTINGS[i].member)) {
            const char *p[2] = {tenant_id, value};
            return db_q(tx, TENANT_SETTINGS[i].sql, 2, p) ? 0 : -1;
        }
    return -2;
}

int store_tenant_key_ttl_at_least(struct dbtx *tx, const char *tenant_id, const char *ttl)
{
    const char *p[2] = {tenant_id, ttl};
    return db_q(tx,
                "UPDATE signing_keys SET max_token_ttl = GREATEST(max_token_ttl, $2::int) "
                "WHERE tenant_id = $1 AND active",
                2, p)
               ? 0
               : -1;
}

int store_tenant_find(PGconn *c, const char *slug, char *id_out, char *alg_out, char *err,
                      size_t errlen)
{
    const char *v[1] = {slug};
    PGresult *res = pq_exec(c, "SELECT id, signing_alg FROM tenants WHERE slug = $1", 1, v, err,
                            errlen);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(id_out, 37, "%s", PQgetvalue(res, 0, 0));
        snprintf(alg_out, 16, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}

#define RESOURCE_JSON                                                                          \
    "json_build_object('uri', uri, 'scopes', scopes, 'scope_descriptions', scope_descriptions, " \
    "'unknown_tools', unknown_tools, 'created_at', " SQL_TS("created_at") ")"

int store_resource_create(struct dbtx *tx, const char *tenant_id, const char *uri,
                          const char *scopes_pg, const char *descriptions_json, const char **json)
{
    const char *p[4] = {tenant_id, uri, scopes_pg, descriptions_json};
    PGresult *res = db_q(tx,
                         "INSERT INTO resources (tenant_id, uri, scopes, scope_descriptions) "
                         "VALUES ($1, $2, $3::text[], $4::jsonb) ON CONFLICT (tenant_id, uri) "
                         "DO NOTHING RETURNING " RESOURCE_JSON "::text",
                         4, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 1;
    *json = PQgetvalue(res, 0, 0);
    return 0;
}

int store_resource_list(struct dbtx *tx, const char *tenant_id, const char **json)
{
    const char *p[1] = {tenant_id};
    PGresult *res = db_q(tx,
                         "SELECT coalesce(json_agg(" RESOURCE_JSON " ORDER BY uri), '[]')::text "
                         "FROM resources WHERE tenant_id = $1",
                         1, p);
    if (!res)
        return -1;
    *json = PQgetvalue(res, 0, 0);
    return 0;
}

int store_resource_patch(struct dbtx *tx, const char *tenant_id, const char *uri,
                         const char *descriptions_json, const char *unknown_tools, const char **json)
{
    const char *p[4] = {tenant_id, uri, descriptions_json, unknown_tools};
    PGresult *res = db_q(tx,
                         "UPDATE resources SET scope_descriptions = coalesce($3::jsonb, "
                         "scope_descriptions), unknown_tools = coalesce($4, unknown_tools) "
                         "WHERE tenant_id = $1 AND uri = $2 RETURNING " RESOURCE_JSON "::text",
                         4, p);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    *json = PQgetvalue(res, 0, 0);
    return 1;
}

int store_resource_delete(struct dbtx *tx, const char *tenant_id, const char *uri)
{
    const char *p[2] = {tenant_id, uri};
    PGresult *res =
        db_q(tx, "DELETE FROM resources WHERE tenant_id = $1 AND uri = $2 RETURNING 1", 2, p);
    if (!res)
        return -1;
    return PQntuples(res) > 0;
}
