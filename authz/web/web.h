/*
 * web.h: the person-facing side of authz: HTML pages rendered from
 * templates (pages.c), browser sign-in sessions, cookies and CSRF tokens
 * (session.c), the sign-in form (login.c), and the storage they need
 * (storage/users.c, storage/consents.c).
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
/* true when the request body is application/x-www-form-urlencoded */
bool web_is_form(const struct req *r);

/* ---- cookies, sessions, CSRF (session.c) ---- */

#define WEB_SESSION_COOKIE "authz_session"
#define WEB_LOGIN_CSRF_COOKIE "authz_csrf"
#define WEB_SESSION_TTL (8 * 3600)   /* seconds a sign-in lasts */

/* A signed-in person, as the session cookie names them. Arena strings. */
struct web_session {
    const char *user_id;       /* the person's sub */
    const char *username;
    const char *csrf_token;    /* for the forms of this session */
    struct scopeset scopes;    /* the person's own scopes (users.scopes) */
    int64_t auth_time;         /* when they signed in (seconds since the epoch) */
};

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

/* ---- storage (storage/users.c, storage/consents.c); on r->db ---- */

/* A JSON array of strings (array_to_json of a text[] column) into a set
 * in the arena. 0, or -1 when json is not an array. */
int store_json_string_set(struct req *r, const char *json, struct scopeset *out);

struct user_login {
    const char *id;
    const char *password_hash;   /* Argon2id encoded */
};
/* 1 found, 0 no such user in the tenant, -1 database failure. */
int store_user_login(struct req *r, const char *tenant_id, const char *username,
                     struct user_login *out);

/* Sign-in attempts: a failed sign-in leaves one row per key (the username,
 * the source address) for window seconds. */
struct signin_keys {
    const char *user_key;        /* "user:<username>" */
    const char *source_key;      /* "source:<address>" */
    char user_row[32], source_row[32];  /* the rows recorded for this attempt */
};
/* Records this attempt under both keys (committed at once, so that
 * parallel attempts see each other), then counts the attempts of the last
 * window seconds under each key, this one included. Returns 0 with the
 * counts, -1 on database failure. *retry_after gets the seconds until the
 * count of a key over its limit falls back to it. */
int store_signin_record(struct req *r, const char *tenant_id, struct signin_keys *k, int window,
                        int user_limit, int source_limit, int *n_user, int *n_source,
                        int *retry_after);
/* Forgets this attempt (refused before checking the password, or
 * succeeded); with clear_user also every recent failure of the username. */
int store_signin_forget(struct req *r, const char *tenant_id, const struct signin_keys *k,
                        bool clear_user);

/* Browser sessions: id_hash is the keyed hash of the cookie value. */
int store_session_find(struct req *r, const char *tenant_id, const char *id_hash,
                       struct web_session *out);
int store_session_create(struct req *r, const char *tenant_id, const char *id_hash,
                         const char *user_id, const char *csrf_token, int ttl,
                         int64_t *auth_time);
int store_session_delete(struct req *r, const char *tenant_id, const char *id_hash);
/* Ends every browser sign-in of a person (SPEC §5: "a password change ends
 * the person's browser sign-ins"). 0 or -1. */
int store_sessions_end_for_user(struct req *r, const char *tenant_id, const char *user_id);

/* Consents: 1 found (scopes and resources set), 0 none, -1 failure. */
int store_consent_get(struct req *r, const char *tenant_id, const char *user_id,
                      const char *client_id, struct scopeset *scopes,
                      struct scopeset *resources);
/* Adds scopes and resources (text[] literals) to the person's consent for
 * the client (created when there is none). 0 or -1. */
int store_consent_merge(struct req *r, const char *tenant_id, const char *user_id,
                        const char *client_id, const char *scopes_pg, const char *resources_pg);

#endif
