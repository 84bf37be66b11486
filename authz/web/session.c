/*
 * session.c: browser sign-in sessions, their cookies, and CSRF tokens.
 *
 * - The session cookie (authz_session) holds 32 random bytes; the database
 *   keeps only their keyed hash (crypto_secret_hash), so a copy of the
 *   database signs nobody in. HttpOnly, SameSite=Lax (the authorization
 *   request arrives as a top-level navigation from the client's site),
 *   Path = the tenant's issuer path, Secure under TLS. A new session (new
 *   value) is made at every sign-in and the old one is deleted: a value
 *   planted before sign-in is worth nothing after it (session fixation).
 * - Forms of a signed-in person carry the session's csrf_token, checked in
 *   constant time.
 * - The sign-in form, which comes before any session, uses a double-submit
 *   token: the same random value in an HttpOnly, SameSite=Strict cookie
 *   (authz_csrf) and in the form.
 */
#include "web/web.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "util/arena.h"
#include "util/limits.h"

#include <stdio.h>
#include <string.h>

bool web_token_shaped(const char *s)
{
    if (!s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return n == 43; /* b64url of 32 bytes, unpadded */
}

const char *web_session_cookie(struct req *r)
{
    const char *v = req_cookie(r, WEB_SESSION_COOKIE);
    return web_token_shaped(v) ? v : NULL;
}

static void session_id_hash(const char *cookie, char out[CRYPTO_SECRET_HASH_HEX + 1])
{
    crypto_secret_hash(g_secret_pepper, cookie, strlen(cookie), out);
}

int web_session_get(struct req *r, struct web_session *s)
{
    memset(s, 0, sizeof *s);
    const char *cookie = web_session_cookie(r);
    if (!cookie)
        return 0;
    char hash[CRYPTO_SECRET_HASH_HEX + 1];
    session_id_hash(cookie, hash);
    return store_session_find(&r->tx, r->tenant->id, hash, s);
}

int web_session_start(struct req *r, const char *user_id)
{
    char hash[CRYPTO_SECRET_HASH_HEX + 1];
    /* rotation: whatever session this browser had ends here */
    const char *old = web_session_cookie(r);
    if (old) {
        session_id_hash(old, hash);
        if (store_session_delete(&r->tx, r->tenant->id, hash) < 0)
            return -1;
    }
    char cookie[64], csrf[64];
    crypto_random_id(cookie, 32);
    crypto_random_id(csrf, 32);
    session_id_hash(cookie, hash);
    int64_t auth_time;
    if (store_session_create(&r->tx, r->tenant->id, hash, user_id, csrf, WEB_SESSION_TTL,
                             &auth_time) < 0)
        return -1;
    web_set_cookie(r, WEB_SESSION_COOKIE, cookie, "Lax", WEB_SESSION_TTL);
    return 0;
}

/* The path of the tenant's issuer URL ("/t/acme"). RFC 6265 §5.1.4: a
 * cookie path without a trailing '/' matches the path itself and what lies
 * below it ("/t/acme/login"), never a sibling ("/t/acme2/..."), so the
 * cookies of one tenant are never sent to another; and a lookup by the
 * issuer URL itself finds them. */
static const char *cookie_path(struct req *r)
{
    const char *is = r->tenant->issuer;
    const char *p = strstr(is, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : "/";
}

void web_set_cookie(struct req *r, const char *name, const char *value, const char *same_site,
                    int max_age)
{
    bool secure = r->tls || strncmp(r->tenant->issuer, "https://", 8) == 0;
    char age[32] = "";
    if (max_age >= 0)
        snprintf(age, sizeof age, "; Max-Age=%d", max_age);
    resp_header(r, "Set-Cookie",
                arena_sprintf(r->arena, "%s=%s; Path=%s%s; HttpOnly; SameSite=%s%s", name, value,
                              cookie_path(r), age, same_site, secure ? "; Secure" : ""));
}

const char *web_login_csrf(struct req *r)
{
    const char *have = req_cookie(r, WEB_LOGIN_CSRF_COOKIE);
    if (web_token_shaped(have))
        return have;
    char *t = arena_alloc(r->arena, 64);
    crypto_random_id(t, 32);
    /* a browser-session cookie: it lives as long as the browser window */
    web_set_cookie(r, WEB_LOGIN_CSRF_COOKIE, t, "Strict", -1);
    return t;
}

bool web_login_csrf_ok(struct req *r, const char *field)
{
    const char *cookie = req_cookie(r, WEB_LOGIN_CSRF_COOKIE);
    if (!web_token_shaped(cookie) || !field)
        return false;
    return ct_streq(cookie, field) == 1;
}

bool web_return_to_ok(const char *rt)
{
    size_t n = rt ? strlen(rt) : 0;
    if (n < 1 || n > AUTHZ_RETURN_TO_MAX)
        return false;
    /* a path on this issuer: "/x", never "//host" or "/\host" (which
     * browsers read as another origin once joined to the issuer) */
    if (rt[0] != '/' || rt[1] == '/' || rt[1] == '\\')
        return false;
    for (const unsigned char *p = (const unsigned char *)rt; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '\\' || *p == '#')
            return false;
    /* no "." or ".." path segments: they could climb out of the issuer */
    size_t path_len = strcspn(rt, "?");
    const char *seg = rt + 1;
    while (seg <= rt + path_len) {
        size_t l = strcspn(seg, "/?");
        if (seg + l > rt + path_len)
            l = (size_t)(rt + path_len - seg);
        if ((l == 1 && seg[0] == '.') || (l == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        seg += l + 1;
    }
    /* nor percent-encoded dots, slashes or backslashes in the path */
    for (size_t i = 0; i + 2 < path_len; i++) {
        if (rt[i] != '%')
            continue;
        char a = rt[i + 1], b = (char)(rt[i + 2] | 0x20);
        if ((a == '2' && (b == 'e' || b == 'f')) || (a == '5' && b == 'c'))
            return false;
    }
    return true;
}
