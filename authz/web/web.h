/*
 * web.h: the person-facing side of authz: HTML pages rendered from
 * templates (pages.c), browser sign-in sessions, cookies and CSRF tokens
 * (session.c) and the sign-in form (login.c); their storage is
 * storage/users.h.
 *
 * Every page is sent with a strict Content-Security-Policy, framing denied,
 * no caching and no referrer. Everything a person, a client or the request
 * supplied is HTML-escaped when it is put into a page.
 *
 * Sessions are per tenant: the cookie's Path is the tenant's issuer path
 * and the stored session names its tenant. The cookie value is 32 random
 * bytes; the database keeps only its keyed hash.
 */
#ifndef AUTHZ_WEB_H
#define AUTHZ_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "policy/scope.h"
#include "storage/users.h"

struct strbuf;
struct tenant;

/* ---- pages (pages.c) ---- */

/* A template variable: {{name}} in a template is replaced by value,
 * HTML-escaped; {{&name}} by value as it is (HTML the caller built with
 * web_escape). A NULL value renders as nothing. */
struct page_var {
    const char *name;
    const char *value;
};

/* The security headers every page and every redirect of the web routes
 * carries (CSP, X-Frame-Options, Cache-Control, Referrer-Policy, nosniff). */
void web_headers(struct req *r);
/* Renders templates/<name>.html with vars as the answer. */
void web_page(struct req *r, int status, const char *name, const struct page_var *vars, int nvars);
/* A page with a heading and one paragraph (errors and notices). */
void web_message(struct req *r, int status, const char *title, const char *message);
/* After a failed statement: rolls back, drops the answer and audit rows
 * so far, and answers 500 (or leaves the 503 to the router when the
 * database is gone). */
void web_storage_failed(struct req *r);
/* A 303 redirect to location, with the page headers. */
void web_redirect(struct req *r, const char *location);
/* HTML-escapes s (& < > " ') into sb / into the arena. */
void web_escape_into(struct strbuf *sb, const char *s);
char *web_escape(struct arena *a, const char *s);
/* <input type="hidden" name=".." value=".."> into sb (both escaped). */
void web_hidden_input(struct strbuf *sb, const char *name, const char *value);
/* The task details of a request (RFC 9396, SPEC §12) as the consent and
 * approval pages show them: a section listing, for each server, the tools
 * the person approves, every string HTML-escaped; "" when there are none. */
struct details;
const char *web_details_html(struct req *r, const struct details *d);
/* true when the request body is application/x-www-form-urlencoded */
bool web_is_form(const struct req *r);

/* ---- what the pages say about a client (clients.c, SPEC §11) ---- */

struct client;
/* The host of an absolute URL, lower-cased, in the arena; NULL when none. */
const char *web_url_host(struct arena *a, const char *url);
/* HTML paragraphs about c (may be ""): "unverified" with its host for a
 * self-registered or CIMD client (redirect_uri: the one in use, for a
 * self-registered client's host), and a warning when every redirect URI of
 * c is on a loopback host. */
const char *web_client_notice(struct req *r, const struct client *c, const char *redirect_uri);
/* The same for a client named by client_id (the approval pages): a CIMD
 * URL, or a registered client through the cache ("" when unknown). */
const char *web_client_notice_by_id(struct req *r, const char *client_id);
/* <li class="cls">[<span class="scope-description">words</span> ]<code>scope</code></li>:
 * the words r->tenant's resources give scope (resources[0..n), or any
 * resource when n is 0), else the name alone. */
void web_scope_item(struct req *r, struct strbuf *sb, const char *cls, const char *scope,
                    const char *const *resources, int nresources);

/* ---- cookies, sessions, CSRF (session.c) ---- */

#define WEB_SESSION_COOKIE "authz_session"
#define WEB_LOGIN_CSRF_COOKIE "authz_csrf"
#define WEB_SESSION_TTL (8 * 3600)   /* seconds a sign-in lasts */


/* true when s looks like a value authz made (43 base64url characters) */
bool web_token_shaped(const char *s);
/* The session cookie's value when it is present and well-formed, or NULL. */
const char *web_session_cookie(struct req *r);
/* Looks up the session named by the cookie (needs the database). 1 signed
 * in, 0 not (no cookie, unknown, expired, other tenant), -1 database failure. */
int web_session_get(struct req *r, struct web_session *s);
/* Starts a session for user_id after a successful sign-in, inside the
 * caller's transaction: drops the session the browser had (rotation),
 * stores the new one and sets its cookie on the answer. 0 or -1. */
int web_session_start(struct req *r, const char *user_id);
/* Set-Cookie for name=value scoped to the tenant's issuer path, HttpOnly,
 * Secure when the issuer is https or the request came over TLS. */
void web_set_cookie(struct req *r, const char *name, const char *value, const char *same_site,
                    int max_age);
/* The login form's CSRF token (double-submit: the same random value in an
 * HttpOnly SameSite=Strict cookie and in the form). Reuses the browser's
 * cookie when it has one, else makes one and sets the cookie. */
const char *web_login_csrf(struct req *r);
/* The double-submit check: the form's csrf_token equals the cookie
 * (compared in constant time). */
bool web_login_csrf_ok(struct req *r, const char *field);
/* A return_to is a path relative to the tenant's issuer ("/oauth2/...")
 * made of printable ASCII, without "//" or '\' at its start, without dot
 * segments: never another origin (no open redirect). */
bool web_return_to_ok(const char *return_to);

/* ---- the sign-in page (login.c) ---- */

/* Renders the sign-in form. return_to (may be NULL) is where to go after
 * signing in; message (may be NULL) is shown above the form. */
void web_login_page(struct req *r, int status, const char *return_to, const char *message,
                    const char *username);

#endif
