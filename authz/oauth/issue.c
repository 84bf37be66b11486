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
#include "policy/details.h"
#include "util/arena.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void oauth_details_ctx(struct req *r, struct details_ctx *ctx)
{
    const struct tenant *t = r->tenant;
    const char **res = arena_alloc(r->arena, sizeof(char *) * (size_t)(t->nresources + 1));
    for (int i = 0; i < t->nresources; i++)
        res[i] = t->resources[i].uri;
    ctx->resources = res;
    ctx->nresources = t->nresources;
    ctx->allowed = (const char *const *)r->client->allowed_resources.v;
    ctx->nallowed = r->client->allowed_resources.n;
}

bool token_request_details(struct req *r, const struct form *f, struct details *out,
                           bool *present)
{
    memset(out, 0, sizeof *out);
    *present = form_present(f, "authorization_details");
    if (!*present)
        return true;
    struct details_ctx ctx;
    oauth_details_ctx(r, &ctx);
    const char *why;
    /* RFC 9396 §5/§6: details the AS cannot accept are refused with
     * invalid_authorization_details */
    if (details_parse(r->arena, form_get(f, "authorization_details"), &ctx, out, &why) < 0) {
        resp_oauth_error(r, 400, "invalid_authorization_details", why);
        return false;
    }
    return true;
}

const char *details_member(struct req *r, const char *details_json)
{
    if (!details_json)
        return NULL;
    return arena_sprintf(r->arena, ",\"authorization_details\":%s", details_json);
}

int issue_grant_tokens(struct req *r, const struct grant_row *g, const char *aud,
                       const struct scopeset *narrow, const struct details *narrow_details,
                       const char *grant_type, bool store_refresh, struct issued *out)
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

    /* RFC 9396 §6: details asked for at the token endpoint must be within
     * the grant's ("never more", SPEC §12); the token carries those of its
     * audience (RFC 9396 §2.2 locations: the resources they are for) */
    struct details held, carried;
    if (details_read(r->arena, g->details_json, &held) < 0) {
        resp_oauth_error(r, 500, "server_error", "stored authorization_details are unreadable");
        return -1;
    }
    if (narrow_details) {
        if (!details_subset(narrow_details, &held)) {
            resp_oauth_error(r, 400, "invalid_authorization_details",
                             "authorization_details may only narrow what was granted");
            return -1;
        }
        held = *narrow_details;
    }
    const char *auds[1] = {aud};
    details_restrict(r->arena, &held, auds, 1, &carried);
    out->details_json = details_json(r->arena, &carried);

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
        .details_json = out->details_json,
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
    e->details = arena_sprintf(r->arena, "{\"grant_type\":\"%s\",\"jti\":\"%s\"%s%s}", grant_type,
                               out->access.jti,
                               out->details_json ? ",\"authorization_details\":" : "",
                               out->details_json ? out->details_json : "");
    out->audit = e;
    metrics_token_issued(grant_type);
    return 0;
}
