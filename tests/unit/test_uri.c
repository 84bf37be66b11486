/*
 * test_uri.c: unit tests for authz/policy/uri.c, the one URI parser and
 * the one loopback rule: the endpoint rule every redirect URI, jwks_uri,
 * approval webhook, CIBA ping endpoint and fetched URL passes (SPEC §3: https,
 * or http on loopback only, no fragments, no userinfo), the web-page rule of
 * RFC 7591 client_uri & co, the RFC 8707 resource rule built on the same
 * parser (policy/scope.c), and which hosts and addresses are loopback.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "net/fetch.h"
#include "policy/redirect.h"
#include "policy/scope.h"
#include "policy/uri.h"

/* ---- the parser ---- */

static void parse_splits_an_absolute_uri_into_its_rfc3986_parts(void **state)
{
    (void)state;
    struct uri u;
    const char *why = NULL;
    const char *s = "https://user@Host.example:8443/a/b?x=1#frag";
    assert_int_equal(uri_parse(s, &u, &why), 0);
    assert_int_equal(u.scheme.n, 5);
    assert_true(u.has_authority);
    assert_true(u.has_userinfo);
    assert_int_equal(u.host.n, strlen("Host.example"));
    assert_memory_equal(u.host.p, "Host.example", u.host.n);
    assert_int_equal(u.port, 8443);
    assert_int_equal(u.path.n, 4);
    assert_true(u.has_query);
    assert_memory_equal(u.query.p, "x=1", 3);
    assert_true(u.has_fragment);
    assert_string_equal(u.rest, "/a/b?x=1#frag");

    assert_int_equal(uri_parse("urn:example:resource", &u, &why), 0);
    assert_false(u.has_authority);
    assert_string_equal(u.rest, "example:resource");

    assert_int_equal(uri_parse("http://[::1]:80", &u, &why), 0);
    assert_true(u.host_ipv6);
    assert_int_equal(u.host.n, 5);
    assert_int_equal(u.port, 80);
}

static void parse_refuses_what_rfc3986_does_not_allow(void **state)
{
    (void)state;
    struct uri u;
    const char *why = NULL;
    const char *bad[] = {"", "/relative", "1x:y", ":x", "https://h/a b", "https://h/%zz",
                         "https://h/%4", "https://h/#a#b", "https://h/\x7f", "https://[2001]/",
                         "https://[::1/", "https://[::1]x/", "https://h:0/", "https://h:65536/",
                         "https://h:/", "https://h:123456/", "https://a@b@c/", "https://h/{x}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(uri_parse(bad[i], &u, &why), -1);
        assert_non_null(why);
    }
    assert_int_equal(uri_parse(NULL, &u, &why), -1);
}

/* ---- loopback ---- */

static void loopback_hosts_are_the_three_spec_names_as_written(void **state)
{
    (void)state;
    assert_true(uri_host_loopback("127.0.0.1", 9));
    assert_true(uri_host_loopback("[::1]", 5));
    assert_true(uri_host_loopback("localhost", 9));
    /* other spellings of this machine are not loopback hosts for a URL */
    assert_false(uri_host_loopback("127.0.0.2", 9));
    assert_false(uri_host_loopback("LOCALHOST", 9));
    assert_false(uri_host_loopback("127.1", 5));
    assert_false(uri_host_loopback("::1", 3));
    assert_false(uri_host_loopback("localhost.", 10));
    assert_false(uri_host_loopback("127.0.0.1", 5));
}

static void loopback_addresses_are_127_slash_8_and_ipv6_1(void **state)
{
    (void)state;
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    assert_true(uri_addr_loopback((struct sockaddr *)&a4));
    inet_pton(AF_INET, "127.255.0.9", &a4.sin_addr);
    assert_true(uri_addr_loopback((struct sockaddr *)&a4));
    inet_pton(AF_INET, "128.0.0.1", &a4.sin_addr);
    assert_false(uri_addr_loopback((struct sockaddr *)&a4));
    inet_pton(AF_INET, "10.0.0.1", &a4.sin_addr);
    assert_false(uri_addr_loopback((struct sockaddr *)&a4));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_true(uri_addr_loopback((struct sockaddr *)&a6));
    inet_pton(AF_INET6, "::2", &a6.sin6_addr);
    assert_false(uri_addr_loopback((struct sockaddr *)&a6));
}

/* ---- where the copies disagreed before they were one ---- */

static void endpoint_rule_refuses_uppercase_loopback_names_everywhere(void **state)
{
    (void)state;
    /* the fetcher once lower-cased the host first and took LOCALHOST for
     * loopback, while registration refused it */
    struct fetch_url f;
    const char *why;
    assert_false(uri_endpoint_ok("http://LOCALHOST:8080/jwks"));
    assert_int_equal(fetch_url_parse("http://LOCALHOST:8080/jwks", &f, &why), -1);
    assert_string_equal(why, "http URLs must name a loopback host (127.0.0.1, [::1], localhost)");
}

