/*
 * fuzz_redirect.c: libFuzzer target for redirect-URI and URL handling:
 * - uri_parse / uri_endpoint_ok / uri_web_ok (authz/policy/uri.c): the one
 *   URI parser, and the one check of every redirect URI, jwks_uri, webhook
 *   and ping endpoint the admin API and dynamic registration take;
 * - redirect_uri_matches / redirect_uri_find / redirect_uri_append /
 *   uri_encode_component (authz/policy/redirect.c): matching a request's
 *   redirect_uri with the registered ones (RFC 8252 §7.3 loopback ports) and
 *   building the redirect that carries the answer;
 * - resource_uri_valid (authz/policy/scope.c): RFC 8707 resource indicators;
 * - fetch_url_parse (authz/http/fetch.c): the URLs authzd itself fetches or
 *   posts to (jwks_uri, webhooks);
 * - trust_glob_match / trust_policy_name_valid (authz/policy/trust.c).
 *
 * Input: "REGISTERED\nGIVEN" (a registered URI, then a requested one; without
 * a newline both are the same string). Invariants checked besides "no crash":
 * - a URI matches itself; matching is what redirect_uri_find finds;
 * - a given URI that matches a valid registered one is itself a valid
 *   redirect URI, and differs from it at most in a loopback port;
 * - redirect_uri_append keeps the URI as its prefix, adds one separator, and
 *   percent-encodes everything but unreserved characters;
 * - fetch_url_parse never accepts a fragment, userinfo, an empty host or a
 *   port outside 1..65535, and fetch_url_allowed agrees with it;
 * - uri_parse's parts lie inside the string, and no rule accepts what it
 *   refuses; an endpoint is a web URL without userinfo or fragment;
 * - a URL uri_endpoint_ok accepts (the admin API's check of webhook,
 *   ping and jwks URLs) is one fetch_url_parse accepts (authzd's own client).
 */
#include "fuzz_common.h"

#include "net/fetch.h"
#include "oauth/register.h"
#include "policy/uri.h"
#include "policy/redirect.h"
#include "policy/scope.h"
#include "policy/trust.h"
#include "util/arena.h"

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* "http://HOST" "REST" with the port (if any) removed, for comparing two
 * loopback URIs that may differ only in the port. */
static char *without_port(const char *u)
{
    char *s = strdup(u);
    if (strncmp(s, "http://", 7) != 0)
        return s;
    char *h = s + 7;
    char *end = h + strcspn(h, "/?#");
    char *colon = h[0] == '[' ? strchr(h, ']') : h;
    colon = colon ? memchr(colon, ':', (size_t)(end - colon)) : NULL;
    if (colon && colon < end)
        memmove(colon, end, strlen(end) + 1);
    return s;
}

static void check_append(struct arena *a, const char *uri, const char *v)
{
    const char *names[3] = {"code", "state", "iss"};
    const char *values[3] = {v, NULL, "https://as.example/t/x"};
    char *out = redirect_uri_append(a, uri, names, values, 3);
    size_t ul = strlen(uri);
    FZ_CHECK(out && strncmp(out, uri, ul) == 0, "redirect_uri_append lost the URI prefix: %s", out);
    const char *p = out + ul;
    if (*p == '?' || *p == '&')
        p++;
    /* what follows: code=ENC&iss=ENC, each value fully encoded */
    FZ_CHECK(strncmp(p, "code=", 5) == 0, "first parameter is not code: %s", out);
    for (const unsigned char *q = (const unsigned char *)p; *q; q++) {
        if (*q == '%') {
            FZ_CHECK(q[1] && q[2], "truncated escape in %s", out);
            q += 2;
            continue;
        }
        FZ_CHECK(unreserved(*q) || *q == '=' || *q == '&', "unencoded byte 0x%02x in %s", *q, out);
    }
    FZ_CHECK(strstr(p, "state=") == NULL, "a NULL value was appended: %s", out);
}

/* uri_parse's parts lie inside the string, in order, and say what it holds */
static void check_uri_parse(const char *u)
{
    struct uri p;
    const char *why = NULL;
    size_t n = strlen(u);
    if (uri_parse(u, &p, &why) < 0) {
        FZ_CHECK(why && *why, "uri_parse failed without a reason on %s", u);
        FZ_CHECK(!uri_endpoint_ok(u) && !uri_web_ok(u) && !resource_uri_valid(u),
                 "a rule accepted %s, which uri_parse refuses", u);
        return;
    }
    FZ_CHECK(p.scheme.p == u && p.scheme.n >= 1 && u[p.scheme.n] == ':', "scheme of %s", u);
    FZ_CHECK(p.rest >= u && p.rest <= u + n, "rest outside %s", u);
    FZ_CHECK(p.path.p == p.rest && p.path.p + p.path.n <= u + n, "path outside %s", u);
    FZ_CHECK(p.has_fragment == (strchr(u, '#') != NULL), "fragment of %s", u);
    FZ_CHECK(p.port <= 65535, "port of %s", u);
    if (p.has_authority)
        FZ_CHECK(p.host.p >= p.authority.p &&
                     p.host.p + p.host.n <= p.authority.p + p.authority.n &&
                     p.authority.p + p.authority.n == p.rest,
                 "host outside the authority of %s", u);
    if (uri_endpoint_ok(u))
        FZ_CHECK(uri_web_ok(u) && !p.has_userinfo && !p.has_fragment && p.host.n > 0,
                 "an endpoint that is no web URL: %s", u);
}

