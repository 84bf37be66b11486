/*
 * test_details.c: unit tests for authz/policy/details.c, task details
 * (RFC 9396 authorization_details of type mcp_tools, SPEC §12): the one
 * validator, from the attacker's side (another type, a location of another
 * tenant or one the client may not use, empty or odd tool names, members
 * that are not mcp_tools', duplicate JSON members, sizes past the limits),
 * normalization, and the set operations that keep exchange and refresh
 * narrowing only.
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

#include "policy/details.h"
#include "util/arena.h"
#include "util/limits.h"

#define R1 "https://mcp.example.test/"
#define R2 "https://files.example.test/api"
#define OTHER "https://mcp.other-tenant.test/"

static const char *TENANT[] = {R1, R2};
static const char *ONLY_R1[] = {R1};

static struct arena *A;

static int setup(void **state)
{
    (void)state;
    A = arena_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(A);
    return 0;
}

static const struct details_ctx ANY = {TENANT, 2, NULL, 0};
static const struct details_ctx R1_ONLY = {TENANT, 2, ONLY_R1, 1};

static int parse(const char *text, const struct details_ctx *ctx, struct details *d,
                 const char **why)
{
    *why = NULL;
    return details_parse(A, text, ctx, d, why);
}

static void refused(const char *text, const struct details_ctx *ctx)
{
    struct details d;
    const char *why;
    assert_int_equal(parse(text, ctx, &d, &why), -1);
    assert_non_null(why);
}

static void test_one_entry_is_parsed_and_normalized(void **state)
{
    (void)state;
    struct details d;
    const char *why;
    assert_int_equal(parse("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],"
                           "\"tools\":[\"write_file\",\"read_file\",\"read_file\"]}]",
                           &ANY, &d, &why),
                     0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].location, R1);
    assert_int_equal(d.v[0].tools.n, 2);
    assert_string_equal(d.v[0].tools.v[0], "read_file");
    assert_string_equal(d.v[0].tools.v[1], "write_file");
    assert_string_equal(details_json(A, &d),
                        "[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],"
                        "\"tools\":[\"read_file\",\"write_file\"]}]");
}

static void test_entries_for_one_location_are_merged_and_many_locations_split(void **state)
{
    (void)state;
    struct details d;
    const char *why;
    assert_int_equal(parse("[{\"type\":\"mcp_tools\",\"locations\":[\"" R2 "\",\"" R1 "\"],"
                           "\"tools\":[\"a\"]},"
                           "{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"b\"]}]",
                           &ANY, &d, &why),
                     0);
    assert_int_equal(d.n, 2);
    /* sorted by location: R2 ("https://f...") before R1 ("https://m...") */
    assert_string_equal(d.v[0].location, R2);
    assert_int_equal(d.v[0].tools.n, 1);
    assert_string_equal(d.v[1].location, R1);
    assert_int_equal(d.v[1].tools.n, 2);
    assert_true(details_allows(&d, R1, "a"));
    assert_true(details_allows(&d, R1, "b"));
    assert_false(details_allows(&d, R2, "b"));
    /* the JSON form reads back as the same set */
    struct details again;
    assert_int_equal(parse(details_json(A, &d), &ANY, &again, &why), 0);
    assert_string_equal(details_json(A, &again), details_json(A, &d));
}

static void test_only_type_mcp_tools_is_supported(void **state)
{
    (void)state;
    /* RFC 9396 §5: unknown types are refused */
    refused("[{\"type\":\"payment_initiation\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}]",
            &ANY);
    refused("[{\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}]", &ANY);
    refused("[{\"type\":7,\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}]", &ANY);
    /* one bad entry among good ones refuses the whole request */
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]},"
            "{\"type\":\"other\"}]",
            &ANY);
}

static void test_the_parameter_must_be_a_non_empty_array_of_objects(void **state)
{
    (void)state;
    refused("", &ANY);
    refused("[]", &ANY);
    refused("{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}", &ANY);
    refused("[\"mcp_tools\"]", &ANY);
    refused("[null]", &ANY);
    refused("not json", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}] trailing",
            &ANY);
    /* a member given twice: which one counts is unknowable */
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"],"
            "\"tools\":[\"b\"]}]",
            &ANY);
    struct details d;
    const char *why;
    assert_int_equal(details_parse(A, NULL, &ANY, &d, &why), -1);
}

static void test_locations_must_be_resources_of_the_tenant_the_client_may_use(void **state)
{
    (void)state;
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" OTHER "\"],\"tools\":[\"a\"]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R2 "\"],\"tools\":[\"a\"]}]", &R1_ONLY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[],\"tools\":[\"a\"]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"tools\":[\"a\"]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":\"" R1 "\",\"tools\":[\"a\"]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"\"],\"tools\":[\"a\"]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[1],\"tools\":[\"a\"]}]", &ANY);
    /* a location spelled differently is another resource */
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"https://MCP.example.test/\"],"
            "\"tools\":[\"a\"]}]",
            &ANY);
    struct details d;
    const char *why;
    assert_int_equal(parse("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}]",
                           &R1_ONLY, &d, &why),
                     0);
    /* without a context (details authz wrote itself) locations are not checked */
    assert_int_equal(parse("[{\"type\":\"mcp_tools\",\"locations\":[\"" OTHER "\"],"
                           "\"tools\":[\"a\"]}]",
                           NULL, &d, &why),
                     0);
}

