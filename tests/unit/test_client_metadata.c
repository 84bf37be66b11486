/*
 * test_client_metadata.c: unit tests for the one client metadata check
 * (authz/policy/client_metadata.c) under both of its profiles: the tenant
 * admin API (CM_ADMIN, clients POST and PATCH) and RFC 7591 dynamic
 * registration (CM_REGISTER). Each rule is tried from the attacker's side
 * under both profiles: a rule both share refuses the same document with the
 * same RFC 7591 §3.2.2 error, a deliberate difference (admin-only grants and
 * fields, jwks_uri, the RFC 7591 information fields) shows as one profile
 * taking what the other refuses or ignores, and the differences that were
 * accidental (the admin API took private keys in jwks, repeated entries,
 * response_types without code for the code grant) are refused by both.
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

#include "policy/client_metadata.h"
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

/* The tenant of the admin profile has one resource. */
static bool known(const void *ctx, const char *uri)
{
    (void)ctx;
    return !strcmp(uri, "https://mcp.example/");
}

static const struct cm_caller ADMIN = {.profile = CM_ADMIN, .resource_known = known};
static const struct cm_caller REGISTER = {.profile = CM_REGISTER};

/* Checks a JSON text under who: 0 with *m, or -1 with *e. */
static int check(void **state, const struct cm_caller *who, const char *json,
                 struct client_metadata *m, struct cm_error *e)
{
    json_error_t je;
    json_t *b = json_loads(json, JSON_DECODE_ANY, &je);
    if (!b)
        fail_msg("test body is not JSON: %s", json);
    memset(e, 0, sizeof *e);
    int rc = client_metadata_check(*state, who, b, m, e);
    json_decref(b);
    if (rc < 0) {
        assert_non_null(e->code);
        assert_non_null(e->desc);
    }
    return rc;
}

static void assert_accepted(void **state, const struct cm_caller *who, const char *json,
                            struct client_metadata *m)
{
    struct cm_error e;
    if (check(state, who, json, m, &e) < 0)
        fail_msg("refused (%s: %s) under profile %d: %s", e.code, e.desc, who->profile, json);
}

/* Refused with code, naming field (when field is set) in the error. */
static void assert_refused(void **state, const struct cm_caller *who, const char *json,
                           const char *code, const char *field)
{
    struct client_metadata m;
    struct cm_error e;
    if (check(state, who, json, &m, &e) == 0)
        fail_msg("accepted under profile %d: %s", who->profile, json);
    if (strcmp(e.code, code) != 0)
        fail_msg("%s instead of %s (%s) under profile %d: %s", e.code, code, e.desc, who->profile,
                 json);
    if (field && (!e.field || strcmp(e.field, field) != 0 || !strstr(e.desc, field)))
        fail_msg("the error names %s (%s), not %s: %s", e.field ? e.field : "-", e.desc, field,
                 json);
}

static void assert_refused_by_both(void **state, const char *json, const char *code,
                                   const char *field)
{
    assert_refused(state, &ADMIN, json, code, field);
    assert_refused(state, &REGISTER, json, code, field);
}

#define RU "\"redirect_uris\":[\"https://app.example/cb\"]"

static void test_the_defaults_are_rfc_7591s_under_both_profiles(void **state)
{
    const struct cm_caller *who[] = {&ADMIN, &REGISTER};
    for (int i = 0; i < 2; i++) {
        struct client_metadata m;
        assert_accepted(state, who[i], "{" RU "}", &m);
        assert_string_equal(m.token_endpoint_auth_method, "client_secret_basic");
        assert_int_equal(m.grant_types.n, 1);
        assert_string_equal(m.grant_types.v[0], "authorization_code");
        assert_int_equal(m.response_types.n, 1);
        assert_string_equal(m.response_types.v[0], "code");
        assert_null(m.jwks);
        assert_null(m.jwks_uri);
        assert_false(m.may_impersonate);
    }
    struct client_metadata m;
    assert_accepted(state, &ADMIN, "{\"grant_types\":[\"client_credentials\"]}", &m);
    assert_string_equal(m.backchannel_token_delivery_mode, "poll");
    assert_int_equal(m.allowed_scopes.n, 0);
    assert_non_null(m.allowed_scopes.v);
}

