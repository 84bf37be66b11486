/*
 * test_delegation.c: unit tests for authz/policy/delegation.c, the token
 * exchange decision of SPEC §4.4 (and the session right of §4.5). One test
 * per rule, and one per hole the wave-1 trial found: a resource outside the
 * grant reached by leaving `resource` out, a session or consent for R1
 * exchanged into R2, impersonation unbounded, an external scope claim that
 * is not a string taken as "no scope", an external act chain dropped, a
 * later hop reaching past the grant of an earlier one.
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

#include "policy/delegation.h"
#include "util/arena.h"

#define R1 "https://mcp.example.test/"
#define R2 "https://files.example.test/api"
#define ISS "https://authz.example.test/t/acme"

static const char *R1_SCOPES[] = {"tools:read", "tools:call"};
static const char *R2_SCOPES[] = {"files:read"};
static const char *ALICE_SCOPES[] = {"tools:read", "tools:call", "files:read"};
static const char *BOTH_RES[] = {R1, R2};
static const char *ONLY_R1[] = {R1};
static const char *READ[] = {"tools:read"};

struct world {
    struct arena *a;
    struct deleg_resource res[2];
    struct deleg_facts f;
    struct deleg_decision d;
    json_t *scope, *act, *may_act, *lineage, *details;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    w->a = arena_new();
    w->res[0] = (struct deleg_resource){R1, {R1_SCOPES, 2}};
    w->res[1] = (struct deleg_resource){R2, {R2_SCOPES, 1}};
    w->scope = json_string("tools:read tools:call files:read");
    /* an agent with an actor token of its own, can_act_for nobody, a
     * subject token of ours for R1 */
    w->f = (struct deleg_facts){
        .issuer = ISS,
        .resources = w->res,
        .nresources = 2,
        .max_act_depth = 5,
        .agent = "agent-1",
        .subject = {.ours = true, .issuer = ISS, .scope = w->scope, .aud = R1, .exp = 2000000000,
                    .jti = "G1.abc", .sid = NULL},
        .actor = {.present = true, .ours = true, .issued_to = "agent-1", .sub = "agent-1"},
        .person_id = "p-alice",
        .username = "alice",
        .person_scopes = {ALICE_SCOPES, 3},
        .sessions_known = true,
    };
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    deleg_decision_free(&w->d);
    json_decref(w->scope);
    json_decref(w->act);
    json_decref(w->may_act);
    json_decref(w->lineage);
    json_decref(w->details);
    arena_free(w->a);
    free(w);
    return 0;
}

static void decide(struct world *w)
{
    deleg_decision_free(&w->d);
    deleg_decide(w->a, &w->f, &w->d);
}

static void can_act_for(struct world *w, const char *who)
{
    static const char *v[1];
    v[0] = who;
    w->f.can_act_for = (struct scopeset){v, 1};
}

static void refused(struct world *w, const char *error, const char *rule)
{
    decide(w);
    if (!w->d.error)
        fail_msg("expected %s (%s), got allowed (rule %s, aud %s)", error, rule, w->d.rule, w->d.aud);
    assert_string_equal(w->d.error, error);
    assert_string_equal(w->d.rule, rule);
}

static void allowed(struct world *w)
{
    decide(w);
    if (w->d.error)
        fail_msg("expected allowed, got %s (%s): %s", w->d.error, w->d.rule, w->d.description);
}

static bool has_key(const struct deleg_decision *d, const char *k)
{
    for (int i = 0; i < d->nlineage; i++)
        if (!strcmp(d->lineage[i], k))
            return true;
    return false;
}

/* ---- rights ---- */

static void test_no_right_is_invalid_request(void **state)
{
    struct world *w = *state;
    refused(w, "invalid_request", "no-delegation");
}

static void test_no_right_on_the_loop_asks_for_the_sessions(void **state)
{
    struct world *w = *state;
    w->f.sessions_known = false;
    decide(w);
    assert_non_null(w->d.error);
    assert_true(w->d.needs_sessions);
}

