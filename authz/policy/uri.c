/*
 * uri.c: the one URI parser (RFC 3986) and the one loopback rule; the rules
 * and the reasons for them are in uri.h. Pure functions.
 */
#include "policy/uri.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool part_is(struct uri_part p, const char *s)
{
    return p.n == strlen(s) && memcmp(p.p, s, p.n) == 0;
}

/* RFC 3986 §2: only unreserved, reserved and percent-encoded octets; at
 * most one '#' (a fragment holds none). */
static bool chars_ok(const char *s, const char **why)
{
    bool hash = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>\\^`{|}", *p)) {
            *why = "the URI holds a space, a control or non-ASCII character, or one of \"<>\\^`{|}";
            return false;
        }
        if (*p == '%' && !(is_hex(p[1]) && is_hex(p[2]))) {
            *why = "the URI holds a '%' that is not followed by two hex digits";
            return false;
        }
        if (*p == '#') {
            if (hash) {
                *why = "the URI holds two '#'";
                return false;
            }
            hash = true;
        }
    }
    return true;
}

/* RFC 3986 §3.2.2 host: "[" IPv6address "]" (IPvFuture is refused), or a
 * reg-name / IPv4address (unreserved, pct-encoded, sub-delims). */
static bool host_ok(struct uri *u, const char **why)
{
    const char *h = u->host.p;
    size_t n = u->host.n;
    if (n > 0 && h[0] == '[') {
        char lit[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (n < 3 || h[n - 1] != ']' || n - 2 >= sizeof lit) {
            *why = "malformed IPv6 address in the URI";
            return false;
        }
        memcpy(lit, h + 1, n - 2);
        lit[n - 2] = '\0';
        if (inet_pton(AF_INET6, lit, &a6) != 1) {
            *why = "malformed IPv6 address in the URI";
            return false;
        }
        u->host_ipv6 = true;
        return true;
    }
    for (size_t i = 0; i < n; i++)
        if (!(is_alpha((unsigned char)h[i]) || is_digit((unsigned char)h[i]) ||
              strchr("-._~%!$&'()*+,;=", h[i]))) {
            *why = "malformed host in the URI";
            return false;
        }
    return true;
}

/* RFC 3986 §3.2: authority = [ userinfo "@" ] host [ ":" port ] */
static bool authority_ok(struct uri *u, const char **why)
{
    const char *a = u->authority.p, *end = a + u->authority.n;
    const char *at = memchr(a, '@', u->authority.n);
    if (at) {
        u->has_userinfo = true;
        a = at + 1;
    }
    const char *hend;
    if (a < end && *a == '[') {
        const char *rb = memchr(a, ']', (size_t)(end - a));
        if (!rb) {
            *why = "malformed IPv6 address in the URI";
            return false;
        }
        hend = rb + 1;
        if (hend < end && *hend != ':') {
            *why = "malformed URI authority";
            return false;
        }
    } else {
        hend = memchr(a, ':', (size_t)(end - a));
        if (!hend)
            hend = end;
    }
    u->host.p = a;
    u->host.n = (size_t)(hend - a);
    if (!host_ok(u, why))
        return false;
    if (hend < end) {
        /* RFC 3986 §3.2.3 port = *DIGIT; here 1 to 5 digits, 1..65535 */
        const char *p = hend + 1;
        size_t digits = (size_t)(end - p);
        unsigned long port = 0;
        bool ok = digits >= 1 && digits <= 5;
        for (size_t i = 0; ok && i < digits; i++) {
            ok = is_digit((unsigned char)p[i]);
            port = port * 10 + (unsigned long)(p[i] - '0');
        }
        if (!ok || port < 1 || port > 65535) {
            *why = "malformed port in the URI (1 to 65535)";
            return false;
        }
        u->port = (unsigned)port;
    }
    return true;
}

int uri_parse(const char *s, struct uri *u, const char **why)
{
    memset(u, 0, sizeof *u);
    if (!s || !*s) {
        *why = "the URI is empty";
        return -1;
    }
    if (!chars_ok(s, why))
        return -1;
    /* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    const char *p = s;
    if (!is_alpha((unsigned char)*p)) {
        *why = "not an absolute URI (no scheme)";
        return -1;
    }
    while (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) || *p == '+' || *p == '-' ||
           *p == '.')
        p++;
    if (*p != ':') {
        *why = "not an absolute URI (no scheme)";
        return -1;
    }
    u->scheme.p = s;
    u->scheme.n = (size_t)(p - s);
    p++;
    if (p[0] == '/' && p[1] == '/') {
        u->has_authority = true;
        u->authority.p = p + 2;
        u->authority.n = strcspn(p + 2, "/?#");
        if (!authority_ok(u, why))
            return -1;
        p = u->authority.p + u->authority.n;
    }
    u->rest = p;
    u->path.p = p;
    u->path.n = strcspn(p, "?#");
    p += u->path.n;
    if (*p == '?') {
        u->has_query = true;
        u->query.p = p + 1;
        u->query.n = strcspn(p + 1, "#");
        p += 1 + u->query.n;
    }
    u->has_fragment = *p == '#';
    return 0;
}

bool uri_host_loopback(const char *host, size_t n)
{
    static const char *const LOOPBACK_HOSTS[] = {"127.0.0.1", "[::1]", "localhost"};
    for (size_t i = 0; i < sizeof LOOPBACK_HOSTS / sizeof LOOPBACK_HOSTS[0]; i++)
        if (n == strlen(LOOPBACK_HOSTS[i]) && memcmp(host, LOOPBACK_HOSTS[i], n) == 0)
            return true;
    return false;
}

bool uri_addr_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

/* A host a client may name for http(s): an IPv6 literal, or a DNS name or
 * IPv4 address of letters, digits, '.' and '-' (RFC 1035 §2.3.4: at most
 * 253 characters). No '_', no percent-encoding. */
static bool http_host_ok(const struct uri *u)
{
    if (u->host_ipv6)
        return true;
    if (u->host.n == 0 || u->host.n > 253)
        return false;
    for (size_t i = 0; i < u->host.n; i++) {
        unsigned char c = (unsigned char)u->host.p[i];
        if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* The part every http(s) rule shares: scheme http or https (written in
 * lowercase, as registered URIs are compared byte for byte), a host, no
 * userinfo (RFC 9700 §4.1.1's "https://good@evil" phishing shape, and it
 * would let "http://127.0.0.1:80@evil.example" pass for loopback). */
static int http_check(const char *s, struct uri *u, bool *tls, const char **why)
{
    if (!s || strlen(s) > AUTHZ_URI_MAX) {
        *why = "the URL is empty or too long";
        return -1;
    }
    if (uri_parse(s, u, why) < 0)
        return -1;
    *tls = part_is(u->scheme, "https");
    if (!*tls && !part_is(u->scheme, "http")) {
        *why = "the URL must be https (or http on loopback)";
        return -1;
    }
    if (!u->has_authority || u->host.n == 0) {
        *why = "the URL has no host";
        return -1;
    }
    if (u->has_userinfo) {
        *why = "the URL must not carry user information";
        return -1;
    }
    if (!http_host_ok(u)) {
        *why = "malformed host name in the URL";
        return -1;
    }
    return 0;
}

int uri_endpoint_check(const char *s, struct uri *u, const char **why)
{
    bool tls;
    if (http_check(s, u, &tls, why) < 0)
        return -1;
    /* RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment
     * component."; nor does an HTTP request carry one (RFC 9110 §4.2.4) */
    if (u->has_fragment) {
        *why = "the URL must not have a fragment";
        return -1;
    }
    /* SPEC §3: "Redirect URIs: https, or http on loopback only"; RFC 8252
     * §7.3: "Loopback redirect URIs use the "http" scheme"; RFC 9700 §2.1 */
    if (!tls && !uri_host_loopback(u->host.p, u->host.n)) {
        *why = "http URLs must name a loopback host (127.0.0.1, [::1], localhost)";
        return -1;
    }
    return 0;
}

bool uri_endpoint_ok(const char *s)
{
    struct uri u;
    const char *why;
    return uri_endpoint_check(s, &u, &why) == 0;
}

bool uri_web_ok(const char *s)
{
    struct uri u;
    const char *why;
    bool tls;
    return http_check(s, &u, &tls, &why) == 0;
}
