/*
 * grant_code.c: the authorization code grant at the token endpoint
 * (RFC 6749 §4.1.3 with PKCE, RFC 7636 §4.6, and OAuth 2.1). The code is
 * taken under a row lock in one transaction with everything it issues, so a
 * code can be redeemed once; a replayed code revokes every token issued from
 * it (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
 */
#include "oauth/oauth.h"
#include "policy/details.h"
#include "storage/grants.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "metrics.h"
#include "cache.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static enum hres invalid_grant(struct req *r, const char *why)
{
    db_rollback(&r->tx);
    resp_oauth_error(r, 400, "invalid_grant", why);
    return H_DONE;
}

enum hres grant_authorization_code(struct req *r, const struct form *f)
{
    if (!r->can_block)
        return H_BLOCK; /* the code lives in the database */
    struct tenant *t = r->tenant;
    struct client *c = r->client;
    const char *code = form_get(f, "code");
    const char *redirect_uri = form_get(f, "redirect_uri");
    const char *verifier = form_get(f, "code_verifier");
    if (!code || strlen(code) > 256) {
        resp_oauth_error(r, 400, "invalid_request", "code is required");
        return H_DONE;
    }
    if (!verifier) {
        /* RFC 7636 §4.5 / OAuth 2.1: every code here was issued with a
         * challenge, so a verifier is always required */
        resp_oauth_error(r, 400, "invalid_request", "code_verifier is required");
        return H_DONE;
    }
    /* RFC 9396 §6.1: the token request may name a subset of the granted
     * authorization_details */
    struct details want_details;
    bool narrow_details;
    if (!token_request_details(r, f, &want_details, &narrow_details))
        return H_DONE;
    if (db_begin(&r->tx) < 0)
        return H_DONE;
    struct grant_row g;
    int found = code_take(&r->tx, t->id, code, &g);
    if (found < 0)
        return H_DONE;
    if (found == 0)
        return invalid_grant(r, "unknown, expired or already used code");

    /* RFC 6749 §4.1.2: "If an authorization code is used more than once, the
     * authorization server MUST deny the request and SHOULD revoke (when
     * possible) all tokens previously issued based on that authorization
     * code." */
    if (g.used) {
        int64_t until = revocation_horizon();
        if (grant_revoke(&r->tx, t->id, g.grant_id, "code replay", until) < 0) {
            db_rollback(&r->tx);
            return H_DONE;
        }
        struct audit_event *e = audit_add(r, "code.replay_detected", false);
        e->subject = g.user_id;
        e->reason = "authorization code presented twice; its grant is revoked";
        e->details = "{\"grant_type\":\"authorization_code\"}";
        if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
            db_rollback(&r->tx);
            return H_DONE;
        }
        resp_oauth_error(r, 400, "invalid_grant", "unknown, expired or already used code");
        return H_DONE;
    }
    /* RFC 6749 §4.1.3: the code was issued to this client */
    if (strcmp(g.client_id, c->client_id) != 0)
        return invalid_grant(r, "unknown, expired or already used code");
    if (g.expired || g.revoked)
        return invalid_grant(r, "unknown, expired or already used code");
    /* RFC 6749 §4.1.3: redirect_uri identical to the authorization request's */
    if (!redirect_uri || strcmp(redirect_uri, g.redirect_uri) != 0)
        return invalid_grant(r, "redirect_uri does not match the authorization request");
    /* RFC 7636 §4.6: verify the proof key */
    if (!pkce_verify_s256(verifier, g.code_challenge)) {
        db_rollback(&r->tx);
        /* the failure is recorded outside the rolled-back transaction */
        struct audit_event *e = audit_add(r, "code.redeemed", false);
        e->subject = g.user_id;
        e->reason = "PKCE verification failed";
        resp_oauth_error(r, 400, "invalid_grant", "code_verifier does not match the code_challenge");
        return H_DONE;
    }

    /* RFC 8707 §2.2: resource at the token endpoint narrows to one of the
     * resources of the authorization */
    const char **res;
    int nres = form_get_all(r->arena, f, "resource", &res);
    const char *why;
    const char *aud = resource_narrow(res, nres, g.resources, g.nresources, t->issuer, &why);
    if (!aud) {
        db_rollback(&r->tx);
        resp_oauth_error(r, 400, "invalid_target", why);
        return H_DONE;
    }
    struct issued out;
    if (issue_grant_tokens(r, &g, aud, NULL, narrow_details ? &want_details : NULL,
                           "authorization_code", true, &out) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    struct audit_event *e = audit_add(r, "code.redeemed", true);
    e->subject = g.user_id;
    e->details = "{\"grant_type\":\"authorization_code\"}";
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    /* RFC 9396 §7: the token response names the details granted */
    token_response(r, &out.access, out.scope, out.refresh[0] ? out.refresh : NULL,
                   details_member(r, out.details_json));
    return H_DONE;
}
