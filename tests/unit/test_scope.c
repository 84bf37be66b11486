/*
 * test_scope.c: unit tests for authz/policy/scope.c: OAuth scope strings
 * (RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token =
 * 1*( %x21 / %x23-5B / %x5D-7E )), the set operations that keep every grant
 * within its bounds, and the RFC 8707 resource indicator syntax.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "policy/scope.h"
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

static struct scopeset parsed(void **state, const char *s)
{
    struct scopeset set;
    if (scope_parse(*state, s, &set) != 0)
        fail_msg("scope string rejected: '%s'", s ? s : "(null)");
    return set;
}

static void assert_malformed(void **state, const char *s)
{
    struct scopeset set;
    if (scope_parse(*state, s, &set) != -1)
        fail_msg("malformed scope string accepted: '%s'", s);
}

static void test_parse_splits_on_single_spaces_in_order(void **state)
{
    struct scopeset s = parsed(state, "files:read mail:send admin");
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[0], "files:read");
    assert_string_equal(s.v[1], "mail:send");
    assert_string_equal(s.v[2], "admin");
}

static void test_parse_of_null_and_empty_gives_empty_set(void **state)
{
    struct scopeset s = parsed(state, NULL);
    assert_int_equal(s.n, 0);
    s = parsed(state, "");
    assert_int_equal(s.n, 0);
}

static void test_parse_removes_duplicates_keeping_first_order(void **state)
{
    struct scopeset s = parsed(state, "b a b c a");
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[0], "b");
    assert_string_equal(s.v[1], "a");
    assert_string_equal(s.v[2], "c");
}

static void test_parse_accepts_every_scope_token_character(void **state)
{
    /* %x21 / %x23-5B / %x5D-7E: everything printable but space, " and \ */
    struct scopeset s = parsed(state, "!#$%&'()*+,-./0123456789:;<=>?@AZ[]^_`az{|}~");
    assert_int_equal(s.n, 1);
    s = parsed(state, "urn:ietf:params:oauth:scope https://api.example.com/read");
    assert_int_equal(s.n, 2);
}

static void test_parse_rejects_double_leading_and_trailing_spaces(void **state)
{
    assert_malformed(state, "a  b");
    assert_malformed(state, "a b ");
    assert_malformed(state, " a b");
    assert_malformed(state, " ");
}

static void test_parse_rejects_quote_backslash_and_other_bytes(void **state)
{
    assert_malformed(state, "a\"b");
    assert_malformed(state, "a\\b");
    assert_malformed(state, "a\tb");
    assert_malformed(state, "a\nb");
    assert_malformed(state, "caf\xC3\xA9");   /* non-ASCII */
    assert_malformed(state, "a\x7f");
}

static void test_parse_rejects_strings_over_4096_bytes(void **state)
{
    char *s = malloc(4098);
    memset(s, 'a', 4097);
    s[4097] = '\0';
    assert_malformed(state, s);
    s[4096] = '\0';
    struct scopeset set;
    assert_int_equal(scope_parse(*state, s, &set), 0);
    free(s);
}

static void test_scope_token_valid_is_the_rule_of_one_token(void **state)
{
    (void)state;
    /* the admin API's scopes and allowed_scopes entries use this rule */
    assert_true(scope_token_valid("mcp:tools"));
    assert_true(scope_token_valid("!#[]~"));
    assert_false(scope_token_valid(""));
    assert_false(scope_token_valid(NULL));
    assert_false(scope_token_valid("a b"));
    assert_false(scope_token_valid("a\"b"));
    assert_false(scope_token_valid("a\\b"));
    assert_false(scope_token_valid("caf\xC3\xA9"));
}

static void test_has_is_exact_match(void **state)
{
    struct scopeset s = parsed(state, "files:read");
    assert_true(scope_has(&s, "files:read"));
    assert_false(scope_has(&s, "files"));
    assert_false(scope_has(&s, "files:read:all"));
    assert_false(scope_has(&s, "FILES:READ"));
}

