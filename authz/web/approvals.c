/*
 * approvals.c: the approval pages of a tenant (SPEC §4.5), where a person
 * decides the session requests agents made for them and ends the sessions
 * they approved.
 *
 *   GET  {ISSUER}/approvals                         their pending requests and
 *                                                   active sessions
 *   GET  {ISSUER}/approvals/{auth_req_id}           one request: agent, task,
 *                                                   scopes, resources, duration
 *   POST {ISSUER}/approvals/{auth_req_id}           decision=approve|deny
 *   POST {ISSUER}/approvals/sessions/{sid}/revoke   ends one of their sessions
 *   POST {ISSUER}/approvals/consents/{client_id}/withdraw
 *                                                   withdraws their consent to
 *                                                   an agent (SPEC §13)
 *
 * (POST {ISSUER}/approvals/{auth_req_id}/decision is the JSON callback of
 * external approval systems, oauth/approvals_api.c.)
 *
 * The same sign-in as the authorization endpoint (login.c, session.c): a
 * person who is not signed in is sent (303) to the sign-in page, which
 * brings them back here. Only the person a request names sees it: for
 * anyone else it does not exist (404, the same page as for an unknown id).
 * Every form carries the session's CSRF token, compared in constant time;
 * a form without it changes nothing (403). The decision and the end of a
 * session are oauth/ciba.c's (ciba_decide, session_revoke), withdrawing a
 * consent the admin API's (consents_withdraw, admin/consents.c: the
 * consent, its grants and what was exchanged under it), with their audit
 * rows in the same commit. No JavaScript: the pages are forms.
 */
#include "web/web.h"
#include "admin/admin.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "http/form.h"
#include "http/routes.h"
#include "oauth/ciba.h"
#include "policy/redirect.h"
#include "storage/approvals.h"
#include "storage/db.h"
#include "storage/lists.h"
#include "util/arena.h"
#include "util/limits.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define ID_MAX 128       /* longest auth_req_id or sid looked up */

/* ---- small helpers ---- */

/* auth_req_id and sid are base64url strings made by authz (the path is
 * not percent-decoded: anything else names nothing) */
static bool id_shaped(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return n >= 1 && n <= ID_MAX;
}

static char *sb_to_arena(struct req *r, struct strbuf *sb)
{
    char *s = arena_strdup(r->arena, sb->buf ? sb->buf : "");
    sb_free(sb);
    return s;
}

/* {ISSUER}/approvals[/<id>...] with each part percent-encoded */
static char *approvals_url(struct req *r, const char *a, const char *b, const char *c)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, r->tenant->issuer);
    sb_puts(&sb, "/approvals");
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3 && parts[i]; i++) {
        sb_putc(&sb, '/');
        uri_encode_component(&sb, parts[i]);
    }
    return sb_to_arena(r, &sb);
}

static const char *client_label(const struct approval *a)
{
    return a->client_name ? a->client_name : a->client_id;
}

/* "1 hour 30 minutes" */
static void put_duration(struct strbuf *sb, int64_t secs)
{
    static const struct {
        int64_t n;
        const char *unit;
    } units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
    if (secs <= 0) {
        sb_puts(sb, "0 seconds");
        return;
    }
    bool first = true;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        int64_t k = secs / units[i].n;
        secs %= units[i].n;
        if (k == 0)
            continue;
        sb_printf(sb, "%s%lld %s%s", first ? "" : " ", (long long)k, units[i].unit,
                  k == 1 ? "" : "s");
        first = false;
    }
}

static char *duration_text(struct req *r, int64_t secs)
{
    struct strbuf sb;
    sb_init(&sb);
    put_duration(&sb, secs);
    return sb_to_arena(r, &sb);
}

/* <time datetime="2025-01-02T03:04:05Z">2025-01-02 03:04:05 UTC</time>,
 * followed by " (in 5 minutes)" / " (5 minutes ago)" when relative */
