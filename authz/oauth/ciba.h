/*
 * ciba.h: approval-gated session grants (OpenID CIBA Core 1.0, poll and
 * ping). The decision is one function whoever makes it: the person on the
 * approval page, or an external approval system through the callback.
 */
#ifndef AUTHZ_CIBA_H
#define AUTHZ_CIBA_H

#include "http/http.h"
#include "http/form.h"
#include <stdbool.h>

struct tenant;

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

/* Ends a session (the person, an admin, or the agent revoking its refresh
 * token): every token derived from it becomes inactive on every authzd.
 * by: who ended it, for audit. 1 revoked, 0 no such active session, -1
 * failure. Runs inside the caller's transaction when one is open. */
int session_revoke(struct req *r, struct tenant *t, const char *sid, const char *by);

enum hres grant_ciba(struct req *r, const struct form *f);

#endif