static void test_subset_holds_only_when_every_element_is_in_the_superset(void **state)
{
    struct scopeset sup = parsed(state, "a b c");
    struct scopeset sub = parsed(state, "c a");
    struct scopeset wider = parsed(state, "a d");
    struct scopeset empty = parsed(state, "");
    assert_true(scope_subset(&sub, &sup));
    assert_true(scope_subset(&sup, &sup));
    assert_true(scope_subset(&empty, &sup));
    assert_true(scope_subset(&empty, &empty));
    assert_false(scope_subset(&wider, &sup));
    assert_false(scope_subset(&sup, &sub));
    assert_false(scope_subset(&sub, &empty));
}

static void test_intersect_keeps_first_operand_order_and_never_widens(void **state)
{
    struct scopeset a = parsed(state, "d c b a");
    struct scopeset b = parsed(state, "a b x");
    struct scopeset r = scope_intersect(*state, &a, &b);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.v[0], "b");
    assert_string_equal(r.v[1], "a");
    assert_true(scope_subset(&r, &a));
    assert_true(scope_subset(&r, &b));
    struct scopeset none = parsed(state, "y z");
    r = scope_intersect(*state, &a, &none);
    assert_int_equal(r.n, 0);
    struct scopeset empty = parsed(state, "");
    r = scope_intersect(*state, &empty, &a);
    assert_int_equal(r.n, 0);
}

static void test_join_is_space_separated_and_empty_for_empty_set(void **state)
{
    struct scopeset s = parsed(state, "a b c");
    assert_string_equal(scope_join(*state, &s), "a b c");
    struct scopeset one = parsed(state, "only");
    assert_string_equal(scope_join(*state, &one), "only");
    struct scopeset empty = parsed(state, "");
    assert_string_equal(scope_join(*state, &empty), "");
}

static void test_join_of_parse_round_trips_a_normalized_string(void **state)
{
    struct scopeset s = parsed(state, "x y x z");
    char *j = scope_join(*state, &s);
    assert_string_equal(j, "x y z");
    struct scopeset again = parsed(state, j);
    assert_int_equal(again.n, 3);
}

static void test_from_list_wraps_an_array(void **state)
{
    (void)state;
    char *v[] = {"a", "b"};
    struct scopeset s = scope_from_list(v, 2);
    assert_int_equal(s.n, 2);
    assert_true(scope_has(&s, "b"));
    assert_false(scope_has(&s, "c"));
}

static void test_resource_uri_accepts_absolute_uris(void **state)
{
    (void)state;
    assert_true(resource_uri_valid("https://mcp.example.com/mcp"));
    assert_true(resource_uri_valid("https://mcp.example.com:8443/a/b?x=1"));
    assert_true(resource_uri_valid("http://127.0.0.1:9000"));
    assert_true(resource_uri_valid("urn:example:resource"));
    assert_true(resource_uri_valid("HTTPS://API.EXAMPLE.COM/"));
}

static void test_resource_uri_rejects_fragment(void **state)
{
    (void)state;
    /* RFC 8707 §2: "It MUST NOT include a fragment component." */
    assert_false(resource_uri_valid("https://mcp.example.com/mcp#frag"));
    assert_false(resource_uri_valid("https://mcp.example.com/#"));
}

static void test_resource_uri_rejects_relative_references(void **state)
{
    (void)state;
    /* RFC 8707 §2: "The value of the "resource" parameter MUST be an
     * absolute URI" */
    assert_false(resource_uri_valid("/mcp"));
    assert_false(resource_uri_valid("mcp.example.com/mcp"));
    assert_false(resource_uri_valid("//mcp.example.com/mcp"));
    assert_false(resource_uri_valid(""));
    assert_false(resource_uri_valid("https:"));
    assert_false(resource_uri_valid("1https://x"));
    assert_false(resource_uri_valid(":x"));
}

