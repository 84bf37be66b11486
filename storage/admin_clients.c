/*
 * admin_clients.c: the admin API's statements on clients (storage/admin.h).
 * Dynamic registration's insert is in clients.c; the snapshot the cache
 * keeps of a client is loaded in tenants.c.
 */
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/store.h"

int store_client_insert(struct dbtx *tx, const struct client_admin *c)
{
    const char *p[17] = {c->tenant_id,      c->client_id,     c->secret_hash,
                         c->client_name,    c->method,        c->grant_types,
                         c->response_types, c->redirect_uris, c->allowed_scopes,
                         c->allowed_resources, c->can_act_for, c->introspects,
                         c->may_impersonate, c->jwks,         c->jwks_uri,
                         c->bc_delivery,    c->bc_endpoint};
    return db_q(tx,
                "INSERT INTO clients (tenant_id, client_id, secret_hash, client_name, "
                "token_endpoint_auth_method, grant_types, response_types, redirect_uris, "
                "allowed_scopes, allowed_resources, can_act_for, introspects, may_impersonate, jwks, "
                "jwks_uri, backchannel_token_delivery_mode, backchannel_client_notification_endpoint) "
                "VALUES ($1, $2, $3, $4, $5, $6::text[], $7::text[], $8::text[], "
                "$9::text[], $10::text[], $11::text[], $12::text[], $13::boolean, $14::jsonb, $15, "
                "$16, $17)",
                17, p)
               ? 0
               : -1;
}

int store_client_update(struct dbtx *tx, const struct client_admin *c, bool keep_secret)
{
    const char *q[18] = {c->tenant_id,       c->client_id,     c->client_name,
                         c->method,          c->grant_types,   c->response_types,
                         c->redirect_uris,   c->allowed_scopes, c->allowed_resources,
                         c->can_act_for,     c->introspects,   c->may_impersonate,
                         c->jwks,            c->jwks_uri,      c->secret_hash,
                         keep_secret ? "keep" : "drop", c->bc_delivery, c->bc_endpoint};
    return db_q(tx,
                "UPDATE clients SET client_name = $3, token_endpoint_auth_method = $4, "
                "grant_types = $5::text[], response_types = $6::text[], redirect_uris = $7::text[], "
                "allowed_scopes = $8::text[], allowed_resources = $9::text[], "
                "can_act_for = $10::text[], introspects = $11::text[], may_impersonate = $12::boolean, "
                "jwks = $13::jsonb, jwks_uri = $14, "
                "secret_hash = CASE WHEN $16 = 'drop' THEN NULL ELSE coalesce($15, secret_hash) END, "
                "backchannel_token_delivery_mode = $17, backchannel_client_notification_endpoint = $18, "
                "updated_at = now() WHERE tenant_id = $1 AND client_id = $2",
                18, q)
               ? 0
               : -1;
}

int store_client_json(struct dbtx *tx, const char *tenant_id, const char *client_id,
                      const char **json)
{
    const char *p[2] = {tenant_id, client_id};
    PGresult *res = db_q(
        tx,
        "SELECT json_build_object('client_id', client_id, 'client_name', client_name, "
        "'token_endpoint_auth_method', token_endpoint_auth_method, 'grant_types', grant_types, "
        "'response_types', response_types, 'redirect_uris', redirect_uris, 'allowed_scopes', "
        "allowed_scopes, 'allowed_resources', allowed_resources, 'can_act_for', can_act_for, "
        "'introspects', introspects, 'may_impersonate', may_impersonate, 'jwks', jwks, 'jwks_uri', "
        "jwks_uri, 'dynamic', dynamic, 'client_id_issued_at', extract(epoch from created_at)::bigint, "
        "'backchannel_token_delivery_mode', backchannel_token_delivery_mode, "
        "'backchannel_client_notification_endpoint', backchannel_client_notification_endpoint, "
        "'created_at', " SQL_TS("created_at") ", 'updated_at', " SQL_TS("updated_at") ", "
        /* SPEC §13 */
        "'owner', owner, 'status', status, 'last_used_at', " SQL_TS("last_used_at") ")::text "
        "FROM clients WHERE tenant_id = $1 AND client_id = $2",
        2, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 0;
    *json = PQgetvalue(res, 0, 0);
    return 1;
}

int store_client_delete(struct dbtx *tx, const char *tenant_id, const char *client_id)
{
    const char *p[2] = {tenant_id, client_id};
    PGresult *res = db_q(
        tx, "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2 RETURNING 1", 2, p);
    if (!res)
        return -1;
    return PQntuples(res) > 0;
}
