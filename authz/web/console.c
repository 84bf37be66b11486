/*
 * console.c: the operator console's routes, signing in and out, and the
 * forms that change something (SPEC §13 "Operator console"; the rules are
 * in console.h):
 *
 *   GET  /console/                         the tenants (root) or one's tenant
 *   GET  /console/login                    the root operator's sign-in form
 *   POST /console/login                    root_token=..: signs in
 *   POST /console/logout                   signs out (the sign-in is deleted)
 *   GET  /console/t/{slug}/agents          agents; GET .../agents/{client_id}
 *                                          one agent and its chart
 *   POST /console/t/{slug}/agents/{client_id}/disable
 *   GET  /console/t/{slug}/people;  POST .../people/{sub}/disable
 *   GET  /console/t/{slug}/sessions; POST .../sessions/{sid}/revoke
 *   GET  /console/t/{slug}/audit           the audit trail with SPEC §7's
 *                                          filters
 *   GET, POST {ISSUER}/console             a tenant administrator, signed in
 *                                          to the tenant, opens the console
 *
 * Disabling is admin/lifecycle.c's (lifecycle_*_set_status: the cascade and
 * its audit rows), revoking a session oauth/ciba.c's session_revoke; this
 * file only checks who asks and how.
 */
#include "web/console.h"
#include "admin/admin.h"
#include "admin/lifecycle.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "http/form.h"
#include "http/routes.h"
#include "oauth/ciba.h"
#include "policy/redirect.h"
#include "storage/db.h"
#include "storage/store.h"
#include "util/arena.h"
#include "util/limits.h"

#include <stdio.h>
#include <string.h>

/* ---- URLs and cookies ---- */

/* the path part of public_url ("" when it has none) */
static const char *public_path(void)
{
    const char *p = strstr(g_public_url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : "";
}

const char *console_url(struct req *r, const char *suffix)
{
    return arena_sprintf(r->arena, "%s/console%s", g_public_url, suffix);
}

const char *console_tenant_url(struct req *r, const char *slug, const char *what, const char *id,
                               const char *action)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, g_public_url);
    sb_puts(&sb, "/console/t/");
    uri_encode_component(&sb, slug);
    const char *parts[3] = {what, id, action};
    for (int i = 0; i < 3 && parts[i]; i++) {
        sb_putc(&sb, '/');
        uri_encode_component(&sb, parts[i]);
    }
    char *s = arena_strdup(r->arena, sb.buf ? sb.buf : "");
    sb_free(&sb);
    return s;
}

static bool secure(struct req *r)
{
    return r->tls || strncmp(g_public_url, "https://", 8) == 0;
}

/* Set-Cookie on the console's path: HttpOnly, SameSite=Strict, Secure on
 * https; max_age 0 deletes it, -1 makes a browser-session cookie */
static void set_cookie(struct req *r, const char *name, const char *value, int max_age)
{
    char age[32] = "";
    if (max_age >= 0)
        snprintf(age, sizeof age, "; Max-Age=%d", max_age);
    resp_header(r, "Set-Cookie",
                arena_sprintf(r->arena, "%s=%s; Path=%s/console%s; HttpOnly; SameSite=Strict%s",
                              name, value, public_path(), age, secure(r) ? "; Secure" : ""));
}

static void cookie_hash(const char *cookie, char out[CRYPTO_SECRET_HASH_HEX + 1])
{
    crypto_secret_hash(g_secret_pepper, cookie, strlen(cookie), out);
}

/* Starts a console sign-in (inside the caller's transaction): the browser's
 * previous one, if any, ends (a value planted before signing in is worth
 * nothing after it). 0 or -1. */