static void test_tools_are_non_empty_mcp_tool_names(void **state)
{
    (void)state;
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"\"]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a b\"]}]", &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"<script>\"]}]",
            &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\\u0000b\"]}]",
            &ANY);
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[{\"name\":\"a\"}]}]",
            &ANY);
    assert_true(details_tool_name_valid("fs.read_file-v2/x"));
    char name[AUTHZ_DETAILS_TOOL_MAX + 2];
    memset(name, 'x', sizeof name);
    name[AUTHZ_DETAILS_TOOL_MAX] = '\0';
    assert_true(details_tool_name_valid(name));
    name[AUTHZ_DETAILS_TOOL_MAX] = 'x';
    name[AUTHZ_DETAILS_TOOL_MAX + 1] = '\0';
    assert_false(details_tool_name_valid(name));
}

static void test_members_other_than_type_locations_and_tools_are_refused(void **state)
{
    (void)state;
    refused("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"],"
            "\"actions\":[\"call\"]}]",
            &ANY);
}

static void test_sizes_are_bounded(void **state)
{
    (void)state;
    /* more tools than one location may list */
    char buf[AUTHZ_DETAILS_BYTES_MAX + 64];
    int n = snprintf(buf, sizeof buf, "[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[");
    for (int i = 0; i <= AUTHZ_DETAILS_TOOLS_MAX; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s\"t%d\"", i ? "," : "", i);
    snprintf(buf + n, sizeof buf - (size_t)n, "]}]");
    refused(buf, &ANY);
    /* more entries than allowed */
    n = snprintf(buf, sizeof buf, "[");
    for (int i = 0; i <= AUTHZ_DETAILS_ENTRIES_MAX; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n,
                      "%s{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}",
                      i ? "," : "");
    snprintf(buf + n, sizeof buf - (size_t)n, "]");
    refused(buf, &ANY);
    /* longer than the parameter may be, whatever it holds */
    char *big = malloc(AUTHZ_DETAILS_BYTES_MAX + 2);
    memset(big, ' ', AUTHZ_DETAILS_BYTES_MAX + 1);
    memcpy(big, "[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}]",
           strlen("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"a\"]}]"));
    big[AUTHZ_DETAILS_BYTES_MAX + 1] = '\0';
    refused(big, &ANY);
    free(big);
}

static struct details mk(const char *text)
{
    struct details d;
    const char *why;
    assert_int_equal(details_parse(A, text, NULL, &d, &why), 0);
    return d;
}

static void test_subset_intersection_and_union(void **state)
{
    (void)state;
    struct details held = mk("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],"
                             "\"tools\":[\"read\",\"write\"]},"
                             "{\"type\":\"mcp_tools\",\"locations\":[\"" R2 "\"],\"tools\":[\"list\"]}]");
    struct details fewer = mk("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],\"tools\":[\"read\"]}]");
    struct details wider = mk("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\"],"
                              "\"tools\":[\"read\",\"delete\"]}]");
    struct details elsewhere = mk("[{\"type\":\"mcp_tools\",\"locations\":[\"" OTHER "\"],"
                                  "\"tools\":[\"read\"]}]");
    struct details none = {0};
    assert_true(details_subset(&fewer, &held));
    assert_true(details_subset(&none, &held));
    assert_true(details_subset(&held, &held));
    assert_false(details_subset(&wider, &held));
    assert_false(details_subset(&elsewhere, &held));
    assert_false(details_subset(&fewer, &none));

    struct details x;
    details_intersect(A, &wider, &held, &x);
    assert_string_equal(details_json(A, &x), details_json(A, &fewer));
    details_intersect(A, &elsewhere, &held, &x);
    assert_int_equal(x.n, 0);
    assert_null(details_json(A, &x));
    details_intersect(A, &held, &none, &x);
    assert_int_equal(x.n, 0);

    struct details u;
    details_union(A, &fewer, &wider, &u);
    assert_int_equal(u.n, 1);
    assert_int_equal(u.v[0].tools.n, 2);
    assert_true(details_allows(&u, R1, "delete"));
    details_union(A, &held, &elsewhere, &u);
    assert_int_equal(u.n, 3);
    assert_true(details_subset(&held, &u));
    assert_true(details_subset(&elsewhere, &u));
    details_union(A, &none, &none, &u);
    assert_int_equal(u.n, 0);
}

static void test_restrict_keeps_only_the_named_locations(void **state)
{
    (void)state;
    struct details held = mk("[{\"type\":\"mcp_tools\",\"locations\":[\"" R1 "\",\"" R2 "\"],"
                             "\"tools\":[\"read\"]}]");
    struct details r;
    details_restrict(A, &held, ONLY_R1, 1, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].location, R1);
    assert_true(details_has_location(&r, R1));
    assert_false(details_has_location(&r, R2));
    details_restrict(A, &held, NULL, 0, &r);
    assert_int_equal(r.n, 0);
}

static void test_a_claim_that_is_not_an_array_reads_as_an_error_and_null_as_none(void **state)
{
    (void)state;
    struct details d;
    const char *why;
    assert_int_equal(details_from_json(A, NULL, NULL, &d, &why), 0);
    assert_int_equal(d.n, 0);
    json_t *j = json_null();
    assert_int_equal(details_from_json(A, j, NULL, &d, &why), 0);
    json_decref(j);
    j = json_string("mcp_tools");
    assert_int_equal(details_from_json(A, j, NULL, &d, &why), -1);
    json_decref(j);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_one_entry_is_parsed_and_normalized),
        T(test_entries_for_one_location_are_merged_and_many_locations_split),
        T(test_only_type_mcp_tools_is_supported),
        T(test_the_parameter_must_be_a_non_empty_array_of_objects),
        T(test_locations_must_be_resources_of_the_tenant_the_client_may_use),
        T(test_tools_are_non_empty_mcp_tool_names),
        T(test_members_other_than_type_locations_and_tools_are_refused),
        T(test_sizes_are_bounded),
        T(test_subset_intersection_and_union),
        T(test_restrict_keeps_only_the_named_locations),
        T(test_a_claim_that_is_not_an_array_reads_as_an_error_and_null_as_none),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