static void put_time(struct strbuf *sb, int64_t t, bool relative)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char iso[32], human[40];
    if (!gmtime_r(&tt, &tm) || !strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm) ||
        !strftime(human, sizeof human, "%Y-%m-%d %H:%M:%S UTC", &tm)) {
        sb_puts(sb, "an unknown time");
        return;
    }
    sb_printf(sb, "<time datetime=\"%s\">%s</time>", iso, human);
    if (!relative)
        return;
    int64_t d = t - (int64_t)time(NULL);
    int64_t a = d < 0 ? -d : d;
    if (a < 5) {
        sb_puts(sb, " (now)");
        return;
    }
    /* to the nearest minute from two minutes on: the page is not updated
     * live */
    if (a >= 120)
        a = (a + 30) / 60 * 60;
    sb_puts(sb, d > 0 ? " (in " : " (");
    put_duration(sb, a);
    sb_puts(sb, d > 0 ? ")" : " ago)");
}

static char *time_html(struct req *r, int64_t t, bool relative)
{
    struct strbuf sb;
    sb_init(&sb);
    put_time(&sb, t, relative);
    return sb_to_arena(r, &sb);
}

/* <li class="cls"><code>value</code></li> for each, or one line saying
 * there are none. */
static void put_items(struct strbuf *sb, const struct scopeset *s, const char *cls,
                      const char *none)
{
    for (int i = 0; i < s->n; i++) {
        sb_printf(sb, "<li class=\"%s\"><code>", cls);
        web_escape_into(sb, s->v[i]);
        sb_puts(sb, "</code></li>\n");
    }
    if (s->n == 0)
        sb_printf(sb, "<li class=\"%s-none\">%s</li>\n", cls, none);
}

/* The scopes of a request, each with the words its resources give it
 * (SPEC §11), or one line saying there are none. */
static void put_scopes(struct req *r, struct strbuf *sb, const struct approval *a)
{
    for (int i = 0; i < a->scopes.n; i++)
        web_scope_item(r, sb, "scope", a->scopes.v[i], a->resources.v, a->resources.n);
    if (a->scopes.n == 0)
        sb_puts(sb, "<li class=\"scope-none\">None</li>\n");
}

/* A request still waiting shows what the person can approve of it, which is
 * exactly what approving records (oauth/ciba.c ciba_approvable). */
static void offer(struct req *r, const struct web_session *s, struct approval *a)
{
    if (strcmp(a->state, "pending") != 0)
        return;
    struct approvable ap;
    ciba_approvable(r, r->tenant, &a->scopes, &a->resources, &s->scopes, a->details_json, &ap);
    a->scopes = ap.scopes;
    a->resources = ap.resources;
    a->details_json = details_json(r->arena, &ap.details);
}

static const char NO_RESOURCE[] = "No particular resource (tokens for this organization's "
                                  "authorization server)";

/* The description list of a request or session on the list page. */
static void put_details(struct req *r, struct strbuf *sb, const struct approval *a, bool pending)
{
    sb_puts(sb, "<dl>\n<dt>Task</dt><dd class=\"task\">");
    web_escape_into(sb, a->binding_message);
    sb_puts(sb, "</dd>\n<dt>Permissions</dt><dd><ul class=\"scopes\">\n");
    put_scopes(r, sb, a);
    sb_puts(sb, "</ul></dd>\n<dt>Resources</dt><dd><ul class=\"resources\">\n");
    put_items(sb, &a->resources, "resource", NO_RESOURCE);
    sb_puts(sb, "</ul></dd>\n");
    struct details d;
    if (details_read(r->arena, a->details_json, &d) == 0 && d.n > 0) {
        sb_puts(sb, "<dt>Tools</dt><dd class=\"details\">");
        sb_puts(sb, web_details_html(r, &d));
        sb_puts(sb, "</dd>\n");
    }
    if (pending) {
        sb_puts(sb, "<dt>Session length</dt><dd class=\"duration\">");
        put_duration(sb, a->session_ttl);
        sb_puts(sb, "</dd>\n<dt>Waits for you until</dt><dd class=\"expires\">");
        put_time(sb, a->expires_at, true);
    } else {
        sb_puts(sb, "<dt>Ends</dt><dd class=\"ends\">");
        put_time(sb, a->session_ends_at, true);
    }
    sb_puts(sb, "</dd>\n</dl>\n");
}

/* The heading of a list entry: the agent's name and client_id, and what
 * the page knows about it (SPEC §11: unverified clients, with their host). */
static void put_agent(struct req *r, struct strbuf *sb, const struct approval *a, const char *href)
{
    sb_puts(sb, "<h3 class=\"agent\">");
    if (href) {
        sb_puts(sb, "<a class=\"open\" href=\"");
        web_escape_into(sb, href);
        sb_puts(sb, "\">");
    }
    web_escape_into(sb, client_label(a));
    if (href)
        sb_puts(sb, "</a>");
    sb_puts(sb, " <span class=\"client-id\">(client <code>");
    web_escape_into(sb, a->client_id);
    sb_puts(sb, "</code>)</span></h3>\n");
    sb_puts(sb, web_client_notice_by_id(r, a->client_id));
}

