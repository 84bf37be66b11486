/*
 * tools.c: the PDP's tables (migration 009): resource_tools (the catalog of
 * each resource; its trigger drops every authzd's tenant snapshot, which
 * carries the catalog), resources.unknown_tools, the tenant's drift
 * settings, and agent_baseline (each agent's (server, tool) pairs; its
 * trigger drops every authzd's cached baseline of the tenant).
 */
#include "storage/tools.h"
#include "storage/db.h"
#include "storage/store.h"
#include "util/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOOL_JSON                                                                                  \
    "json_build_object('name', name, 'resource', resource, 'scopes', scopes, 'risk', risk, "      \
    "'approval', approval, 'created_at', " SQL_TS("created_at") ", 'updated_at', "                \
    SQL_TS("updated_at") ")"

int store_tool_put(struct dbtx *tx, const char *tenant_id, const char *resource, const char *name,
                   const char *scopes, const char *risk, const char *approval)
{
    const char *p[6] = {tenant_id, resource, name, scopes, risk, approval};
    PGresult *res = db_q(tx,
                         "INSERT INTO resource_tools (tenant_id, resource, name, scopes, risk, "
                         "approval) VALUES ($1::uuid, $2, $3, $4::text[], $5, $6) "
                         "ON CONFLICT (tenant_id, resource, name) DO UPDATE SET "
                         "scopes = EXCLUDED.scopes, risk = EXCLUDED.risk, "
                         "approval = EXCLUDED.approval, updated_at = now() RETURNING (xmax = 0)",
                         6, p);
    if (!res || PQntuples(res) != 1)
        return -1;
    return strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 1 : 0;
}

