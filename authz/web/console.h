/*
 * console.h: the operator console, {public_url}/console/ (SPEC §13), shared
 * by console.c (routing, signing in and out, the forms that change things)
 * and console_pages.c (the lists, the audit trail, an agent's chart).
 *
 * Who may use it: the root operator, who signs in once with the root token,
 * or a tenant administrator (a person whose scopes include admin), who
 * signs in through the tenant's own sign-in page and then opens the console
 * from {ISSUER}/console. A sign-in is a console_sessions row (migration
 * 012) named by an HttpOnly, SameSite=Strict cookie whose path is the
 * console's (Secure when public_url is https or the request came over TLS);
 * the database keeps only the cookie's keyed hash. A tenant administrator
 * reaches only their own tenant (anything else is 404, as in the admin API)
 * and only while their scopes still include admin.
 *
 * The pages follow SPEC §4.1: web_headers (CSP without scripts, framing
 * denied, no-store), everything escaped, and every form that changes
 * something carries the sign-in's csrf_token, compared in constant time: a
 * POST without it, or with another, changes nothing (403).
 */
#ifndef AUTHZ_WEB_CONSOLE_H
#define AUTHZ_WEB_CONSOLE_H

#include "storage/lists.h"
#include "web/web.h"

struct arena;

#define CONSOLE_COOKIE "authz_console"
#define CONSOLE_LOGIN_CSRF_COOKIE "authz_console_csrf"
#define CONSOLE_TTL (8 * 3600)   /* seconds a console sign-in lasts */
#define CONSOLE_PAGE 50          /* rows on a list page */

/* {public_url}/console + suffix (suffix starts with '/', or is "") */
const char *console_url(struct req *r, const char *suffix);
/* {public_url}/console/t/<slug>/<what>[/<id>[/<action>]], parts encoded */
const char *console_tenant_url(struct req *r, const char *slug, const char *what, const char *id,
                               const char *action);
/* The console page: title, the navigation for who is signed in (NULL: none),
 * a notice (HTML, may be NULL) and the body (HTML). */
void console_page(struct req *r, int status, const struct console_session *s, const char *slug,
                  const char *title, const char *notice, const char *body);
/* A console page with one paragraph (errors). */
void console_message(struct req *r, int status, const struct console_session *s,
                     const char *title, const char *text);
/* <form method=post action=..> with the csrf_token and one button */
void console_button_form(struct strbuf *sb, const char *action, const char *csrf,
                         const char *cls, const char *id, const char *label, bool with_reason);

/* A date-time of the audit filter form: RFC 3339, or what a datetime-local
 * field sends (YYYY-MM-DDTHH:MM[:SS[.frac]], taken as UTC: "Z" is added).
 * The value to filter with (in a), or NULL when it is neither. */
const char *console_date_time(struct arena *a, const char *s);
/* A sessions or audit cursor, base64url("<time>:<id>"): time a whole
 * number of at most 20 characters (a leading '-' when neg), id base64url
 * characters (at most 128) or, when digits_id, at most 19 digits. true with
 * both parts in a; false when malformed. */
bool console_cursor_parse(struct arena *a, const char *c, bool neg, bool digits_id,
                          const char **us, const char **id);

/* The pages (console_pages.c). r->tenant is the tenant of the path. */
void console_tenants_page(struct req *r, const struct console_session *s);
void console_agents_page(struct req *r, const struct console_session *s);
void console_agent_page(struct req *r, const struct console_session *s, const char *client_id);
void console_people_page(struct req *r, const struct console_session *s);
void console_sessions_page(struct req *r, const struct console_session *s);
void console_audit_page(struct req *r, const struct console_session *s);

#endif