static int start_session(struct req *r, const char *tenant_id, const char *user_id)
{
    char hash[CRYPTO_SECRET_HASH_HEX + 1];
    const char *old = req_cookie(r, CONSOLE_COOKIE);
    if (web_token_shaped(old)) {
        cookie_hash(old, hash);
        if (store_console_session_delete(&r->tx, hash) < 0)
            return -1;
    }
    char cookie[64], csrf[64];
    crypto_random_id(cookie, 32);
    crypto_random_id(csrf, 32);
    cookie_hash(cookie, hash);
    if (store_console_session_create(&r->tx, hash, tenant_id, user_id, csrf, CONSOLE_TTL) < 0)
        return -1;
    set_cookie(r, CONSOLE_COOKIE, cookie, CONSOLE_TTL);
    return 0;
}

/* ---- the page frame ---- */

void console_page(struct req *r, int status, const struct console_session *s, const char *slug,
                  const char *title, const char *notice, const char *body)
{
    struct strbuf nav;
    sb_init(&nav);
    if (s) {
        sb_puts(&nav, "<nav id=\"nav\">");
        if (s->root) {
            sb_puts(&nav, "<a id=\"nav-tenants\" href=\"");
            web_escape_into(&nav, console_url(r, "/"));
            sb_puts(&nav, "\">Tenants</a> ");
        }
        if (slug) {
            static const char *pages[][2] = {{"agents", "Agents"},
                                             {"people", "People"},
                                             {"sessions", "Sessions"},
                                             {"audit", "Audit trail"}};
            sb_puts(&nav, "<span class=\"tenant\">");
            web_escape_into(&nav, slug);
            sb_puts(&nav, ":</span> ");
            for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
                sb_printf(&nav, "<a id=\"nav-%s\" href=\"", pages[i][0]);
                web_escape_into(&nav, console_tenant_url(r, slug, pages[i][0], NULL, NULL));
                sb_printf(&nav, "\">%s</a> ", pages[i][1]);
            }
        }
        sb_puts(&nav, "<span class=\"who\">Signed in as <strong id=\"who\">");
        if (s->root)
            sb_puts(&nav, "the root operator");
        else
            web_escape_into(&nav, s->username);
        sb_puts(&nav, "</strong></span>");
        console_button_form(&nav, console_url(r, "/logout"), s->csrf_token, "signout", "signout",
                            "Sign out", false);
        sb_puts(&nav, "</nav>");
    }
    const struct page_var v[] = {
        {"title", title},
        {"nav", nav.buf ? nav.buf : ""},
        {"notice", notice},
        {"body", body},
    };
    web_page(r, status, "console", v, (int)(sizeof v / sizeof v[0]));
    sb_free(&nav);
}

void console_message(struct req *r, int status, const struct console_session *s,
                     const char *title, const char *text)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "<p id=\"message\">");
    web_escape_into(&sb, text);
    sb_puts(&sb, "</p>\n");
    console_page(r, status, s, s && !s->root ? s->tenant_slug : NULL, title, NULL,
                 sb.buf);
    sb_free(&sb);
}

void console_button_form(struct strbuf *sb, const char *action, const char *csrf,
                         const char *cls, const char *id, const char *label, bool with_reason)
{
    sb_printf(sb, "<form class=\"%s-form\" method=\"post\" action=\"", cls);
    web_escape_into(sb, action);
    sb_puts(sb, "\">");
    web_hidden_input(sb, "csrf_token", csrf);
    if (with_reason)
        sb_printf(sb, "<input type=\"text\" name=\"reason\" maxlength=\"200\" "
                      "placeholder=\"reason\" aria-label=\"reason\">");
    sb_printf(sb, "<button type=\"submit\" class=\"%s\" id=\"", cls);
    web_escape_into(sb, id);
    sb_puts(sb, "\">");
    web_escape_into(sb, label);
    sb_puts(sb, "</button></form>");
}

static void storage_failed(struct req *r)
{
    web_storage_failed(r);
}

/* ---- forms ---- */

/* An urlencoded form carrying csrf_token equal to want (constant time).
 * false when answered: 400 for a malformed body, 403 for a missing or
 * wrong token. */
