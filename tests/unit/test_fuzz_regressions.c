/*
 * test_fuzz_regressions.c: unit tests for what the fuzzers of tests/fuzz/
 * found, so that each bug stays fixed even where the fuzzers do not run.
 * The crashing inputs themselves are in tests/fuzz/regressions/TARGET/ and
 * tests/fuzz/run.sh replays them against the fuzz targets first.
 *
 * 1. fuzz_json_body, tests/fuzz/regressions/fuzz_json_body/
 *    invalid-utf8-in-json-error-detail: an admin body of broken JSON holding
 *    invalid UTF-8 was answered 400 with a problem document that was not
 *    JSON: the detail "malformed JSON: <jansson's error text>" quotes the
 *    client's bytes, and sb_json_str() copied bytes >= 0x80 as they were.
 *    sb_json_str() now writes U+FFFD for every byte that starts no
 *    well-formed UTF-8 sequence (RFC 8259 §8.1: JSON text is UTF-8).
 *
 * 2. fuzz_redirect, tests/fuzz/regressions/fuzz_redirect/: the check of every
 *    redirect URI, approval webhook, ping endpoint and client jwks_uri
 *    (uri_endpoint_ok) accepted IP literals that are no IPv6 address
 *    ("https://[2001]:8443/cb", "[::::]") and host names over 253 characters,
 *    which authzd's own HTTP client (fetch_url_parse) then refuses: a webhook
 *    the admin API accepted could never be delivered. Both are refused now.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/fetch.h"
#include "http/http.h"
#include "oauth/register.h"
#include "policy/uri.h"
#include "util/arena.h"

/* sb_json_str(s) as a C string (caller frees) */
static char *json_str(const char *s)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_json_str(&sb, s);
    return sb_steal(&sb, NULL);
}

/* s as a JSON string must parse, and decode to want */
static void assert_json_string(const char *s, const char *want)
{
    char *j = json_str(s);
    json_error_t je;
    json_t *v = json_loads(j, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("sb_json_str produced invalid JSON %s: %s", j, je.text);
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), want);
    json_decref(v);
    free(j);
}

static void test_json_str_valid_utf8_unchanged(void **state)
{
    (void)state;
    assert_json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    char *j = json_str("caf\xc3\xa9");
    assert_string_equal(j, "\"caf\xc3\xa9\""); /* copied as is, not escaped */
    free(j);
    assert_json_string("a\"b\\c\n\x01", "a\"b\\c\n\x01");
}

static void test_json_str_invalid_utf8_replaced(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\xff", "\xef\xbf\xbd"},                       /* never valid */
        {"a\x80z", "a\xef\xbf\xbdz"},                   /* stray continuation byte */
        {"\xc3", "\xef\xbf\xbd"},                       /* cut short by the end */
        {"\xc3(", "\xef\xbf\xbd("},                     /* cut short by ASCII */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},       /* overlong '/' */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate D800 */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"},       /* 3-byte form cut short */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_json_string(cases[i].in, cases[i].want);
}

/* The regression input: what the admin API answered for it. */
static void test_admin_malformed_json_problem_is_json(void **state)
{
    (void)state;
    /* tests/fuzz/regressions/fuzz_json_body/invalid-utf8-in-json-error-detail
     * (the body after its first line) */
    static const char body[] = "{\"uri\":\"htt01T0\",\"es\":[\"a\\\xde\x9d\xdd\xa1}";
    json_error_t je;
    json_t *j = json_loadb(body, sizeof body - 1, JSON_REJECT_DUPLICATES, &je);
    assert_null(j);
    /* as admin.c's body_object() and trust.c's policy_body() answer it */
    struct req r;
    memset(&r, 0, sizeof r);
    r.arena = arena_new();
    resp_problem(&r, 400, NULL, arena_sprintf(r.arena, "malformed JSON: %s", je.text));
    assert_int_equal(r.status, 400);
    json_t *p = json_loadb(r.resp_body, r.resp_len, 0, &je);
    if (!p)
        fail_msg("problem document is not JSON (%s): %.*s", je.text, (int)r.resp_len, r.resp_body);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 400);
    assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "malformed JSON"));
    json_decref(p);
    free(r.resp_body);
    arena_free(r.arena);
}

static void test_redirect_uri_ip_literals_and_long_hosts(void **state)
{
    (void)state;
    assert_true(uri_endpoint_ok("https://[2001:db8::1]:8443/cb"));
    assert_true(uri_endpoint_ok("http://[::1]:8080/callback"));
    assert_true(uri_endpoint_ok("https://[::ffff:192.0.2.1]/cb"));
    assert_false(uri_endpoint_ok("https://[2001]:8443/cb?q"));
    assert_false(uri_endpoint_ok("https://[::::]/cb"));
    assert_false(uri_endpoint_ok("https://[1.2.3.4]/cb"));
    assert_false(uri_endpoint_ok("https://[0000000000000000000000000000000000000000000001]/"));
    char host[300], u[400];
    memset(host, 'a', sizeof host);
    host[253] = '\0';
    snprintf(u, sizeof u, "https://%s/cb", host);
    assert_true(uri_endpoint_ok(u)); /* 253 characters: the longest DNS name */
    host[253] = 'a';
    host[254] = '\0';
    snprintf(u, sizeof u, "https://%s/cb", host);
    assert_false(uri_endpoint_ok(u));
    /* whatever it accepts, authzd's HTTP client can use */
    static const char *ok[] = {"https://[2001:db8::1]:8443/cb", "http://[::1]:8080/callback",
                               "http://127.0.0.1:1/x?y", "https://hooks.example.test/a"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct fetch_url f;
        const char *why = NULL;
        assert_true(uri_endpoint_ok(ok[i]));
        assert_int_equal(fetch_url_parse(ok[i], &f, &why), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_str_valid_utf8_unchanged),
        cmocka_unit_test(test_json_str_invalid_utf8_replaced),
        cmocka_unit_test(test_admin_malformed_json_problem_is_json),
        cmocka_unit_test(test_redirect_uri_ip_literals_and_long_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
