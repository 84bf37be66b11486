/*
 * grant_ciba.c: polling at the token endpoint, grant_type=
 * urn:openid:params:grant-type:ciba (CIBA Core §10.1, §11). The client
 * that made a request polls with its auth_req_id: authorization_pending
 * while nobody decided, slow_down when it polls faster than its interval
 * (which then grows by 5 s), access_denied or expired_token when it ends
 * that way, and once approved the session's tokens, issued exactly once,
 * each carrying the session id (sid). Ping clients (§10.2) poll after the
 * notification ciba.c queues with the decision.
 */
#include "oauth/ciba.h"
#include "oauth/oauth.h"
#include "storage/grants.h"
#include "storage/db.h"
#include "storage/sessions.h"
#include "cache.h"

#include <string.h>

enum hres grant_ciba(struct req *r, const struct form *f)
{
    if (!r->can_block)
        return H_BLOCK;
    struct tenant *t = r->tenant;
    struct client *c = r->client;
    /* CIBA Core §10.1 auth_req_id: "REQUIRED. It is the unique identifier
     * to identify the authentication request made by the Client." */
    const char *id = form_get(f, "auth_req_id");
    if (!id || strlen(id) > 128) {
        resp_oauth_error(r, 400, "invalid_request", "auth_req_id is required");
        return H_DONE;
    }
    if (db_begin(&r->tx) < 0)
        return H_DONE;
    struct ciba_poll q;
    int found = ciba_request_lock_for_poll(&r->tx, t->id, id, &q);
    if (found < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    /* CIBA Core §11: "If the auth_req_id is invalid or was issued to
     * another Client, an invalid_grant error MUST be returned" */
    if (found == 0 || strcmp(q.client_id, c->client_id) != 0) {
        db_rollback(&r->tx);
        resp_oauth_error(r, 400, "invalid_grant", "unknown auth_req_id");
        return H_DONE;
    }
    const char *user_id = q.user_id, *state = q.state, *gid = q.grant_id;
    bool expired = q.expired, too_fast = q.too_fast, redeemed = q.redeemed;
    const char *err = NULL, *desc = NULL;
    /* §11 expired_token: "The auth_req_id has expired. The Client will need
     * to make a new Authentication Request." */
    if (!strcmp(state, "pending") && expired) {
        ciba_expire(r, t->id, id, user_id);
        err = "expired_token";
        desc = "the request expired before it was decided";
    } else if (!strcmp(state, "expired")) {
        err = "expired_token";
        desc = "the request expired before it was decided";
    } else if (!strcmp(state, "denied")) {
        /* §11 access_denied: "The end-user denied the authorization
         * request." */
        err = "access_denied";
        desc = "the person denied the request";
    } else if (!strcmp(state, "pending")) {
        /* §11 authorization_pending: "The authorization request is still
         * pending as the end-user hasn't yet been authenticated."
         * slow_down: "the interval MUST be increased by at least 5 seconds
         * for this and all subsequent requests" (SPEC §4.5: "Polling faster
         * than interval gets slow_down, and the interval grows by 5 s").
         * A failed update fails the commit below. */
        (void)ciba_request_polled(&r->tx, t->id, id, too_fast);
        if (too_fast) {
            err = "slow_down";
            desc = "poll less often: the interval grew by 5 seconds";
        } else {
            err = "authorization_pending";
            desc = "the person has not decided yet";
        }
    } else if (redeemed || !gid) {
        err = "invalid_grant";
        desc = "the tokens of this request were issued already";
    }
    if (err) {
        if (r->tx.down || db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
            db_rollback(&r->tx);
            return H_DONE;
        }
        resp_oauth_error(r, 400, err, desc);
        return H_DONE;
    }
    /* approved: issue the session's tokens once */
    struct grant_row row;
    int live = session_grant_get(&r->tx, t->id, gid, &row);
    if (live < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    if (live == 0 || row.revoked || row.expired || revset_has(t->id, REV_SESSION, gid)) {
        db_rollback(&r->tx);
        resp_oauth_error(r, 400, "invalid_grant", "the session has ended");
        return H_DONE;
    }
    row.client_id = c->client_id;
    row.user_id = user_id;
    const char *why; /* RFC 8707 §2.2: no resource asked for here: never NULL */
    const char *aud = resource_narrow(NULL, 0, row.resources, row.nresources, t->issuer, &why);
    if (ciba_request_redeemed(&r->tx, t->id, id) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    struct issued out;
    if (issue_grant_tokens(r, &row, aud, NULL, CIBA_GRANT, true, &out) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    token_response(r, &out.access, out.scope, out.refresh[0] ? out.refresh : NULL, NULL);
    return H_DONE;
}