static bool form_with_token(struct req *r, const struct console_session *s, const char *want,
                            struct form *f)
{
    if (r->body_len > 0 && !web_is_form(r)) {
        console_message(r, 400, s, "Bad request",
                        "The form must be sent as application/x-www-form-urlencoded.");
        return false;
    }
    const char *why;
    if (form_parse(r->arena, r->body, r->body_len, f, &why) < 0) {
        console_message(r, 400, s, "Bad request", why);
        return false;
    }
    const char *token = form_get(f, "csrf_token");
    if (!token || !want || ct_streq(token, want) != 1) {
        console_message(r, 403, s, "Forbidden",
                        "This form has expired or did not come from your console sign-in. "
                        "Nothing was changed.");
        return false;
    }
    return true;
}

static bool method_is(struct req *r, bool get, bool post, const char *allow)
{
    if ((get && (r->method == M_GET || r->method == M_HEAD)) || (post && r->method == M_POST))
        return true;
    console_message(r, 405, NULL, "Method not allowed",
                    arena_sprintf(r->arena, "Use %s here.", allow));
    resp_header(r, "Allow", allow);
    return false;
}

/* ---- signing in as the root operator ---- */

static void login_page(struct req *r, int status, const char *message)
{
    const char *csrf = req_cookie(r, CONSOLE_LOGIN_CSRF_COOKIE);
    if (!web_token_shaped(csrf)) {
        char *t = arena_alloc(r->arena, 64);
        crypto_random_id(t, 32);
        set_cookie(r, CONSOLE_LOGIN_CSRF_COOKIE, t, -1);
        csrf = t;
    }
    struct strbuf sb;
    sb_init(&sb);
    if (message) {
        sb_puts(&sb, "<p id=\"error\" class=\"error\" role=\"alert\">");
        web_escape_into(&sb, message);
        sb_puts(&sb, "</p>\n");
    }
    sb_puts(&sb, "<form id=\"login-form\" method=\"post\" action=\"");
    web_escape_into(&sb, console_url(r, "/login"));
    sb_puts(&sb, "\">\n");
    web_hidden_input(&sb, "csrf_token", csrf);
    sb_puts(&sb, "<label for=\"root_token\">Root token</label>\n"
                 "<input id=\"root_token\" name=\"root_token\" type=\"password\" "
                 "autocomplete=\"off\" required>\n"
                 "<button id=\"signin\" type=\"submit\">Sign in</button>\n</form>\n"
                 "<p class=\"hint\">The root token is printed by <code>authzctl root-token</code>. "
                 "Tenant administrators sign in to their organization and open "
                 "<code>{issuer}/console</code>.</p>\n");
    console_page(r, status, NULL, NULL, "Sign in to the console", NULL, sb.buf);
    sb_free(&sb);
}

static void login_post(struct req *r)
{
    struct form f;
    const char *why;
    if ((r->body_len > 0 && !web_is_form(r)) ||
        form_parse(r->arena, r->body, r->body_len, &f, &why) < 0) {
        console_message(r, 400, NULL, "Bad request", "The sign-in form could not be read.");
        return;
    }
    /* the double-submit token: the same value in the cookie and the form */
    const char *cookie = req_cookie(r, CONSOLE_LOGIN_CSRF_COOKIE);
    const char *field = form_get(&f, "csrf_token");
    if (!web_token_shaped(cookie) || !field || ct_streq(cookie, field) != 1) {
        console_message(r, 403, NULL, "Forbidden",
                        "This form has expired or did not come from this browser. Open the "
                        "sign-in page and try again.");
        return;
    }
    const char *tok = form_get(&f, "root_token");
    int ok = tok && *tok && strlen(tok) <= 256 ? store_root_token_check(&r->tx, tok) : 0;
    if (ok < 0) {
        storage_failed(r);
        return;
    }
    if (ok == 0) {
        struct audit_event *e = audit_add(r, "signin.failed", false);
        e->reason = "console: not a root token";
        e->details = "{\"console\":\"root\"}";
        if (db_audit_flush(&r->tx) < 0) {
            storage_failed(r);
            return;
        }
        login_page(r, 401, "That is not a valid root token.");
        return;
    }
    if (db_begin(&r->tx) < 0 || start_session(r, NULL, NULL) < 0) {
        storage_failed(r);
        return;
    }
    struct audit_event *e = audit_add(r, "signin.succeeded", true);
    e->details = "{\"console\":\"root\"}";
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        storage_failed(r);
        return;
    }
    web_redirect(r, console_url(r, "/"));
}