static void test_can_act_for_username_allows_any_tenant_resource_within_person_scopes(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    static const char *t[] = {R2};
    w->f.targets = t;
    w->f.ntargets = 1;
    allowed(w);
    assert_string_equal(w->d.rule, "can_act_for");
    assert_string_equal(w->d.aud, R2);
    assert_string_equal(w->d.scope, "files:read");
    assert_true(has_key(&w->d, "act_for:agent-1 alice"));
    assert_true(has_key(&w->d, "jti:G1.abc"));
}

static void test_can_act_for_star_names_the_star_entry(void **state)
{
    struct world *w = *state;
    can_act_for(w, "*");
    allowed(w);
    assert_true(has_key(&w->d, "act_for:agent-1 *"));
}

static void test_consent_bounds_scope_and_rests_on_the_consent(void **state)
{
    struct world *w = *state;
    w->f.have_consent = true;
    w->f.consent_id = "c-1";
    w->f.consent_scopes = (struct scopeset){READ, 1};
    w->f.consent_resources = (struct scopeset){ONLY_R1, 1};
    allowed(w);
    assert_string_equal(w->d.rule, "consent");
    assert_string_equal(w->d.scope, "tools:read");
    assert_true(has_key(&w->d, "consent:c-1"));
    assert_true(w->d.has_ceiling);
    assert_int_equal(w->d.ceiling.n, 1);
    assert_string_equal(w->d.ceiling.v[0], R1);
}

static void test_consent_is_bounded_by_the_persons_scopes_today(void **state)
{
    struct world *w = *state;
    static const char *callonly[] = {"tools:call"};
    static const char *readonly[] = {"tools:read"};
    w->f.have_consent = true;
    w->f.consent_id = "c-1";
    w->f.consent_scopes = (struct scopeset){callonly, 1};
    w->f.consent_resources = (struct scopeset){ONLY_R1, 1};
    w->f.person_scopes = (struct scopeset){readonly, 1};
    refused(w, "invalid_scope", "scope-empty");
}

/* hole: "a consent given for R1 ... is exchanged into a token for R2" */
static void test_consent_for_R1_is_not_exchanged_into_R2(void **state)
{
    struct world *w = *state;
    w->f.have_consent = true;
    w->f.consent_id = "c-1";
    w->f.consent_scopes = (struct scopeset){ALICE_SCOPES, 3};
    w->f.consent_resources = (struct scopeset){ONLY_R1, 1};
    static const char *t[] = {R2};
    w->f.targets = t;
    w->f.ntargets = 1;
    refused(w, "invalid_target", "resource-outside-grant");
    /* and with the subject token's aud being R2, resource left out */
    w->f.ntargets = 0;
    w->f.subject.aud = R2;
    refused(w, "invalid_target", "resource-outside-grant");
}

/* hole: "a session approved for resource R1 ... is exchanged into a token for R2" */
static void test_session_for_R1_is_not_exchanged_into_R2(void **state)
{
    struct world *w = *state;
    struct deleg_session s = {"sid-1", {ALICE_SCOPES, 3}, {ONLY_R1, 1}, 1900000000, NULL};
    w->f.sessions = &s;
    w->f.nsessions = 1;
    w->f.subject.aud = R2;
    refused(w, "invalid_target", "resource-outside-grant");
}

static void test_session_right_carries_its_sid_and_ends_with_the_session(void **state)
{
    struct world *w = *state;
    struct deleg_session s = {"sid-1", {READ, 1}, {ONLY_R1, 1}, 1900000000, NULL};
    w->f.sessions = &s;
    w->f.nsessions = 1;
    allowed(w);
    assert_string_equal(w->d.rule, "session");
    assert_string_equal(w->d.sid, "sid-1");
    assert_string_equal(w->d.scope, "tools:read");
    assert_int_equal(w->d.exp_cap, 1900000000);
    assert_true(has_key(&w->d, "session:sid-1"));
}

