/*
 * lifecycle.h: the rows of agent lifecycle (SPEC §13), storage/lifecycle.c:
 * owners and status of clients and people, what disabling ends (grants and
 * their refresh tokens, consents, pending session requests, browser
 * sign-ins), client secrets as rows (rotation with overlap), where leaked
 * credentials are, and last_used_at written in batches. Every function runs
 * on tx->conn inside the caller's transaction; the access tokens themselves
 * are ended by standing revocations the caller records (storage/grants.h).
 */
#ifndef AUTHZ_STORAGE_LIFECYCLE_H
#define AUTHZ_STORAGE_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

struct dbtx;

/* What a cascade ended, for its audit row. */
struct ended {
    long grants, refresh_tokens, consents, requests, signins;
};

/* Sets a client's status ("active" or "disabled"). 1 done (*was_disabled
 * says what it was), 0 no such client in the tenant, -1 failure. */
int store_client_set_status(struct dbtx *tx, const char *tenant_id, const char *client_id,
                            const char *status, bool *was_disabled);
/* Sets (owner_sub) or clears (NULL) a client's owner. 1 done, 0 no such
 * client, 2 the owner is not a person of the tenant, -1 failure. */
int store_client_set_owner(struct dbtx *tx, const char *tenant_id, const char *client_id,
                           const char *owner_sub);
/* Ends everything the clients (a PostgreSQL text[] literal) hold: their
 * grants (sessions among them) and refresh tokens are revoked, the consents
 * people gave them withdrawn, their pending session requests expired. 0 or
 * -1; *out adds up what ended. */
int store_clients_end(struct dbtx *tx, const char *tenant_id, const char *clients_pg,
                      struct ended *out);

/* A person by sub (uuid text) or username: its sub into id_out (arena), 1,
 * or 0 none, -1 failure. Both statuses. */
int store_person_lookup(struct dbtx *tx, const char *tenant_id, const char *sub,
                        const char *username, const char **id_out, bool *disabled);
/* Sets a person's status. 1 done (*was_disabled), 0 none, -1 failure. */
int store_person_set_status(struct dbtx *tx, const char *tenant_id, const char *sub,
                            const char *status, bool *was_disabled);
/* Ends everything the person holds: grants and refresh tokens, consents,
 * pending session requests, browser sign-ins. 0 or -1. */
int store_person_end(struct dbtx *tx, const char *tenant_id, const char *sub, struct ended *out);
/* Disables every active client the person owns: their ids into *ids (arena),
 * the count, or -1. */
int store_owned_disable(struct dbtx *tx, const char *tenant_id, const char *sub, const char ***ids);

/* Records standing revocations of one kind for many values with one
 * statement (revocation_record for each, storage/grants.h) and adds them to
 * the local set. 0 or -1. */
int store_revocations_many(struct dbtx *tx, const char *tenant_id, int kind,
                           const char *const *values, int n, int64_t expires_at);

/* ---- client secrets (SPEC §13 rotation) ---- */
/* Makes new_hash the client's newest secret; every secret still working
 * stops working at the latest previous_expires_in seconds from now. 1 done
 * (id_out: the new secret's id, 40 bytes), 0 no such client or one without a
 * secret method, -1 failure. */
int store_secret_rotate(struct dbtx *tx, const char *tenant_id, const char *client_id,
                        const char *new_hash, long previous_expires_in, char id_out[40]);
/* The client's secrets as a JSON array text (id, created_at, expires_at,
 * last_used_at; never the hash), newest first, into *json (arena). 1, 0 no
 * such client, -1 failure. */
int store_secrets_list(struct dbtx *tx, const char *tenant_id, const char *client_id,
                       const char **json);
/* Deletes one secret (clients.secret_hash follows the newest left). 1 done,
 * 0 none such, -1 failure. */
int store_secret_delete(struct dbtx *tx, const char *tenant_id, const char *client_id,
                        const char *secret_id);

/* ---- leaks (SPEC §13) ---- */
/* Where a credential's keyed hash is: tenant, client, and the secret's id or
 * the refresh token's grant, person and expiry. Only in tenant_id when it is
 * not NULL. 1 found, 0 not, -1 failure. Strings in the arena. */
struct leak_site {
    const char *tenant_id, *tenant_slug, *client_id, *secret_id, *grant_id, *user_id;
};
int store_leak_find_secret(struct dbtx *tx, const char *hash, const char *tenant_id,
                           struct leak_site *out);
int store_leak_find_refresh(struct dbtx *tx, const char *hash, const char *tenant_id,
                            struct leak_site *out);
/* Revokes a root token by its keyed hash. 1 revoked (or already), 0 none,
 * -1 failure. */
int store_root_token_revoke(struct dbtx *tx, const char *hash);

/* ---- authzctl (blocking connection; NULL with err on failure) ---- */
/* tenants: slug, id, status, display_name, created_at */
PGresult *store_ctl_tenants(PGconn *c, char *err, size_t errlen);
/* one tenant: id, JSON text (0 rows: none) */
PGresult *store_ctl_tenant(PGconn *c, const char *slug, char *err, size_t errlen);
/* Sets a tenant's status: 1 row (its id) or 0 rows (none) */
PGresult *store_ctl_tenant_status(PGconn *c, const char *slug, const char *status, char *err,
                                  size_t errlen);
/* clients of a tenant: client_id, status, owner, last_used_at, client_name */
PGresult *store_ctl_clients(PGconn *c, const char *tenant_id, char *err, size_t errlen);
/* one client as JSON text (never its secrets) */
PGresult *store_ctl_client(PGconn *c, const char *tenant_id, const char *client_id, char *err,
                           size_t errlen);
/* people of a tenant: id, username, status, created_at */
PGresult *store_ctl_users(PGconn *c, const char *tenant_id, char *err, size_t errlen);
/* one person (by username) as JSON text, and its id */
PGresult *store_ctl_user(PGconn *c, const char *tenant_id, const char *username, char *err,
                         size_t errlen);
/* audit rows of a tenant after id after_id (0: the last n), oldest first:
 * id, JSON text as the admin API answers them */
PGresult *store_ctl_audit(PGconn *c, const char *tenant_id, long long after_id, int n, char *err,
                          size_t errlen);

/* ---- last_used_at (authz/usage.c) ---- */
struct usage_row {
    const char *client_id, *secret_id; /* secret_id NULL: no secret used */
    int64_t at;
};
/* Writes uses with two statements on a blocking connection. 0 or -1. */
int store_usage_write(PGconn *c, const struct usage_row *rows, int n);

#endif
