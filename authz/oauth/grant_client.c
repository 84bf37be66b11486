/*
 * grant_client.c: the client credentials grant (RFC 6749 §4.4) for
 * confidential clients acting as themselves. The access token's sub is the
 * client's id; aud is the requested resource (RFC 8707), or the tenant's
 * issuer when none is asked for (tokens for authz itself: admin,
 * approvals:decide). Scope never exceeds the client's allowed_scopes, nor,
 * with a resource, the scopes that resource defines.
 */
#include "oauth/oauth.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "metrics.h"
#include "cache.h"

#include <string.h>

enum hres grant_client_credentials(struct req *r, const struct form *f)
{
    struct client *c = r->client;

    /* RFC 6749 §4.4: "The client credentials grant type MUST only be used by
     * confidential clients." */
    if (strcmp(c->auth_method, "none") == 0 || !strlist_has(&c->grant_types, "client_credentials")) {
        resp_oauth_error(r, 400, "unauthorized_client",
                         "this client may not use the client_credentials grant");
        struct audit_event *e = audit_add(r, "token.issued", false);
        e->reason = "unauthorized_client";
        e->details = "{\"grant_type\":\"client_credentials\"}";
        return H_DONE;
    }
    return grant_client_issue(r, f, "client_credentials");
}

enum hres grant_client_issue(struct req *r, const struct form *f, const char *grant_type)
{
    struct client *c = r->client;
    struct tenant *t = r->tenant;
    const char *gdet = arena_sprintf(r->arena, "{\"grant_type\":\"%s\"}", grant_type);

    /* RFC 8707 §2: resource is an absolute URI without a fragment, known to
     * the tenant and allowed to this client; one per access token. */
    const char **res;
    int nres = form_get_all(r->arena, f, "resource", &res);
    const struct resource *target = NULL;
    /* a resource parameter sent empty is malformed, not absent */
    if (nres == 0 && form_present(f, "resource")) {
        resp_oauth_error(r, 400, "invalid_target", "resource must be an absolute URI");
        return H_DONE;
    }
    if (nres > 1) {
        resp_oauth_error(r, 400, "invalid_target", "ask for one resource per access token");
        return H_DONE;
    }
    if (nres == 1) {
        if (!resource_uri_valid(res[0])) {
            resp_oauth_error(r, 400, "invalid_target",
                             "resource must be an absolute URI without a fragment");
            return H_DONE;
        }
        target = tenant_resource(t, res[0]);
        if (!target || !strlist_has(&c->allowed_resources, res[0])) {
            resp_oauth_error(r, 400, "invalid_target", "unknown resource, or not allowed to this client");
            struct audit_event *e = audit_add(r, "token.issued", false);
            e->reason = "invalid_target";
            e->resources = res;
            e->nresources = 1;
            e->details = gdet;
            return H_DONE;
        }
    }

    /* RFC 6749 §3.3: the granted scope is within what the client may hold */
    struct scopeset allowed = scope_from_list(c->allowed_scopes.v, c->allowed_scopes.n);
    struct scopeset ceiling;
    if (target) {
        struct scopeset rs = scope_from_list(target->scopes.v, target->scopes.n);
        ceiling = scope_intersect(r->arena, &allowed, &rs);
    } else {
        /* aud is the issuer: anything the client may hold */
        ceiling = allowed;
    }
    struct scopeset want;
    const char *scope_param = form_get(f, "scope");
    if (scope_parse(r->arena, scope_param, &want) < 0) {
        resp_oauth_error(r, 400, "invalid_scope", "malformed scope");
        return H_DONE;
    }
    if (!scope_param)
        want = ceiling;
    /* SPEC §2: authz issues no ID tokens; `openid` is accepted and ignored
     * (and so is offline_access, SPEC §11) */
    scope_drop_unissued(&want);
    if (scope_param && want.n == 0)
        want = ceiling;
    if (!scope_subset(&want, &ceiling) || want.n == 0) {
        resp_oauth_error(r, 400, "invalid_scope",
                         want.n == 0 ? "no scope is available to this client"
                                     : "a requested scope is not allowed to this client");
        struct audit_event *e = audit_add(r, "token.issued", false);
        e->reason = "invalid_scope";
        e->scope = scope_param;
        e->details = gdet;
        return H_DONE;
    }
    char *scope = scope_join(r->arena, &want);

    struct token_claims tc = {
        .sub = c->client_id,
        .client_id = c->client_id,
        .aud = target ? target->uri : t->issuer,
        .scope = scope,
    };
    struct minted m;
    if (mint_access_token(r, t, &tc, &m) < 0) {
        resp_oauth_error(r, 500, "server_error", "signing failed");
        return H_DONE;
    }
    struct audit_event *e = audit_add(r, "token.issued", true);
    e->subject = c->client_id;
    e->scope = scope;
    e->resources = arena_alloc(r->arena, sizeof(char *));
    e->resources[0] = tc.aud;
    e->nresources = 1;
    e->details = arena_sprintf(r->arena, "{\"grant_type\":\"%s\",\"jti\":\"%s\"}", grant_type,
                               m.jti);
    metrics_token_issued(grant_type);
    token_response(r, &m, scope, NULL, NULL);
    return H_DONE;
}