/* The revoke form of a session. */
static void put_revoke_form(struct req *r, struct strbuf *sb, const char *sid, const char *csrf)
{
    sb_puts(sb, "<form class=\"revoke-form\" method=\"post\" action=\"");
    web_escape_into(sb, approvals_url(r, "sessions", sid, "revoke"));
    sb_puts(sb, "\">\n");
    web_hidden_input(sb, "csrf_token", csrf);
    sb_puts(sb, "<button type=\"submit\" class=\"revoke\" id=\"revoke-");
    web_escape_into(sb, sid);
    sb_puts(sb, "\">Revoke this session</button>\n</form>\n");
}

/* One consent on the list page: the agent, what it may do, since when, and
 * the withdraw form. */
static void put_consent(struct req *r, struct strbuf *sb, const struct person_consent *c,
                        const char *csrf)
{
    sb_puts(sb, "<li class=\"consent\" id=\"consent-");
    web_escape_into(sb, c->client_id);
    sb_puts(sb, "\" data-client-id=\"");
    web_escape_into(sb, c->client_id);
    sb_puts(sb, "\">\n<h3 class=\"agent\">");
    web_escape_into(sb, c->client_name ? c->client_name : c->client_id);
    sb_puts(sb, " <span class=\"client-id\">(client <code>");
    web_escape_into(sb, c->client_id);
    sb_puts(sb, "</code>)</span></h3>\n<dl>\n<dt>Permissions</dt><dd><ul class=\"scopes\">\n");
    put_items(sb, &c->scopes, "scope", "None");
    sb_puts(sb, "</ul></dd>\n<dt>Resources</dt><dd><ul class=\"resources\">\n");
    put_items(sb, &c->resources, "resource", NO_RESOURCE);
    sb_puts(sb, "</ul></dd>\n<dt>Allowed</dt><dd class=\"since\">");
    put_time(sb, c->updated_at, true);
    sb_puts(sb, "</dd>\n</dl>\n<form class=\"withdraw-form\" method=\"post\" action=\"");
    web_escape_into(sb, approvals_url(r, "consents", c->client_id, "withdraw"));
    sb_puts(sb, "\">\n");
    web_hidden_input(sb, "csrf_token", csrf);
    sb_puts(sb, "<button type=\"submit\" class=\"withdraw\" id=\"withdraw-");
    web_escape_into(sb, c->client_id);
    sb_puts(sb, "\">Withdraw consent</button>\n</form>\n</li>\n");
}

/* ---- signing in ---- */

/* 303 to the sign-in page, which returns to return_to (a path under the
 * issuer) afterwards */
static void login_redirect(struct req *r, const char *return_to)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, r->tenant->issuer);
    sb_puts(&sb, "/login?return_to=");
    uri_encode_component(&sb, return_to);
    web_redirect(r, sb_to_arena(r, &sb));
}

enum gate { GATE_IN, GATE_DONE, GATE_BLOCK };

/* The signed-in person, or the way to sign in. Without a session cookie
 * this is answered on the loop; looking the session up needs a database
 * worker. */
static enum gate signed_in(struct req *r, const char *return_to, struct web_session *s)
{
    if (!web_session_cookie(r)) {
        login_redirect(r, return_to);
        return GATE_DONE;
    }
    if (!r->can_block)
        return GATE_BLOCK;
    int found = web_session_get(r, s);
    if (found < 0) {
        web_storage_failed(r);
        return GATE_DONE;
    }
    if (found == 0) {
        login_redirect(r, return_to);
        return GATE_DONE;
    }
    return GATE_IN;
}

/* The form of a signed-in person: urlencoded, well-formed, and carrying
 * this session's CSRF token. false when answered. An empty body is a form
 * without a token (403). */
