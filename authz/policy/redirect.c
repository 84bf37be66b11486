/*
 * redirect.c: redirect URI matching for the authorization endpoint, and the
 * building of the redirect that carries its answer. Pure functions.
 */
#include "policy/redirect.h"
#include "policy/uri.h"
#include "util/arena.h"

#include <string.h>

/* An http URI on a loopback host (policy/uri.h), without userinfo or
 * fragment: sets *host and *rest (path and query), or returns false. */
static bool split_loopback(const char *s, struct uri_part *host, const char **rest)
{
    struct uri u;
    const char *why;
    if (uri_parse(s, &u, &why) < 0 || u.scheme.n != 4 || memcmp(u.scheme.p, "http", 4) != 0 ||
        u.has_userinfo || u.has_fragment || !uri_host_loopback(u.host.p, u.host.n))
        return false;
    *host = u.host;
    *rest = u.rest;
    return true;
}

bool redirect_uri_matches(const char *registered, const char *given)
{
    if (!registered || !given)
        return false;
    /* RFC 6749 §3.1.2.3, RFC 9700 §4.1.3: exact string comparison */
    if (strcmp(registered, given) == 0)
        return true;
    /* RFC 8252 §7.3: "The authorization server MUST allow any port to be
     * specified at the time of the request for loopback IP redirect URIs";
     * scheme, host, path and query must still be the registered ones. */
    struct uri_part host_reg, host_given;
    const char *rest_reg, *rest_given;
    return split_loopback(registered, &host_reg, &rest_reg) &&
           split_loopback(given, &host_given, &rest_given) && host_reg.n == host_given.n &&
           memcmp(host_reg.p, host_given.p, host_reg.n) == 0 && strcmp(rest_reg, rest_given) == 0;
}

int redirect_uri_find(char *const *registered, int n, const char *given)
{
    for (int i = 0; i < n; i++)
        if (redirect_uri_matches(registered[i], given))
            return i;
    return -1;
}

void uri_encode_component(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            sb_putc(sb, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_append(sb, e, 3);
        }
    }
}

char *redirect_uri_append(struct arena *a, const char *uri, const char *const *names,
                          const char *const *values, int n)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, uri);
    const char *q = strchr(uri, '?');
    /* nothing to separate after a bare '?' or a trailing '&' */
    bool need_sep = !(q && (q[1] == '\0' || uri[strlen(uri) - 1] == '&'));
    char sep = q ? '&' : '?';
    for (int i = 0; i < n; i++) {
        if (!values[i])
            continue;
        if (need_sep)
            sb_putc(&sb, sep);
        need_sep = true;
        sep = '&';
        uri_encode_component(&sb, names[i]);
        sb_putc(&sb, '=');
        uri_encode_component(&sb, values[i]);
    }
    char *out = arena_strdup(a, sb.buf ? sb.buf : "");
    sb_free(&sb);
    return out;
}
