/*
 * test_register.c: unit tests for the request checks of RFC 7591 dynamic
 * client registration (authz/oauth/register.c): content type, body parsing,
 * and the metadata rules with their RFC 7591 §3.2.2 error codes. The rule
 * for the redirect URIs themselves is policy/uri.c's (tests/unit/test_uri.c).
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

#include "oauth/register.h"
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

/* Validates a JSON text: returns 0 and fills *m, or -1 with *error. */
static int validate(void **state, const char *json, struct reg_meta *m, const char **error)
{
    json_error_t je;
    json_t *b = json_loads(json, 0, &je);
    if (!b)
        fail_msg("test body is not JSON: %s", json);
    const char *desc = NULL;
    *error = NULL;
    int rc = register_validate(*state, b, m, error, &desc);
    json_decref(b);
    if (rc < 0) {
        assert_non_null(*error);
        assert_non_null(desc);
    }
    return rc;
}

static void assert_refused(void **state, const char *json, const char *want_error)
{
    struct reg_meta m;
    const char *error;
    if (validate(state, json, &m, &error) == 0) {
        json_decref(m.doc);
        fail_msg("accepted but must be refused with %s: %s", want_error, json);
    }
    if (strcmp(error, want_error) != 0)
        fail_msg("refused with %s instead of %s: %s", error, want_error, json);
}

static const char *member_str(json_t *doc, const char *k)
{
    return json_string_value(json_object_get(doc, k));
}

/* ---- content type and body ---- */

static void test_content_type_must_be_application_json(void **state)
{
    (void)state;
    assert_true(register_content_type_ok("application/json"));
    assert_true(register_content_type_ok("application/json; charset=utf-8"));
    assert_true(register_content_type_ok("Application/JSON;charset=UTF-8"));
    assert_false(register_content_type_ok(NULL));
    assert_false(register_content_type_ok(""));
    assert_false(register_content_type_ok("application/x-www-form-urlencoded"));
    assert_false(register_content_type_ok("text/plain"));
    assert_false(register_content_type_ok("application/jsonx"));
    assert_false(register_content_type_ok("application/json-patch+json"));
}

static void test_body_must_be_one_well_formed_json_object(void **state)
{
    (void)state;
    const char *desc;
    static const char *bad[] = {
        "",
        "{",
        "{\"a\":1,}",
        "[]",
        "\"string\"",
        "42",
        "{\"a\":1}{\"b\":2}",
        "{\"a\":1,\"a\":2}",                 /* repeated member */
        "{\"a\":\"\xC3\x28\"}",              /* invalid UTF-8 */
        "{\"a\":\"\xED\xA0\x80\"}",          /* encoded surrogate */
        "{\"a\":\"x\\u0000y\"}",             /* NUL in a string */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        desc = NULL;
        json_t *j = register_parse_body(bad[i], strlen(bad[i]), &desc);
        if (j) {
            json_decref(j);
            fail_msg("body accepted: %s", bad[i]);
        }
        assert_non_null(desc);
    }
    assert_null(register_parse_body(NULL, 0, &desc));
    static const char ok[] = "{\"client_name\":\"caf\xC3\xA9\"}";
    json_t *j = register_parse_body(ok, sizeof ok - 1, &desc);
    assert_non_null(j);
    json_decref(j);
}

static void test_minimal_request_gets_rfc7591_defaults(void **state)
{
    struct reg_meta m;
    const char *error;
    assert_int_equal(validate(state, "{\"redirect_uris\":[\"https://a.example/cb\"]}", &m, &error), 0);
    /* RFC 7591 §2 defaults: client_secret_basic, [authorization_code], [code] */
    assert_string_equal(m.method, "client_secret_basic");
    assert_true(m.secret);
    assert_string_equal(m.grant_types_pg, "{\"authorization_code\"}");
    assert_string_equal(m.response_types_pg, "{\"code\"}");
    assert_string_equal(m.redirect_uris_pg, "{\"https://a.example/cb\"}");
    assert_null(m.client_name);
    assert_null(m.jwks);
    assert_null(m.jwks_uri);
    assert_string_equal(m.metadata, "{}");
    assert_string_equal(member_str(m.doc, "token_endpoint_auth_method"), "client_secret_basic");
    assert_int_equal(json_array_size(json_object_get(m.doc, "grant_types")), 1);
    json_decref(m.doc);
}

