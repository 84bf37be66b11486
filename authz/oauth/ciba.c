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
    char ttls[24], exps[24];
    snprintf(ttls, sizeof ttls, "%ld", ttl);
    snprintf(exps, sizeof exps, "%ld", expiry);
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
    const char *v[12] = {id, t->id, c->client_id, p.id, scopes_pg, res_pg, binding, ttls,
                         ping ? "ping" : "poll", cnt_sealed, exps, sid};
    if (!db_q(&r->tx,
              "INSERT INTO ciba_requests (auth_req_id, tenant_id, client_id, user_id, scopes, "
              "resources, binding_message, session_ttl, delivery, notification_token, expires_at, "
              "sid) VALUES ($1, $2, $3, $4::uuid, $5::text[], $6::text[], $7, $8::int, $9, $10, "
              "now() + make_interval(secs => $11::int), $12)",
              12, v)) {
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
        const char *ov[5] = {t->id, t->approval_webhook_url, b.buf, id, c->client_id};
        PGresult *ok = db_q(&r->tx,
                            "INSERT INTO outbox (tenant_id, kind, url, body, auth_req_id, client_id) "
                            "VALUES ($1, 'webhook', $2, $3, $4, $5)",
                            5, ov);
        sb_free(&b);
        if (!ok) {
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
    const char *v[2] = {tenant_id, id};
    PGresult *res = db_q(&r->tx,
                         "UPDATE ciba_requests SET state = 'expired', expiry_audited = true "
                         "WHERE tenant_id = $1 AND auth_req_id = $2 AND state = 'pending' "
                         "RETURNING sid, client_id",
                         2, v);
    if (res && PQntuples(res) == 1) {
        struct audit_event *e = audit_add(r, "session.expired", true);
        e->tenant_id = tenant_id;
        e->subject = user_id;
        e->session_id = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
        e->client_id = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
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
    const char *v[2] = {t->id, id};
    PGresult *res = db_q(&r->tx,
                         "SELECT client_id, user_id, state, expires_at <= now(), "
                         "last_poll_at IS NOT NULL AND last_poll_at > now() - make_interval(secs => poll_interval), "
                         "poll_interval, grant_id, redeemed_at IS NOT NULL "
                         "FROM ciba_requests WHERE tenant_id = $1 AND auth_req_id = $2 FOR UPDATE",
                         2, v);
    if (!res) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    /* CIBA Core §11: an auth_req_id of another client is invalid_grant */
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), c->client_id) != 0) {
        db_rollback(&r->tx);
        resp_oauth_error(r, 400, "invalid_grant", "unknown auth_req_id");
        return H_DONE;
    }
    const char *user_id = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
    const char *state = arena_strdup(r->arena, PQgetvalue(res, 0, 2));
    bool expired = PQgetvalue(res, 0, 3)[0] == 't';
    bool too_fast = PQgetvalue(res, 0, 4)[0] == 't';
    const char *gid = PQgetisnull(res, 0, 6) ? NULL : arena_strdup(r->arena, PQgetvalue(res, 0, 6));
    bool redeemed = PQgetvalue(res, 0, 7)[0] == 't';
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
        if (too_fast) {
            db_q(&r->tx,
                 "UPDATE ciba_requests SET poll_interval = poll_interval + 5, last_poll_at = now() "
                 "WHERE tenant_id = $1 AND auth_req_id = $2",
                 2, v);
            err = "slow_down";
            desc = "poll less often: the interval grew by 5 seconds";
        } else {
            db_q(&r->tx, "UPDATE ciba_requests SET last_poll_at = now() WHERE tenant_id = $1 AND auth_req_id = $2",
                 2, v);
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
    const char *gv[2] = {t->id, gid};
    PGresult *g = db_q(&r->tx,
                       "SELECT g.scopes::text, g.resources::text, extract(epoch from g.auth_time)::bigint, "
                       "extract(epoch from g.expires_at)::bigint, g.revoked_at IS NOT NULL OR g.expires_at <= now(), "
                       "u.scopes::text FROM grants g JOIN users u ON u.id = g.user_id "
                       "WHERE g.tenant_id = $1 AND g.id = $2",
                       2, gv);
    if (!g) {
        db_rollback(&r->tx);
        return H_DONE;
    }
    if (PQntuples(g) != 1 || PQgetvalue(g, 0, 4)[0] == 't' || revset_has(t->id, REV_SESSION, gid)) {
        db_rollback(&r->tx);
        resp_oauth_error(r, 400, "invalid_grant", "the session has ended");
        return H_DONE;
    }
    struct grant_row row;
    memset(&row, 0, sizeof row);
    row.grant_id = gid;
    row.client_id = c->client_id;
    row.user_id = user_id;
    row.scopes_pg = arena_strdup(r->arena, PQgetvalue(g, 0, 0));
    row.resources_pg = arena_strdup(r->arena, PQgetvalue(g, 0, 1));
    row.auth_time = strtoll(PQgetvalue(g, 0, 2), NULL, 10);
    row.grant_expires_at = strtoll(PQgetvalue(g, 0, 3), NULL, 10);
    row.sid = gid;
    row.nscopes = pgarray_parse(r->arena, row.scopes_pg, &row.scopes);
    row.nresources = pgarray_parse(r->arena, row.resources_pg, &row.resources);
    row.nuser_scopes = pgarray_parse(r->arena, PQgetvalue(g, 0, 5), &row.user_scopes);
    const char *why; /* RFC 8707 §2.2: no resource asked for here: never NULL */
    const char *aud = resource_narrow(NULL, 0, row.resources, row.nresources, t->issuer, &why);
    if (!db_q(&r->tx, "UPDATE ciba_requests SET redeemed_at = now() WHERE tenant_id = $1 AND auth_req_id = $2",
              2, v)) {
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
    const char *v[2] = {t->id, auth_req_id};
    PGresult *res = db_q(&r->tx,
                         "SELECT q.client_id, q.user_id, u.username, q.state, q.expires_at <= now(), "
                         "q.scopes::text, q.resources::text, q.session_ttl, q.delivery, "
                         "q.notification_token, q.binding_message, q.sid, u.scopes::text "
                         "FROM ciba_requests q JOIN users u ON u.id = q.user_id "
                         "WHERE q.tenant_id = $1 AND q.auth_req_id = $2 FOR UPDATE OF q",
                         2, v);
    if (!res) {
        db_rollback(&r->tx);
        return CIBA_FAILED;
    }
    if (PQntuples(res) != 1) {
        db_rollback(&r->tx);
        return CIBA_NOT_FOUND;
    }
    const char *client_id = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
    const char *user_id = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
    const char *username = arena_strdup(r->arena, PQgetvalue(res, 0, 2));
    const char *state = PQgetvalue(res, 0, 3);
    bool expired = PQgetvalue(res, 0, 4)[0] == 't';
    const char *scopes_pg = arena_strdup(r->arena, PQgetvalue(res, 0, 5));
    const char *res_pg = arena_strdup(r->arena, PQgetvalue(res, 0, 6));
    long ttl = strtol(PQgetvalue(res, 0, 7), NULL, 10);
    bool ping = !strcmp(PQgetvalue(res, 0, 8), "ping");
    const char *cnt = PQgetisnull(res, 0, 9) ? NULL : arena_strdup(r->arena, PQgetvalue(res, 0, 9));
    const char *sid = arena_strdup(r->arena, PQgetvalue(res, 0, 11));
    const char **held;
    int nheld = pgarray_parse(r->arena, PQgetvalue(res, 0, 12), &held);
    /* SPEC §4.5: the named approver only */
    if (!approver_username || strcmp(approver_username, username) != 0) {
        db_rollback(&r->tx);
        return CIBA_FORBIDDEN;
    }
    if (strcmp(state, "pending") != 0) {
        db_rollback(&r->tx);
        return CIBA_CONFLICT;
    }
    if (expired) {
        mark_expired(r, t->id, auth_req_id, user_id);
        if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0)
            db_rollback(&r->tx);
        return CIBA_CONFLICT;
    }
    const char **scopes, **resources;
    int nscopes = pgarray_parse(r->arena, scopes_pg, &scopes);
    int nres = pgarray_parse(r->arena, res_pg, &resources);
    /* SPEC §4.5: "The person approves exactly what the page shows: scopes or
     * resources the person does not hold are not offered on the page and are
     * never recorded or issued." */
    struct approvable ap;
    ciba_approvable(r, t, &(struct scopeset){scopes, nscopes}, &(struct scopeset){resources, nres},
                    &(struct scopeset){held, nheld}, &ap);
    const char *scope = scope_join(r->arena, approve ? &ap.scopes : &(struct scopeset){scopes, nscopes});
    if (approve && ap.scopes.n == 0) {
        db_rollback(&r->tx);
        return CIBA_NOTHING;
    }
    if (approve) {
        char gid[32];
        snprintf(gid, sizeof gid, "%s", sid);
        int64_t now = (int64_t)time(NULL);
        const char *ap_scopes_pg = pgarray_build(r->arena, ap.scopes.v, ap.scopes.n);
        const char *ap_res_pg = pgarray_build(r->arena, ap.resources.v, ap.resources.n);
        /* the session is a grant whose id is the sid; SPEC §4.5: approving
         * "records no standing consent: when the session ends, the right
         * ends with it" */
        if (grant_create(&r->tx, t->id, client_id, user_id, "ciba", ap_scopes_pg, ap_res_pg, now, now + ttl,
                         gid) < 0 ||
            !db_q(&r->tx,
                  "UPDATE ciba_requests SET state = 'approved', decided_at = now(), approver = $3, "
                  "grant_id = $4 WHERE tenant_id = $1 AND auth_req_id = $2",
                  4, (const char *[]){t->id, auth_req_id, approver_username, gid})) {
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
        if (!db_q(&r->tx,
                  "UPDATE ciba_requests SET state = 'denied', decided_at = now(), approver = $3 "
                  "WHERE tenant_id = $1 AND auth_req_id = $2",
                  3, (const char *[]){t->id, auth_req_id, approver_username})) {
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
    if (ping) {
        struct client *cl = NULL;
        cache_client(&r->tx, true, t, client_id, &cl);
        if (cl && cl->bc_endpoint) {
            const char *body = arena_sprintf(r->arena, "{\"auth_req_id\":\"%s\"}", auth_req_id);
            if (!db_q(&r->tx,
                      "INSERT INTO outbox (tenant_id, kind, url, body, bearer, auth_req_id, client_id) "
                      "VALUES ($1, 'ping', $2, $3, $4, $5, $6)",
                      6, (const char *[]){t->id, cl->bc_endpoint, body, cnt, auth_req_id, client_id})) {
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
    const char *v[2] = {t->id, sid};
    PGresult *res = db_q(&r->tx,
                         "SELECT user_id, client_id, extract(epoch from expires_at)::bigint FROM grants "
                         "WHERE tenant_id = $1 AND id = $2 AND kind = 'ciba' AND revoked_at IS NULL "
                         "AND expires_at > now()",
                         2, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    const char *user_id = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
    const char *client_id = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
    int64_t until = strtoll(PQgetvalue(res, 0, 2), NULL, 10) + 60;
    if (grant_revoke(&r->tx, t->id, sid, "session revoked", until) < 0 ||
        grant_record_session_revocation(&r->tx, t->id, sid, until) < 0)
        return -1;
    struct audit_event *e = audit_add(r, "session.revoked", true);
    e->tenant_id = t->id;
    e->client_id = client_id;
    e->subject = user_id;
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