static void test_a_client_without_the_code_grant_gets_no_response_type(void **state)
{
    struct client_metadata m;
    assert_accepted(state, &ADMIN, "{\"grant_types\":[\"client_credentials\"]}", &m);
    assert_int_equal(m.response_types.n, 0);
    assert_int_equal(m.redirect_uris.n, 0);
}

static void test_not_an_object_is_refused(void **state)
{
    static const char *docs[] = {"[]", "\"x\"", "5", "null"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        assert_refused_by_both(state, docs[i], CM_INVALID_CLIENT_METADATA, NULL);
}

static void test_admin_only_grants_are_refused_to_registration(void **state)
{
    static const char *grants[] = {"client_credentials",
                                   "urn:ietf:params:oauth:grant-type:token-exchange",
                                   "urn:openid:params:grant-type:ciba",
                                   "urn:ietf:params:oauth:grant-type:jwt-bearer"};
    char doc[256];
    for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++) {
        struct client_metadata m;
        snprintf(doc, sizeof doc, "{" RU ",\"grant_types\":[\"authorization_code\",\"%s\"]}",
                 grants[i]);
        assert_accepted(state, &ADMIN, doc, &m);
        assert_int_equal(m.grant_types.n, 2);
        assert_refused(state, &REGISTER, doc, CM_INVALID_CLIENT_METADATA, "grant_types");
    }
    /* and no grant is what neither knows */
    assert_refused_by_both(state, "{" RU ",\"grant_types\":[\"implicit\"]}",
                           CM_INVALID_CLIENT_METADATA, "grant_types");
    assert_refused_by_both(state, "{" RU ",\"grant_types\":[\"password\"]}",
                           CM_INVALID_CLIENT_METADATA, "grant_types");
}

static void test_registration_needs_the_code_grant_but_admin_clients_do_not(void **state)
{
    const char *doc = "{" RU ",\"grant_types\":[\"refresh_token\"]}";
    struct client_metadata m;
    assert_accepted(state, &ADMIN, doc, &m);
    assert_refused(state, &REGISTER, doc, CM_INVALID_CLIENT_METADATA, "grant_types");
}

static void test_a_public_client_gets_only_the_code_and_refresh_grants(void **state)
{
    assert_refused(state, &ADMIN,
                   "{\"token_endpoint_auth_method\":\"none\",\"grant_types\":[\"client_credentials\"]}",
                   CM_INVALID_CLIENT_METADATA, "grant_types");
    assert_refused(state, &ADMIN,
                   "{" RU ",\"token_endpoint_auth_method\":\"none\",\"grant_types\":"
                   "[\"authorization_code\",\"urn:ietf:params:oauth:grant-type:token-exchange\"]}",
                   CM_INVALID_CLIENT_METADATA, "grant_types");
    struct client_metadata m;
    assert_accepted(state, &REGISTER,
                    "{" RU ",\"token_endpoint_auth_method\":\"none\",\"grant_types\":"
                    "[\"authorization_code\",\"refresh_token\"]}",
                    &m);
    assert_string_equal(m.token_endpoint_auth_method, "none");
}

static void test_the_code_grant_needs_a_redirect_uri_under_both(void **state)
{
    assert_refused_by_both(state, "{}", CM_INVALID_REDIRECT_URI, "redirect_uris");
    assert_refused_by_both(state, "{\"redirect_uris\":[]}", CM_INVALID_REDIRECT_URI,
                           "redirect_uris");
}

static void test_bad_redirect_uris_are_invalid_redirect_uri_under_both(void **state)
{
    static const char *uris[] = {
        "http://app.example/cb",          /* http off loopback */
        "https://app.example/cb#frag",    /* a fragment */
        "/cb",                            /* relative */
        "com.example.app:/cb",            /* a custom scheme */
        "https://user@app.example/cb",    /* userinfo */
        "",                               /* empty */
    };
    char doc[256];
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        snprintf(doc, sizeof doc, "{\"redirect_uris\":[\"%s\"]}", uris[i]);
        assert_refused_by_both(state, doc, CM_INVALID_REDIRECT_URI, "redirect_uris");
    }
    assert_refused_by_both(state,
                           "{\"redirect_uris\":[\"https://app.example/cb\",\"https://app.example/cb\"]}",
                           CM_INVALID_REDIRECT_URI, "redirect_uris");
    struct client_metadata m;
    assert_accepted(state, &ADMIN, "{\"redirect_uris\":[\"http://127.0.0.1:8080/cb\"]}", &m);
    assert_accepted(state, &REGISTER, "{\"redirect_uris\":[\"http://[::1]/cb\"]}", &m);
}