static void test_the_first_right_that_allows_it_decides(void **state)
{
    struct world *w = *state;
    /* the consent does not reach R2; the session does */
    static const char *r2[] = {R2};
    w->f.have_consent = true;
    w->f.consent_id = "c-1";
    w->f.consent_scopes = (struct scopeset){ALICE_SCOPES, 3};
    w->f.consent_resources = (struct scopeset){ONLY_R1, 1};
    struct deleg_session s = {"sid-2", {ALICE_SCOPES, 3}, {r2, 1}, 1900000000, NULL};
    w->f.sessions = &s;
    w->f.nsessions = 1;
    w->f.subject.aud = R2;
    allowed(w);
    assert_string_equal(w->d.rule, "session");
    assert_true(has_key(&w->d, "session:sid-2"));
    assert_false(has_key(&w->d, "consent:c-1"));
}

/* ---- resources ---- */

/* hole: "an agent limited by allowed_resources gets a token for another
 * resource when it leaves resource out" */
static void test_leaving_resource_out_checks_the_subjects_aud_against_allowed_resources(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->f.allowed_resources = (struct scopeset){ONLY_R1, 1};
    w->f.subject.aud = R2;
    refused(w, "invalid_target", "resource-not-allowed-to-agent");
}

static void test_unknown_resource_is_invalid_target(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    static const char *t[] = {"https://elsewhere.example.test/"};
    w->f.targets = t;
    w->f.ntargets = 1;
    refused(w, "invalid_target", "resource-unknown");
}

static void test_subject_aud_not_a_tenant_resource_is_invalid_target(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->f.subject.aud = ISS;
    refused(w, "invalid_target", "resource-unknown");
    w->f.subject.aud = NULL;
    refused(w, "invalid_target", "resource-missing");
}

static void test_two_different_targets_are_invalid_target(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    static const char *t[] = {R1, R2};
    w->f.targets = t;
    w->f.ntargets = 2;
    refused(w, "invalid_target", "one-resource");
    static const char *same[] = {R1, R1};
    w->f.targets = same;
    allowed(w);
}

/* "the grant that allowed a hop is the ceiling of every later hop" */
static void test_an_earlier_hops_ceiling_bounds_a_later_hop_with_a_wider_right(void **state)
{
    struct world *w = *state;
    can_act_for(w, "*");
    w->lineage = json_pack("{s:[s], s:[s]}", "on", "session:sid-0", "res", R1);
    w->f.subject.lineage = w->lineage;
    static const char *t[] = {R2};
    w->f.targets = t;
    w->f.ntargets = 1;
    refused(w, "invalid_target", "resource-outside-earlier-grant");
    w->f.ntargets = 0;
    allowed(w);
    assert_true(has_key(&w->d, "session:sid-0"));
    assert_true(w->d.has_ceiling);
    assert_string_equal(w->d.ceiling.v[0], R1);
}

static void test_an_empty_ceiling_allows_no_resource(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->lineage = json_pack("{s:[], s:[]}", "on", "res");
    w->f.subject.lineage = w->lineage;
    refused(w, "invalid_target", "resource-outside-earlier-grant");
}

static void test_a_malformed_lineage_is_refused(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->lineage = json_pack("{s:[i]}", "on", 5);
    w->f.subject.lineage = w->lineage;
    refused(w, "invalid_request", "lineage-malformed");
}

/* ---- scope ---- */

static void test_scope_is_the_intersection_of_every_bound(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    static const char *allowed_s[] = {"tools:call", "files:read"};
    w->f.allowed_scopes = (struct scopeset){allowed_s, 2};
    json_decref(w->scope);
    w->scope = json_string("tools:read tools:call");
    w->f.subject.scope = w->scope;
    w->f.scope_param = "tools:call tools:read admin";
    allowed(w);
    assert_string_equal(w->d.scope, "tools:call");
}

static void test_nothing_left_is_invalid_scope(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->f.scope_param = "files:read"; /* not a scope of R1 */
    refused(w, "invalid_scope", "scope-empty");
}