static void test_public_mcp_client_registration_is_accepted(void **state)
{
    struct reg_meta m;
    const char *error;
    assert_int_equal(validate(state,
                              "{\"client_name\":\"Claude\",\"redirect_uris\":[\"http://localhost:"
                              "33418/callback\",\"https://claude.ai/api/mcp/auth_callback\"],"
                              "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
                              "\"response_types\":[\"code\"],\"token_endpoint_auth_method\":\"none\","
                              "\"scope\":\"files:read\"}",
                              &m, &error),
                     0);
    assert_string_equal(m.method, "none");
    assert_false(m.secret);
    assert_string_equal(m.client_name, "Claude");
    assert_string_equal(m.grant_types_pg, "{\"authorization_code\",\"refresh_token\"}");
    assert_string_equal(member_str(m.doc, "scope"), "files:read");
    json_decref(m.doc);
}

static void test_extra_metadata_is_kept_and_echoed(void **state)
{
    struct reg_meta m;
    const char *error;
    assert_int_equal(
        validate(state,
                 "{\"redirect_uris\":[\"https://a.example/cb\"],\"client_uri\":\"https://a.example\","
                 "\"logo_uri\":\"https://a.example/logo.png\",\"tos_uri\":\"https://a.example/tos\","
                 "\"policy_uri\":\"http://a.example/privacy#top\",\"contacts\":[\"ops@a.example\"],"
                 "\"software_id\":\"4NRB1-0XZABZI9E6-5SM3R\",\"software_version\":\"2.1\","
                 "\"scope\":\"b a b\"}",
                 &m, &error),
        0);
    json_error_t je;
    json_t *stored = json_loads(m.metadata, 0, &je);
    assert_non_null(stored);
    assert_string_equal(member_str(stored, "client_uri"), "https://a.example");
    assert_string_equal(member_str(stored, "policy_uri"), "http://a.example/privacy#top");
    assert_string_equal(member_str(stored, "software_id"), "4NRB1-0XZABZI9E6-5SM3R");
    assert_string_equal(member_str(stored, "scope"), "b a");   /* normalized */
    assert_true(json_equal(json_object_get(stored, "contacts"), json_object_get(m.doc, "contacts")));
    assert_string_equal(member_str(m.doc, "logo_uri"), "https://a.example/logo.png");
    assert_string_equal(member_str(m.doc, "software_version"), "2.1");
    json_decref(stored);
    json_decref(m.doc);
}

static void test_unknown_and_admin_only_fields_are_ignored(void **state)
{
    /* RFC 7591 §2: "The authorization server MUST ignore any client metadata
     * sent by the client that it does not understand"; the fields only an
     * administrator sets (SPEC §3) are never taken from a registration. */
    struct reg_meta m;
    const char *error;
    assert_int_equal(validate(state,
                              "{\"redirect_uris\":[\"https://a.example/cb\"],\"may_impersonate\":true,"
                              "\"allowed_scopes\":[\"admin\"],\"can_act_for\":[\"*\"],"
                              "\"introspects\":[\"https://r.example\"],\"client_id\":\"chosen\","
                              "\"client_secret\":\"chosen\",\"dynamic\":false,\"x\":{\"y\":[1]}}",
                              &m, &error),
                     0);
    static const char *absent[] = {"may_impersonate", "allowed_scopes", "can_act_for", "introspects",
                                   "client_id", "client_secret", "dynamic", "x"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        if (json_object_get(m.doc, absent[i]))
            fail_msg("%s was echoed", absent[i]);
        if (strstr(m.metadata, absent[i]))
            fail_msg("%s was stored", absent[i]);
    }
    json_decref(m.doc);
}

static void test_null_and_empty_optional_members_count_as_absent(void **state)
{
    struct reg_meta m;
    const char *error;
    assert_int_equal(validate(state,
                              "{\"redirect_uris\":[\"https://a.example/cb\"],\"client_name\":null,"
                              "\"grant_types\":null,\"client_uri\":\"\",\"jwks\":null}",
                              &m, &error),
                     0);
    assert_null(m.client_name);
    assert_string_equal(m.grant_types_pg, "{\"authorization_code\"}");
    assert_string_equal(m.metadata, "{}");
    json_decref(m.doc);
}

