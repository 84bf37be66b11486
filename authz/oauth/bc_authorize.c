/*
 * bc_authorize.c: the backchannel authentication endpoint, POST
 * {ISSUER}/oauth2/bc-authorize (CIBA Core §7, SPEC §4.5). An agent (a
 * confidential client registered for the CIBA grant) asks to act for a
 * person on one task; authz records a pending request that already carries
 * its session id (sid), queues the tenant's approval webhook when it has
 * one, and answers auth_req_id, expires_in and interval (§7.3). The
 * client is authenticated on the event loop; the checks after it run on a
 * database worker (H_BLOCK: the handler runs again from the top there, so
 * nothing before that point has a side effect), where the request row, its
 * session.requested audit row and the webhook's outbox row commit
 * together.
 *
 * Polling for the result is grant_ciba.c's; the decision and sessions are
 * ciba.c's.
 */
#include "oauth/ciba.h"
#include "oauth/oauth.h"
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

    /* CIBA Core §13 unauthorized_client: "The Client is not authorized to
     * use this authentication flow." Here: a confidential client
     * registered for the CIBA grant */
    if (!strcmp(c->auth_method, "none") || !strlist_has(&c->grant_types, CIBA_GRANT)) {
        resp_oauth_error(r, 400, "unauthorized_client", "this client may not use CIBA");
        return H_DONE;
    }
    /* CIBA Core §7.1: "it is REQUIRED that the Client provides one (and
     * only one) of the hints specified above in the authentication
     * request, that is login_hint_token, id_token_hint or login_hint."
     * authz takes login_hint (the person's username). */
    const char *hint = form_get(&f, "login_hint");
    if (!hint || form_get(&f, "login_hint_token") || form_get(&f, "id_token_hint")) {
        resp_oauth_error(r, 400, "invalid_request", "login_hint (the person's username) is required");
        return H_DONE;
    }
    /* SPEC §4.5: "binding_message (the task, required, shown to the
     * approver)"; CIBA Core §13 invalid_binding_message: "The binding
     * message is invalid or unacceptable for use in the context of the
     * given request." */
    const char *binding = form_get(&f, "binding_message");
    if (!text_printable(binding, AUTHZ_BINDING_MESSAGE_MAX)) {
        resp_oauth_error(r, 400, "invalid_binding_message",
                         "binding_message (the task, up to 500 printable characters) is required");
        return H_DONE;
    }
    /* CIBA Core §7.1 requested_expiry: "A positive integer allowing the
     * client to request the expires_in value for the auth_req_id the
     * server will return." */
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
    /* SPEC §4.5 session_ttl: "seconds the session may last once approved;
     * capped by tenant policy: above it, invalid_request" */
    if (ttl > t->max_session_ttl) {
        resp_oauth_error(r, 400, "invalid_request",
                         arena_sprintf(r->arena, "session_ttl is above this tenant's limit of %d s",
                                       t->max_session_ttl));
        return H_DONE;
    }
    /* CIBA Core §7.1 client_notification_token: "REQUIRED if the Client is
     * registered to use Ping or Push modes." */
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
    /* CIBA Core §13 unknown_user_id: "The OpenID Provider is not able to
     * identify which end-user the Client wishes to be authenticated by
     * means of the hint provided in the request" */
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
    /* CIBA Core §7.3: auth_req_id, expires_in and interval ("If no value
     * is provided, clients MUST use 5 as the default value": authz says it) */
    resp_json(r, 200, strdup(arena_sprintf(r->arena,
                                           "{\"auth_req_id\":\"%s\",\"expires_in\":%ld,\"interval\":5}",
                                           id, expiry)));
    resp_header(r, "Cache-Control", "no-store");
    return H_DONE;
}
