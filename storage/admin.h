/*
 * admin.h: the statements of the tenant admin API (authz/admin/) and of
 * authzctl, by entity: tenants, keys and resources (storage/admin_tenants.c),
 * clients (storage/admin_clients.c), people, their consents and sessions
 * (storage/admin_people.c), the audit trail (storage/admin_audit.c).
 *
 * Every function runs on tx->conn, inside the caller's transaction when one
 * is open (the admin API commits a change together with its audit row).
 * Returned strings live until dbtx_end(tx). On a failed statement the
 * function returns -1 (or NULL) and db_last_failure(tx) says why, so that
 * the caller maps a refused constraint to the member it guards
 * (admin_tx_refused); tx->down is set when the database is gone. The
 * values are checked by the callers before they get here; the tables'
 * CHECK constraints say the same once more.
 */
#ifndef AUTHZ_STORAGE_ADMIN_H
#define AUTHZ_STORAGE_ADMIN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct dbtx;

/* ---- tenants, keys, resources (storage/admin_tenants.c) ---- */

/* Sets one setting of the tenant (registration_policy, access_token_ttl,
 * max_session_ttl, approval_webhook_url, approval_webhook_secret (sealed
 * already), display_name, signing_alg) to value (NULL: SQL NULL) and
 * updated_at to now. 0, -1 when the statement failed, -2 when member names
 * no setting (nothing run). */
int store_tenant_set(struct dbtx *tx, const char *tenant_id, const char *member,
                     const char *value);
/* Raises the active signing key's max_token_ttl to at least ttl seconds
 * (decimal text): tokens of the new lifetime stay verifiable after a
 * rotation. 0 or -1. */
int store_tenant_key_ttl_at_least(struct dbtx *tx, const char *tenant_id, const char *ttl);
/* authzctl: the tenant with this slug: its id (37 bytes) and signing_alg
 * (16 bytes). 1 found, 0 none, -1 with err on a database failure. */
int store_tenant_find(PGconn *c, const char *slug, char *id_out, char *alg_out, char *err,
                      size_t errlen);

/* A resource (RFC 8707) of the tenant with its scopes (a text[] literal)
 * and their descriptions (a JSON object, SPEC §11). 0 created (*json the
 * resource's admin JSON), 1 the tenant has this uri already, -1 failure.
 * A resource's JSON: {uri, scopes, scope_descriptions, unknown_tools,
 * created_at}. */
int store_resource_create(struct dbtx *tx, const char *tenant_id, const char *uri,
                          const char *scopes_pg, const char *descriptions_json, const char **json);
/* The tenant's resources as a JSON array of their JSON by uri. 0 or -1. */
int store_resource_list(struct dbtx *tx, const char *tenant_id, const char **json);
/* Replaces what is not NULL of the resource's scope_descriptions (JSON
 * object text, SPEC §11) and unknown_tools ("allow"/"deny", SPEC §12). 1
 * changed (*json its JSON), 0 no such resource, -1 failure. */
int store_resource_patch(struct dbtx *tx, const char *tenant_id, const char *uri,
                         const char *descriptions_json, const char *unknown_tools, const char **json);
/* 1 deleted, 0 no such resource, -1 failure. */
int store_resource_delete(struct dbtx *tx, const char *tenant_id, const char *uri);

/* ---- clients (storage/admin_clients.c) ---- */

/* A client as the admin API writes it: the lists are PostgreSQL text[]
 * literals, jwks JSON text, may_impersonate "true" or "false"; NULL is
 * SQL NULL. */
struct client_admin {
    const char *tenant_id, *client_id;
    const char *secret_hash; /* insert: NULL for none; update: a new one, or NULL to keep */
    const char *client_name, *method, *grant_types, *response_types, *redirect_uris,
        *allowed_scopes, *allowed_resources, *can_act_for, *introspects, *may_impersonate, *jwks,
        *jwks_uri, *bc_delivery, *bc_endpoint;
};
/* 0, or -1 (a taken client_id is a unique violation, 23505). */
int store_client_insert(struct dbtx *tx, const struct client_admin *c);
/* Replaces the client's metadata with c's; keep_secret false drops its
 * secret (a method without one), true keeps it or sets c->secret_hash. 0
 * or -1. */
int store_client_update(struct dbtx *tx, const struct client_admin *c, bool keep_secret);
/* The client's admin JSON document (SPEC §7; never its secret). 1 found,
 * 0 none, -1 failure. */
int store_client_json(struct dbtx *tx, const char *tenant_id, const char *client_id,
                      const char **json);
/* 1 deleted, 0 no such client, -1 failure. */
int store_client_delete(struct dbtx *tx, const char *tenant_id, const char *client_id);

/* ---- people, consents, sessions (storage/admin_people.c) ---- */

/* The person's admin JSON {id, username, scopes, created_at, updated_at}.
 * 1 found, 0 none, -1 failure. */
int store_user_json(struct dbtx *tx, const char *tenant_id, const char *username,
                    const char **json);
/* 0 created (*id the new person's id), 1 the username is taken, -1. */
int store_user_insert(struct dbtx *tx, const char *tenant_id, const char *username,
                      const char *password_hash, const char *scopes_pg, const char **id);
/* Changes what is not NULL among new_username, password_hash and
 * scopes_pg. 1 changed (*id, and *old_scopes_pg the scopes before, a
 * text[] literal), 0 no such person, -1 failure. */
int store_user_update(struct dbtx *tx, const char *tenant_id, const char *username,
                      const char *new_username, const char *password_hash, const char *scopes_pg,
                      const char **id, const char **old_scopes_pg);
/* 1 deleted (*id the person's id; their rows go with them), 0 none, -1. */
int store_user_delete(struct dbtx *tx, const char *tenant_id, const char *username,
                      const char **id);

/* The tenant's consents, of one person (user_id, a uuid) and/or one client
 * when set, as a JSON array oldest first. 0 or -1. */
int store_consents_list(struct dbtx *tx, const char *tenant_id, const char *user_id,
                        const char *client_id, const char **json);
/* A withdrawn consent. */
struct consent_withdrawn {
    const char *id, *user_id, *client_id;
};
/* Deletes the consents the filters name (as store_consents_list's). Their
 * number (0 none), *out in tx's arena, or -1. */
int store_consents_delete(struct dbtx *tx, const char *tenant_id, const char *user_id,
                          const char *client_id, struct consent_withdrawn **out);
/* The ids of the person's live grants to the client. Their number, or -1. */
int store_grants_live(struct dbtx *tx, const char *tenant_id, const char *user_id,
                      const char *client_id, const char ***ids);

/* A page of the tenant's approval-gated sessions, newest first. Filters
 * (NULL: any): user_id, client_id, state (pending, active, denied, expired,
 * revoked), and the keyset cursor (cur_us, the creation in microseconds,
 * and cur_id, an auth_req_id): rows before it. limit rows at most (decimal
 * text). Columns: the session's JSON, the creation in microseconds,
 * auth_req_id. NULL on failure. */
struct sessions_filter {
    const char *user_id, *client_id, *state, *cur_us, *cur_id, *limit;
};
PGresult *store_sessions_page(struct dbtx *tx, const char *tenant_id,
                              const struct sessions_filter *f);

/* ---- the audit trail ---- */

/* The audit trail's page: store_audit_page (storage/lists.h), shared with
 * the console. */

#endif
