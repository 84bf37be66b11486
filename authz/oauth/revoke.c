/*
 * revoke.c: RFC 7009 token revocation for access tokens (by jti, until they
 * expire) and refresh tokens (the whole grant: RFC 7009 §2.1 "SHOULD also
 * invalidate all access tokens based on the same authorization grant").
 * Unknown or already invalid tokens get 200 (§2.2). A client may revoke only
 * tokens issued to it. Revocations are durable and reach every authzd
 * through NOTIFY authz_revoke.
 */
#include "oauth/oauth.h"
#include "http/routes.h"
#include "storage/grants.h"
#include "oauth/ciba.h"
#include "storage/db.h"
#include "cache.h"
#include "util/limits.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void ok(struct req *r)
{
    resp_set(r, 200, NULL, NULL, 0);
    resp_header(r, "Cache-Control", "no-store");
}

static void not_yours(struct req *r)
{
    /* RFC 7009 §2.1: the token was not issued to the requesting client */
    resp_oauth_error(r, 400, "unauthorized_client", "the token was not issued to this client");
}

enum hres h_revoke(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    struct form f;
    if (!oauth_form(r, &f))
        return H_DONE;
    if (client_authenticate(r, &f) == H_BLOCK)
        return H_BLOCK;
    if (!r->client)
        return H_DONE;
    r->log_client = arena_strdup(r->arena, r->client->client_id);
    const char *token = form_get(&f, "token");
    if (!token) {
        resp_oauth_error(r, 400, "invalid_request", "token is required");
        return H_DONE;
    }
    const char *hint = form_get(&f, "token_type_hint");
    if (hint && strcmp(hint, "access_token") && strcmp(hint, "refresh_token")) {
        /* RFC 7009 §2.2.1: unknown hints are ignored */
        hint = NULL;
    }
    if (!r->can_block)
        return H_BLOCK; /* every revocation is written to the database */
    struct tenant *t = r->tenant;
    struct client *c = r->client;
    if (strlen(token) > AUTHZ_TOKEN_MAX) {
        ok(r);
        return H_DONE;
    }
    if (strchr(token, '.')) {
        json_t *claims = access_token_active(t, token);
        if (!claims) {
            ok(r);
            return H_DONE;
        }
        const char *cid = json_string_value(json_object_get(claims, "client_id"));
        if (!cid || strcmp(cid, c->client_id) != 0) {
            json_decref(claims);
            not_yours(r);
            return H_DONE;
        }
        char *jti = arena_strdup(r->arena, json_string_value(json_object_get(claims, "jti")));
        char *sub = arena_strdup(r->arena, json_string_value(json_object_get(claims, "sub")));
        int64_t exp = (int64_t)json_integer_value(json_object_get(claims, "exp"));
        json_decref(claims);
        if (db_begin(&r->tx) < 0 || jti_revoke(&r->tx, t->id, jti, exp + 60) < 0) {
            db_rollback(&r->tx);
            return H_DONE;
        }
        struct audit_event *e = audit_add(r, "token.revoked", true);
        e->subject = sub;
        e->details = arena_sprintf(r->arena, "{\"token_type\":\"access_token\",\"jti\":\"%s\"}", jti);
        if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
            db_rollback(&r->tx);
            return H_DONE;
        }
        ok(r);
        return H_DONE;
    }
    if (strncmp(token, "azrt_", 5) != 0 || strlen(token) > 256) {
        ok(r);
        return H_DONE;
    }
    if (db_begin(&r->tx) < 0)
        return H_DONE;
    struct grant_row g;
    int found = refresh_take(&r->tx, t->id, token, true, &g);
    if (found <= 0) {
        db_rollback(&r->tx);
        if (found == 0)
            ok(r);
        return H_DONE;
    }
    if (strcmp(g.client_id, c->client_id) != 0) {
        db_rollback(&r->tx);
        not_yours(r);
        return H_DONE;
    }
    if (!g.revoked && g.sid) {
        /* SPEC §4.5: the agent revoking its refresh token ends the session */
        if (session_revoke(r, t, g.sid, arena_sprintf(r->arena, "client:%s", c->client_id)) < 0) {
            db_rollback(&r->tx);
            return H_DONE;
        }
    } else if (!g.revoked) {
        int64_t until = revocation_horizon();
        if (grant_revoke(&r->tx, t->id, g.grant_id, "refresh token revoked by its client", until) < 0) {
            db_rollback(&r->tx);
            return H_DONE;
        }
        struct audit_event *e = audit_add(r, "token.revoked", true);
        e->subject = g.user_id;
        e->session_id = g.sid;
        e->details = "{\"token_type\":\"refresh_token\",\"family\":true}";
    }
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    ok(r);
    return H_DONE;
}
