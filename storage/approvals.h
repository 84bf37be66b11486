/*
 * approvals.h: what the approval pages (authz/web/approvals.c) read from the
 * database: a person's pending session requests, their active sessions, one
 * request of theirs, and whether a session is theirs. Every statement is
 * parameterized and names the person, so that nobody ever reads another
 * person's requests or sessions. All on tx->conn; strings in r's arena.
 */
#ifndef AUTHZ_STORE_APPROVALS_H
#define AUTHZ_STORE_APPROVALS_H

#include <stdint.h>

#include "policy/scope.h"

struct dbtx;

/* A session request (ciba_requests) with its session (grants), when it has
 * one. Times are seconds since the epoch, 0 when absent. */
struct approval {
    const char *auth_req_id;
    const char *client_id;
    const char *client_name;       /* NULL when the client has none (or is gone) */
    const char *binding_message;   /* the task */
    struct scopeset scopes;
    struct scopeset resources;
    long session_ttl;              /* seconds the session lasts once approved */
    int64_t created_at;
    int64_t expires_at;            /* when the request stops waiting */
    /* pending, expired (also a pending request past expires_at), approved,
     * denied */
    const char *state;
    int64_t decided_at;
    const char *approver;
    /* the session: its id (sid), end and state (active, revoked, ended);
     * NULL / 0 when the request was not approved */
    const char *sid;
    int64_t session_ends_at;
    const char *session_state;
    /* the task details (policy/details.h JSON): the session's once
     * approved, else those asked for; NULL when none */
    const char *details_json;
};

/* The person's pending requests (not expired), newest first, at most limit.
 * *out in the arena. Returns the count, or -1 on database failure. */
int store_approvals_pending(struct dbtx *tx, const char *tenant_id, const char *user_id, int limit,
                            struct approval **out);

/* The person's active sessions (approved, not revoked, not ended), newest
 * first, at most limit. Returns the count, or -1. */
int store_approvals_sessions(struct dbtx *tx, const char *tenant_id, const char *user_id, int limit,
                             struct approval **out);

/* One request, when it names the person. 1 found, 0 no such request of
 * this person, -1 database failure. */
int store_approval_get(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                       const char *user_id, struct approval *out);

/* Locks the session sid (inside the caller's transaction) when it is a
 * session grant of the person, whatever its state. 1 theirs, 0 not (no such
 * session, or another person's), -1 database failure. */
int store_approval_session_lock(struct dbtx *tx, const char *tenant_id, const char *sid,
                                const char *user_id);

#endif