static void test_resource_uri_rejects_spaces_controls_and_unsafe_characters(void **state)
{
    (void)state;
    assert_false(resource_uri_valid("https://mcp.example.com/a b"));
    assert_false(resource_uri_valid(" https://mcp.example.com/"));
    assert_false(resource_uri_valid("https://mcp.example.com/\t"));
    assert_false(resource_uri_valid("https://mcp.example.com/\x01"));
    assert_false(resource_uri_valid("https://mcp.example.com/\"x\""));
    assert_false(resource_uri_valid("https://mcp.example.com/<script>"));
    assert_false(resource_uri_valid("https://mcp.example.com/a\\b"));
    assert_false(resource_uri_valid("https://mcp.example.com/caf\xC3\xA9"));
}

static void test_resource_narrow_takes_the_one_requested_resource_of_the_grant(void **state)
{
    (void)state;
    const char *granted[] = {"https://a.example/mcp", "https://b.example/api"};
    const char *req[] = {"https://b.example/api"};
    const char *why = NULL;
    assert_string_equal(resource_narrow(req, 1, granted, 2, "https://as.example", &why),
                        "https://b.example/api");
}

static void test_resource_narrow_defaults_to_the_grants_first_resource_then_the_issuer(void **state)
{
    (void)state;
    const char *granted[] = {"https://a.example/mcp", "https://b.example/api"};
    const char *why = NULL;
    assert_string_equal(resource_narrow(NULL, 0, granted, 2, "https://as.example", &why),
                        "https://a.example/mcp");
    assert_string_equal(resource_narrow(NULL, 0, NULL, 0, "https://as.example", &why),
                        "https://as.example");
}

static void test_resource_narrow_never_widens_and_takes_one_resource(void **state)
{
    (void)state;
    const char *granted[] = {"https://a.example/mcp"};
    const char *other[] = {"https://evil.example/"};
    const char *two[] = {"https://a.example/mcp", "https://a.example/mcp"};
    const char *why = NULL;
    assert_null(resource_narrow(other, 1, granted, 1, "https://as.example", &why));
    assert_string_equal(why, "resource was not part of the grant");
    /* a grant without resources is for the issuer: naming one widens it */
    assert_null(resource_narrow(granted, 1, NULL, 0, "https://as.example", &why));
    assert_null(resource_narrow(two, 2, granted, 1, "https://as.example", &why));
    assert_string_equal(why, "ask for one resource per access token");
    /* a prefix or a case variant is another resource */
    const char *prefix[] = {"https://a.example/mc"};
    assert_null(resource_narrow(prefix, 1, granted, 1, "https://as.example", &why));
}

static void test_resource_uri_rejects_over_2000_bytes(void **state)
{
    (void)state;
    char u[2100];
    strcpy(u, "https://x.example/");
    size_t l = strlen(u);
    memset(u + l, 'a', 2001 - l);
    u[2001] = '\0';
    assert_false(resource_uri_valid(u));
    u[2000] = '\0';
    assert_true(resource_uri_valid(u));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_splits_on_single_spaces_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_of_null_and_empty_gives_empty_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_removes_duplicates_keeping_first_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_accepts_every_scope_token_character, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scope_token_valid_is_the_rule_of_one_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_rejects_double_leading_and_trailing_spaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_rejects_quote_backslash_and_other_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_rejects_strings_over_4096_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_has_is_exact_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subset_holds_only_when_every_element_is_in_the_superset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intersect_keeps_first_operand_order_and_never_widens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_is_space_separated_and_empty_for_empty_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_of_parse_round_trips_a_normalized_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_list_wraps_an_array, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_uri_accepts_absolute_uris, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_uri_rejects_fragment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_uri_rejects_relative_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_uri_rejects_spaces_controls_and_unsafe_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_uri_rejects_over_2000_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_narrow_takes_the_one_requested_resource_of_the_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_narrow_defaults_to_the_grants_first_resource_then_the_issuer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_narrow_never_widens_and_takes_one_resource, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
