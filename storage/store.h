/*
 * store.h: the storage functions, one file per aggregate. Every statement is
 * parameterized; nothing outside storage/ writes SQL.
 */
#ifndef AUTHZ_STORE_H
#define AUTHZ_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <jansson.h>

#include "policy/scope.h"

struct dbtx;
struct tenant;

/* RFC 3339 UTC rendering of a timestamptz column, for SELECT lists */
#define SQL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* migrate.c */
/* Applies pending migrations from dir/migrations; prints what it applied to
 * stdout. 0 on success. */
int store_migrate(PGconn *c, const char *dir, char *err, size_t errlen);
/* 0 when the schema is current, 1 when behind (err says which version), -1
 * on error. */
int store_schema_check(PGconn *c, const char *dir, char *err, size_t errlen);

/* keys.c */
/* Creates a new active signing key for the tenant, retiring the previous
 * active one (published until its tokens have expired). Runs inside the
 * caller's transaction. kid_out gets the new kid (64 bytes). */
int store_key_rotate(PGconn *c, const char *tenant_id, const char *alg, char *kid_out,
                     char *err, size_t errlen);
/* Tries to unseal each tenant's active signing key with the master key (the
 * `limit` newest ones when limit > 0). Returns how many it cannot open
 * (naming the first few tenants' slugs in bad), with *checked the number
 * tried, or -1 with err on a database failure. */
int store_keys_check(PGconn *c, int limit, int *checked, char *bad, size_t badlen, char *err,
                     size_t errlen);

/* tenants.c */
/* SPEC §1: a tenant slug is [a-z0-9][a-z0-9-]{0,62} */
#define TENANT_SLUG_PATTERN "[a-z0-9][a-z0-9-]{0,62}"
bool store_tenant_slug_valid(const char *slug);
/* 1 to 200 printable characters of UTF-8 */
bool store_tenant_display_name_valid(const char *name);
/* Creates a tenant and its first key in one transaction. id_out: 37 bytes.
 * Returns 0, 1 when the slug is taken, -1 on other errors (an invalid slug
 * or display name among them, said in err: checked before any SQL). */
int store_tenant_create(PGconn *c, const char *slug, const char *display_name, char *id_out,
                        char *err, size_t errlen);
/* The tenant's admin JSON (settings included, webhook secret never). */
json_t *store_tenant_json(struct dbtx *tx, const char *slug);

/* root tokens */
/* Creates a root token (azroot_..., crypto/cred.h): writes it to out (at
 * least CRED_MAX bytes). */
int store_root_token_create(PGconn *c, char *out, size_t outlen, char *err, size_t errlen);
/* 1 valid, 0 not, -1 database failure. */
int store_root_token_check(struct dbtx *tx, const char *token);

/* people.c */
struct person {
    const char *id, *username;
    const char **scopes;
    int nscopes;
};
/* An active person of the tenant (SPEC §13: a disabled one is not found) by
 * id (when id is set) or username. 1 found, 0 not,
 * -1 database failure. Strings in r's arena. */
int person_find(struct dbtx *tx, const char *tenant_id, const char *id, const char *username,
                struct person *out);

/* A person's consent to a client: its id, scopes and resources. */
struct consent {
    const char *id;
    struct scopeset scopes, resources;
    const char *details;     /* task details (policy/details.h JSON), NULL when none */
};
/* The person's consent to a client. 1 found, 0 none, -1 failure. */
int consent_find(struct dbtx *tx, const char *tenant_id, const char *user_id, const char *client_id,
                 struct consent *out);
/* The live session grants of a client for a person, newest first, without
 * those revoked (token exchange under a session's right). Count or -1. */
struct deleg_session;
int sessions_live(struct dbtx *tx, const char *tenant_id, const char *user_id, const char *client_id,
                  struct deleg_session **out);

#endif