static void fetcher_refuses_what_registration_refuses(void **state)
{
    (void)state;
    /* the fetcher once accepted characters and escapes registration refused */
    struct fetch_url f;
    const char *why;
    assert_int_equal(fetch_url_parse("https://issuer.example/jwks?x=\"y\"", &f, &why), -1);
    assert_int_equal(fetch_url_parse("https://issuer.example/%zz", &f, &why), -1);
    assert_int_equal(fetch_url_parse("https://issuer.example/{x}", &f, &why), -1);
    assert_int_equal(fetch_url_parse("http://localhost:9/k?a=1", &f, &why), 0);
    assert_string_equal(f.host, "localhost");
    assert_string_equal(f.port, "9");
    assert_string_equal(f.hostport, "localhost:9");
    assert_string_equal(f.path, "/k?a=1");
}

static void loopback_port_exception_uses_the_same_loopback_rule(void **state)
{
    (void)state;
    assert_true(redirect_uri_matches("http://localhost/cb", "http://localhost:5555/cb"));
    assert_false(redirect_uri_matches("http://localhost/cb", "http://LOCALHOST:5555/cb"));
    assert_false(redirect_uri_matches("http://127.0.0.2/cb", "http://127.0.0.2:5555/cb"));
    assert_false(redirect_uri_matches("http://127.0.0.1/cb", "http://x@127.0.0.1:5555/cb"));
}

static void resource_rule_refuses_bad_escapes_and_http_without_host(void **state)
{
    (void)state;
    /* resources once took a bare '%' and "https://" with no host */
    assert_false(resource_uri_valid("https://api.example/%zz"));
    assert_false(resource_uri_valid("https://"));
    assert_false(resource_uri_valid("https:///x"));
    assert_false(resource_uri_valid("https://api.example:0/"));
    assert_true(resource_uri_valid("urn:example:resource"));
    assert_true(resource_uri_valid("HTTPS://API.EXAMPLE.COM/"));
    assert_true(resource_uri_valid("https://api.example/caf%C3%A9"));
}

/* ---- the web-page rule (RFC 7591 client_uri, logo_uri, tos_uri, policy_uri) ---- */

static void web_pages_are_http_or_https_anywhere_with_at_most_one_fragment(void **state)
{
    (void)state;
    assert_true(uri_web_ok("https://app.example.com/about"));
    assert_true(uri_web_ok("http://app.example.com/about#team"));
    assert_false(uri_web_ok("https://app.example.com/a#b#c"));
    assert_false(uri_web_ok("javascript:alert(1)"));
    assert_false(uri_web_ok("https://user@app.example.com/"));
    assert_false(uri_web_ok("https:///about"));
    assert_false(uri_web_ok(NULL));
}

/* ---- the endpoint rule: redirect URIs, jwks_uri, webhooks, ping endpoints ---- */

static void test_redirect_uri_https_anywhere_is_accepted(void **state)
{
    (void)state;
    assert_true(uri_endpoint_ok("https://app.example.com/callback"));
    assert_true(uri_endpoint_ok("https://app.example.com:8443/cb?x=1&y=%20"));
    assert_true(uri_endpoint_ok("https://vscode.dev/redirect"));
    assert_true(uri_endpoint_ok("https://app.example.com"));
    assert_true(uri_endpoint_ok("https://[2001:db8::1]/cb"));
}

static void test_redirect_uri_http_only_on_loopback(void **state)
{
    (void)state;
    /* RFC 8252 §7.3 loopback redirects; SPEC §3 also allows localhost */
    assert_true(uri_endpoint_ok("http://127.0.0.1:33418/callback"));
    assert_true(uri_endpoint_ok("http://127.0.0.1/cb"));
    assert_true(uri_endpoint_ok("http://[::1]:8080/cb"));
    assert_true(uri_endpoint_ok("http://localhost:6274/oauth/callback"));
    assert_true(uri_endpoint_ok("http://127.0.0.1:33418"));
    assert_false(uri_endpoint_ok("http://app.example.com/cb"));
    assert_false(uri_endpoint_ok("http://localhost.example.com/cb"));
    assert_false(uri_endpoint_ok("http://127.0.0.1.nip.io/cb"));
    assert_false(uri_endpoint_ok("http://127.0.0.2/cb"));
    assert_false(uri_endpoint_ok("http://[::2]/cb"));
}