static void test_malformed_requested_scope_is_invalid_scope(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->f.scope_param = "tools:read  tools:call";
    refused(w, "invalid_scope", "scope-malformed");
}

/* hole: an external scope claim that is an array, object or number was
 * taken as "no scope" (all of the person's scopes) */
static void test_external_scope_claim_must_be_a_string(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->f.subject.ours = false;
    w->f.subject.jti = NULL;
    json_t *bad[] = {json_pack("[s]", "tools:read"), json_pack("{s:b}", "x", 1), json_integer(7),
                     json_true()};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w->f.subject.scope = bad[i];
        refused(w, "invalid_request", "subject-scope-malformed");
        json_decref(bad[i]);
    }
    w->f.subject.scope = NULL;
    allowed(w); /* absent: the person's own scopes */
    assert_string_equal(w->d.scope, "tools:read tools:call");
}

/* ---- actor ---- */

static void test_actor_token_of_another_client_is_refused(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->f.actor.issued_to = "agent-2";
    refused(w, "invalid_request", "actor-not-caller");
    w->f.actor.issued_to = "agent-1";
    w->f.actor.sub = "p-alice";
    refused(w, "invalid_request", "actor-not-caller");
}

static void test_workload_actor_must_map_to_the_caller(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    memset(&w->f.actor, 0, sizeof w->f.actor);
    w->f.actor.present = true;
    w->f.actor.mapped_client = "agent-2";
    w->f.actor.wid_iss = "https://k8s";
    w->f.actor.wid_sub = "system:sa:x";
    refused(w, "invalid_request", "actor-not-caller");
    w->f.actor.mapped_client = "agent-1";
    allowed(w);
    const json_t *wid = json_object_get(w->d.act, "wid");
    assert_string_equal(json_string_value(json_object_get(wid, "iss")), "https://k8s");
}

static void test_may_act_must_name_the_actor_and_needs_an_actor_token(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->may_act = json_pack("{s:s}", "sub", "agent-2");
    w->f.subject.may_act = w->may_act;
    refused(w, "invalid_request", "may-act-mismatch");
    json_decref(w->may_act);
    w->may_act = json_pack("{s:s, s:s}", "sub", "agent-1", "iss", "https://other");
    w->f.subject.may_act = w->may_act;
    refused(w, "invalid_request", "may-act-mismatch");
    json_decref(w->may_act);
    w->may_act = json_pack("{s:s, s:s}", "sub", "agent-1", "iss", ISS);
    w->f.subject.may_act = w->may_act;
    allowed(w);
    w->f.actor.present = false;
    w->f.may_impersonate = true;
    refused(w, "invalid_request", "may-act-needs-actor");
}

/* hole: an act chain inside an external token was dropped */
static void test_the_subjects_act_chain_is_kept_whole_and_counted(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->act = json_pack("{s:s, s:{s:s, s:s}}", "sub", "up-1", "act", "sub", "up-0", "iss", "x");
    w->f.subject.act = w->act;
    w->f.subject.ours = false;
    w->f.subject.jti = NULL;
    allowed(w);
    assert_string_equal(json_string_value(json_object_get(w->d.act, "sub")), "agent-1");
    assert_true(json_equal(json_object_get(w->d.act, "act"), w->act));
    assert_int_equal(w->d.nchain, 3);
    assert_string_equal(w->d.chain[2], "up-0");
}

static void test_a_chain_deeper_than_the_limit_is_refused(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    json_t *a = NULL;
    for (int i = 0; i < 5; i++) {
        json_t *n = json_pack("{s:s}", "sub", "up");
        if (a)
            json_object_set_new(n, "act", a);
        a = n;
    }
    w->act = a;
    w->f.subject.act = w->act;
    refused(w, "invalid_request", "act-depth");
    w->f.max_act_depth = 6;
    allowed(w);
}

