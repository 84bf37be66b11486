/*
 * ciba.c: the backchannel authentication endpoint (CIBA Core §7), polling
 * at the token endpoint (§10-11), the decision (§9, by the approval page or
 * the approval callback), ping notifications (§10.2) and sessions: an
 * approved request becomes a grant of kind 'ciba' whose id is the session
 * id (sid) carried by every token derived from it, and whose end bounds
 * them all.
 */
#include "oauth/ciba.h"
#include "oauth/oauth.h"
#include "storage/grants.h"
#include "http/routes.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "storage/store.h"
#include "storage/pgarray.h"
#include "storage/outbox.h"
#include "storage/sessions.h"
#include "util/text.h"
#include "cache.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CIBA_GRANT "urn:openid:params:grant-type:ciba"

static bool parse_positive(const char *s, long max, long *out)
{
    if (!s)
        return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v <= 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* ---------------------------------------------------------------- */
/* POST {ISSUER}/oauth2/bc-authorize                                 */

enum hres h_bc_authorize(struct req *r)
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
    if (!r->can_block)
        return H_BLOCK;
    struct tenant *t = r->tenant;
    struct client *c = r->client;
    r->log_client = arena_strdup(r->arena, c->client_id);

    /* CIBA Core §7.1: the client is a confidential client registered for
     * the CIBA grant */
    if (!strcmp(c->auth_method, "none") || !strlist_has(&c->grant_types, CIBA_GRANT)) {
        resp_oauth_error(r, 400, "unauthorized_client", "this client may not use CIBA");
        return H_DONE;
    }
    /* §7.1: exactly one hint; authz takes login_hint (the username) */
    const char *hint = form_get(&f, "login_hint");
    if (!hint || form_get(&f, "login_hint_token") || form_get(&f, "id_token_hint")) {
        resp_oauth_error(r, 400, "invalid_request", "login_hint (the person's username) is required");
        return H_DONE;
    }
    /* SPEC §4.5: binding_message (the task) is required and shown to the
     * approver */
    const char *binding = form_get(&f, "binding_message");
    if (!text_printable(binding, AUTHZ_BINDING_MESSAGE_MAX)) {
        resp_oauth_error(r, 400, "invalid_binding_message",
                         "binding_message (the task, up to 500 printable characters) is required");
        return H_DONE;
    }
    long expiry = AUTHZ_CIBA_EXPIRY_DEFAULT, ttl = t->max_session_ttl;
    const char *re = form_get(&f, "requested_expiry");
    if (re && !parse_positive(re, AUTHZ_CIBA_EXPIRY_MAX, &expiry)) {
        resp_oauth_error(r, 400, "invalid_request", "requested_expiry must be a positive number of seconds");
        return H_DONE;
    }
    const char *st = form_get(&f, "session_ttl");
    if (st && !parse_positive(st, 100000000, &ttl)) {
        resp_oauth_error(r, 400, "invalid_request", "session_ttl must be a positive number of seconds");
        return H_DONE;
    }
    /* SPEC §4.5: capped by tenant policy; above it, invalid_request */
    if (ttl > t->max_session_ttl) {
        resp_oauth_error(r, 400, "invalid_request",
                         arena_sprintf(r->arena, "session_ttl is above this tenant's limit of %d s",
                                       t->max_session_ttl));
        return H_DONE;
    }
    /* §7.1: client_notification_token is REQUIRED for ping clients */
    bool ping = c->bc_delivery && !strcmp(c->bc_delivery, "ping");
    const char *cnt = form_get(&f, "client_notification_token");
    if (ping && (!text_printable(cnt, AUTHZ_NOTIFICATION_TOKEN_MAX))) {
        resp_oauth_error(r, 400, "invalid_request", "client_notification_token is required in ping mode");
        return H_DONE;
    }
    /* resources: registered and allowed (RFC 8707) */
    const char **res;
    int nres = form_get_all(r->arena, &f, "resource", &res);
    for (int i = 0; i < nres; i++)
        if (!tenant_resource(t, res[i]) ||
            (c->allowed_resources.n && !strlist_has(&c->allowed_resources, res[i]))) {
            resp_oauth_error(r, 400, "invalid_target", "unknown resource, or not allowed to this client");
            return H_DONE;
        }
    if (nres == 0 && form_present(&f, "resource")) {
        resp_oauth_error(r, 400, "invalid_target", "resource must be an absolute URI");
        return H_DONE;
    }
    /* scope: openid accepted and ignored; every other scope must be one the
     * client may hold and one its resources define */
    struct scopeset want;
    if (scope_parse(r->arena, form_get(&f, "scope"), &want) < 0) {
        resp_oauth_error(r, 400, "invalid_scope", "malformed scope");
        return H_DONE;
    }
    for (int i = 0; i < want.n; i++)
        if (!strcmp(want.v[i], "openid")) {
            want.v[i] = want.v[--want.n];
            i--;
        }
    /* each scope must be one a resource defines (the requested ones, or any
     * of the tenant's when none is named): authz's own scopes (admin,
     * approvals:decide) are never part of a person's session */
    for (int i = 0; i < want.n; i++) {
        bool defined = false;
        for (int k = 0; k < nres; k++) {
            const struct resource *rs = tenant_resource(t, res[k]);
            if (rs && strlist_has(&rs->scopes, want.v[i]))
                defined = true;
        }
        for (int k = 0; !nres && k < t->nresources; k++)
            if (strlist_has(&t->resources[k].scopes, want.v[i]))
                defined = true;
        if (!defined || (c->allowed_scopes.n && !strlist_has(&c->allowed_scopes, want.v[i]))) {
            resp_oauth_error(r, 400, "invalid_scope",
                             arena_sprintf(r->arena, "scope %s is not available", want.v[i]));
            return H_DONE;
        }
    }
    if (want.n == 0) {
        resp_oauth_error(r, 400, "invalid_scope", "ask for at least one scope");
        return H_DONE;
    }
    /* §7.1 / §13: unknown_user_id when the hint names nobody */
    struct person p;
    int pf = person_find(&r->tx, t->id, NULL, hint, &p);
    if (pf < 0)
        return H_DONE;
    if (pf == 0) {
        resp_oauth_error(r, 400, "unknown_user_id", "login_hint names no person of this tenant");
        return H_DONE;
    }
    char id[48], sid[32];
    crypto_random_id(id, 24);
    /* SPEC §4.5: "The session id (sid) exists from the request on" */
    crypto_random_id(sid, 16);
    const char *scopes_pg = pgarray_build(r->arena, want.v, want.n);
    const char *res_pg = pgarray_build(r->arena, res, nres);
    if (db_begin(&r->tx) < 0)
        return H_DONE;
    /* the client_notification_token is a bearer credential authz sends
     * later (CIBA Core §10.2): sealed at rest under the tenant's key */
    const char *cnt_sealed = NULL;
    if (ping) {
        char *sealed = crypto_seal_text(g_master_key, t->id, "client_notification_token", cnt);
        if (!sealed) {
            resp_oauth_error(r, 500, "server_error", "sealing the notification token failed");
            return H_DONE;
        }
        cnt_sealed = arena_strdup(r->arena, sealed);
        free(sealed);
    }
    struct ciba_request_new q = {
        .auth_req_id = id,
        .tenant_id = t->id,
        .client_id = c->client_id,
        .user_id = p.id,
        .scopes_pg = scopes_pg,
        .resources_pg = res_pg,
        .binding_message = binding,
        .session_ttl = ttl,
        .expires_in = expiry,
        .ping = ping,
        .notification_token_sealed = cnt_sealed,
        .sid = sid,
    };
    if (ciba_request_insert(&r->tx, &q) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    struct audit_event *e = audit_add(r, "session.requested", true);
    e->subject = p.id;
    e->session_id = arena_strdup(r->arena, sid);
    e->scope = scope_join(r->arena, &want);
    e->resources = res;
    e->nresources = nres;
    struct strbuf d;
    sb_init(&d);
    sb_printf(&d, "{\"auth_req_id\":\"%s\",\"session_ttl\":%ld,\"delivery\":\"%s\",\"binding_message\":",
              id, ttl, ping ? "ping" : "poll");
    sb_json_str(&d, binding);
    sb_putc(&d, '}');
    e->details = arena_strdup(r->arena, d.buf);
    sb_free(&d);
    /* SPEC §4.5: every new request goes to the tenant's approval webhook */
    if (t->approval_webhook_url) {
        struct strbuf b;
        sb_init(&b);
        sb_puts(&b, "{\"type\":\"session.requested\",\"auth_req_id\":");
        sb_json_str(&b, id);
        sb_puts(&b, ",\"sid\":");
        sb_json_str(&b, sid);
        sb_puts(&b, ",\"tenant\":");
        sb_json_str(&b, t->slug);
        sb_puts(&b, ",\"client_id\":");
        sb_json_str(&b, c->client_id);
        sb_puts(&b, ",\"client_name\":");
        sb_json_str(&b, c->client_name ? c->client_name : c->client_id);
        sb_puts(&b, ",\"subject\":");
        sb_json_str(&b, p.id);
        sb_puts(&b, ",\"username\":");
        sb_json_str(&b, p.username);
        sb_puts(&b, ",\"scope\":");
        sb_json_str(&b, e->scope);
        sb_puts(&b, ",\"resources\":[");
        for (int i = 0; i < nres; i++) {
            if (i)
                sb_putc(&b, ',');
            sb_json_str(&b, res[i]);
        }
        sb_printf(&b, "],\"session_ttl\":%ld,\"expires_in\":%ld,\"binding_message\":", ttl, expiry);
        sb_json_str(&b, binding);
        sb_puts(&b, ",\"decision_url\":");
        sb_json_str(&b, arena_sprintf(r->arena, "%s/approvals/%s/decision", t->issuer, id));
        sb_puts(&b, ",\"approval_page\":");
        sb_json_str(&b, arena_sprintf(r->arena, "%s/approvals/%s", t->issuer, id));
        sb_putc(&b, '}');
        struct outbox_message m = {
            .tenant_id = t->id,
            .kind = "webhook",
            .url = t->approval_webhook_url,
            .body = b.buf,
            .auth_req_id = id,
            .client_id = c->client_id,
        };
        int ok = outbox_enqueue(&r->tx, &m);
        sb_free(&b);
        if (ok < 0) {
            db_rollback(&r->tx);
            return H_DONE;
        }
    }
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    /* §7.3: auth_req_id, expires_in, interval */
    resp_json(r, 200, strdup(arena_sprintf(r->arena,
                                           "{\"auth_req_id\":\"%s\",\"expires_in\":%ld,\"interval\":5}",
                                           id, expiry)));
    resp_header(r, "Cache-Control", "no-store");
    return H_DONE;
}

/* ---------------------------------------------------------------- */
/* polling: grant_type=urn:openid:params:grant-type:ciba             */

static void mark_expired(struct req *r, const char *tenant_id, const char *id, const char *user_id)
{
    const char *sid, *client_id;
    if (ciba_request_expire(&r->tx, tenant_id, id, &sid, &client_id) == 1) {
        struct audit_event *e = audit_add(r, "session.expired", true);
        e->tenant_id = tenant_id;
        e->subject = user_id;
        e->session_id = sid;
        e->client_id = client_id;
        e->reason = "the request was not decided in time";
        e->details = arena_sprintf(r->arena, "{\"auth_req_id\":\"%s\"}", id);
    }
}

enum hres grant_ciba(struct req *r, const struct form *f)
{
    if (!r->can_block)
        return H_BLOCK;
    struct tenant *t = r->tenant;
    struct client *c = r->client;
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
    /* CIBA Core §11: an auth_req_id of another client is invalid_grant */
    if (found == 0 || strcmp(q.client_id, c->client_id) != 0) {
        db_rollback(&r->tx);
        resp_oauth_error(r, 400, "invalid_grant", "unknown auth_req_id");
        return H_DONE;
    }
    const char *user_id = q.user_id, *state = q.state, *gid = q.grant_id;
    bool expired = q.expired, too_fast = q.too_fast, redeemed = q.redeemed;
    const char *err = NULL, *desc = NULL;
    if (!strcmp(state, "pending") && expired) {
        mark_expired(r, t->id, id, user_id);
        err = "expired_token";
        desc = "the request expired before it was decided";
    } else if (!strcmp(state, "expired")) {
        err = "expired_token";
        desc = "the request expired before it was decided";
    } else if (!strcmp(state, "denied")) {
        err = "access_denied";
        desc = "the person denied the request";
    } else if (!strcmp(state, "pending")) {
        /* §11: polling faster than the interval is slow_down, and the
         * interval grows by 5 s */
        /* a failed update fails the commit below */
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

/* ---------------------------------------------------------------- */
/* the decision                                                      */

void ciba_approvable(struct req *r, const struct tenant *t, const struct scopeset *scopes,
                     const struct scopeset *resources, const struct scopeset *held,
                     struct approvable *out)
{
    out->scopes = scope_intersect(r->arena, scopes, held);
    out->resources.v = arena_alloc(r->arena, sizeof(char *) * (size_t)(resources->n + 1));
    out->resources.n = 0;
    for (int i = 0; i < resources->n; i++) {
        const struct resource *rs = tenant_resource(t, resources->v[i]);
        bool kept = false;
        for (int k = 0; rs && k < out->scopes.n && !kept; k++)
            kept = strlist_has(&rs->scopes, out->scopes.v[k]);
        if (kept)
            out->resources.v[out->resources.n++] = resources->v[i];
    }
}

enum ciba_decision_result ciba_decide(struct req *r, struct tenant *t, const char *auth_req_id,
                                      const char *approver_username, bool approve,
                                      const char *channel)
{
    if (db_begin(&r->tx) < 0)
        return CIBA_FAILED;
    struct ciba_request q;
    int found = ciba_request_lock_for_decision(&r->tx, t->id, auth_req_id, &q);
    if (found < 0) {
        db_rollback(&r->tx);
        return CIBA_FAILED;
    }
    if (found == 0) {
        db_rollback(&r->tx);
        return CIBA_NOT_FOUND;
    }
    const char *client_id = q.client_id, *user_id = q.user_id, *sid = q.sid;
    long ttl = q.session_ttl;
    /* SPEC §4.5: the named approver only */
    if (!approver_username || strcmp(approver_username, q.username) != 0) {
        db_rollback(&r->tx);
        return CIBA_FORBIDDEN;
    }
    if (strcmp(q.state, "pending") != 0) {
        db_rollback(&r->tx);
        return CIBA_CONFLICT;
    }
    if (q.expired) {
        mark_expired(r, t->id, auth_req_id, user_id);
        if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0)
            db_rollback(&r->tx);
        return CIBA_CONFLICT;
    }
    const char **scopes = q.scopes.v, **resources = q.resources.v;
    int nscopes = q.scopes.n, nres = q.resources.n;
    /* SPEC §4.5: "The person approves exactly what the page shows: scopes or
     * resources the person does not hold are not offered on the page and are
     * never recorded or issued." */
    struct approvable ap;
    ciba_approvable(r, t, &q.scopes, &q.resources, &q.held, &ap);
    const char *scope = scope_join(r->arena, approve ? &ap.scopes : &q.scopes);
    if (approve && ap.scopes.n == 0) {
        db_rollback(&r->tx);
        return CIBA_NOTHING;
    }
    if (approve) {
        int64_t now = (int64_t)time(NULL);
        const char *ap_scopes_pg = pgarray_build(r->arena, ap.scopes.v, ap.scopes.n);
        const char *ap_res_pg = pgarray_build(r->arena, ap.resources.v, ap.resources.n);
        /* the session is a grant whose id is the sid; SPEC §4.5: approving
         * "records no standing consent: when the session ends, the right
         * ends with it" */
        if (ciba_request_approve(&r->tx, t->id, auth_req_id, &q, approver_username, ap_scopes_pg,
                                 ap_res_pg, now) < 0) {
            db_rollback(&r->tx);
            return CIBA_FAILED;
        }
        struct audit_event *e = audit_add(r, "session.approved", true);
        e->tenant_id = t->id;
        e->client_id = client_id;
        e->subject = user_id;
        e->session_id = sid;
        e->scope = scope;
        e->resources = ap.resources.v;
        e->nresources = ap.resources.n;
        struct strbuf d;
        sb_init(&d);
        sb_printf(&d, "{\"auth_req_id\":\"%s\",\"approver\":", auth_req_id);
        sb_json_str(&d, approver_username);
        sb_printf(&d, ",\"channel\":\"%s\",\"session_ttl\":%ld", channel, ttl);
        if (ap.scopes.n < nscopes || ap.resources.n < nres) {
            /* what was asked and could not be approved, for the record */
            sb_puts(&d, ",\"requested_scope\":");
            sb_json_str(&d, scope_join(r->arena, &(struct scopeset){scopes, nscopes}));
        }
        sb_putc(&d, '}');
        e->details = arena_strdup(r->arena, d.buf);
        sb_free(&d);
    } else {
        if (ciba_request_deny(&r->tx, t->id, auth_req_id, approver_username) < 0) {
            db_rollback(&r->tx);
            return CIBA_FAILED;
        }
        struct audit_event *e = audit_add(r, "session.denied", true);
        e->tenant_id = t->id;
        e->client_id = client_id;
        e->subject = user_id;
        e->session_id = sid;
        e->scope = scope;
        e->resources = resources;
        e->nresources = nres;
        struct strbuf d;
        sb_init(&d);
        sb_printf(&d, "{\"auth_req_id\":\"%s\",\"approver\":", auth_req_id);
        sb_json_str(&d, approver_username);
        sb_printf(&d, ",\"channel\":\"%s\"}", channel);
        e->details = arena_strdup(r->arena, d.buf);
        sb_free(&d);
    }
    /* CIBA Core §10.2: ping the client that it can fetch its result */
    if (q.ping) {
        struct client *cl = NULL;
        cache_client(&r->tx, true, t, client_id, &cl);
        if (cl && cl->bc_endpoint) {
            const char *body = arena_sprintf(r->arena, "{\"auth_req_id\":\"%s\"}", auth_req_id);
            struct outbox_message m = {
                .tenant_id = t->id,
                .kind = "ping",
                .url = cl->bc_endpoint,
                .body = body,
                .bearer = q.notification_token_sealed,
                .auth_req_id = auth_req_id,
                .client_id = client_id,
            };
            if (outbox_enqueue(&r->tx, &m) < 0) {
                client_release(cl);
                db_rollback(&r->tx);
                return CIBA_FAILED;
            }
        }
        client_release(cl);
    }
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        return CIBA_FAILED;
    }
    return CIBA_DECIDED;
}

/* ---------------------------------------------------------------- */
/* sessions                                                          */

int session_revoke(struct req *r, struct tenant *t, const char *sid, const char *by)
{
    struct session_live s;
    int found = session_find_active(&r->tx, t->id, sid, &s);
    if (found <= 0)
        return found;
    int64_t until = s.expires_at + 60;
    if (grant_revoke(&r->tx, t->id, sid, "session revoked", until) < 0 ||
        grant_record_session_revocation(&r->tx, t->id, sid, until) < 0)
        return -1;
    struct audit_event *e = audit_add(r, "session.revoked", true);
    e->tenant_id = t->id;
    e->client_id = s.client_id;
    e->subject = s.user_id;
    e->session_id = sid;
    struct strbuf d;
    sb_init(&d);
    sb_puts(&d, "{\"by\":");
    sb_json_str(&d, by);
    sb_putc(&d, '}');
    e->details = arena_strdup(r->arena, d.buf);
    sb_free(&d);
    return 1;
}
