/*
 * login.c: the sign-in page of a tenant, {ISSUER}/login (SPEC §4.1).
 *
 * GET shows the form; POST checks it. Passwords are verified with Argon2id
 * (crypto/password.c) against users.password_hash. Password guessing is limited per
 * username and per source address: failures of the last 15 minutes are
 * counted in signin_attempts, and an attempt over a limit is answered 429
 * with Retry-After before Argon2 runs, so that the endpoint cannot be used
 * to burn the CPU. An unknown username costs the same Argon2 work as a
 * known one (a dummy hash), so timing does not tell which usernames exist.
 * The form is protected by a double-submit CSRF token (session.c). Success
 * starts a new browser session and returns to return_to, a path under this
 * issuer (never anywhere else).
 */
#include "web/web.h"
#include "http/form.h"
#include "http/routes.h"
#include "storage/db.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "cache.h"
#include "config.h"
#include "log.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const BAD_CREDENTIALS = "The username or password is incorrect.";

/* ---- the page ---- */

void web_login_page(struct req *r, int status, const char *return_to, const char *message,
                    const char *username)
{
    const char *csrf = web_login_csrf(r);
    const char *notice = NULL;
    if (message) {
        struct strbuf sb;
        sb_init(&sb);
        sb_puts(&sb, "<p id=\"error\" class=\"error\" role=\"alert\">");
        web_escape_into(&sb, message);
        sb_puts(&sb, "</p>");
        notice = arena_strdup(r->arena, sb.buf);
        sb_free(&sb);
    }
    const struct page_var v[] = {
        {"tenant", r->tenant->display_name},
        {"action", arena_sprintf(r->arena, "%s/login", r->tenant->issuer)},
        {"csrf_token", csrf},
        {"return_to", return_to},
        {"username", username},
        {"notice", notice},
    };
    web_page(r, status, "login", v, (int)(sizeof v / sizeof v[0]));
}

/* true when password matches the encoded hash (found) or, for an unknown
 * user, after the same work against a dummy hash: false. */
static bool password_check(const char *encoded, const char *password)
{
    return encoded ? password_verify(encoded, password) : password_verify_unknown(password);
}

/* ---- the handler ---- */

static void signin_failed(struct req *r, const char *subject, const char *reason)
{
    struct audit_event *e = audit_add(r, "signin.failed", false);
    e->subject = subject;
    e->reason = reason;
}

static enum hres login_form(struct req *r)
{
    /* an empty or undecodable return_to is no return_to */
    const char *rt = req_query_param(r, "return_to");
    if (rt && !*rt)
        rt = NULL;
    if (rt && !web_return_to_ok(rt)) {
        web_message(r, 400, "Bad request", "The sign-in link names a page outside this service.");
        return H_DONE;
    }
    web_login_page(r, 200, rt, NULL, NULL);
    return H_DONE;
}

static enum hres login_submit(struct req *r)
{
    struct tenant *t = r->tenant;
    if (!web_is_form(r)) {
        web_message(r, 400, "Bad request", "The sign-in form must be sent as a form.");
        return H_DONE;
    }
    struct form f;
    const char *why;
    if (form_parse(r->arena, r->body, r->body_len, &f, &why) < 0) {
        web_message(r, 400, "Bad request", why);
        return H_DONE;
    }
    const char *rt = form_get(&f, "return_to");
    if (rt && !web_return_to_ok(rt)) {
        web_message(r, 400, "Bad request", "The sign-in form names a page outside this service.");
        return H_DONE;
    }
    /* the form's token must be the one of the browser's cookie */
    if (!web_login_csrf_ok(r, form_get(&f, "csrf_token"))) {
        signin_failed(r, NULL, "csrf token missing or wrong");
        web_login_page(r, 403, rt, "This sign-in form has expired. Please sign in again.", NULL);
        return H_DONE;
    }
    const char *username = form_get(&f, "username");
    const char *password = form_get(&f, "password");
    if (!username || !password) {
        web_login_page(r, 400, rt, "Enter your username and password.", username);
        return H_DONE;
    }
    /* usernames are counted in characters, as the admin API counts them */
    if (utf8_chars(username) > AUTHZ_USERNAME_MAX || strlen(password) > AUTHZ_PASSWORD_MAX) {
        /* no such account can exist: no Argon2 work to spend */
        signin_failed(r, NULL, "username or password too long");
        web_login_page(r, 400, rt, BAD_CREDENTIALS, NULL);
        return H_DONE;
    }
    if (!r->can_block)
        return H_BLOCK;

    struct user_login u;
    int found = store_user_login(&r->tx, t->id, username, &u);
    if (found < 0) {
        web_storage_failed(r);
        return H_DONE;
    }

    /* record the attempt first, then count: a limit reached means no
     * password check at all */
    struct signin_keys k = {
        .user_key = arena_sprintf(r->arena, "user:%s", username),
        .source_key = arena_sprintf(r->arena, "source:%s", r->remote_ip),
    };
    int n_user, n_source, retry_after;
    if (store_signin_record(&r->tx, t->id, &k, AUTHZ_SIGNIN_WINDOW, AUTHZ_SIGNIN_USER_LIMIT,
                            AUTHZ_SIGNIN_SOURCE_LIMIT, &n_user, &n_source, &retry_after) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    if (n_user > AUTHZ_SIGNIN_USER_LIMIT || n_source > AUTHZ_SIGNIN_SOURCE_LIMIT) {
        /* a refused attempt is not a failure: it must not extend the wait */
        if (store_signin_forget(&r->tx, t->id, &k, false) < 0) {
            web_storage_failed(r);
            return H_DONE;
        }
        signin_failed(r, found ? u.id : NULL,
                      n_user > AUTHZ_SIGNIN_USER_LIMIT ? "too many failed attempts for this username"
                                                 : "too many failed attempts from this source");
        int minutes = (retry_after + 59) / 60;
        web_message(r, 429, "Too many sign-in attempts",
                    arena_sprintf(r->arena,
                                  "There were too many failed sign-in attempts. Try again in %d "
                                  "minute%s.",
                                  minutes, minutes == 1 ? "" : "s"));
        resp_header(r, "Retry-After", arena_sprintf(r->arena, "%d", retry_after));
        return H_DONE;
    }

    if (!password_check(found ? u.password_hash : NULL, password)) {
        signin_failed(r, found ? u.id : NULL, found ? "wrong password" : "unknown username");
        web_login_page(r, 400, rt, BAD_CREDENTIALS, username);
        return H_DONE;
    }

    /* signed in: a new session (the old one ends), the failures of this
     * username forgotten, the audit row in the same commit */
    if (db_begin(&r->tx) < 0 || web_session_start(r, u.id) < 0 ||
        store_signin_forget(&r->tx, t->id, &k, true) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    struct audit_event *e = audit_add(r, "signin.succeeded", true);
    e->subject = u.id;
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    if (rt) {
        web_redirect(r, arena_sprintf(r->arena, "%s%s", t->issuer, rt));
    } else {
        web_message(r, 200, "Signed in",
                    arena_sprintf(r->arena, "You are signed in to %s as %s.", t->display_name,
                                  username));
    }
    return H_DONE;
}

enum hres h_login(struct req *r)
{
    if (r->method != M_GET && r->method != M_POST) {
        web_message(r, 405, "Method not allowed", "Use GET or POST here.");
        resp_header(r, "Allow", "GET, POST");
        return H_DONE;
    }
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant) {
        web_headers(r);
        return H_DONE;
    }
    return r->method == M_GET ? login_form(r) : login_submit(r);
}