static void test_a_malformed_act_is_refused(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->act = json_pack("{s:s}", "iss", "x");
    w->f.subject.act = w->act;
    refused(w, "invalid_request", "act-malformed");
}

/* ---- impersonation ---- */

static void test_impersonation_needs_may_impersonate(void **state)
{
    struct world *w = *state;
    w->f.actor.present = false;
    refused(w, "unauthorized_client", "impersonation-denied");
    assert_true(w->d.impersonation);
}

/* hole: "Same for impersonation" (resources not bounded) */
static void test_impersonation_is_bounded_like_any_hop(void **state)
{
    struct world *w = *state;
    w->f.actor.present = false;
    w->f.may_impersonate = true;
    w->f.allowed_resources = (struct scopeset){ONLY_R1, 1};
    w->f.subject.aud = R2;
    refused(w, "invalid_target", "resource-not-allowed-to-agent");
    w->f.subject.aud = R1;
    w->f.allowed_scopes = (struct scopeset){READ, 1};
    allowed(w);
    assert_string_equal(w->d.rule, "may_impersonate");
    assert_string_equal(w->d.scope, "tools:read");
    assert_null(w->d.act);
    assert_true(has_key(&w->d, "impersonate:agent-1"));
}

/* ---- lifetime and lineage ---- */

static void test_exp_is_capped_by_the_subject(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->f.subject.exp = 1234567890;
    allowed(w);
    assert_int_equal(w->d.exp_cap, 1234567890);
}

static void test_lineage_keeps_the_subjects_keys_its_jti_and_its_session(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    w->lineage = json_pack("{s:[s,s]}", "on", "jti:G0.x", "consent:c-0");
    w->f.subject.lineage = w->lineage;
    w->f.subject.sid = "sid-9";
    allowed(w);
    assert_true(has_key(&w->d, "jti:G0.x"));
    assert_true(has_key(&w->d, "consent:c-0"));
    assert_true(has_key(&w->d, "jti:G1.abc"));
    assert_true(has_key(&w->d, "session:sid-9"));
    assert_true(has_key(&w->d, "act_for:agent-1 alice"));
    assert_string_equal(w->d.sid, "sid-9");
}

static void test_lineage_claim_round_trips(void **state)
{
    struct world *w = *state;
    const char *keys[] = {"jti:a.b", "consent:c"};
    struct scopeset ceil = {ONLY_R1, 1};
    const char *j = lineage_claim_json(w->a, keys, 2, &ceil, true);
    json_error_t je;
    json_t *c = json_loads(j, 0, &je);
    assert_non_null(c);
    const char **k;
    int n;
    struct scopeset got;
    bool has;
    assert_true(lineage_claim_read(w->a, c, &k, &n, &got, &has));
    assert_int_equal(n, 2);
    assert_string_equal(k[1], "consent:c");
    assert_true(has);
    assert_string_equal(got.v[0], R1);
    json_decref(c);
    assert_null(lineage_claim_json(w->a, NULL, 0, NULL, false));
    (void)BOTH_RES;
}

/* ---- task details (RFC 9396 authorization_details, SPEC §12) ---- */

#define MCP(loc, tools) "{\"type\":\"mcp_tools\",\"locations\":[\"" loc "\"],\"tools\":[" tools "]}"

static void subject_details(struct world *w, const char *json)
{
    json_decref(w->details);
    w->details = json_loads(json, 0, NULL);
    assert_non_null(w->details);
    w->f.subject.details = w->details;
}

static const struct details *want(struct world *w, const char *json)
{
    struct details *d = arena_alloc(w->a, sizeof *d);
    const char *why;
    assert_int_equal(details_parse(w->a, json, NULL, d, &why), 0);
    w->f.want_details = d;
    return d;
}

static void consent_r1(struct world *w, const char *details)
{
    w->f.have_consent = true;
    w->f.consent_id = "c-1";
    w->f.consent_scopes = (struct scopeset){ALICE_SCOPES, 3};
    w->f.consent_resources = (struct scopeset){BOTH_RES, 2};
    w->f.consent_details = details;
}