static void test_more_redirect_uris_than_the_limit_are_refused_under_both(void **state)
{
    /* the admin API took up to 200 before (its generic array limit) */
    json_t *doc = json_object();
    json_t *ru = json_array();
    for (int i = 0; i < 51; i++) {
        char u[64];
        snprintf(u, sizeof u, "https://app.example/cb%d", i);
        json_array_append_new(ru, json_string(u));
    }
    json_object_set_new(doc, "redirect_uris", ru);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_refused_by_both(state, text, CM_INVALID_REDIRECT_URI, "redirect_uris");
    free(text);
}

static void test_a_list_with_a_non_string_entry_is_refused_at_once(void **state)
{
    /* a list whose check never ended on a non-string entry would hold a
     * worker forever: each of these returns */
    static const char *docs[] = {
        "{\"redirect_uris\":[42]}",
        "{\"redirect_uris\":[\"https://app.example/cb\",null]}",
        "{" RU ",\"grant_types\":[{}]}",
        "{" RU ",\"response_types\":[true]}",
        "{\"redirect_uris\":\"https://app.example/cb\"}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        assert_refused_by_both(state, docs[i], CM_INVALID_CLIENT_METADATA, NULL);
    assert_refused(state, &ADMIN, "{\"grant_types\":[\"client_credentials\"],\"allowed_scopes\":[1]}",
                   CM_INVALID_CLIENT_METADATA, "allowed_scopes");
}

static void test_repeated_entries_are_refused_under_both(void **state)
{
    /* the admin API stored repeats before */
    assert_refused_by_both(state, "{" RU ",\"grant_types\":[\"authorization_code\",\"authorization_code\"]}",
                           CM_INVALID_CLIENT_METADATA, "grant_types");
    assert_refused(state, &ADMIN,
                   "{\"grant_types\":[\"client_credentials\"],\"allowed_scopes\":[\"read\",\"read\"]}",
                   CM_INVALID_CLIENT_METADATA, "allowed_scopes");
}

static void test_the_code_grant_needs_the_code_response_type_under_both(void **state)
{
    /* the admin API took [] here before */
    assert_refused_by_both(state, "{" RU ",\"response_types\":[]}", CM_INVALID_CLIENT_METADATA,
                           "response_types");
    assert_refused_by_both(state, "{" RU ",\"response_types\":[\"token\"]}",
                           CM_INVALID_CLIENT_METADATA, "response_types");
    assert_refused_by_both(state, "{" RU ",\"response_types\":[\"code id_token\"]}",
                           CM_INVALID_CLIENT_METADATA, "response_types");
}

static void test_auth_methods_outside_the_four_are_refused_under_both(void **state)
{
    static const char *methods[] = {"client_secret_jwt", "tls_client_auth", "", "NONE", "none "};
    char doc[256];
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        snprintf(doc, sizeof doc, "{" RU ",\"token_endpoint_auth_method\":\"%s\"}", methods[i]);
        if (!*methods[i]) {
            /* a self-registering client's "" is an absent member */
            struct client_metadata m;
            assert_accepted(state, &REGISTER, doc, &m);
            assert_string_equal(m.token_endpoint_auth_method, "client_secret_basic");
            assert_refused(state, &ADMIN, doc, CM_INVALID_CLIENT_METADATA,
                           "token_endpoint_auth_method");
            continue;
        }
        assert_refused_by_both(state, doc, CM_INVALID_CLIENT_METADATA, "token_endpoint_auth_method");
    }
    assert_refused_by_both(state, "{" RU ",\"token_endpoint_auth_method\":true}",
                           CM_INVALID_CLIENT_METADATA, "token_endpoint_auth_method");
}

#define EC_PUB "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}"