int store_tool_get(struct dbtx *tx, const char *tenant_id, const char *resource, const char *name,
                   const char **json)
{
    const char *p[3] = {tenant_id, resource, name};
    PGresult *res = db_q(tx,
                         "SELECT " TOOL_JSON "::text FROM resource_tools "
                         "WHERE tenant_id = $1::uuid AND resource = $2 AND name = $3",
                         3, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 0;
    *json = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    return 1;
}

int store_tool_list(struct dbtx *tx, const char *tenant_id, const char *resource, const char **json)
{
    const char *p[2] = {tenant_id, resource};
    PGresult *res = db_q(tx,
                         "SELECT json_build_object('resource', r.uri, 'unknown_tools', "
                         "r.unknown_tools, 'tools', coalesce((SELECT json_agg(" TOOL_JSON
                         " ORDER BY name COLLATE \"C\") FROM resource_tools t WHERE "
                         "t.tenant_id = r.tenant_id AND t.resource = r.uri), '[]'::json))::text "
                         "FROM resources r WHERE r.tenant_id = $1::uuid AND r.uri = $2",
                         2, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 0;
    *json = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    return 1;
}

int store_tool_delete(struct dbtx *tx, const char *tenant_id, const char *resource, const char *name)
{
    const char *p[3] = {tenant_id, resource, name};
    PGresult *res = db_q(tx,
                         "DELETE FROM resource_tools WHERE tenant_id = $1::uuid AND resource = $2 "
                         "AND name = $3 RETURNING 1",
                         3, p);
    if (!res)
        return -1;
    return PQntuples(res) > 0 ? 1 : 0;
}

int store_resource_exists(struct dbtx *tx, const char *tenant_id, const char *resource)
{
    const char *p[2] = {tenant_id, resource};
    PGresult *res = db_q(tx,
                         "SELECT 1 FROM resources WHERE tenant_id = $1::uuid AND uri = $2 FOR SHARE",
                         2, p);
    if (!res)
        return -1;
    return PQntuples(res) > 0 ? 1 : 0;
}

int store_tenant_drift_set(struct dbtx *tx, const char *tenant_id, const char *member,
                           const char *value)
{
    const char *p[2] = {tenant_id, value};
    const char *sql;
    if (!strcmp(member, "drift_mode"))
        sql = "UPDATE tenants SET drift_mode = $2, updated_at = now() WHERE id = $1::uuid";
    else if (!strcmp(member, "drift_window_days"))
        sql = "UPDATE tenants SET drift_window_days = $2::int, updated_at = now() WHERE id = $1::uuid";
    else if (!strcmp(member, "drift_webhook_url"))
        sql = "UPDATE tenants SET drift_webhook_url = $2, updated_at = now() WHERE id = $1::uuid";
    else
        return -1;
    return db_q(tx, sql, 2, p) ? 0 : -1;
}

int store_baseline_load(struct dbtx *tx, const char *tenant_id, int window_days,
                        void (*row)(void *arg, const char *client_id, const char *server,
                                    const char *tool, int64_t last_used, int64_t drift_at),
                        void *arg)
{
    char w[16];
    snprintf(w, sizeof w, "%d", window_days);
    const char *p[2] = {tenant_id, w};
    PGresult *res = db_q(tx,
                         "SELECT client_id, server, tool, "
                         "coalesce(extract(epoch FROM last_used)::bigint, 0), "
                         "coalesce(extract(epoch FROM drift_at)::bigint, 0) FROM agent_baseline "
                         "WHERE tenant_id = $1::uuid AND (last_used > now() - make_interval(days => $2::int) "
                         "OR drift_at > now() - make_interval(days => $2::int))",
                         2, p);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++)
        row(arg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
            strtoll(PQgetvalue(res, i, 3), NULL, 10), strtoll(PQgetvalue(res, i, 4), NULL, 10));
    return 0;
}

int store_baseline_lock(struct dbtx *tx, const char *tenant_id, const char *client_id,
                        const char *server, const char *tool, int window_days, bool *in_baseline,
                        bool *alerted)
{
    char w[16];
    snprintf(w, sizeof w, "%d", window_days);
    const char *p[5] = {tenant_id, client_id, server, tool, w};
    if (!db_q(tx,
              "INSERT INTO agent_baseline (tenant_id, client_id, server, tool) "
              "VALUES ($1::uuid, $2, $3, $4) ON CONFLICT DO NOTHING",
              4, p))
        return -1;
    PGresult *res = db_q(tx,
                         "SELECT coalesce(last_used > now() - make_interval(days => $5::int), false), "
                         "coalesce(drift_at > now() - make_interval(days => $5::int), false) "
                         "FROM agent_baseline WHERE tenant_id = $1::uuid AND client_id = $2 "
                         "AND server = $3 AND tool = $4 FOR UPDATE",
                         5, p);
    if (!res || PQntuples(res) != 1)
        return -1;
    *in_baseline = PQgetvalue(res, 0, 0)[0] == 't';
    *alerted = PQgetvalue(res, 0, 1)[0] == 't';
    return 0;
}

int store_baseline_record(struct dbtx *tx, const char *tenant_id, const char *client_id,
                          const char *server, const char *tool, int window_days, bool used,
                          bool drift)
{
    char w[16];
    snprintf(w, sizeof w, "%d", window_days);
    const char *p[7] = {tenant_id, client_id, server, tool, w, used ? "t" : "f", drift ? "t" : "f"};
    return db_q(tx,
                "UPDATE agent_baseline SET "
                "first_used = CASE WHEN $6::bool AND (last_used IS NULL OR last_used <= now() - "
                "make_interval(days => $5::int)) THEN now() ELSE first_used END, "
                "last_used = CASE WHEN $6::bool THEN now() ELSE last_used END, "
                "drift_at = CASE WHEN $7::bool THEN now() ELSE drift_at END "
                "WHERE tenant_id = $1::uuid AND client_id = $2 AND server = $3 AND tool = $4",
                7, p)
               ? 0
               : -1;
}

int store_baseline_list(struct dbtx *tx, const char *tenant_id, const char *client_id,
                        int window_days, const char **json)
{
    char w[16];
    snprintf(w, sizeof w, "%d", window_days);
    const char *p[3] = {tenant_id, client_id, w};
    PGresult *res = db_q(tx,
                         "SELECT json_build_object('client_id', $2::text, 'window_days', $3::int, "
                         "'baseline', coalesce(json_agg(json_build_object('server', server, "
                         "'tool', tool, 'first_used', " SQL_TS("first_used") ", 'last_used', "
                         SQL_TS("last_used") ") ORDER BY server, tool), '[]'::json))::text "
                         "FROM agent_baseline WHERE tenant_id = $1::uuid AND client_id = $2 "
                         "AND last_used > now() - make_interval(days => $3::int)",
                         3, p);
    if (!res || PQntuples(res) != 1)
        return -1;
    *json = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    return 0;
}