static void test_task_details_are_the_subjects_within_the_sessions(void **state)
{
    struct world *w = *state;
    subject_details(w, "[" MCP(R1, "\"a\",\"b\",\"c\"") "]");
    struct deleg_session s = {"sid-1", {READ, 1}, {ONLY_R1, 1}, 1900000000,
                              "[" MCP(R1, "\"a\",\"b\",\"d\"") "]"};
    w->f.sessions = &s;
    w->f.nsessions = 1;
    allowed(w);
    assert_string_equal(w->d.rule, "session");
    assert_string_equal(w->d.details_json, "[" MCP(R1, "\"a\",\"b\"") "]");
}

static void test_a_subject_without_task_details_passes_none_on(void **state)
{
    struct world *w = *state;
    struct deleg_session s = {"sid-1", {READ, 1}, {ONLY_R1, 1}, 1900000000,
                              "[" MCP(R1, "\"a\"") "]"};
    w->f.sessions = &s;
    w->f.nsessions = 1;
    allowed(w);
    assert_null(w->d.details_json);
}

static void test_a_consent_without_task_details_passes_none_on(void **state)
{
    struct world *w = *state;
    subject_details(w, "[" MCP(R1, "\"a\"") "]");
    consent_r1(w, NULL);
    allowed(w);
    assert_string_equal(w->d.rule, "consent");
    assert_null(w->d.details_json);
}

static void test_can_act_for_keeps_the_subjects_task_details_on_the_target_only(void **state)
{
    struct world *w = *state;
    subject_details(w, "[" MCP(R1, "\"a\",\"b\"") "," MCP(R2, "\"c\"") "]");
    can_act_for(w, "alice");
    allowed(w);
    assert_string_equal(w->d.rule, "can_act_for");
    assert_string_equal(w->d.details_json, "[" MCP(R1, "\"a\",\"b\"") "]");
}

static void test_requesting_a_subset_of_task_details_narrows_to_it(void **state)
{
    struct world *w = *state;
    subject_details(w, "[" MCP(R1, "\"a\",\"b\"") "]");
    consent_r1(w, "[" MCP(R1, "\"a\",\"b\"") "]");
    want(w, "[" MCP(R1, "\"b\"") "]");
    allowed(w);
    assert_string_equal(w->d.details_json, "[" MCP(R1, "\"b\"") "]");
}

static void test_requesting_a_tool_outside_the_subjects_is_invalid_authorization_details(void **state)
{
    struct world *w = *state;
    subject_details(w, "[" MCP(R1, "\"a\"") "]");
    can_act_for(w, "alice");
    want(w, "[" MCP(R1, "\"a\",\"delete_all\"") "]");
    refused(w, "invalid_authorization_details", "details-widen");
}

static void test_requesting_a_tool_outside_the_rights_is_invalid_authorization_details(void **state)
{
    struct world *w = *state;
    /* the subject token lists it, but the consent the hop rests on does not */
    subject_details(w, "[" MCP(R1, "\"a\",\"b\"") "]");
    consent_r1(w, "[" MCP(R1, "\"a\"") "]");
    want(w, "[" MCP(R1, "\"b\"") "]");
    refused(w, "invalid_authorization_details", "details-widen");
}

static void test_requesting_task_details_without_a_subjects_is_refused(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    want(w, "[" MCP(R1, "\"a\"") "]");
    refused(w, "invalid_authorization_details", "details-widen");
}

static void test_requested_task_details_on_another_resource_are_invalid_target(void **state)
{
    struct world *w = *state;
    subject_details(w, "[" MCP(R1, "\"a\"") "," MCP(R2, "\"c\"") "]");
    can_act_for(w, "alice");
    want(w, "[" MCP(R2, "\"c\"") "]");
    refused(w, "invalid_target", "details-location-not-target");
}