static bool form_ok(struct req *r, const struct web_session *s, struct form *f)
{
    if (r->body_len > 0 && !web_is_form(r)) {
        web_message(r, 400, "Bad request",
                    "The form must be sent as application/x-www-form-urlencoded.");
        return false;
    }
    const char *why;
    if (form_parse(r->arena, r->body, r->body_len, f, &why) < 0) {
        web_message(r, 400, "Bad request", why);
        return false;
    }
    const char *token = form_get(f, "csrf_token");
    if (!token || !s->csrf_token || ct_streq(token, s->csrf_token) != 1) {
        web_message(r, 403, "Forbidden",
                    "This form has expired or did not come from your signed-in session. Nothing "
                    "was changed. Open the approvals page and try again.");
        return false;
    }
    return true;
}

static void not_found(struct req *r)
{
    web_message(r, 404, "Not found", "There is no approval request for you at this address.");
}

static bool method_ok(struct req *r, bool get, bool post, const char *allow)
{
    if ((get && (r->method == M_GET || r->method == M_HEAD)) || (post && r->method == M_POST))
        return true;
    web_message(r, 405, "Method not allowed", arena_sprintf(r->arena, "Use %s here.", allow));
    resp_header(r, "Allow", allow);
    return false;
}

/* ---- GET {ISSUER}/approvals ---- */

static const char *notice_html(struct req *r)
{
    const char *n = req_query_param(r, "notice");
    const char *text = NULL;
    if (!n)
        return NULL;
    if (!strcmp(n, "approved"))
        text = "You approved the request. The agent's session has started.";
    else if (!strcmp(n, "denied"))
        text = "You denied the request. The agent gets no access.";
    else if (!strcmp(n, "revoked"))
        text = "The session was revoked. The agent's tokens from it no longer work.";
    else if (!strcmp(n, "withdrawn"))
        text = "Your consent was withdrawn. The agent's tokens from it no longer work, and it "
               "has to ask you again.";
    if (!text)
        return NULL;
    return arena_sprintf(r->arena, "<p id=\"notice\" class=\"notice notice-%s\" role=\"status\">%s</p>",
                         n, text);
}

static void list_page(struct req *r, const struct web_session *s)
{
    struct tenant *t = r->tenant;
    struct approval *pending, *sessions;
    int np = store_approvals_pending(&r->tx, t->id, s->user_id, AUTHZ_APPROVALS_LIST_MAX + 1, &pending);
    int ns = np < 0 ? -1 : store_approvals_sessions(&r->tx, t->id, s->user_id, AUTHZ_APPROVALS_LIST_MAX + 1, &sessions);
    struct person_consent *consents;
    int nc = ns < 0 ? -1 : store_person_consents(&r->tx, t->id, s->user_id, AUTHZ_APPROVALS_LIST_MAX + 1, &consents);
    if (np < 0 || ns < 0 || nc < 0) {
        web_storage_failed(r);
        return;
    }

    struct strbuf sb;
    sb_init(&sb);
    if (np == 0) {
        sb_puts(&sb, "<p id=\"no-pending\" class=\"empty\">Nothing is waiting for your decision.</p>\n");
    } else {
        sb_puts(&sb, "<ul class=\"entries\">\n");
        for (int i = 0; i < np && i < AUTHZ_APPROVALS_LIST_MAX; i++) {
            struct approval *a = &pending[i];
            offer(r, s, a);
            const char *href = approvals_url(r, a->auth_req_id, NULL, NULL);
            sb_puts(&sb, "<li class=\"request\" id=\"request-");
            web_escape_into(&sb, a->auth_req_id);
            sb_puts(&sb, "\" data-auth-req-id=\"");
            web_escape_into(&sb, a->auth_req_id);
            sb_puts(&sb, "\">\n");
            put_agent(r, &sb, a, href);
            put_details(r, &sb, a, true);
            sb_puts(&sb, "<p><a class=\"review\" href=\"");
            web_escape_into(&sb, href);
            sb_puts(&sb, "\">Review and decide</a></p>\n</li>\n");
        }
        sb_puts(&sb, "</ul>\n");
        if (np > AUTHZ_APPROVALS_LIST_MAX)
            sb_printf(&sb, "<p class=\"more\">Showing the %d most recent requests.</p>\n", AUTHZ_APPROVALS_LIST_MAX);
    }
    const char *pending_html = sb_to_arena(r, &sb);

    sb_init(&sb);
    if (ns == 0) {
        sb_puts(&sb, "<p id=\"no-sessions\" class=\"empty\">You have no active sessions.</p>\n");
    } else {
        sb_puts(&sb, "<ul class=\"entries\">\n");
        for (int i = 0; i < ns && i < AUTHZ_APPROVALS_LIST_MAX; i++) {
            const struct approval *a = &sessions[i];
            sb_puts(&sb, "<li class=\"session\" id=\"session-");
            web_escape_into(&sb, a->sid);
            sb_puts(&sb, "\" data-sid=\"");
            web_escape_into(&sb, a->sid);
            sb_puts(&sb, "\">\n");
            put_agent(r, &sb, a, approvals_url(r, a->auth_req_id, NULL, NULL));
            put_details(r, &sb, a, false);
            put_revoke_form(r, &sb, a->sid, s->csrf_token);
            sb_puts(&sb, "</li>\n");
        }
        sb_puts(&sb, "</ul>\n");
        if (ns > AUTHZ_APPROVALS_LIST_MAX)
            sb_printf(&sb, "<p class=\"more\">Showing the %d most recent sessions.</p>\n", AUTHZ_APPROVALS_LIST_MAX);
    }
    const char *sessions_html = sb_to_arena(r, &sb);

    sb_init(&sb);
    if (nc == 0) {
        sb_puts(&sb, "<p id=\"no-consents\" class=\"empty\">You have not allowed any agent to act "
                     "for you.</p>\n");
    } else {
        sb_puts(&sb, "<ul class=\"entries\">\n");
        for (int i = 0; i < nc && i < AUTHZ_APPROVALS_LIST_MAX; i++)
            put_consent(r, &sb, &consents[i], s->csrf_token);
        sb_puts(&sb, "</ul>\n");
        if (nc > AUTHZ_APPROVALS_LIST_MAX)
            sb_printf(&sb, "<p class=\"more\">Showing the %d most recent.</p>\n", AUTHZ_APPROVALS_LIST_MAX);
    }
    const char *consents_html = sb_to_arena(r, &sb);

    const struct page_var v[] = {
        {"tenant", t->display_name},
        {"username", s->username},
        {"notice", notice_html(r)},
        {"pending", pending_html},
        {"sessions", sessions_html},
        {"consents", consents_html},
    };
    web_page(r, 200, "approvals", v, (int)(sizeof v / sizeof v[0]));
}

