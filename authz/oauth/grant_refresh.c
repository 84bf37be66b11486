/*
 * grant_refresh.c: the refresh token grant (RFC 6749 §6) with rotation on
 * every use (RFC 9700 §4.14.2, OAuth 2.1 §4.3.1): presenting a refresh token
 * that was already rotated revokes the whole family and is answered
 * invalid_grant. A refresh may narrow scope and resource, never widen them.
 *
 * The common case costs one read statement here; the rotation itself is
 * group-committed with other requests' (storage/rotate.c): a conditional
 * UPDATE that succeeds only while the token is still current, written
 * together with its successor and its audit row, and the answer leaves only
 * after that commit. A token that lost that race was used twice: it is
 * treated as reuse.
 *
 * SPEC §11 refresh_retry_window: several processes of one client (MCP
 * clients) may race on one refresh token. Within the tenant's window, a
 * rotated token presented again by the client it was issued to is answered
 * with the same successor (kept sealed beside it by the rotation) and a
 * fresh access token of the same grant, audited token.refreshed with
 * details.retry true. Outside it (or with the window 0), reuse detection is
 * exactly as strict as before.
 */
#include "oauth/oauth.h"
#include "policy/details.h"
#include "storage/grants.h"
#include "oauth/ciba.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "storage/rotate.h"
#include "cache.h"
#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <stdlib.h>

#include <string.h>
#include <time.h>

/* RFC 9700 §4.14.2: a rotated refresh token presented again means it
 * leaked: invalidate the whole family */
