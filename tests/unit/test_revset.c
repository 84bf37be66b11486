/*
 * test_revset.c: unit tests for authz/revset.c, the revocation set that
 * decides whether a token is still alive: identity revocations (a jti, a
 * grant named in a jti, a session, a consent) kill any token naming them;
 * standing revocations (a person, a client, an agent's can_act_for entry or
 * may_impersonate) kill the tokens issued at or before them, and a token
 * issued afterwards gets an iat past them; every agent of an act chain and
 * every key of a lineage claim counts; one tenant's revocations never touch
 * another's; NOTIFY payloads carry values with spaces.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "revset.h"
#include "util/hash.h"

#define T1 "11111111-1111-1111-1111-111111111111"
#define T2 "22222222-2222-2222-2222-222222222222"
#define FAR 4000000000LL

static json_t *token(const char *extra_json)
{
    json_error_t je;
    json_t *base = json_pack("{s:s, s:s, s:s, s:I}", "jti", "GRANT1.rnd", "sub", "p-1", "client_id",
                             "agent-1", "iat", (json_int_t)1000);
    if (extra_json) {
        json_t *x = json_loads(extra_json, 0, &je);
        assert_non_null(x);
        json_object_update(base, x);
        json_decref(x);
    }
    return base;
}

static void test_a_fresh_token_is_not_revoked(void **state)
{
    (void)state;
    json_t *c = token(NULL);
    assert_false(revset_token_revoked(T1 "-fresh", c));
    json_decref(c);
}

static void test_jti_and_the_grant_it_names_are_identity_revocations(void **state)
{
    (void)state;
    const char *t = T1 "-jti";
    json_t *c = token(NULL);
    revset_add(t, REV_GRANT, "GRANT1", FAR, 1);
    assert_true(revset_token_revoked(t, c));
    json_t *d = token("{\"jti\":\"OTHER.rnd\"}");
    assert_false(revset_token_revoked(t, d));
    revset_add(t, REV_JTI, "OTHER.rnd", FAR, 1);
    assert_true(revset_token_revoked(t, d));
    json_decref(c);
    json_decref(d);
}

static void test_standing_revocations_kill_only_tokens_issued_at_or_before_them(void **state)
{
    (void)state;
    const char *t = T1 "-standing";
    revset_add(t, REV_USER, "p-1", FAR, 1000);
    json_t *at = token(NULL); /* iat 1000 */
    json_t *after = token("{\"iat\":1001}");
    assert_true(revset_token_revoked(t, at));
    assert_false(revset_token_revoked(t, after));
    /* a token minted now for p-1 is issued past the revocation */
    assert_int_equal(revset_floor(t, "p-1", "agent-1", NULL, 0), 1001);
    /* revoked again later: the moment moves forward */
    revset_add(t, REV_USER, "p-1", FAR, 1005);
    assert_true(revset_token_revoked(t, after));
    assert_int_equal(revset_floor(t, "p-1", NULL, NULL, 0), 1006);
    json_decref(at);
    json_decref(after);
}

static void test_the_client_and_every_agent_of_the_act_chain_count(void **state)
{
    (void)state;
    const char *t = T1 "-chain";
    json_t *c = token("{\"act\":{\"sub\":\"agent-1\",\"act\":{\"sub\":\"agent-0\"}}}");
    assert_false(revset_token_revoked(t, c));
    revset_add(t, REV_CLIENT, "agent-0", FAR, 2000);
    assert_true(revset_token_revoked(t, c));
    json_decref(c);
}

static void test_every_lineage_key_counts(void **state)
{
    (void)state;
    const char *t = T1 "-lineage";
    json_t *c = token("{\"lineage\":{\"on\":[\"jti:PARENT.x\",\"consent:c-1\",\"act_for:agent-1 alice\","
                      "\"session:s-1\"]}}");
    assert_false(revset_token_revoked(t, c));
    revset_add(t, REV_CONSENT, "c-2", FAR, 1);
    assert_false(revset_token_revoked(t, c));
    revset_add(t, REV_ACT_FOR, "agent-1 alice", FAR, 999);
    assert_false(revset_token_revoked(t, c)); /* before the token: a newer right */
    revset_add(t, REV_ACT_FOR, "agent-1 alice", FAR, 1000);
    assert_true(revset_token_revoked(t, c));
    json_t *d = token("{\"lineage\":{\"on\":[\"jti:PARENT.x\"]}}");
    assert_false(revset_token_revoked(t, d));
    revset_add(t, REV_GRANT, "PARENT", FAR, 1);
    assert_true(revset_token_revoked(t, d));
    const char *keys[] = {"act_for:agent-1 alice", "consent:c-1"};
    assert_int_equal(revset_floor(t, NULL, NULL, keys, 2), 1001);
    json_decref(c);
    json_decref(d);
}

static void test_tenants_are_separate(void **state)
{
    (void)state;
    revset_add(T2 "-sep", REV_USER, "p-1", FAR, 5000);
    json_t *c = token(NULL);
    assert_false(revset_token_revoked(T1 "-sep", c));
    assert_true(revset_token_revoked(T2 "-sep", c));
    json_decref(c);
}

static void test_notify_payload_keeps_spaces_in_the_value(void **state)
{
    (void)state;
    revset_notify(T1 "-notify act_for 4000000000 1500 agent-9 bob smith");
    assert_int_equal(revset_at(T1 "-notify", REV_ACT_FOR, "agent-9 bob smith"), 1500);
    revset_notify(T1 "-notify nonsense 1 2 x");
    revset_notify("garbage");
    assert_false(revset_has(T1 "-notify", REV_ACT_FOR, "agent-9"));
}

static void test_prune_drops_only_what_has_expired(void **state)
{
    (void)state;
    revset_add(T1 "-prune", REV_JTI, "old", 100, 1);
    revset_add(T1 "-prune", REV_JTI, "new", FAR, 1);
    revset_prune(1000);
    assert_false(revset_has(T1 "-prune", REV_JTI, "old"));
    assert_true(revset_has(T1 "-prune", REV_JTI, "new"));
}

static void test_siphash_matches_the_reference_vector(void **state)
{
    (void)state;
    /* SipHash-2-4 reference: key 00..0f, message 00..0e -> a129ca6149be45e5 */
    uint8_t k[16], m[15];
    for (int i = 0; i < 16; i++)
        k[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        m[i] = (uint8_t)i;
    assert_true(siphash24(k, m, 15) == 0xa129ca6149be45e5ULL);
    assert_true(siphash24(k, m, 0) == 0x726fdb47dd0e0e31ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_fresh_token_is_not_revoked),
        cmocka_unit_test(test_jti_and_the_grant_it_names_are_identity_revocations),
        cmocka_unit_test(test_standing_revocations_kill_only_tokens_issued_at_or_before_them),
        cmocka_unit_test(test_the_client_and_every_agent_of_the_act_chain_count),
        cmocka_unit_test(test_every_lineage_key_counts),
        cmocka_unit_test(test_tenants_are_separate),
        cmocka_unit_test(test_notify_payload_keeps_spaces_in_the_value),
        cmocka_unit_test(test_prune_drops_only_what_has_expired),
        cmocka_unit_test(test_siphash_matches_the_reference_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