enum hres h_approvals(struct req *r)
{
    if (!method_ok(r, true, false, "GET, HEAD"))
        return H_DONE;
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    struct web_session s;
    switch (signed_in(r, "/approvals", &s)) {
    case GATE_BLOCK:
        return H_BLOCK;
    case GATE_DONE:
        return H_DONE;
    case GATE_IN:
        break;
    }
    list_page(r, &s);
    return H_DONE;
}

/* ---- {ISSUER}/approvals/{auth_req_id} ---- */

/* SPEC §12: the task's tools, on which server (web_details_html) */
static const char *details_html(struct req *r, const struct approval *a)
{
    struct details d;
    if (details_read(r->arena, a->details_json, &d) < 0)
        return "";
    return web_details_html(r, &d);
}

static void request_page(struct req *r, const struct web_session *s, const struct approval *a)
{
    bool pending = !strcmp(a->state, "pending");
    struct strbuf sb;

    sb_init(&sb);
    put_scopes(r, &sb, a);
    const char *scopes_html = sb_to_arena(r, &sb);
    sb_init(&sb);
    put_items(&sb, &a->resources, "resource", NO_RESOURCE);
    const char *resources_html = sb_to_arena(r, &sb);

    /* where the request stands, and what can still be done */
    struct strbuf st, act;
    sb_init(&st);
    sb_init(&act);
    if (pending) {
        sb_puts(&st, "Waiting for your decision until ");
        put_time(&st, a->expires_at, true);
        sb_puts(&st, ".");
        sb_puts(&act, "<form id=\"decision-form\" method=\"post\" action=\"");
        web_escape_into(&act, approvals_url(r, a->auth_req_id, NULL, NULL));
        sb_puts(&act, "\">\n");
        web_hidden_input(&act, "csrf_token", s->csrf_token);
        sb_puts(&act, "<div class=\"buttons\">\n"
                      "<button id=\"approve\" type=\"submit\" name=\"decision\" value=\"approve\">"
                      "Approve</button>\n"
                      "<button id=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">"
                      "Deny</button>\n</div>\n</form>\n");
    } else if (!strcmp(a->state, "expired")) {
        sb_puts(&st, "This request expired at ");
        put_time(&st, a->expires_at, false);
        sb_puts(&st, " without a decision. Nothing was approved.");
    } else if (!strcmp(a->state, "denied")) {
        sb_puts(&st, "Denied");
        if (a->approver) {
            sb_puts(&st, " by <strong class=\"approver\">");
            web_escape_into(&st, a->approver);
            sb_puts(&st, "</strong>");
        }
        if (a->decided_at) {
            sb_puts(&st, " at ");
            put_time(&st, a->decided_at, false);
        }
        sb_puts(&st, ". The agent got no access.");
    } else { /* approved */
        sb_puts(&st, "Approved");
        if (a->approver) {
            sb_puts(&st, " by <strong class=\"approver\">");
            web_escape_into(&st, a->approver);
            sb_puts(&st, "</strong>");
        }
        if (a->decided_at) {
            sb_puts(&st, " at ");
            put_time(&st, a->decided_at, false);
        }
        sb_puts(&st, ". ");
        const char *ss = a->session_state ? a->session_state : "ended";
        if (!strcmp(ss, "active")) {
            sb_puts(&st, "<span id=\"session-state\" class=\"session-active\">The session is active "
                         "until ");
            put_time(&st, a->session_ends_at, true);
            sb_puts(&st, ".</span>");
            put_revoke_form(r, &act, a->sid, s->csrf_token);
        } else if (!strcmp(ss, "revoked")) {
            sb_puts(&st, "<span id=\"session-state\" class=\"session-revoked\">The session was "
                         "revoked.</span>");
        } else {
            sb_puts(&st, "<span id=\"session-state\" class=\"session-ended\">The session ended");
            if (a->session_ends_at) {
                sb_puts(&st, " at ");
                put_time(&st, a->session_ends_at, false);
            }
            sb_puts(&st, ".</span>");
        }
    }
    const char *status_html = sb_to_arena(r, &st);
    const char *actions_html = sb_to_arena(r, &act);

    const char *client = client_label(a);
    const struct page_var v[] = {
        {"tenant", r->tenant->display_name},
        {"username", s->username},
        {"heading", pending ? arena_sprintf(r->arena, "Let %s act for you?", client)
                            : "Session request"},
        {"client", client},
        {"client_id", a->client_id},
        {"client_notice", web_client_notice_by_id(r, a->client_id)},
        {"auth_req_id", a->auth_req_id},
        {"task", a->binding_message},
        {"scopes", scopes_html},
        {"resources", resources_html},
        {"duration", duration_text(r, a->session_ttl)},
        {"requested", time_html(r, a->created_at, true)},
        {"state", a->state},
        {"status", status_html},
        {"actions", actions_html},
        {"back", approvals_url(r, NULL, NULL, NULL)},
        {"details", details_html(r, a)},
    };
    web_page(r, 200, "approval", v, (int)(sizeof v / sizeof v[0]));
}