static void check_fetch_url(const char *u)
{
    struct fetch_url fu;
    const char *why = NULL;
    if (fetch_url_parse(u, &fu, &why) == 0) {
        FZ_CHECK(fu.host[0] != '\0', "fetch_url_parse accepted %s with an empty host", u);
        FZ_CHECK(fu.path[0] == '/', "fetch_url_parse path does not start with '/': %s", fu.path);
        FZ_CHECK(strlen(fu.host) < sizeof fu.host && strlen(fu.port) < sizeof fu.port &&
                     strlen(fu.hostport) < sizeof fu.hostport,
                 "fetch_url fields unterminated");
        long port = strtol(fu.port, NULL, 10);
        FZ_CHECK(port >= 1 && port <= 65535, "fetch_url_parse port %s", fu.port);
        FZ_CHECK(fetch_url_allowed(u), "fetch_url_allowed disagrees on %s", u);
        const char *auth = strstr(u, "://");
        FZ_CHECK(auth, "fetch_url_parse accepted %s without ://", u);
        auth += 3;
        size_t al = strcspn(auth, "/?");
        FZ_CHECK(strchr(u, '#') == NULL && memchr(auth, '@', al) == NULL,
                 "fetch_url_parse accepted a fragment or userinfo: %s", u);
    } else {
        FZ_CHECK(why && *why, "fetch_url_parse failed without a reason on %s", u);
        FZ_CHECK(!fetch_url_allowed(u), "fetch_url_allowed disagrees on %s", u);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    const uint8_t *rest;
    size_t restlen, l1;
    int two = fz_split_line(data, size, &rest, &restlen, &l1);
    char *reg = fz_strndup(data, l1);
    char *given = two ? fz_strndup(rest, restlen) : strdup(reg);
    struct arena *a = arena_new();

    bool reg_ok = uri_endpoint_ok(reg);
    bool given_ok = uri_endpoint_ok(given);
    FZ_CHECK(redirect_uri_matches(reg, reg), "a URI does not match itself: %s", reg);
    bool m = redirect_uri_matches(reg, given);
    char *list[2] = {"https://unrelated.example/cb", reg};
    int idx = redirect_uri_find(list, 2, given);
    FZ_CHECK(m ? idx >= 0 : (idx == -1 || idx == 0), "redirect_uri_find disagrees with matches");
    if (m && reg_ok) {
        FZ_CHECK(given_ok, "given %s matches the valid registered %s but is not a valid redirect URI",
                 given, reg);
        if (strcmp(reg, given) != 0) {
            char *x = without_port(reg), *y = without_port(given);
            FZ_CHECK(strcmp(x, y) == 0, "%s matched %s with more than a port differing", given, reg);
            FZ_CHECK(!strncmp(reg, "http://", 7), "a non-loopback URI matched inexactly: %s %s",
                     reg, given);
            free(x);
            free(y);
        }
    }
    if (reg_ok) {
        FZ_CHECK(strlen(reg) <= 2000, "redirect URI over 2000 bytes accepted");
        FZ_CHECK(!strchr(reg, '#'), "redirect URI with a fragment accepted: %s", reg);
        FZ_CHECK(!strncmp(reg, "https://", 8) || !strncmp(reg, "http://", 7),
                 "redirect URI of another scheme accepted: %s", reg);
        FZ_CHECK(resource_uri_valid(reg), "a valid redirect URI is not a valid absolute URI: %s", reg);
        check_append(a, reg, given);
    }

    /* the admin API checks approval webhooks, ping endpoints and client
     * jwks_uri with uri_endpoint_ok; authzd then fetches or posts
     * to them with the fetch client: what the one accepts, the other must */
    if (reg_ok) {
        struct fetch_url fu;
        const char *why = NULL;
        FZ_CHECK(fetch_url_parse(reg, &fu, &why) == 0,
                 "uri_endpoint_ok accepts %s, which fetch_url_parse refuses (%s)", reg, why);
    }

    bool res_ok = resource_uri_valid(reg);
    if (res_ok)
        FZ_CHECK(!strchr(reg, '#') && strlen(reg) <= 2000 && strchr(reg, ':'),
                 "resource_uri_valid accepted %s", reg);

    check_fetch_url(reg);
    check_uri_parse(reg);

    struct strbuf sb;
    sb_init(&sb);
    uri_encode_component(&sb, given);
    for (size_t i = 0; i < sb.len; i++)
        FZ_CHECK(unreserved((unsigned char)sb.buf[i]) || sb.buf[i] == '%', "encoded byte 0x%02x",
                 (unsigned char)sb.buf[i]);
    sb_free(&sb);

    /* the sub glob of trust policies: REGISTERED is the pattern */
    bool g = trust_glob_match(reg, given);
    if (!strchr(reg, '*'))
        FZ_CHECK(g == (strcmp(reg, given) == 0), "glob without '*' is not equality: %s %s", reg, given);
    FZ_CHECK(trust_glob_match("*", given), "'*' does not match %s", given);
    FZ_CHECK(trust_glob_match(given, given) || strchr(given, '*'), "literal glob %s", given);
    (void)trust_policy_name_valid(reg);

    arena_free(a);
    free(reg);
    free(given);
    return 0;
}
