/*
 * test_form.c: unit tests for authz/http/form.c, the strict
 * application/x-www-form-urlencoded parser of the token, introspection and
 * revocation endpoints (RFC 6749 §3.1, §3.2, Appendix B; SPEC §9: "a `%` not
 * followed by two hex digits", invalid UTF-8 and NUL are bad input).
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

#include "http/form.h"
#include "util/arena.h"

static int setup(void **state)
{
    *state = arena_new();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

/* Parses a NUL-terminated body; returns form_parse's result. */
static int parse(void **state, const char *body, struct form *f, const char **why)
{
    *why = NULL;
    return form_parse(*state, body, strlen(body), f, why);
}

static void assert_rejected(void **state, const char *body)
{
    struct form f;
    const char *why;
    if (parse(state, body, &f, &why) != -1)
        fail_msg("body accepted but must be rejected: %s", body);
    assert_non_null(why);
    assert_true(strlen(why) > 0);
}

static void test_parses_token_request_body(void **state)
{
    struct form f;
    const char *why;
    assert_int_equal(parse(state, "grant_type=client_credentials&scope=read&client_id=abc", &f, &why), 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(form_get(&f, "grant_type"), "client_credentials");
    assert_string_equal(form_get(&f, "scope"), "read");
    assert_string_equal(form_get(&f, "client_id"), "abc");
    assert_null(form_get(&f, "client_secret"));
}

static void test_empty_body_has_no_parameters(void **state)
{
    struct form f;
    const char *why;
    assert_int_equal(form_parse(*state, "", 0, &f, &why), 0);
    assert_int_equal(f.n, 0);
    assert_null(form_get(&f, "grant_type"));
}

static void test_empty_segments_between_ampersands_are_skipped(void **state)
{
    struct form f;
    const char *why;
    assert_int_equal(parse(state, "&&a=1&&b=2&", &f, &why), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(form_get(&f, "a"), "1");
    assert_string_equal(form_get(&f, "b"), "2");
}

static void test_plus_decodes_to_space_and_escaped_plus_stays_plus(void **state)
{
    struct form f;
    const char *why;
    assert_int_equal(parse(state, "scope=files%3Aread+mail%3Asend&x=a%2Bb", &f, &why), 0);
    assert_string_equal(form_get(&f, "scope"), "files:read mail:send");
    assert_string_equal(form_get(&f, "x"), "a+b");
}

static void test_percent_escapes_decode_in_names_and_values_any_hex_case(void **state)
{
    struct form f;
    const char *why;
    assert_int_equal(parse(state, "redirect%5Furi=https%3a%2F%2Fapp.example%2Fcb", &f, &why), 0);
    assert_string_equal(form_get(&f, "redirect_uri"), "https://app.example/cb");
}

static void test_valid_multibyte_utf8_is_accepted(void **state)
{
    struct form f;
    const char *why;
    /* é (2 bytes), € (3 bytes), 😀 (4 bytes) */
    assert_int_equal(parse(state, "n=%C3%A9%E2%82%AC%F0%9F%98%80", &f, &why), 0);
    assert_string_equal(form_get(&f, "n"), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

static void test_percent_not_followed_by_two_hex_digits_is_rejected(void **state)
{
    assert_rejected(state, "a=%zz");
    assert_rejected(state, "a=%4");      /* one digit at the end */
    assert_rejected(state, "a=%4&b=1");  /* one digit before '&' */
    assert_rejected(state, "a=%");       /* trailing % */
    assert_rejected(state, "a=b%");
    assert_rejected(state, "a=%g0");
    assert_rejected(state, "a=%0g");
    assert_rejected(state, "%zz=1");     /* in a name too */
}

static void test_invalid_utf8_after_decoding_is_rejected(void **state)
{
    assert_rejected(state, "a=%C3%28");     /* bad continuation byte */
    assert_rejected(state, "a=%FF");        /* never valid in UTF-8 */
    assert_rejected(state, "a=%C0%AF");     /* overlong '/' */
    assert_rejected(state, "a=%E0%80%AF");  /* overlong, 3 bytes */
    assert_rejected(state, "a=%ED%A0%80");  /* UTF-16 surrogate D800 */
    assert_rejected(state, "a=%F4%90%80%80"); /* above U+10FFFF */
    assert_rejected(state, "a=%E2%82");     /* truncated */
    assert_rejected(state, "a=%80");        /* lone continuation byte */
}

static void test_raw_invalid_utf8_bytes_are_rejected(void **state)
{
    assert_rejected(state, "a=\xff");
    assert_rejected(state, "a=\xC3\x28");
}

static void test_nul_byte_is_rejected_escaped_or_raw(void **state)
{
    assert_rejected(state, "a=%00");
    assert_rejected(state, "a=x%00y");
    assert_rejected(state, "a%00b=1");
    struct form f;
    const char *why;
    static const char raw[] = "a=x\0y";
    assert_int_equal(form_parse(*state, raw, sizeof raw - 1, &f, &why), -1);
}

static void test_repeated_parameter_is_rejected(void **state)
{
    /* RFC 6749 §3.1: "Request and response parameters MUST NOT be included
     * more than once." */
    assert_rejected(state, "grant_type=a&grant_type=a");
    assert_rejected(state, "scope=x&client_id=c&scope=y");
    /* names are compared after decoding */
    assert_rejected(state, "scope=x&sc%6Fpe=y");
}

static void test_resource_and_audience_may_repeat_and_are_collected(void **state)
{
    struct form f;
    const char *why;
    assert_int_equal(parse(state,
                           "resource=https%3A%2F%2Fa.example&audience=x&resource=https%3A%2F%2Fb.example"
                           "&audience=y&resource=",
                           &f, &why),
                     0);
    const char **v;
    assert_int_equal(form_get_all(*state, &f, "resource", &v), 2);
    assert_string_equal(v[0], "https://a.example");
    assert_string_equal(v[1], "https://b.example");
    assert_int_equal(form_get_all(*state, &f, "audience", &v), 2);
    assert_string_equal(v[0], "x");
    assert_string_equal(v[1], "y");
    assert_int_equal(form_get_all(*state, &f, "scope", &v), 0);
}

static void test_empty_values_are_treated_as_absent(void **state)
{
    /* RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if
     * they were omitted from the request." */
    struct form f;
    const char *why;
    assert_int_equal(parse(state, "scope=&state&grant_type=x", &f, &why), 0);
    assert_null(form_get(&f, "scope"));
    assert_null(form_get(&f, "state"));
    assert_string_equal(form_get(&f, "grant_type"), "x");
    /* still known to have been sent */
    assert_true(form_present(&f, "scope"));
    assert_true(form_present(&f, "state"));
    assert_false(form_present(&f, "code"));
}

static void test_empty_parameter_name_is_rejected(void **state)
{
    assert_rejected(state, "=x");
    assert_rejected(state, "a=1&=2");
}

static void test_more_than_256_parameters_are_rejected(void **state)
{
    char body[4096];
    size_t o = 0;
    for (int i = 0; i < 257; i++)
        o += (size_t)snprintf(body + o, sizeof body - o, "%sp%d=1", i ? "&" : "", i);
    assert_rejected(state, body);
}

static void test_value_may_contain_equals_sign(void **state)
{
    struct form f;
    const char *why;
    assert_int_equal(parse(state, "code_verifier=abc=def==", &f, &why), 0);
    assert_string_equal(form_get(&f, "code_verifier"), "abc=def==");
}

static void test_form_decode_handles_basic_credentials_components(void **state)
{
    char *s = form_decode(*state, "my%3Aclient+1", 13);
    assert_non_null(s);
    assert_string_equal(s, "my:client 1");
    assert_null(form_decode(*state, "bad%2", 5));
    assert_null(form_decode(*state, "%00", 3));
    char *e = form_decode(*state, "", 0);
    assert_non_null(e);
    assert_string_equal(e, "");
}

static void test_length_bounds_the_body_not_nul(void **state)
{
    struct form f;
    const char *why;
    /* only the first 3 bytes are the body */
    assert_int_equal(form_parse(*state, "a=1&b=%zz", 3, &f, &why), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(form_get(&f, "a"), "1");
}

static void test_path_segments_decode_each_part_with_plus_literal(void **state)
{
    char *seg[4];
    assert_int_equal(path_segments(*state, "/tenants/ac%2Fme//clients/a+b%2Bc/", seg, 4, 0), 4);
    assert_string_equal(seg[0], "tenants");
    assert_string_equal(seg[1], "ac/me"); /* an encoded '/' stays inside its part */
    assert_string_equal(seg[2], "clients");
    assert_string_equal(seg[3], "a+b+c"); /* '+' is literal in a path, not a space */
    assert_int_equal(path_segments(*state, "", seg, 4, 0), 0);
    assert_int_equal(path_segments(*state, "///", seg, 4, 0), 0);
}

static void test_path_segments_refuse_what_does_not_decode_or_fit(void **state)
{
    char *seg[2];
    static const char *bad[] = {
        "/a%00b",      /* NUL, escaped */
        "/a%2",        /* '%' cut short */
        "/a%zz",       /* '%' without hex */
        "/%C3%28",     /* invalid UTF-8 once decoded */
        "/a/b/c",      /* more parts than max */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(path_segments(*state, bad[i], seg, 2, 0), -1);
    /* a part longer than max_len; the same part with no limit */
    assert_int_equal(path_segments(*state, "/abcdef", seg, 2, 5), -1);
    assert_int_equal(path_segments(*state, "/abcdef", seg, 2, 0), 1);
    assert_int_equal(path_segments(*state, "/abcde", seg, 2, 5), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parses_token_request_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_body_has_no_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_segments_between_ampersands_are_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plus_decodes_to_space_and_escaped_plus_stays_plus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_percent_escapes_decode_in_names_and_values_any_hex_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_multibyte_utf8_is_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_percent_not_followed_by_two_hex_digits_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_after_decoding_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_invalid_utf8_bytes_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_byte_is_rejected_escaped_or_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_parameter_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_and_audience_may_repeat_and_are_collected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_values_are_treated_as_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_parameter_name_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_than_256_parameters_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_may_contain_equals_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_decode_handles_basic_credentials_components, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_bounds_the_body_not_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_segments_decode_each_part_with_plus_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_segments_refuse_what_does_not_decode_or_fit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