static void decide(struct req *r, const struct web_session *s, const char *id)
{
    struct form f;
    if (!form_ok(r, s, &f))
        return;
    const char *d = form_get(&f, "decision");
    if (!d || (strcmp(d, "approve") != 0 && strcmp(d, "deny") != 0)) {
        web_message(r, 400, "Bad request", "The decision must be approve or deny.");
        return;
    }
    bool approve = !strcmp(d, "approve");
    /* ciba_decide checks that s->username is the person the request
     * names before anything else: for anyone else it does not exist */
    switch (ciba_decide(r, r->tenant, id, s->username, approve, "web")) {
    case CIBA_DECIDED:
        web_redirect(r, arena_sprintf(r->arena, "%s?notice=%s", approvals_url(r, NULL, NULL, NULL),
                                      approve ? "approved" : "denied"));
        break;
    case CIBA_CONFLICT:
        web_message(r, 409, "Already decided",
                    "This request was decided already, or it expired before a decision. Nothing "
                    "was changed.");
        break;
    case CIBA_NOTHING:
        web_message(r, 409, "Nothing to approve",
                    "You hold none of the permissions this agent asked for, so there is nothing you "
                    "can approve. You can deny the request. Nothing was changed.");
        break;
    case CIBA_NOT_FOUND:
    case CIBA_FORBIDDEN:
        not_found(r);
        break;
    case CIBA_FAILED:
        web_storage_failed(r);
        break;
    }
}

