/*
 * lists.h: the keyset-paged lists of SPEC §13 ("Lists": tenants, people,
 * clients, with cursor / next_cursor as for audit) and what the operator
 * console (authz/web/console*.c) reads: its own sign-ins, a tenant's
 * sessions, a person's consents, and an agent's decisions over time.
 *
 * A page is a PGresult of at most limit + 1 rows, in the shape
 * admin_page_answer (authz/admin/audit.c) turns into {"<member>":[..],
 * "next_cursor":..}: column 0 the row's JSON, columns 1 and 2 its keyset
 * position (creation time in microseconds since the epoch, then id). A
 * cursor names a position only: every statement is bounded by the caller's
 * tenant, so a position taken from another tenant's list shows nothing of
 * that tenant. Every statement is parameterized. All on tx->conn.
 */
#ifndef AUTHZ_STORE_LISTS_H
#define AUTHZ_STORE_LISTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/scope.h"

struct dbtx;

/* ---- the admin lists (SPEC §13) ---- */

/* Every tenant, oldest first, after the position (cur_us, cur_id) when
 * given. limit is the number of rows to fetch (the page size + 1). */
PGresult *store_tenants_page(struct dbtx *tx, const char *cur_us, const char *cur_id, int limit);
/* The tenant's people, oldest first; status "active"/"disabled" or NULL. */
PGresult *store_users_page(struct dbtx *tx, const char *tenant_id, const char *status,
                           const char *cur_us, const char *cur_id, int limit);
/* The tenant's clients, oldest first; owner (a person's sub) and status
 * ("active"/"disabled") filter when not NULL. */
PGresult *store_clients_page(struct dbtx *tx, const char *tenant_id, const char *owner,
                             const char *status, const char *cur_us, const char *cur_id, int limit);
/* One client of the tenant, as a row of store_clients_page (0 rows when
 * there is none). */
PGresult *store_client_row(struct dbtx *tx, const char *tenant_id, const char *client_id);
/* The tenant's audit trail, newest first, with the filters of SPEC §7 (each
 * NULL when absent; since/until RFC 3339), after the position (cur_us,
 * cur_id). NULL on failure (also when PostgreSQL refuses a date-time). */
PGresult *store_audit_page(struct dbtx *tx, const char *tenant_id, const char *since,
                           const char *until, const char *user, const char *client,
                           const char *session, const char *event, const char *cur_us,
                           const char *cur_id, int limit);

/* ---- a person's consents (the approvals page) ---- */

struct person_consent {
    const char *client_id;
    const char *client_name;       /* NULL when the client has none */
    struct scopeset scopes;
    struct scopeset resources;
    int64_t updated_at;
};
/* The person's consents, most recently given first, at most limit. *out in
 * the arena. The count, or -1. */
int store_person_consents(struct dbtx *tx, const char *tenant_id, const char *user_id, int limit,
                          struct person_consent **out);

/* ---- the console's sign-ins (migration 012) ---- */

struct console_session {
    bool root;                     /* the root operator */
    const char *tenant_id;         /* a tenant administrator's tenant */
    const char *tenant_slug;
    const char *user_id;           /* ... and the person */
    const char *username;
    struct scopeset scopes;        /* the person's scopes now */
    const char *csrf_token;
};
/* Stores a sign-in (tenant_id and user_id NULL for the root operator).
 * 0 or -1. */
int store_console_session_create(struct dbtx *tx, const char *id_hash, const char *tenant_id,
                                 const char *user_id, const char *csrf_token, int ttl);
/* 1 found and not expired, 0 not (also: the person is gone or disabled),
 * -1 failure. */
int store_console_session_find(struct dbtx *tx, const char *id_hash, struct console_session *out);
/* Deletes a sign-in (signing out). 0 or -1. */
int store_console_session_delete(struct dbtx *tx, const char *id_hash);

/* ---- what the console lists ---- */

/* The tenant's active sessions (approved session grants, not revoked, not
 * ended), newest first, after (cur_us, cur_id): rows sid, client_id,
 * username, scope, expires_at (RFC 3339), created_at, us, sid. */
PGresult *store_console_sessions_page(struct dbtx *tx, const char *tenant_id, const char *cur_us,
                                      const char *cur_id, int limit);

/* An agent's decisions over time: for each of the last n buckets of bucket
 * ("hour" or "day"), the number of tool.allowed, tool.denied and token.*
 * rows of the client. rows: bucket start (epoch seconds), allowed, denied,
 * tokens; oldest first, every bucket present. NULL on failure. */
PGresult *store_agent_activity(struct dbtx *tx, const char *tenant_id, const char *client_id,
                               const char *bucket, int n);

#endif
