/*
 * ciba.c: the decision on a session request (CIBA Core §9, SPEC §4.5),
 * whoever makes it: the person on the approval page (web/approvals.c) or an
 * external approval system through the approval callback
 * (oauth/approvals_api.c); the rule of what a person can approve
 * (ciba_approvable), which the page also uses to show exactly that; the
 * expiry of an undecided request; and the end of a session (session_revoke).
 * An approved request becomes a grant of kind 'ciba' whose id is the
 * session id (sid) carried by every token derived from it, and whose end
 * bounds them all; ping clients (§10.2) are told in the same transaction.
 *
 * The request itself is bc_authorize.c's, polling grant_ciba.c's.
 */
#include "oauth/ciba.h"
#include "oauth/oauth.h"
#include "storage/grants.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "storage/outbox.h"
#include "storage/sessions.h"
#include "cache.h"

#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- */
/* expiry                                                            */

/* CIBA Core §7.3 expires_in: "the expiration time of the "auth_req_id" in
 * seconds since the authentication request was received". A request found
 * past it while still pending is marked here (the sweeper in
 * storage/outbox.c marks those nobody looks at). */
void ciba_expire(struct req *r, const char *tenant_id, const char *id, const char *user_id)
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

/* ---------------------------------------------------------------- */
/* the decision                                                      */

/* SPEC §4.5: "The person approves exactly what the page shows": the
 * requested scopes the person holds, and the requested resources that
 * define at least one of those. */
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
    /* SPEC §4.5: "the named approver only" */
    if (!approver_username || strcmp(approver_username, q.username) != 0) {
        db_rollback(&r->tx);
        return CIBA_FORBIDDEN;
    }
    /* SPEC §4.5: "a second decision gets 409" (and so does a request that
     * waited too long) */
    if (strcmp(q.state, "pending") != 0) {
        db_rollback(&r->tx);
        return CIBA_CONFLICT;
    }
    if (q.expired) {
        ciba_expire(r, t->id, auth_req_id, q.user_id);
        if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0)
            db_rollback(&r->tx);
        return CIBA_CONFLICT;
    }
    /* SPEC §4.5: "The person approves exactly what the page shows: scopes or
     * resources the person does not hold are not offered on the page and are
     * never recorded or issued." */
    struct approvable ap;
    ciba_approvable(r, t, &q.scopes, &q.resources, &q.held, &ap);
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
    } else if (ciba_request_deny(&r->tx, t->id, auth_req_id, approver_username) < 0) {
        db_rollback(&r->tx);
        return CIBA_FAILED;
    }
    /* SPEC §8: session approved / denied, with "the approver's username";
     * an approval records what was approved, a denial what was asked */
    const struct scopeset *scopes = approve ? &ap.scopes : &q.scopes;
    const struct scopeset *resources = approve ? &ap.resources : &q.resources;
    struct audit_event *e = audit_add(r, approve ? "session.approved" : "session.denied", true);
    e->tenant_id = t->id;
    e->client_id = q.client_id;
    e->subject = q.user_id;
    e->session_id = q.sid;
    e->scope = scope_join(r->arena, scopes);
    e->resources = resources->v;
    e->nresources = resources->n;
    struct strbuf d;
    sb_init(&d);
    sb_printf(&d, "{\"auth_req_id\":\"%s\",\"approver\":", auth_req_id);
    sb_json_str(&d, approver_username);
    sb_printf(&d, ",\"channel\":\"%s\"", channel);
    if (approve) {
        sb_printf(&d, ",\"session_ttl\":%ld", q.session_ttl);
        if (ap.scopes.n < q.scopes.n || ap.resources.n < q.resources.n) {
            /* what was asked and could not be approved, for the record */
            sb_puts(&d, ",\"requested_scope\":");
            sb_json_str(&d, scope_join(r->arena, &q.scopes));
        }
    }
    sb_putc(&d, '}');
    e->details = arena_strdup(r->arena, d.buf);
    sb_free(&d);
    /* CIBA Core §10.2: "If the Client is registered in Ping mode, the
     * OpenID Provider will send a POST request to the Client Notification
     * Endpoint after a successful or failed end-user authentication." Queued
     * in this transaction, sent by authz/notify/outbox.c. */
    if (q.ping) {
        struct client *cl = NULL;
        cache_client(&r->tx, true, t, q.client_id, &cl);
        if (cl && cl->bc_endpoint) {
            struct outbox_message m = {
                .tenant_id = t->id,
                .kind = "ping",
                .url = cl->bc_endpoint,
                .body = arena_sprintf(r->arena, "{\"auth_req_id\":\"%s\"}", auth_req_id),
                .bearer = q.notification_token_sealed,
                .auth_req_id = auth_req_id,
                .client_id = q.client_id,
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

/* SPEC §4.5: "Revoking the session (the person on the approval page, an
 * admin, or the agent revoking its refresh token) makes every token derived
 * from it inactive at once". The revocation is kept until the session's
 * end (and a minute): "Nothing derived from a session ... outlives the
 * session's end." */
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