enum hres h_approval(struct req *r)
{
    if (!method_ok(r, true, true, "GET, HEAD, POST"))
        return H_DONE;
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    const char *id = r->params[1];
    if (!id_shaped(id)) {
        not_found(r);
        return H_DONE;
    }
    struct web_session s;
    switch (signed_in(r, arena_sprintf(r->arena, "/approvals/%s", id), &s)) {
    case GATE_BLOCK:
        return H_BLOCK;
    case GATE_DONE:
        return H_DONE;
    case GATE_IN:
        break;
    }
    if (r->method == M_POST) {
        decide(r, &s, id);
        return H_DONE;
    }
    struct approval a;
    int found = store_approval_get(&r->tx, r->tenant->id, id, s.user_id, &a);
    if (found < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    if (found == 0) {
        not_found(r);
        return H_DONE;
    }
    offer(r, &s, &a);
    request_page(r, &s, &a);
    return H_DONE;
}

/* ---- POST {ISSUER}/approvals/sessions/{sid}/revoke ---- */

/* The start of a signed-in person's POST to .../{id}/<action>: the
 * method, the tenant, an id of the right shape (else 404 with missing),
 * the sign-in and a form with the session's CSRF token. GATE_IN when the
 * handler goes on. */
static enum gate person_post(struct req *r, const char *missing, struct web_session *s,
                             struct form *f)
{
    if (!method_ok(r, false, true, "POST"))
        return GATE_DONE;
    if (req_tenant(r) == H_BLOCK)
        return GATE_BLOCK;
    if (!r->tenant)
        return GATE_DONE;
    if (!id_shaped(r->params[1])) {
        web_message(r, 404, "Not found", missing);
        return GATE_DONE;
    }
    enum gate g = signed_in(r, "/approvals", s);
    if (g != GATE_IN)
        return g;
    return form_ok(r, s, f) ? GATE_IN : GATE_DONE;
}

enum hres h_approval_revoke(struct req *r)
{
    struct web_session s;
    struct form f;
    switch (person_post(r, "There is no session of yours at this address.", &s, &f)) {
    case GATE_BLOCK:
        return H_BLOCK;
    case GATE_DONE:
        return H_DONE;
    case GATE_IN:
        break;
    }
    struct tenant *t = r->tenant;
    const char *sid = r->params[1];
    /* the person's own session only, locked until the commit so that two
     * revocations do not both happen */
    if (db_begin(&r->tx) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    int mine = store_approval_session_lock(&r->tx, t->id, sid, s.user_id);
    if (mine < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    if (mine == 0) {
        db_rollback(&r->tx);
        web_message(r, 404, "Not found", "There is no session of yours at this address.");
        return H_DONE;
    }
    int rc = session_revoke(r, t, sid, arena_sprintf(r->arena, "person:%s", s.username));
    if (rc < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    if (rc == 0) {
        db_rollback(&r->tx);
        web_message(r, 409, "Session already ended",
                    "This session was revoked already, or it has ended. Nothing was changed.");
        return H_DONE;
    }
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    web_redirect(r, arena_sprintf(r->arena, "%s?notice=revoked", approvals_url(r, NULL, NULL, NULL)));
    return H_DONE;
}

/* ---- POST {ISSUER}/approvals/consents/{client_id}/withdraw ---- */

/* SPEC §13: "People see, on {ISSUER}/approvals, the agents they have
 * consented to and the sessions they have, and withdraw either there." The
 * person's own consent only: consents_withdraw is bounded by their sub, so
 * another person's consent to the same agent is never touched. */
enum hres h_approval_withdraw(struct req *r)
{
    struct web_session s;
    struct form f;
    switch (person_post(r, "There is no consent of yours at this address.", &s, &f)) {
    case GATE_BLOCK:
        return H_BLOCK;
    case GATE_DONE:
        return H_DONE;
    case GATE_IN:
        break;
    }
    struct tenant *t = r->tenant;
    const char *client_id = r->params[1];
    if (db_begin(&r->tx) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    int n = consents_withdraw(r, t, s.user_id, client_id, "person");
    if (n < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    if (n == 0) {
        db_rollback(&r->tx);
        web_message(r, 404, "Not found", "There is no consent of yours at this address.");
        return H_DONE;
    }
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    cache_invalidate_tenant(t->id);
    web_redirect(r, arena_sprintf(r->arena, "%s?notice=withdrawn", approvals_url(r, NULL, NULL, NULL)));
    return H_DONE;
}