static enum hres reuse_detected(struct req *r, const struct grant_row *g)
{
    struct tenant *t = r->tenant;
    int64_t until = revocation_horizon();
    if (db_begin(&r->tx) < 0 ||
        grant_revoke(&r->tx, t->id, g->grant_id, "refresh token reuse", until) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    struct audit_event *e = audit_add(r, "refresh.reuse_detected", false);
    e->subject = g->user_id;
    e->session_id = g->sid;
    e->reason = "a rotated refresh token was presented again; its family is revoked";
    e->details = "{\"grant_type\":\"refresh_token\"}";
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    resp_oauth_error(r, 400, "invalid_grant", "unknown, expired or revoked refresh token");
    return H_DONE;
}

struct refresh_ctx {
    struct grant_row g;
    const char *token;
    const char *aud;              /* of the access token answered */
    const struct scopeset *narrow; /* the request's scope, or NULL */
    const struct details *narrow_details; /* the request's authorization_details, or NULL */
};

#define SUCCESSOR_PURPOSE "refresh_successor"

/* SPEC §11: the successor of the rotated token old, when the tenant has a
 * retry window and it still lasts, and that successor is itself still
 * current (not rotated, revoked or expired) and the calling client's.
 * 1 with *succ (its grant row) and *token, 0 none, -1 database failure. */
static int retry_successor(struct req *r, const struct grant_row *old, struct grant_row *succ,
                           const char **token)
{
    struct tenant *t = r->tenant;
    if (t->refresh_retry_window <= 0 || !old->token_hash)
        return 0;
    const char *sealed = NULL;
    int got = refresh_successor_get(&r->tx, t->id, old->token_hash, &sealed);
    if (got <= 0)
        return got;
    char *plain = crypto_open_text(g_master_key, t->id, SUCCESSOR_PURPOSE, sealed);
    if (!plain || !crypto_is_sealed_text(sealed)) {
        free(plain);
        return 0;
    }
    *token = arena_strdup(r->arena, plain);
    OPENSSL_cleanse(plain, strlen(plain));
    free(plain);
    int found = refresh_take(&r->tx, t->id, *token, false, succ);
    if (found <= 0)
        return found;
    if (succ->used || succ->revoked || succ->expired ||
        strcmp(succ->client_id, r->client->client_id) != 0 ||
        (succ->sid && revset_has(t->id, REV_SESSION, succ->sid)))
        return 0;
    return 1;
}

/* The answer to a retry inside the window: the same successor, a fresh
 * access token of its grant, and its token.refreshed row with retry true
 * (added to r; the caller writes it). 0, or -1 with the answer set. */
static int retry_answer(struct req *r, const struct grant_row *succ, const char *token,
                        const char *aud, const struct scopeset *narrow,
                        const struct details *narrow_details)
{
    struct issued out;
    if (issue_grant_tokens(r, succ, aud, narrow, narrow_details, "refresh_token", false, &out) < 0)
        return -1;
    out.audit->details = arena_sprintf(r->arena,
                                       "{\"grant_type\":\"refresh_token\",\"jti\":\"%s\","
                                       "\"retry\":true}",
                                       out.access.jti);
    token_response(r, &out.access, out.scope, token, details_member(r, out.details_json));
    return 0;
}

/* The rotation found the token no longer current (rotation thread, with a
 * connection): rotated by another request means reuse; revoked or expired
 * meanwhile is a plain invalid_grant. */
static void refresh_lost(void *owner, void *arg)
{
    struct req *r = req_of_job(owner);
    struct refresh_ctx *x = arg;
    struct grant_row now;
    int found = refresh_take(&r->tx, r->tenant->id, x->token, false, &now);
    if (found < 0)
        return;
    if (found == 1 && now.used && !now.revoked) {
        /* SPEC §11: lost to a concurrent refresh of the same token inside
         * the retry window: that one's successor (written in the same
         * transaction as its rotation) */
        struct grant_row succ;
        const char *token = NULL;
        int got = retry_successor(r, &now, &succ, &token);
        if (got < 0)
            return;
        if (got == 1) {
            retry_answer(r, &succ, token, x->aud, x->narrow, x->narrow_details);
            return;
        }
        reuse_detected(r, &x->g);
        return;
    }
    if (found == 1 && !now.used && !now.revoked && !now.expired) {
        /* untouched: its batch failed; nothing was issued */
        r->tx.down = true;
        return;
    }
    resp_oauth_error(r, 400, "invalid_grant", "unknown, expired or revoked refresh token");
}

enum hres grant_refresh_token(struct req *r, const struct form *f)
{
    if (!r->can_block)
        return H_BLOCK;
    struct tenant *t = r->tenant;
    struct client *c = r->client;
    const char *rt = form_get(f, "refresh_token");
    if (!rt) {
        resp_oauth_error(r, 400, "invalid_request", "refresh_token is required");
        return H_DONE;
    }
    if (strlen(rt) > 256) {
        resp_oauth_error(r, 400, "invalid_grant", "unknown, expired or revoked refresh token");
        return H_DONE;
    }
    struct scopeset want;
    const char *scope = form_get(f, "scope");
    if (scope_parse(r->arena, scope, &want) < 0) {
        resp_oauth_error(r, 400, "invalid_scope", "malformed scope");
        return H_DONE;
    }
    /* RFC 9396 §6.2 / SPEC §12: a refresh may ask for a subset of the
     * grant's authorization_details, never more */
    struct details want_details;
    bool narrow_details;
    if (!token_request_details(r, f, &want_details, &narrow_details))
        return H_DONE;
    /* SPEC §11: offline_access (and openid) are accepted, never issued: a
     * scope of only those narrows nothing */
    if (scope_drop_unissued(&want) > 0 && want.n == 0)
        scope = NULL;
    struct grant_row g;
    int found = refresh_take(&r->tx, t->id, rt, false, &g);
    if (found < 0)
        return H_DONE;
    /* RFC 6749 §6: the refresh token was issued to the authenticated client */
    if (found == 0 || strcmp(g.client_id, c->client_id) != 0) {
        resp_oauth_error(r, 400, "invalid_grant", "unknown, expired or revoked refresh token");
        return H_DONE;
    }
    bool retry = false;
    const char *successor = NULL;
    if (g.used && !g.revoked) {
        /* SPEC §11: inside the retry window, its client gets the same
         * successor; else reuse detection (RFC 9700 §4.14.2) */
        struct grant_row succ;
        int got = retry_successor(r, &g, &succ, &successor);
        if (got < 0)
            return H_DONE;
        if (got == 0)
            return reuse_detected(r, &g);
        g = succ;
        retry = true;
    }
    if (g.used || g.revoked || g.expired || (g.sid && revset_has(t->id, REV_SESSION, g.sid))) {
        resp_oauth_error(r, 400, "invalid_grant", "unknown, expired or revoked refresh token");
        return H_DONE;
    }
    /* RFC 6749 §6: the requested scope "MUST NOT include any scope not
     * originally granted by the resource owner" */
    struct scopeset orig = {g.scopes, g.nscopes};
    if (scope && !scope_subset(&want, &orig)) {
        resp_oauth_error(r, 400, "invalid_scope", "a refresh cannot widen the scope");
        return H_DONE;
    }
    /* RFC 8707 §2.2: resource must be one of the grant's */
    const char **res;
    int nres = form_get_all(r->arena, f, "resource", &res);
    const char *why;
    const char *aud = resource_narrow(res, nres, g.resources, g.nresources, t->issuer, &why);
    if (!aud) {
        resp_oauth_error(r, 400, "invalid_target", why);
        return H_DONE;
    }
    if (retry) {
        if (retry_answer(r, &g, successor, aud, scope ? &want : NULL,
                         narrow_details ? &want_details : NULL) < 0)
            return H_DONE;
        if (db_begin(&r->tx) < 0 || db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
            db_rollback(&r->tx);
            r->tx.down = true;
        }
        return H_DONE;
    }
    /* RFC 6749 §6: "the refresh token scope MUST be identical to that of the
     * refresh token included by the client in the request" — the successor
     * keeps the grant's scopes; only the access token is narrowed */
    struct issued out;
    if (issue_grant_tokens(r, &g, aud, scope ? &want : NULL,
                           narrow_details ? &want_details : NULL, "refresh_token", false, &out) < 0)
        return H_DONE;
    if (!out.refresh[0]) {
        /* the client may no longer refresh: nothing to rotate into */
        resp_oauth_error(r, 400, "unauthorized_client", "this client may not use refresh_token");
        return H_DONE;
    }
    /* the token.refreshed row is written with the rotation, in its batch */
    struct rotation *rot = arena_alloc(r->arena, sizeof *rot);
    rotation_init(rot, t->id, g.token_hash, out.refresh);
    rot->client_id = g.client_id;
    rot->scopes_pg = g.scopes_pg;
    rot->resources_pg = g.resources_pg;
    rot->expires_at = out.refresh_exp;
    rot->audit = out.audit;
    audit_remove(r, out.audit);
    struct refresh_ctx *x = arena_alloc(r->arena, sizeof *x);
    x->g = g;
    x->token = rt;
    x->aud = aud;
    if (scope) {
        struct scopeset *n = arena_alloc(r->arena, sizeof *n);
        *n = want;
        x->narrow = n;
    }
    if (narrow_details) {
        struct details *d = arena_alloc(r->arena, sizeof *d);
        *d = want_details;
        x->narrow_details = d;
    }
    if (t->refresh_retry_window > 0) {
        /* SPEC §11: the successor, sealed, for the retry window */
        char *sealed = crypto_seal_text(g_master_key, t->id, SUCCESSOR_PURPOSE, out.refresh);
        if (!sealed) {
            resp_oauth_error(r, 500, "server_error", "sealing failed");
            return H_DONE;
        }
        rot->successor_sealed = arena_strdup(r->arena, sealed);
        free(sealed);
        rot->retry_window = t->refresh_retry_window;
    }
    rot->lost = refresh_lost;
    rot->ctx = x;
    token_response(r, &out.access, out.scope, out.refresh, details_member(r, out.details_json));
    r->job.rotation = rot;
    return H_DONE;
}