static void test_redirect_uri_with_fragment_is_refused(void **state)
{
    (void)state;
    /* RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment
     * component." */
    assert_false(uri_endpoint_ok("https://app.example.com/cb#x"));
    assert_false(uri_endpoint_ok("https://app.example.com/cb#"));
    assert_false(uri_endpoint_ok("http://127.0.0.1:1234/#/cb"));
}

static void test_redirect_uri_must_be_absolute_http_or_https(void **state)
{
    (void)state;
    assert_false(uri_endpoint_ok(NULL));
    assert_false(uri_endpoint_ok(""));
    assert_false(uri_endpoint_ok("/callback"));
    assert_false(uri_endpoint_ok("callback"));
    assert_false(uri_endpoint_ok("//app.example.com/cb"));
    assert_false(uri_endpoint_ok("https:///cb"));
    assert_false(uri_endpoint_ok("https://"));
    assert_false(uri_endpoint_ok("https://?x"));
    assert_false(uri_endpoint_ok("javascript:alert(1)"));
    assert_false(uri_endpoint_ok("data:text/html,x"));
    assert_false(uri_endpoint_ok("com.example.app:/cb"));
    assert_false(uri_endpoint_ok("ftp://app.example.com/cb"));
    assert_false(uri_endpoint_ok("HTTPS://APP.EXAMPLE.COM/cb"));
}

static void test_redirect_uri_refuses_userinfo_bad_ports_and_bad_hosts(void **state)
{
    (void)state;
    assert_false(uri_endpoint_ok("http://127.0.0.1@evil.example/cb"));
    assert_false(uri_endpoint_ok("https://user:pw@app.example.com/cb"));
    assert_false(uri_endpoint_ok("http://127.0.0.1:/cb"));
    assert_false(uri_endpoint_ok("http://127.0.0.1:0/cb"));
    assert_false(uri_endpoint_ok("http://127.0.0.1:65536/cb"));
    assert_false(uri_endpoint_ok("http://127.0.0.1:80a/cb"));
    assert_false(uri_endpoint_ok("https://app_example.com/cb"));
    assert_false(uri_endpoint_ok("https://[::1/cb"));
    assert_false(uri_endpoint_ok("https://[]/cb"));
    assert_false(uri_endpoint_ok("https://[::1]x/cb"));
    assert_true(uri_endpoint_ok("http://127.0.0.1:65535/cb"));
}

static void test_redirect_uri_refuses_characters_outside_uris(void **state)
{
    (void)state;
    assert_false(uri_endpoint_ok("https://app.example.com/a b"));
    assert_false(uri_endpoint_ok("https://app.example.com/\"><script>"));
    assert_false(uri_endpoint_ok("https://app.example.com/a\\b"));
    assert_false(uri_endpoint_ok("https://app.example.com/\x01"));
    assert_false(uri_endpoint_ok("https://app.example.com/caf\xC3\xA9"));
    assert_false(uri_endpoint_ok("https://app.example.com/%zz"));
    assert_false(uri_endpoint_ok("https://app.example.com/%4"));
    assert_true(uri_endpoint_ok("https://app.example.com/caf%C3%A9"));
    char u[2100];
    strcpy(u, "https://app.example.com/");
    size_t l = strlen(u);
    memset(u + l, 'a', 2001 - l);
    u[2001] = '\0';
    assert_false(uri_endpoint_ok(u));
    u[2000] = '\0';
    assert_true(uri_endpoint_ok(u));
}

/* ---- metadata ---- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_splits_an_absolute_uri_into_its_rfc3986_parts),
        cmocka_unit_test(parse_refuses_what_rfc3986_does_not_allow),
        cmocka_unit_test(loopback_hosts_are_the_three_spec_names_as_written),
        cmocka_unit_test(loopback_addresses_are_127_slash_8_and_ipv6_1),
        cmocka_unit_test(endpoint_rule_refuses_uppercase_loopback_names_everywhere),
        cmocka_unit_test(fetcher_refuses_what_registration_refuses),
        cmocka_unit_test(loopback_port_exception_uses_the_same_loopback_rule),
        cmocka_unit_test(resource_rule_refuses_bad_escapes_and_http_without_host),
        cmocka_unit_test(web_pages_are_http_or_https_anywhere_with_at_most_one_fragment),
        cmocka_unit_test(test_redirect_uri_https_anywhere_is_accepted),
        cmocka_unit_test(test_redirect_uri_http_only_on_loopback),
        cmocka_unit_test(test_redirect_uri_with_fragment_is_refused),
        cmocka_unit_test(test_redirect_uri_must_be_absolute_http_or_https),
        cmocka_unit_test(test_redirect_uri_refuses_userinfo_bad_ports_and_bad_hosts),
        cmocka_unit_test(test_redirect_uri_refuses_characters_outside_uris),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
