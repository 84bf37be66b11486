/*
 * sessions.h: approval-gated session requests (CIBA, table ciba_requests)
 * and the session grants they become, their storage side
 * (storage/sessions.c). The rules (who may decide, what an approval
 * records, when to answer slow_down) are the callers' in authz/oauth/; the
 * functions here only read and write rows. All on tx->conn, inside the
 * caller's transaction when one is open; strings live in tx's arena.
 *
 * A request carries its session id (sid) from the start; approving it
 * creates a grant of kind 'ciba' whose id is that sid, so every token
 * derived from the session names it.
 */
#ifndef AUTHZ_STORAGE_SESSIONS_H
#define AUTHZ_STORAGE_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/scope.h"

struct dbtx;
struct grant_row;

/* ---- the request (POST bc-authorize) ---- */

/* A new request, as the backchannel authentication endpoint accepted it. */
struct ciba_request_new {
    const char *auth_req_id;
    const char *tenant_id, *client_id, *user_id;
    const char *scopes_pg, *resources_pg;  /* PostgreSQL text[] literals */
    const char *binding_message;
    long session_ttl;                      /* seconds the session lasts once approved */
    long expires_in;                       /* seconds the request waits for a decision */
    bool ping;                             /* delivery: ping, else poll */
    const char *notification_token_sealed; /* ping only (sealed at rest), else NULL */
    const char *sid;                       /* the session id, from the request on */
};
/* Records a new pending request. 0 or -1. */
int ciba_request_insert(struct dbtx *tx, const struct ciba_request_new *q);

/* ---- polling (the token endpoint) ---- */

/* A request as the polling client sees it. */
struct ciba_poll {
    const char *client_id, *user_id;
    const char *state;        /* pending, approved, denied, expired */
    bool expired;             /* past its expires_at (whatever its state) */
    bool too_fast;            /* polled again within its poll interval */
    const char *grant_id;     /* the session grant once approved, else NULL */
    bool redeemed;            /* its tokens were issued already */
};
/* Locks a request for a poll. 1 found, 0 no such request of the tenant, -1
 * database failure. */
int ciba_request_lock_for_poll(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                               struct ciba_poll *out);
/* Records a poll of a pending request; slow_down also lengthens its poll
 * interval by 5 s (CIBA Core §11). 0 or -1. */
int ciba_request_polled(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                        bool slow_down);
/* Records that the tokens of an approved request were issued. 0 or -1. */
int ciba_request_redeemed(struct dbtx *tx, const char *tenant_id, const char *auth_req_id);

/* Marks a pending request expired (and its expiry audited). 1 marked, with
 * *sid and *client_id; 0 it was not pending; -1 database failure. */
int ciba_request_expire(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                        const char **sid, const char **client_id);

/* ---- the decision ---- */

/* A request with the person it names, as the decision needs it. */
struct ciba_request {
    const char *client_id, *user_id, *username;
    const char *state;
    bool expired;
    struct scopeset scopes, resources;  /* what was asked */
    struct scopeset held;               /* the person's own scopes */
    long session_ttl;
    bool ping;
    const char *notification_token_sealed; /* NULL when none */
    const char *binding_message;
    const char *sid;
};
/* Locks a request for its decision. 1 found, 0 no such request of the
 * tenant, -1 database failure. */
int ciba_request_lock_for_decision(struct dbtx *tx, const char *tenant_id,
                                   const char *auth_req_id, struct ciba_request *out);

/* Approves a request: creates its session, a grant of kind 'ciba' whose id
 * is the request's sid (scopes and resources: text[] literals of what was
 * approved, lasting from now to now + ttl), and records the approver. 0 or
 * -1. */
int ciba_request_approve(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                         const struct ciba_request *q, const char *approver,
                         const char *scopes_pg, const char *resources_pg, int64_t now);
/* Denies a request, recording the approver. 0 or -1. */
int ciba_request_deny(struct dbtx *tx, const char *tenant_id, const char *auth_req_id,
                      const char *approver);

/* ---- sessions ---- */

/* What the tokens of a session are issued from: its grant's scopes,
 * resources, auth_time and end, the person's scopes, sid = grant_id = sid;
 * expired / revoked when it has ended either way. client_id and user_id
 * are left NULL (the caller knows them). 1 found, 0 no such grant, -1
 * database failure. */
int session_grant_get(struct dbtx *tx, const char *tenant_id, const char *sid,
                      struct grant_row *out);

/* An active session (not revoked, not ended): the person, the client and
 * when it ends. 1 found, 0 none, -1 database failure. */
struct session_live {
    const char *user_id, *client_id;
    int64_t expires_at;
};
int session_find_active(struct dbtx *tx, const char *tenant_id, const char *sid,
                        struct session_live *out);

#endif
