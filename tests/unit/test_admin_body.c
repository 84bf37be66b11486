/*
 * test_admin_body.c: unit tests for the admin API's body reader
 * (authz/admin/body.c): unknown members are refused by name with a
 * did-you-mean hint for near misses, read-only members, wrong types,
 * missing required members and bad values are refused naming the member,
 * a call without a body accepts only {}, and refused statements are mapped
 * to the member their constraint guards (SPEC §7, §9). Also the tenant slug
 * and display name rules checked before any SQL (storage/tenants.c).
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

#include <jansson.h>

#include "admin/body.h"
#include "storage/store.h"
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

static const char *check_password(json_t *v)
{
    size_t n = utf8_chars(json_string_value(v));
    return n >= 8 && n <= 1024 ? NULL : "must be 8 to 1024 characters";
}

/* shaped like POST .../users */
static const struct body_member USER[] = {
    {"username", BT_STRING, BM_REQUIRED, NULL, "user login"},
    {"password", BT_STRING, BM_REQUIRED, check_password, NULL},
    {"scopes", BT_ARRAY, 0, NULL, "scope"},
    {"webhook", BT_STRING | BT_NULL, 0, NULL, NULL},
    {"id", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec USER_SPEC = BODY_SPEC(USER);
static const struct body_spec NO_BODY = {NULL, 0};

/* The detail body_check gives for a JSON text (NULL: accepted). */
static const char *check(void **state, const struct body_spec *spec, const char *text)
{
    json_error_t je;
    json_t *b = json_loads(text, 0, &je);
    if (!b)
        fail_msg("test body is not JSON: %s", text);
    const char *why = body_check(*state, spec, b);
    json_decref(b);
    return why;
}

static void assert_detail(void **state, const struct body_spec *spec, const char *text,
                          const char *want)
{
    const char *why = check(state, spec, text);
    if (!why)
        fail_msg("accepted but must be refused with \"%s\": %s", want, text);
    if (strcmp(why, want) != 0)
        fail_msg("refused with \"%s\" instead of \"%s\": %s", why, want, text);
}

#define GOOD "\"username\":\"alice\",\"password\":\"correct horse\""

static void test_a_good_body_is_accepted(void **state)
{
    assert_null(check(state, &USER_SPEC, "{" GOOD "}"));
    assert_null(check(state, &USER_SPEC, "{" GOOD ",\"scopes\":[\"a\"],\"webhook\":null}"));
}

static void test_an_unknown_member_is_refused_by_name(void **state)
{
    assert_detail(state, &USER_SPEC, "{" GOOD ",\"scope\":\"a b\"}",
                  "unknown member \"scope\" (did you mean \"scopes\"?)");
    assert_detail(state, &USER_SPEC, "{" GOOD ",\"colour\":1}",
                  "unknown member \"colour\" (this call takes username, password, scopes, webhook)");
    /* the unknown member is refused even when another member is bad too */
    assert_detail(state, &USER_SPEC, "{\"username\":5,\"password\":\"correct horse\",\"zzz\":1}",
                  "unknown member \"zzz\" (this call takes username, password, scopes, webhook)");
}

static void test_a_long_unknown_name_is_echoed_cut_at_a_character_boundary(void **state)
{
    /* 63 ASCII bytes, then "é" (2 bytes) across the 64-byte cut */
    char name[100], text[200];
    memset(name, 'x', 63);
    strcpy(name + 63, "\xC3\xA9tail");
    snprintf(text, sizeof text, "{\"%s\":1}", name);
    const char *why = check(state, &USER_SPEC, text);
    assert_non_null(why);
    assert_true(utf8_valid(why, strlen(why)));
    assert_non_null(strstr(why, "xxx\xE2\x80\xA6\"")); /* cut before the é, then … */
}

static void test_near_misses_and_aka_names_get_a_hint(void **state)
{
    (void)state;
    assert_string_equal(body_suggest(&USER_SPEC, "usernme"), "username");
    assert_string_equal(body_suggest(&USER_SPEC, "UserName"), "username");
    assert_string_equal(body_suggest(&USER_SPEC, "pasword"), "password");
    assert_string_equal(body_suggest(&USER_SPEC, "psasword"), "password"); /* transposition */
    assert_string_equal(body_suggest(&USER_SPEC, "login"), "username");
    assert_string_equal(body_suggest(&USER_SPEC, "Scope"), "scopes");
    assert_null(body_suggest(&USER_SPEC, "colour"));
    assert_null(body_suggest(&USER_SPEC, "i"));  /* too short to be a near miss of id */
    assert_null(body_suggest(&USER_SPEC, "id")); /* read-only members are never suggested */
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_null(body_suggest(&USER_SPEC, longname));
}

static void test_read_only_members_are_refused(void **state)
{
    assert_detail(state, &USER_SPEC, "{" GOOD ",\"id\":\"x\"}", "id is read-only");
}

static void test_wrong_types_are_refused_naming_the_member(void **state)
{
    assert_detail(state, &USER_SPEC, "{\"username\":5,\"password\":\"correct horse\"}",
                  "username must be a string");
    assert_detail(state, &USER_SPEC, "{" GOOD ",\"scopes\":\"a\"}", "scopes must be an array");
    assert_detail(state, &USER_SPEC, "{" GOOD ",\"scopes\":null}", "scopes must be an array");
    assert_detail(state, &USER_SPEC, "{" GOOD ",\"webhook\":1.5}", "webhook must be a string or null");
    assert_detail(state, &USER_SPEC, "{" GOOD ",\"webhook\":{}}", "webhook must be a string or null");
}

static void test_missing_or_null_required_members_are_refused(void **state)
{
    assert_detail(state, &USER_SPEC, "{\"password\":\"correct horse\"}", "username is required");
    assert_detail(state, &USER_SPEC, "{\"username\":null,\"password\":\"correct horse\"}",
                  "username is required");
    assert_detail(state, &USER_SPEC, "{}", "username is required");
}

static void test_bad_values_are_refused_by_the_members_check(void **state)
{
    assert_detail(state, &USER_SPEC, "{\"username\":\"a\",\"password\":\"short\"}",
                  "password must be 8 to 1024 characters");
    /* eight characters of two bytes each: characters are counted, not bytes */
    assert_null(check(state, &USER_SPEC,
                      "{\"username\":\"a\",\"password\":\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"}"));
}

static void test_a_call_without_a_body_accepts_only_the_empty_object(void **state)
{
    assert_null(check(state, &NO_BODY, "{}"));
    assert_detail(state, &NO_BODY, "{\"x\":1}",
                  "unknown member \"x\": this call takes no body (send none, or {})");
}

static void test_a_refused_statement_names_the_member_its_constraint_guards(void **state)
{
    (void)state;
    static const struct body_member T[] = {
        {"slug", BT_STRING, 0, NULL, NULL},
        {"display_name", BT_STRING, 0, NULL, NULL},
        {"access_token_ttl", BT_INTEGER, 0, NULL, NULL},
        {"username", BT_STRING, 0, NULL, NULL},
        {"uri", BT_STRING, 0, NULL, NULL},
    };
    static const struct body_spec S = BODY_SPEC(T);
    assert_string_equal(body_db_field(&S, "tenants", "tenants_slug_check", "", NULL), "slug");
    assert_string_equal(body_db_field(&S, "tenants", "tenants_slug_key", "", NULL), "slug");
    assert_string_equal(body_db_field(&S, "tenants", "tenants_display_name_check", "", NULL),
                        "display_name");
    assert_string_equal(body_db_field(&S, "tenants", "tenants_access_token_ttl_check", "", NULL),
                        "access_token_ttl");
    assert_string_equal(body_db_field(&S, "users", "users_tenant_id_username_key", "", NULL),
                        "username");
    assert_string_equal(body_db_field(&S, "resources", "resources_tenant_id_uri_key", "", "x"), "uri");
    /* a table-wide check names no column: the caller's member */
    assert_string_equal(body_db_field(&S, "trust_policies", "trust_policies_check1", "", "use"), "use");
    /* a not-null violation names its column */
    assert_string_equal(body_db_field(&S, "users", "", "username", NULL), "username");
    /* a column the body does not have is not named */
    assert_null(body_db_field(&S, "users", "users_tenant_id_fkey", "tenant_id", NULL));
    assert_string_equal(body_db_field(&S, "", "", "", "uri"), "uri");
    assert_null(body_db_field(NULL, "tenants", "tenants_slug_check", "", NULL));
}

static void test_tenant_slugs_follow_spec_section_1(void **state)
{
    (void)state;
    static const char *good[] = {"a", "0", "acme", "a-b", "a--", "z123456789012345678901234567890"
                                 "12345678901234567890123456789012"};
    static const char *bad[] = {"",       "Acme",     "-acme", "acme_1", "acme.io", "a b",
                                "\xC3\xBC", "acme'--", "acme;", "a/b",   "%61"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!store_tenant_slug_valid(good[i]))
            fail_msg("refused: %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (store_tenant_slug_valid(bad[i]))
            fail_msg("accepted: %s", bad[i]);
    char s64[65];
    memset(s64, 'a', 64);
    s64[64] = '\0';
    assert_false(store_tenant_slug_valid(s64));
    s64[63] = '\0';
    assert_true(store_tenant_slug_valid(s64));
}

static void test_tenant_display_names_are_1_to_200_printable_characters(void **state)
{
    (void)state;
    char name[1000];
    assert_true(store_tenant_display_name_valid("Acme Inc."));
    assert_false(store_tenant_display_name_valid(""));
    assert_false(store_tenant_display_name_valid("a\nb"));
    memset(name, 'x', 200);
    name[200] = '\0';
    assert_true(store_tenant_display_name_valid(name));
    name[200] = 'x';
    name[201] = '\0';
    assert_false(store_tenant_display_name_valid(name));
    /* 200 two-byte characters (400 bytes) are 200 characters */
    for (int i = 0; i < 200; i++)
        memcpy(name + 2 * i, "\xC3\xA9", 2);
    name[400] = '\0';
    assert_true(store_tenant_display_name_valid(name));
    assert_false(store_tenant_display_name_valid("bad \xC3\x28 utf-8"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_good_body_is_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_unknown_member_is_refused_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_long_unknown_name_is_echoed_cut_at_a_character_boundary,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_near_misses_and_aka_names_get_a_hint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_members_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types_are_refused_naming_the_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_or_null_required_members_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values_are_refused_by_the_members_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_call_without_a_body_accepts_only_the_empty_object, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_refused_statement_names_the_member_its_constraint_guards,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_slugs_follow_spec_section_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_display_names_are_1_to_200_printable_characters,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