static void test_grants_other_than_code_and_refresh_are_refused(void **state)
{
    /* SPEC §3: "A dynamically registered client may use only the
     * authorization code and refresh grants" */
    static const char *grants[] = {
        "[\"client_credentials\"]",
        "[\"authorization_code\",\"client_credentials\"]",
        "[\"authorization_code\",\"urn:ietf:params:oauth:grant-type:token-exchange\"]",
        "[\"authorization_code\",\"urn:openid:params:grant-type:ciba\"]",
        "[\"authorization_code\",\"implicit\"]",
        "[\"authorization_code\",\"password\"]",
        "[\"refresh_token\"]",
        "[]",
        "[\"authorization_code\",\"authorization_code\"]",
    };
    for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++) {
        char *body = arena_sprintf(*state,
                                   "{\"redirect_uris\":[\"https://a.example/cb\"],\"grant_types\":%s}",
                                   grants[i]);
        assert_refused(state, body, REG_INVALID_CLIENT_METADATA);
    }
}

static void test_response_types_other_than_code_are_refused(void **state)
{
    assert_refused(state, "{\"redirect_uris\":[\"https://a.example/cb\"],\"response_types\":[\"token\"]}",
                   REG_INVALID_CLIENT_METADATA);
    assert_refused(state,
                   "{\"redirect_uris\":[\"https://a.example/cb\"],\"response_types\":[\"code\",\"token\"]}",
                   REG_INVALID_CLIENT_METADATA);
    assert_refused(state, "{\"redirect_uris\":[\"https://a.example/cb\"],\"response_types\":[]}",
                   REG_INVALID_CLIENT_METADATA);
}

static void test_auth_methods_outside_the_supported_four_are_refused(void **state)
{
    assert_refused(state,
                   "{\"redirect_uris\":[\"https://a.example/cb\"],\"token_endpoint_auth_method\":"
                   "\"client_secret_jwt\"}",
                   REG_INVALID_CLIENT_METADATA);
    assert_refused(state,
                   "{\"redirect_uris\":[\"https://a.example/cb\"],\"token_endpoint_auth_method\":"
                   "\"tls_client_auth\"}",
                   REG_INVALID_CLIENT_METADATA);
    struct reg_meta m;
    const char *error;
    assert_int_equal(validate(state,
                              "{\"redirect_uris\":[\"https://a.example/cb\"],"
                              "\"token_endpoint_auth_method\":\"client_secret_post\"}",
                              &m, &error),
                     0);
    assert_true(m.secret);
    json_decref(m.doc);
}

