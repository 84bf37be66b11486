/*
 * test_redirect.c: unit tests for authz/policy/redirect.c, the matching of
 * an authorization request's redirect_uri against the registered ones
 * (RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: exact string comparison; RFC 8252
 * §7.3: any port on an http loopback redirect URI), and the building of the
 * redirect that carries the answer (RFC 6749 §4.1.2: the registered query
 * is kept; values are percent-encoded).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "policy/redirect.h"
#include "util/arena.h"

static void exact_match_is_accepted(void **state)
{
    (void)state;
    assert_true(redirect_uri_matches("https://app.example/cb", "https://app.example/cb"));
    assert_true(redirect_uri_matches("https://app.example/cb?x=1", "https://app.example/cb?x=1"));
    assert_true(redirect_uri_matches("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb"));
}

static void anything_but_exact_is_refused_on_other_hosts(void **state)
{
    (void)state;
    const char *reg = "https://app.example/cb";
    assert_false(redirect_uri_matches(reg, "https://app.example/cb/"));
    assert_false(redirect_uri_matches(reg, "https://app.example/cb?x=1"));
    assert_false(redirect_uri_matches(reg, "https://app.example/cb#f"));
    assert_false(redirect_uri_matches(reg, "https://APP.example/cb"));
    assert_false(redirect_uri_matches(reg, "HTTPS://app.example/cb"));
    assert_false(redirect_uri_matches(reg, "https://app.example:443/cb"));
    assert_false(redirect_uri_matches(reg, "https://app.example/CB"));
    assert_false(redirect_uri_matches(reg, "https://app.example/c%62"));
    assert_false(redirect_uri_matches(reg, "https://app.example.evil/cb"));
    assert_false(redirect_uri_matches(reg, "https://app.example@evil.example/cb"));
    assert_false(redirect_uri_matches(reg, "https://app.example/cb/../cb"));
    assert_false(redirect_uri_matches(reg, "http://app.example/cb"));
    assert_false(redirect_uri_matches(reg, "https://app.example/c"));
    assert_false(redirect_uri_matches(reg, ""));
    assert_false(redirect_uri_matches(reg, NULL));
    assert_false(redirect_uri_matches(NULL, reg));
    /* a port change is not allowed for https, nor on non-loopback hosts */
    assert_false(redirect_uri_matches("https://app.example:8443/cb", "https://app.example:9443/cb"));
    assert_false(redirect_uri_matches("https://127.0.0.1:8443/cb", "https://127.0.0.1:9443/cb"));
}

static void loopback_port_may_differ(void **state)
{
    (void)state;
    /* RFC 8252 §7.3: registered without a port, any port at request time */
    assert_true(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"));
    assert_true(redirect_uri_matches("http://127.0.0.1:3000/cb", "http://127.0.0.1:51234/cb"));
    assert_true(redirect_uri_matches("http://127.0.0.1:3000/cb", "http://127.0.0.1/cb"));
    assert_true(redirect_uri_matches("http://[::1]/cb", "http://[::1]:8080/cb"));
    assert_true(redirect_uri_matches("http://localhost:1/cb", "http://localhost:65535/cb"));
    assert_true(redirect_uri_matches("http://127.0.0.1", "http://127.0.0.1:9"));
    assert_true(redirect_uri_matches("http://127.0.0.1/cb?a=b", "http://127.0.0.1:9/cb?a=b"));
    assert_true(redirect_uri_matches("http://127.0.0.1:80?a=b", "http://127.0.0.1:81?a=b"));
}

static void loopback_keeps_host_path_and_query(void **state)
{
    (void)state;
    const char *reg = "http://127.0.0.1/cb";
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:5000/other"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:5000/cb/"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:5000/cb?x=1"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:5000/cb#x"));
    assert_false(redirect_uri_matches(reg, "http://localhost:5000/cb"));
    assert_false(redirect_uri_matches(reg, "http://[::1]:5000/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.2:5000/cb"));
    assert_false(redirect_uri_matches(reg, "https://127.0.0.1:5000/cb"));
    /* not a port: userinfo, another host, garbage */
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1@evil.example/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:80@evil.example/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1.evil.example/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:0/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:65536/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:123456/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:8x/cb"));
    assert_false(redirect_uri_matches(reg, "http://127.0.0.1:+80/cb"));
    assert_false(redirect_uri_matches("http://localhost/cb", "http://localhost.evil.example/cb"));
    assert_false(redirect_uri_matches("http://localhost/cb", "http://localhostx:80/cb"));
    /* a registered URI that is not itself a loopback URI gets no exception */
    assert_false(redirect_uri_matches("http://127.0.0.1@x/cb", "http://127.0.0.1@x:5/cb"));
}

static void find_returns_the_matching_index(void **state)
{
    (void)state;
    char *reg[] = {"https://a.example/cb", "http://127.0.0.1/cb", "https://b.example/cb?x=1"};
    assert_int_equal(redirect_uri_find(reg, 3, "https://a.example/cb"), 0);
    assert_int_equal(redirect_uri_find(reg, 3, "http://127.0.0.1:4444/cb"), 1);
    assert_int_equal(redirect_uri_find(reg, 3, "https://b.example/cb?x=1"), 2);
    assert_int_equal(redirect_uri_find(reg, 3, "https://b.example/cb"), -1);
    assert_int_equal(redirect_uri_find(reg, 0, "https://a.example/cb"), -1);
}

static void append_adds_a_query_or_extends_it(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    const char *names[] = {"code", "state", "iss"};
    const char *values[] = {"abc", "s 1&x=<y>", "https://as.example/t/acme"};
    assert_string_equal(redirect_uri_append(a, "https://app.example/cb", names, values, 3),
                        "https://app.example/cb?code=abc&state=s%201%26x%3D%3Cy%3E"
                        "&iss=https%3A%2F%2Fas.example%2Ft%2Facme");
    assert_string_equal(redirect_uri_append(a, "https://app.example/cb?x=1", names, values, 1),
                        "https://app.example/cb?x=1&code=abc");
    assert_string_equal(redirect_uri_append(a, "https://app.example/cb?", names, values, 1),
                        "https://app.example/cb?code=abc");
    assert_string_equal(redirect_uri_append(a, "https://app.example/cb?x=1&", names, values, 1),
                        "https://app.example/cb?x=1&code=abc");
    /* a NULL value (no state sent) is left out */
    const char *v2[] = {"abc", NULL, "i"};
    assert_string_equal(redirect_uri_append(a, "https://app.example/cb", names, v2, 3),
                        "https://app.example/cb?code=abc&iss=i");
    const char *v3[] = {NULL, NULL, NULL};
    assert_string_equal(redirect_uri_append(a, "https://app.example/cb", names, v3, 3),
                        "https://app.example/cb");
    arena_free(a);
}

static void encode_keeps_only_unreserved(void **state)
{
    (void)state;
    struct strbuf sb;
    sb_init(&sb);
    uri_encode_component(&sb, "AZaz09-._~ /?#[]@!$&'()*+,;=%\xc3\xa9");
    assert_string_equal(sb.buf, "AZaz09-._~%20%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D"
                                "%25%C3%A9");
    sb_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_match_is_accepted),
        cmocka_unit_test(anything_but_exact_is_refused_on_other_hosts),
        cmocka_unit_test(loopback_port_may_differ),
        cmocka_unit_test(loopback_keeps_host_path_and_query),
        cmocka_unit_test(find_returns_the_matching_index),
        cmocka_unit_test(append_adds_a_query_or_extends_it),
        cmocka_unit_test(encode_keeps_only_unreserved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
