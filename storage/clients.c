/*
 * clients.c: the clients table, for RFC 7591 dynamic registration. One
 * parameterized statement; the caller owns the transaction, so that the
 * client row and its audit row commit together.
 */
#include "storage/clients.h"
#include "storage/db.h"

#include <stdlib.h>
#include <string.h>

int store_client_register(struct dbtx *tx, const struct client_registration *c,
                          long long *issued_at)
{
    const char *p[11] = {c->tenant_id,      c->client_id,   c->secret_hash,
                         c->client_name,    c->method,      c->grant_types,
                         c->response_types, c->redirect_uris, c->jwks,
                         c->jwks_uri,       c->metadata};
    PGresult *res = db_q(tx,
                         "INSERT INTO clients (tenant_id, client_id, secret_hash, client_name, "
                         "token_endpoint_auth_method, grant_types, response_types, redirect_uris, "
                         "allowed_scopes, allowed_resources, can_act_for, introspects, "
                         "may_impersonate, jwks, jwks_uri, metadata, dynamic) "
                         "VALUES ($1::uuid, $2, $3, $4, $5, $6::text[], $7::text[], $8::text[], "
                         "'{}', '{}', '{}', '{}', false, $9::jsonb, $10, $11::jsonb, true) "
                         "RETURNING extract(epoch FROM created_at)::bigint",
                         11, p);
    if (!res)
        return strcmp(db_last_sqlstate(tx), "23505") == 0 ? 1 : -1;
    if (PQntuples(res) != 1)
        return -1;
    *issued_at = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return 0;
}