/* ---- a tenant administrator opens the console: {ISSUER}/console ---- */

static bool is_admin(const struct scopeset *s)
{
    return scope_has(s, "admin");
}

enum hres h_console_signin(struct req *r)
{
    if (r->method != M_GET && r->method != M_HEAD && r->method != M_POST) {
        web_message(r, 405, "Method not allowed", "Use GET or POST here.");
        resp_header(r, "Allow", "GET, HEAD, POST");
        return H_DONE;
    }
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    struct tenant *t = r->tenant;
    struct web_session ws;
    int in = web_session_cookie(r) ? web_session_get(r, &ws) : 0;
    if (in < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    if (in == 0) {
        if (r->method == M_POST) {
            web_message(r, 403, "Forbidden", "Sign in first. Nothing was changed.");
            return H_DONE;
        }
        web_redirect(r, arena_sprintf(r->arena, "%s/login?return_to=%%2Fconsole", t->issuer));
        return H_DONE;
    }
    /* SPEC §13: "a tenant administrator (a person whose scopes include
     * admin, signed in through the tenant's sign-in page)" */
    if (!is_admin(&ws.scopes)) {
        web_message(r, 403, "Forbidden",
                    "Your account does not administer this organization, so the operator "
                    "console is not open to you.");
        return H_DONE;
    }
    if (r->method != M_POST) {
        struct strbuf sb;
        sb_init(&sb);
        sb_puts(&sb, "<form id=\"console-form\" method=\"post\" action=\"");
        web_escape_into(&sb, arena_sprintf(r->arena, "%s/console", t->issuer));
        sb_puts(&sb, "\">");
        web_hidden_input(&sb, "csrf_token", ws.csrf_token);
        sb_puts(&sb, "<button id=\"open-console\" type=\"submit\">Open the operator console</button>"
                     "</form>");
        const struct page_var v[] = {
            {"title", "Operator console"},
            {"nav", NULL},
            {"notice", arena_sprintf(r->arena, "<p>Signed in to %s as <strong id=\"who\">%s</strong>.</p>",
                                     web_escape(r->arena, t->display_name),
                                     web_escape(r->arena, ws.username))},
            {"body", sb.buf},
        };
        web_page(r, 200, "console", v, 4);
        sb_free(&sb);
        return H_DONE;
    }
    struct form f;
    const char *why;
    if ((r->body_len > 0 && !web_is_form(r)) ||
        form_parse(r->arena, r->body, r->body_len, &f, &why) < 0) {
        web_message(r, 400, "Bad request", "The form could not be read.");
        return H_DONE;
    }
    const char *tok = form_get(&f, "csrf_token");
    if (!tok || !ws.csrf_token || ct_streq(tok, ws.csrf_token) != 1) {
        web_message(r, 403, "Forbidden",
                    "This form has expired or did not come from your signed-in session. Nothing "
                    "was changed.");
        return H_DONE;
    }
    if (db_begin(&r->tx) < 0 || start_session(r, t->id, ws.user_id) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    struct audit_event *e = audit_add(r, "signin.succeeded", true);
    e->subject = ws.user_id;
    e->details = "{\"console\":\"tenant-admin\"}";
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    web_redirect(r, console_tenant_url(r, t->slug, "agents", NULL, NULL));
    return H_DONE;
}

/* ---- the signed-in operator ---- */

/* 1 signed in (s set), 0 not, -1 database failure. A tenant
 * administrator who no longer holds admin is not signed in. */
static int signed_in(struct req *r, struct console_session *s, const char **hash_out)
{
    const char *cookie = req_cookie(r, CONSOLE_COOKIE);
    if (!web_token_shaped(cookie))
        return 0;
    char *hash = arena_alloc(r->arena, CRYPTO_SECRET_HASH_HEX + 1);
    cookie_hash(cookie, hash);
    int rc = store_console_session_find(&r->tx, hash, s);
    if (rc == 1 && !s->root && !is_admin(&s->scopes))
        rc = 0;
    if (hash_out)
        *hash_out = hash;
    return rc;
}

static void logout(struct req *r, const struct console_session *s, const char *hash)
{
    struct form f;
    if (!form_with_token(r, s, s->csrf_token, &f))
        return;
    if (store_console_session_delete(&r->tx, hash) < 0) {
        storage_failed(r);
        return;
    }
    set_cookie(r, CONSOLE_COOKIE, "", 0);
    web_redirect(r, console_url(r, "/login"));
}

/* ---- changes ---- */

static const char *who_for_audit(struct req *r, const struct console_session *s)
{
    return s->root ? "console:root" : arena_sprintf(r->arena, "console:%s", s->username);
}

static void revoke_session(struct req *r, const struct console_session *s, const char *sid)
{
    struct form f;
    if (!form_with_token(r, s, s->csrf_token, &f))
        return;
    if (db_begin(&r->tx) < 0) {
        storage_failed(r);
        return;
    }
    int rc = session_revoke(r, r->tenant, sid, who_for_audit(r, s));
    if (rc < 0) {
        storage_failed(r);
        return;
    }
    if (rc == 0) {
        db_rollback(&r->tx);
        console_message(r, 404, s, "Not found", "There is no active session at this address.");
        return;
    }
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        storage_failed(r);
        return;
    }
    web_redirect(r, arena_sprintf(r->arena, "%s?notice=revoked",
                                  console_tenant_url(r, r->tenant->slug, "sessions", NULL, NULL)));
}

/* what: "agents" or "people" */
static void disable(struct req *r, const struct console_session *s, const char *what,
                    const char *id)
{
    struct form f;
    if (!form_with_token(r, s, s->csrf_token, &f))
        return;
    /* the audit rows name the console; the reason says who, in their words
     * when they gave some */
    const char *by = s->root ? "the root operator" : s->username;
    const char *reason = form_get(&f, "reason");
    if (reason && *reason && strlen(reason) <= 200)
        reason = arena_sprintf(r->arena, "%s (in the console, by %s)", reason, by);
    else
        reason = arena_sprintf(r->arena, "disabled in the console by %s", by);
    int rc = !strcmp(what, "agents") ? lifecycle_client_set_status(r, r->tenant, id, true, reason)
                                     : lifecycle_person_set_status(r, r->tenant, id, true, reason);
    if (rc == 404) {
        console_message(r, 404, s, "Not found", "There is nothing to disable at this address.");
        return;
    }
    if (rc != 0) {
        resp_reset(r);
        if (!r->tx.down)
            console_message(r, 500, s, "Something went wrong",
                            "This could not be completed. Nothing was changed.");
        return;
    }
    web_redirect(r, arena_sprintf(r->arena, "%s?notice=disabled",
                                  console_tenant_url(r, r->tenant->slug, what, NULL, NULL)));
}

/* ---- routing ---- */

/* /console/t/{slug}/<rest...> for a signed-in operator */
static void tenant_route(struct req *r, const struct console_session *s, char **seg, int n)
{
    const char *slug = seg[1];
    /* a tenant administrator reaches their own tenant only: anything
     * else does not exist for them (404, as in the admin API) */
    if (!s->root && strcmp(slug, s->tenant_slug) != 0) {
        console_message(r, 404, s, "Not found", "There is no such tenant.");
        return;
    }
    r->params[0] = slug;
    r->nparams = 1;
    r->log_tenant = slug;
    req_tenant(r);
    if (!r->tenant) {
        if (!r->tx.down) {
            resp_reset(r);
            console_message(r, 404, s, "Not found", "There is no such tenant.");
        }
        return;
    }
    const char *what = n >= 3 ? seg[2] : "agents";
    bool get = r->method == M_GET || r->method == M_HEAD;
    if (n <= 3 && !strcmp(what, "agents")) {
        if (method_is(r, true, false, "GET, HEAD"))
            console_agents_page(r, s);
    } else if (n == 4 && !strcmp(what, "agents")) {
        if (method_is(r, true, false, "GET, HEAD"))
            console_agent_page(r, s, seg[3]);
    } else if (n == 5 && (!strcmp(what, "agents") || !strcmp(what, "people")) &&
               !strcmp(seg[4], "disable")) {
        if (method_is(r, false, true, "POST"))
            disable(r, s, what, seg[3]);
    } else if (n == 3 && !strcmp(what, "people")) {
        if (method_is(r, true, false, "GET, HEAD"))
            console_people_page(r, s);
    } else if (n == 3 && !strcmp(what, "sessions")) {
        if (method_is(r, true, false, "GET, HEAD"))
            console_sessions_page(r, s);
    } else if (n == 5 && !strcmp(what, "sessions") && !strcmp(seg[4], "revoke")) {
        if (method_is(r, false, true, "POST"))
            revoke_session(r, s, seg[3]);
    } else if (n == 3 && !strcmp(what, "audit")) {
        if (method_is(r, true, false, "GET, HEAD"))
            console_audit_page(r, s);
    } else {
        (void)get;
        console_message(r, 404, s, "Not found", "There is no such page.");
    }
}

enum hres h_console(struct req *r)
{
    const char *rest = r->path + strlen("/console");
    if (!*rest) {
        web_redirect(r, console_url(r, "/"));
        return H_DONE;
    }
    char *seg[6];
    int n = path_segments(r->arena, rest, seg, 6, 256);
    if (n < 0) {
        console_message(r, 404, NULL, "Not found", "There is no such page.");
        return H_DONE;
    }
    if (n == 1 && !strcmp(seg[0], "login")) {
        if (method_is(r, true, true, "GET, HEAD, POST")) {
            if (r->method == M_POST)
                login_post(r);
            else
                login_page(r, 200, NULL);
        }
        return H_DONE;
    }
    struct console_session s;
    const char *hash = NULL;
    int in = signed_in(r, &s, &hash);
    if (in < 0) {
        storage_failed(r);
        return H_DONE;
    }
    if (in == 0) {
        if (r->method == M_POST)
            console_message(r, 403, NULL, "Forbidden",
                            "You are not signed in to the console. Nothing was changed.");
        else
            web_redirect(r, console_url(r, "/login"));
        return H_DONE;
    }
    if (n == 0) {
        if (!method_is(r, true, false, "GET, HEAD"))
            return H_DONE;
        if (s.root)
            console_tenants_page(r, &s);
        else
            web_redirect(r, console_tenant_url(r, s.tenant_slug, "agents", NULL, NULL));
    } else if (n == 1 && !strcmp(seg[0], "logout")) {
        if (method_is(r, false, true, "POST"))
            logout(r, &s, hash);
    } else if (n >= 2 && !strcmp(seg[0], "t")) {
        tenant_route(r, &s, seg, n);
    } else {
        console_message(r, 404, &s, "Not found", "There is no such page.");
    }
    return H_DONE;
}