static void test_private_key_jwt_needs_public_keys(void **state)
{
    static const char *ec =
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
    assert_refused(state,
                   "{\"redirect_uris\":[\"https://a.example/cb\"],\"token_endpoint_auth_method\":"
                   "\"private_key_jwt\"}",
                   REG_INVALID_CLIENT_METADATA);
    struct reg_meta m;
    const char *error;
    char *body = arena_sprintf(*state,
                               "{\"redirect_uris\":[\"https://a.example/cb\"],"
                               "\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":{\"keys\":[%s]}}",
                               ec);
    assert_int_equal(validate(state, body, &m, &error), 0);
    assert_false(m.secret);
    assert_non_null(m.jwks);
    assert_non_null(json_object_get(m.doc, "jwks"));
    json_decref(m.doc);
    /* a self-registered client gives its keys inline: a jwks_uri would let
     * anyone make authzd fetch a URL of their choosing (SSRF) */
    assert_refused(state,
                   "{\"redirect_uris\":[\"https://a.example/cb\"],"
                   "\"token_endpoint_auth_method\":\"private_key_jwt\","
                   "\"jwks_uri\":\"https://a.example/jwks.json\"}",
                   REG_INVALID_CLIENT_METADATA);
    /* private or symmetric key material, both jwks and jwks_uri, bad jwks_uri */
    assert_refused(state,
                   "{\"redirect_uris\":[\"https://a.example/cb\"],\"jwks\":{\"keys\":[{\"kty\":\"EC\","
                   "\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\",\"d\":\"AA\"}]}}",
                   REG_INVALID_CLIENT_METADATA);
    assert_refused(state,
                   "{\"redirect_uris\":[\"https://a.example/cb\"],\"jwks\":{\"keys\":[{\"kty\":\"oct\","
                   "\"k\":\"AA\"}]}}",
                   REG_INVALID_CLIENT_METADATA);
    assert_refused(state, "{\"redirect_uris\":[\"https://a.example/cb\"],\"jwks\":{\"keys\":[]}}",
                   REG_INVALID_CLIENT_METADATA);
    assert_refused(state, "{\"redirect_uris\":[\"https://a.example/cb\"],\"jwks\":[]}",
                   REG_INVALID_CLIENT_METADATA);
    body = arena_sprintf(*state,
                         "{\"redirect_uris\":[\"https://a.example/cb\"],\"jwks\":{\"keys\":[%s]},"
                         "\"jwks_uri\":\"https://a.example/jwks.json\"}",
                         ec);
    assert_refused(state, body, REG_INVALID_CLIENT_METADATA);
    assert_refused(state,
                   "{\"redirect_uris\":[\"https://a.example/cb\"],\"jwks_uri\":\"http://a.example/jwks\"}",
                   REG_INVALID_CLIENT_METADATA);
}

static void test_redirect_uri_problems_are_invalid_redirect_uri(void **state)
{
    assert_refused(state, "{}", REG_INVALID_REDIRECT_URI);
    assert_refused(state, "{\"redirect_uris\":[]}", REG_INVALID_REDIRECT_URI);
    assert_refused(state, "{\"redirect_uris\":[\"http://a.example/cb\"]}", REG_INVALID_REDIRECT_URI);
    assert_refused(state, "{\"redirect_uris\":[\"https://a.example/cb#f\"]}", REG_INVALID_REDIRECT_URI);
    assert_refused(state, "{\"redirect_uris\":[\"/cb\"]}", REG_INVALID_REDIRECT_URI);
    assert_refused(state, "{\"redirect_uris\":[\"https://a.example/cb\",\"https://a.example/cb\"]}",
                   REG_INVALID_REDIRECT_URI);
    assert_refused(state, "{\"redirect_uris\":[\"https://a.example/cb\",\"\"]}",
                   REG_INVALID_REDIRECT_URI);
    /* one bad URI among good ones refuses the whole request */
    assert_refused(state, "{\"redirect_uris\":[\"https://a.example/cb\",\"http://b.example/cb\"]}",
                   REG_INVALID_REDIRECT_URI);
}

static void test_wrong_types_are_invalid_client_metadata(void **state)
{
    static const char *bodies[] = {
        "{\"redirect_uris\":\"https://a.example/cb\"}",
        "{\"redirect_uris\":[42]}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"client_name\":5}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"client_name\":[\"x\"]}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"grant_types\":\"authorization_code\"}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"grant_types\":[1]}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"response_types\":\"code\"}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"token_endpoint_auth_method\":true}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"scope\":[\"a\"]}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"contacts\":\"ops@a.example\"}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"client_uri\":{}}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"software_id\":1.5}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"jwks_uri\":false}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        assert_refused(state, bodies[i], REG_INVALID_CLIENT_METADATA);
}

static void test_bad_values_of_optional_metadata_are_refused(void **state)
{
    static const char *bodies[] = {
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"scope\":\"a  b\"}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"scope\":\"a\\\"b\"}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"client_name\":\"a\\nb\"}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"logo_uri\":\"javascript:alert(1)\"}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"client_uri\":\"a.example\"}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"contacts\":[\"a\",\"a\"]}",
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"contacts\":[\"1\",\"2\",\"3\",\"4\",\"5\","
        "\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        assert_refused(state, bodies[i], REG_INVALID_CLIENT_METADATA);
    char *long_name = arena_alloc(*state, 300);
    memset(long_name, 'n', 201);
    assert_refused(state,
                   arena_sprintf(*state, "{\"redirect_uris\":[\"https://a.example/cb\"],\"client_name\":\"%s\"}",
                                 long_name),
                   REG_INVALID_CLIENT_METADATA);
}

static void test_pg_literals_quote_each_element_so_commas_and_braces_are_safe(void **state)
{
    struct reg_meta m;
    const char *error;
    assert_int_equal(validate(state, "{\"redirect_uris\":[\"https://a.example/cb?q=a,b%7D\"]}", &m, &error),
                     0);
    assert_string_equal(m.redirect_uris_pg, "{\"https://a.example/cb?q=a,b%7D\"}");
    json_decref(m.doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_content_type_must_be_application_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_must_be_one_well_formed_json_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minimal_request_gets_rfc7591_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_mcp_client_registration_is_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extra_metadata_is_kept_and_echoed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_admin_only_fields_are_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_and_empty_optional_members_count_as_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grants_other_than_code_and_refresh_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_types_other_than_code_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_methods_outside_the_supported_four_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_key_jwt_needs_public_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_uri_problems_are_invalid_redirect_uri, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types_are_invalid_client_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values_of_optional_metadata_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_literals_quote_each_element_so_commas_and_braces_are_safe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