static void test_a_right_whose_details_do_not_cover_the_request_gives_way(void **state)
{
    struct world *w = *state;
    subject_details(w, "[" MCP(R1, "\"a\",\"b\"") "]");
    consent_r1(w, "[" MCP(R1, "\"a\"") "]");
    struct deleg_session s = {"sid-3", {ALICE_SCOPES, 3}, {ONLY_R1, 1}, 1900000000,
                              "[" MCP(R1, "\"a\",\"b\"") "]"};
    w->f.sessions = &s;
    w->f.nsessions = 1;
    want(w, "[" MCP(R1, "\"b\"") "]");
    allowed(w);
    assert_string_equal(w->d.rule, "session");
    assert_string_equal(w->d.sid, "sid-3");
    assert_string_equal(w->d.details_json, "[" MCP(R1, "\"b\"") "]");
}

static void test_malformed_subject_task_details_are_refused(void **state)
{
    struct world *w = *state;
    can_act_for(w, "alice");
    subject_details(w, "[{\"type\":\"other\"}]");
    refused(w, "invalid_request", "details-malformed");
    subject_details(w, "{\"type\":\"mcp_tools\"}");
    refused(w, "invalid_request", "details-malformed");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_no_right_is_invalid_request),
        T(test_no_right_on_the_loop_asks_for_the_sessions),
        T(test_can_act_for_username_allows_any_tenant_resource_within_person_scopes),
        T(test_can_act_for_star_names_the_star_entry),
        T(test_consent_bounds_scope_and_rests_on_the_consent),
        T(test_consent_is_bounded_by_the_persons_scopes_today),
        T(test_consent_for_R1_is_not_exchanged_into_R2),
        T(test_session_for_R1_is_not_exchanged_into_R2),
        T(test_session_right_carries_its_sid_and_ends_with_the_session),
        T(test_the_first_right_that_allows_it_decides),
        T(test_leaving_resource_out_checks_the_subjects_aud_against_allowed_resources),
        T(test_unknown_resource_is_invalid_target),
        T(test_subject_aud_not_a_tenant_resource_is_invalid_target),
        T(test_two_different_targets_are_invalid_target),
        T(test_an_earlier_hops_ceiling_bounds_a_later_hop_with_a_wider_right),
        T(test_an_empty_ceiling_allows_no_resource),
        T(test_a_malformed_lineage_is_refused),
        T(test_scope_is_the_intersection_of_every_bound),
        T(test_nothing_left_is_invalid_scope),
        T(test_malformed_requested_scope_is_invalid_scope),
        T(test_external_scope_claim_must_be_a_string),
        T(test_actor_token_of_another_client_is_refused),
        T(test_workload_actor_must_map_to_the_caller),
        T(test_may_act_must_name_the_actor_and_needs_an_actor_token),
        T(test_the_subjects_act_chain_is_kept_whole_and_counted),
        T(test_a_chain_deeper_than_the_limit_is_refused),
        T(test_a_malformed_act_is_refused),
        T(test_impersonation_needs_may_impersonate),
        T(test_impersonation_is_bounded_like_any_hop),
        T(test_exp_is_capped_by_the_subject),
        T(test_lineage_keeps_the_subjects_keys_its_jti_and_its_session),
        T(test_lineage_claim_round_trips),
        T(test_task_details_are_the_subjects_within_the_sessions),
        T(test_a_subject_without_task_details_passes_none_on),
        T(test_a_consent_without_task_details_passes_none_on),
        T(test_can_act_for_keeps_the_subjects_task_details_on_the_target_only),
        T(test_requesting_a_subset_of_task_details_narrows_to_it),
        T(test_requesting_a_tool_outside_the_subjects_is_invalid_authorization_details),
        T(test_requesting_a_tool_outside_the_rights_is_invalid_authorization_details),
        T(test_requesting_task_details_without_a_subjects_is_refused),
        T(test_requested_task_details_on_another_resource_are_invalid_target),
        T(test_a_right_whose_details_do_not_cover_the_request_gives_way),
        T(test_malformed_subject_task_details_are_refused),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
