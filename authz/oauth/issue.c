/*
 * issue.c: issuing the tokens of a person's grant (code redemption,
 * refresh, session grants): an RFC 9068 access token for one audience whose
 * jti names the grant, and a rotated refresh token when the client may use
 * the refresh grant. The scope never exceeds the grant's, the resource's,
 * nor the person's current scopes.
 */
#include "oauth/oauth.h"
#include "storage/grants.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "metrics.h"
#include "cache.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int issue_grant_tokens(struct req *r, const struct grant_row *g, const char *aud,
                       const struct scopeset *narrow, const char *grant_type, bool store_refresh,
                       struct issued *out)
{
    struct tenant *t = r->tenant;
    struct client *c = r->client;
    memset(out, 0, sizeof *out);
    struct scopeset granted = {g->scopes, g->nscopes};
    /* the person's rights today bound what their grant still carries */
    if (g->nuser_scopes >= 0) {
        struct scopeset us = {g->user_scopes, g->nuser_scopes};
        granted = scope_intersect(r->arena, &granted, &us);
    }
    /* an access token for a resource carries only that resource's scopes */
    const struct resource *res = tenant_resource(t, aud);
    if (res) {
        struct scopeset rs = scope_from_list(res->scopes.v, res->scopes.n);
        granted = scope_intersect(r->arena, &granted, &rs);
    }
    if (narrow)
        granted = scope_intersect(r->arena, &granted, narrow);
    if (granted.n == 0) {
        resp_oauth_error(r, 400, "invalid_scope", "no scope of this grant is available any more");
        return -1;
    }
    out->scope = scope_join(r->arena, &granted);

    char jti[64];
    grant_jti(g->grant_id, jti);
    struct token_claims tc = {
        .sub = g->user_id ? g->user_id : c->client_id,
        .client_id = c->client_id,
        .aud = aud,
        .scope = out->scope,
        .sid = g->sid,
        .auth_time = (long)g->auth_time,
        .exp_cap = (long)g->grant_expires_at,
        .jti = jti,
        /* SPEC §4.4: the grant that allowed this hop (what the person
         * approved for this client) is the ceiling of every later hop */
        .ceiling = g->user_id ? g->resources : NULL,
        .nceiling = g->user_id ? g->nresources : 0,
        .has_ceiling = g->user_id != NULL,
    };
    if (mint_access_token(r, t, &tc, &out->access) < 0) {
        resp_oauth_error(r, 500, "server_error", "signing failed");
        return -1;
    }
    if (strlist_has(&c->grant_types, "refresh_token")) {
        int64_t exp = (int64_t)time(NULL) + REFRESH_TTL;
        if (g->grant_expires_at && g->grant_expires_at < exp)
            exp = g->grant_expires_at;
        out->refresh_exp = exp;
        if (store_refresh) {
            if (refresh_issue(&r->tx, t->id, g->grant_id, c->client_id, g->scopes_pg, g->resources_pg,
                              exp, out->refresh) < 0)
                return -1;
        } else {
            refresh_token_new(out->refresh);
        }
    }
    struct audit_event *e = audit_add(r, !strcmp(grant_type, "refresh_token") ? "token.refreshed"
                                                                               : "token.issued",
                                      true);
    e->subject = tc.sub;
    e->scope = out->scope;
    e->session_id = g->sid;
    e->resources = arena_alloc(r->arena, sizeof(char *));
    e->resources[0] = aud;
    e->nresources = 1;
    e->details = arena_sprintf(r->arena, "{\"grant_type\":\"%s\",\"jti\":\"%s\"}", grant_type,
                               out->access.jti);
    out->audit = e;
    metrics_token_issued(grant_type);
    return 0;
}
