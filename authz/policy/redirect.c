/*
 * redirect.c: redirect URI matching for the authorization endpoint, and the
 * building of the redirect that carries its answer. Pure functions.
 */
#include "policy/redirect.h"
#include "util/arena.h"

#include <string.h>

/* The loopback hosts of RFC 8252 §7.3 (SPEC §3 names these three). */
static const char *const LOOPBACK_HOSTS[] = {"127.0.0.1", "[::1]", "localhost"};

/* Splits an http loopback URI "http://HOST[:PORT]REST" where REST is empty
 * or starts with '/' or '?'. Returns the index of HOST in LOOPBACK_HOSTS and
 * sets *rest, or -1 when uri is not of that form. */
static int split_loopback(const char *uri, const char **rest)
{
    if (strncmp(uri, "http://", 7) != 0)
        return -1;
    const char *h = uri + 7;
    for (int i = 0; i < (int)(sizeof LOOPBACK_HOSTS / sizeof LOOPBACK_HOSTS[0]); i++) {
        size_t l = strlen(LOOPBACK_HOSTS[i]);
        if (strncmp(h, LOOPBACK_HOSTS[i], l) != 0)
            continue;
        const char *p = h + l;
        if (*p == ':') {
            /* RFC 3986 §3.2.3: port = *DIGIT; here 1 to 5 digits, 1..65535 */
            p++;
            long port = 0;
            int digits = 0;
            while (*p >= '0' && *p <= '9') {
                port = port * 10 + (*p - '0');
                p++;
                if (++digits > 5)
                    return -1;
            }
            if (digits == 0 || port < 1 || port > 65535)
                return -1;
        }
        if (*p != '\0' && *p != '/' && *p != '?')
            return -1; /* e.g. "http://127.0.0.1@evil.example/" or "localhost.evil" */
        *rest = p;
        return i;
    }
    return -1;
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
    const char *rest_reg, *rest_given;
    int hr = split_loopback(registered, &rest_reg);
    if (hr < 0)
        return false;
    int hg = split_loopback(given, &rest_given);
    return hg == hr && strcmp(rest_reg, rest_given) == 0;
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
