/*
 * clients.h: clients registered through RFC 7591 dynamic registration
 * (storage/clients.c). Admin-created clients are written by
 * storage/admin_clients.c (storage/admin.h).
 */
#ifndef AUTHZ_CLIENTS_H
#define AUTHZ_CLIENTS_H

struct dbtx;

/* A dynamically registered client, as statement parameters. The lists are
 * PostgreSQL text[] literals; jwks and metadata are JSON text. */
struct client_registration {
    const char *tenant_id;
    const char *client_id;
    const char *secret_hash;      /* NULL: no secret (none, private_key_jwt) */
    const char *client_name;      /* NULL: none */
    const char *method;
    const char *grant_types;
    const char *response_types;
    const char *redirect_uris;
    const char *jwks;             /* NULL: none */
    const char *jwks_uri;         /* NULL: none */
    const char *metadata;         /* JSON object */
};

/* Inserts the client on tx->conn (inside the caller's transaction) with
 * dynamic = true and none of the fields only an administrator sets:
 * allowed_scopes, allowed_resources, can_act_for and introspects empty,
 * may_impersonate false. Returns 0 with *issued_at (seconds since the
 * epoch) set, 1 when client_id is already taken, -1 on any other failure
 * (tx->down when the database is gone). */
int store_client_register(struct dbtx *tx, const struct client_registration *c,
                          long long *issued_at);

#endif