static void test_jwks_must_hold_public_keys_only_under_both(void **state)
{
    /* the admin API took any object with a keys array before: a private
     * key the server should never hold, or a symmetric one */
    static const char *sets[] = {
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\",\"d\":\"AA\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"p\":\"AA\"}]}",
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
        "{\"keys\":[]}",
        "{\"keys\":\"x\"}",
        "{\"keys\":[\"x\"]}",
        "{}",
    };
    char doc[512];
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        snprintf(doc, sizeof doc, "{" RU ",\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":%s}",
                 sets[i]);
        assert_refused_by_both(state, doc, CM_INVALID_CLIENT_METADATA, "jwks");
    }
    struct client_metadata m;
    assert_accepted(state, &ADMIN,
                    "{" RU ",\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":{\"keys\":[" EC_PUB "]}}",
                    &m);
    assert_non_null(strstr(m.jwks, "\"kty\":\"EC\""));
    assert_accepted(state, &REGISTER,
                    "{" RU ",\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":{\"keys\":[" EC_PUB "]}}",
                    &m);
}

static void test_private_key_jwt_without_keys_is_the_admins_only(void **state)
{
    /* registration: a self-registered private_key_jwt client needs keys;
     * an operator may create a secretless agent that authenticates only
     * with workload identity JWTs a trust policy maps to it (SPEC §11) */
    const char *doc = "{" RU ",\"token_endpoint_auth_method\":\"private_key_jwt\"}";
    assert_refused(state, &REGISTER, doc, CM_INVALID_CLIENT_METADATA, "jwks");
    struct client_metadata m;
    assert_accepted(state, &ADMIN, doc, &m);
    assert_string_equal(m.token_endpoint_auth_method, "private_key_jwt");
    assert_null(m.jwks);
    assert_null(m.jwks_uri);
}

static void test_jwks_uri_is_the_admins_only(void **state)
{
    /* anyone may register under an open policy: a jwks_uri would make
     * authzd fetch a URL of their choosing */
    const char *doc = "{" RU ",\"token_endpoint_auth_method\":\"private_key_jwt\","
                      "\"jwks_uri\":\"https://keys.example/jwks.json\"}";
    struct client_metadata m;
    assert_accepted(state, &ADMIN, doc, &m);
    assert_string_equal(m.jwks_uri, "https://keys.example/jwks.json");
    assert_refused(state, &REGISTER, doc, CM_INVALID_CLIENT_METADATA, "jwks_uri");
    assert_refused(state, &REGISTER, "{" RU ",\"jwks_uri\":\"http://169.254.169.254/latest\"}",
                   CM_INVALID_CLIENT_METADATA, "jwks_uri");
    /* the admin's jwks_uri follows the endpoint rule, and excludes jwks */
    assert_refused(state, &ADMIN, "{" RU ",\"jwks_uri\":\"http://169.254.169.254/latest\"}",
                   CM_INVALID_CLIENT_METADATA, "jwks_uri");
    assert_refused(state, &ADMIN,
                   "{" RU ",\"jwks_uri\":\"https://keys.example/jwks.json\",\"jwks\":{\"keys\":[" EC_PUB "]}}",
                   CM_INVALID_CLIENT_METADATA, "jwks");
}

static void test_admin_fields_sent_to_registration_are_ignored(void **state)
{
    /* RFC 7591 §2: "The authorization server MUST ignore any client
     * metadata sent by the client that it does not understand"; a
     * self-registered client can not raise its own ceiling */
    struct client_metadata m;
    assert_accepted(state, &REGISTER,
                    "{" RU ",\"allowed_scopes\":[\"admin\"],\"allowed_resources\":[\"https://mcp.example/\"],"
                    "\"can_act_for\":[\"*\"],\"introspects\":[\"https://mcp.example/\"],"
                    "\"may_impersonate\":true,\"backchannel_token_delivery_mode\":\"ping\"}",
                    &m);
    assert_int_equal(m.allowed_scopes.n, 0);
    assert_int_equal(m.allowed_resources.n, 0);
    assert_int_equal(m.can_act_for.n, 0);
    assert_int_equal(m.introspects.n, 0);
    assert_false(m.may_impersonate);
    assert_null(m.backchannel_token_delivery_mode);
}

static void test_registration_information_fields_are_not_the_admins(void **state)
{
    struct client_metadata m;
    assert_accepted(state, &REGISTER,
                    "{" RU ",\"client_uri\":\"https://app.example\",\"scope\":\"b a b\","
                    "\"contacts\":[\"ops@app.example\"]}",
                    &m);
    assert_string_equal(m.client_uri, "https://app.example");
    assert_string_equal(m.scope, "b a");
    assert_int_equal(m.contacts.n, 1);
    /* (the admin API's body table refuses these members before) */
    assert_accepted(state, &ADMIN, "{" RU ",\"client_uri\":\"https://app.example\"}", &m);
    assert_null(m.client_uri);
}

static void test_resources_must_be_the_tenants(void **state)
{
    struct client_metadata m;
    assert_accepted(state, &ADMIN,
                    "{\"grant_types\":[\"client_credentials\"],\"allowed_resources\":[\"https://mcp.example/\"],"
                    "\"introspects\":[\"https://mcp.example/\"]}",
                    &m);
    assert_int_equal(m.allowed_resources.n, 1);
    assert_refused(state, &ADMIN,
                   "{\"grant_types\":[\"client_credentials\"],\"allowed_resources\":[\"https://other-tenant.example/\"]}",
                   CM_INVALID_CLIENT_METADATA, "allowed_resources");
    assert_refused(state, &ADMIN,
                   "{\"grant_types\":[\"client_credentials\"],\"introspects\":[\"https://other-tenant.example/\"]}",
                   CM_INVALID_CLIENT_METADATA, "introspects");
    assert_refused(state, &ADMIN,
                   "{\"grant_types\":[\"client_credentials\"],\"allowed_resources\":[\"https://mcp.example/#x\"]}",
                   CM_INVALID_CLIENT_METADATA, "allowed_resources");
}

static void test_admin_lists_follow_their_entry_rules(void **state)
{
    assert_refused(state, &ADMIN, "{\"grant_types\":[\"client_credentials\"],\"allowed_scopes\":[\"a b\"]}",
                   CM_INVALID_CLIENT_METADATA, "allowed_scopes");
    assert_refused(state, &ADMIN, "{\"grant_types\":[\"client_credentials\"],\"allowed_scopes\":[\"\"]}",
                   CM_INVALID_CLIENT_METADATA, "allowed_scopes");
    assert_refused(state, &ADMIN, "{\"grant_types\":[\"client_credentials\"],\"can_act_for\":[\"a\\nb\"]}",
                   CM_INVALID_CLIENT_METADATA, "can_act_for");
    assert_refused(state, &ADMIN, "{\"grant_types\":[\"client_credentials\"],\"may_impersonate\":\"yes\"}",
                   CM_INVALID_CLIENT_METADATA, "may_impersonate");
    struct client_metadata m;
    assert_accepted(state, &ADMIN,
                    "{\"grant_types\":[\"client_credentials\"],\"can_act_for\":[\"*\",\"alice\"],"
                    "\"may_impersonate\":true}",
                    &m);
    assert_int_equal(m.can_act_for.n, 2);
    assert_true(m.may_impersonate);
}

static void test_ping_delivery_needs_an_endpoint(void **state)
{
    const char *base = "{\"grant_types\":[\"urn:openid:params:grant-type:ciba\"],";
    char doc[512];
    snprintf(doc, sizeof doc, "%s\"backchannel_token_delivery_mode\":\"ping\"}", base);
    assert_refused(state, &ADMIN, doc, CM_INVALID_CLIENT_METADATA,
                   "backchannel_client_notification_endpoint");
    snprintf(doc, sizeof doc, "%s\"backchannel_token_delivery_mode\":\"push\"}", base);
    assert_refused(state, &ADMIN, doc, CM_INVALID_CLIENT_METADATA, "backchannel_token_delivery_mode");
    snprintf(doc, sizeof doc,
             "%s\"backchannel_token_delivery_mode\":\"ping\","
             "\"backchannel_client_notification_endpoint\":\"http://10.0.0.1/ping\"}",
             base);
    assert_refused(state, &ADMIN, doc, CM_INVALID_CLIENT_METADATA,
                   "backchannel_client_notification_endpoint");
    struct client_metadata m;
    snprintf(doc, sizeof doc,
             "%s\"backchannel_token_delivery_mode\":\"ping\","
             "\"backchannel_client_notification_endpoint\":\"https://agent.example/ping\"}",
             base);
    assert_accepted(state, &ADMIN, doc, &m);
    assert_string_equal(m.backchannel_token_delivery_mode, "ping");
}

static void test_client_name_is_printable_text_under_both(void **state)
{
    char name[260];
    memset(name, 'n', 201);
    name[201] = '\0';
    char doc[512];
    snprintf(doc, sizeof doc, "{" RU ",\"client_name\":\"%s\"}", name);
    assert_refused_by_both(state, doc, CM_INVALID_CLIENT_METADATA, "client_name");
    assert_refused_by_both(state, "{" RU ",\"client_name\":\"a\\u0007b\"}", CM_INVALID_CLIENT_METADATA,
                           "client_name");
    assert_refused_by_both(state, "{" RU ",\"client_name\":5}", CM_INVALID_CLIENT_METADATA,
                           "client_name");
    struct client_metadata m;
    assert_accepted(state, &ADMIN, "{" RU ",\"client_name\":\"Agent <b>Smith</b>\"}", &m);
    assert_string_equal(m.client_name, "Agent <b>Smith</b>");
}

static void test_null_members_are_absent_under_both(void **state)
{
    const struct cm_caller *who[] = {&ADMIN, &REGISTER};
    for (int i = 0; i < 2; i++) {
        struct client_metadata m;
        assert_accepted(state, who[i],
                        "{" RU ",\"client_name\":null,\"jwks\":null,\"jwks_uri\":null,"
                        "\"token_endpoint_auth_method\":null,\"grant_types\":null}",
                        &m);
        assert_null(m.client_name);
        assert_string_equal(m.token_endpoint_auth_method, "client_secret_basic");
        assert_int_equal(m.grant_types.n, 1);
    }
}

static void test_the_secret_methods_are_the_two_client_secret_ones(void **state)
{
    (void)state;
    assert_true(client_method_has_secret("client_secret_basic"));
    assert_true(client_method_has_secret("client_secret_post"));
    assert_false(client_method_has_secret("private_key_jwt"));
    assert_false(client_method_has_secret("none"));
    assert_false(client_method_has_secret(NULL));
}

static void test_the_scope_list_rule_of_the_admin_api(void **state)
{
    struct cm_list l;
    const char *why = NULL;
    json_t *v = json_loads("[\"read\",\"write\"]", 0, NULL);
    assert_int_equal(cm_string_list(*state, v, "scopes", &CM_SCOPE_TOKEN, 200, &l, &why), 0);
    assert_int_equal(l.n, 2);
    json_decref(v);
    static const char *bad[] = {"\"read\"", "[\"read\",\"read\"]", "[\"a b\"]", "[\"\"]", "[1]",
                                "{}", "[\"read\",null]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        why = NULL;
        assert_int_equal(cm_string_list(*state, v, "scopes", &CM_SCOPE_TOKEN, 200, &l, &why), -1);
        assert_non_null(why);
        assert_non_null(strstr(why, "scopes"));
        json_decref(v);
    }
    v = json_loads("[\"a\",\"b\",\"c\"]", 0, NULL);
    assert_int_equal(cm_string_list(*state, v, "scopes", &CM_SCOPE_TOKEN, 2, &l, &why), -1);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_the_defaults_are_rfc_7591s_under_both_profiles),
        T(test_a_client_without_the_code_grant_gets_no_response_type),
        T(test_not_an_object_is_refused),
        T(test_admin_only_grants_are_refused_to_registration),
        T(test_registration_needs_the_code_grant_but_admin_clients_do_not),
        T(test_a_public_client_gets_only_the_code_and_refresh_grants),
        T(test_the_code_grant_needs_a_redirect_uri_under_both),
        T(test_bad_redirect_uris_are_invalid_redirect_uri_under_both),
        T(test_more_redirect_uris_than_the_limit_are_refused_under_both),
        T(test_a_list_with_a_non_string_entry_is_refused_at_once),
        T(test_repeated_entries_are_refused_under_both),
        T(test_the_code_grant_needs_the_code_response_type_under_both),
        T(test_auth_methods_outside_the_four_are_refused_under_both),
        T(test_jwks_must_hold_public_keys_only_under_both),
        T(test_private_key_jwt_without_keys_is_the_admins_only),
        T(test_jwks_uri_is_the_admins_only),
        T(test_admin_fields_sent_to_registration_are_ignored),
        T(test_registration_information_fields_are_not_the_admins),
        T(test_resources_must_be_the_tenants),
        T(test_admin_lists_follow_their_entry_rules),
        T(test_ping_delivery_needs_an_endpoint),
        T(test_client_name_is_printable_text_under_both),
        T(test_null_members_are_absent_under_both),
        T(test_the_secret_methods_are_the_two_client_secret_ones),
        T(test_the_scope_list_rule_of_the_admin_api),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
