/*
 * ciba.h: approval-gated session grants (OpenID CIBA Core 1.0, poll and
 * ping), shared by the files that hold them: the backchannel
 * authentication endpoint (oauth/bc_authorize.c, h_bc_authorize in
 * http/routes.h), polling at the token endpoint (oauth/grant_ciba.c), and
 * the decision, the approvable rule, expiry and sessions (oauth/ciba.c).
 * The decision is one function whoever makes it: the person on the
 * approval page, or an external approval system through the callback.
 * Their rows are storage/sessions.c's.
 */
#ifndef AUTHZ_CIBA_H
#define AUTHZ_CIBA_H

#include "http/http.h"
#include "http/form.h"
#include <stdbool.h>

struct tenant;

/* CIBA Core §4: the grant type of polling at the token endpoint, and what
 * a client must be registered for to use the backchannel endpoint */
#define CIBA_GRANT "urn:openid:params:grant-type:ciba"

enum ciba_decision_result {
    CIBA_DECIDED = 0,      /* done: approved or denied */
    CIBA_NOT_FOUND = 1,    /* no such pending request of this tenant */
    CIBA_CONFLICT = 2,     /* already decided, or expired */
    CIBA_FORBIDDEN = 3,    /* the approver is not the named person */
    CIBA_NOTHING = 4,      /* approve: the person holds none of the scopes asked */
    CIBA_FAILED = -1,      /* database failure (r->tx.down) */
};

#include "policy/scope.h"

/* What a person can approve of a request (SPEC §4.5: "scopes or resources
 * the person does not hold are not offered on the page and are never
 * recorded or issued"): the requested scopes the person holds, and the
 * requested resources that define at least one of them. The page shows
 * exactly this, and approving records exactly this. */
struct approvable {
    struct scopeset scopes, resources;
};
void ciba_approvable(struct req *r, const struct tenant *t, const struct scopeset *scopes,
                     const struct scopeset *resources, const struct scopeset *held,
                     struct approvable *out);

/* Decides a pending request in one transaction (state, session grant,
 * audit rows, ping/webhook outbox). channel: "web" or "callback". */
enum ciba_decision_result ciba_decide(struct req *r, struct tenant *t, const char *auth_req_id,
                                      const char *approver_username, bool approve,
                                      const char *channel);

/* Marks a pending request past its expires_at expired, with its
 * session.expired audit row (inside the caller's transaction; nothing when
 * it was no longer pending). user_id: the person it names. */
void ciba_expire(struct req *r, const char *tenant_id, const char *auth_req_id,
                 const char *user_id);

/* Ends a session (the person, an admin, or the agent revoking its refresh
 * token): every token derived from it becomes inactive on every authzd.
 * by: who ended it, for audit. 1 revoked, 0 no such active session, -1
 * failure. Runs inside the caller's transaction when one is open. */
int session_revoke(struct req *r, struct tenant *t, const char *sid, const char *by);

/* The token endpoint's CIBA grant (oauth/grant_ciba.c): the client polls
 * with its auth_req_id. */
enum hres grant_ciba(struct req *r, const struct form *f);

#endif
