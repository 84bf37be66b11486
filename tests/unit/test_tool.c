/*
 * test_tool.c: unit tests for authz/policy/tool.c, the decision of the
 * AuthZEN PDP (SPEC §12). One test per rule, each from the attacker's side:
 * a token that is not active, another action, a server that is not the
 * tenant's, a token for another server, a tool not in the catalog, a scope
 * left out, approval "session" without a sid or with a task that lists
 * other tools or another server, and the drift modes; and the claim rule
 * (authorization_details of type mcp_tools) on claims directly.
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

#include "policy/tool.h"

#define S1 "https://mcp.example.test/"
#define S2 "https://files.example.test/mcp"

static char *READ_SCOPES[] = {"tools:read"};
static char *WRITE_SCOPES[] = {"tools:read", "tools:write"};

static struct tool_entry SEARCH = {"search", READ_SCOPES, 1, TOOL_READ, false};
static struct tool_entry DEPLOY = {"deploy", WRITE_SCOPES, 2, TOOL_DESTRUCTIVE, true};

static json_t *claims(const char *json)
{
    json_error_t e;
    json_t *j = json_loads(json, 0, &e);
    assert_non_null(j);
    return j;
}

/* facts of an allowed call to search on S1, in the baseline */
static struct tool_facts base(const json_t *c)
{
    struct tool_facts f = {
        .claims = c,
        .action = "tools/call",
        .server = S1,
        .tool = "search",
        .server_known = true,
        .entry = &SEARCH,
        .unknown_tools_allow = false,
        .drift = DRIFT_ALERT,
        .in_baseline = true,
    };
    return f;
}

static const char *AGENT = "{\"sub\":\"u1\",\"client_id\":\"agent\",\"aud\":\"" S1 "\","
                           "\"scope\":\"tools:read\"}";

static void test_an_allowed_call_in_the_baseline_is_allowed_by_the_catalog(void **st)
{
    (void)st;
    json_t *c = claims(AGENT);
    struct tool_facts f = base(c);
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_true(d.allowed);
    assert_string_equal(d.policy, "catalog");
    assert_false(d.drift);
    assert_true(d.learn);
    json_decref(c);
}

static void test_a_token_that_is_not_active_is_denied(void **st)
{
    (void)st;
    struct tool_facts f = base(NULL);
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_false(d.allowed);
    assert_string_equal(d.policy, "token");
    assert_false(d.learn);
    assert_false(d.drift);
}

static void test_another_action_is_denied(void **st)
{
    (void)st;
    json_t *c = claims(AGENT);
    struct tool_facts f = base(c);
    const char *actions[] = {"tools/list", "TOOLS/CALL", "tools/call ", ""};
    for (size_t i = 0; i < 4; i++) {
        f.action = actions[i];
        struct tool_decision d;
        tool_decide(&f, &d);
        assert_false(d.allowed);
        assert_string_equal(d.policy, "action");
    }
    json_decref(c);
}

static void test_a_server_that_is_not_the_tenants_is_denied(void **st)
{
    (void)st;
    json_t *c = claims(AGENT);
    struct tool_facts f = base(c);
    f.server_known = false;
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_false(d.allowed);
    assert_string_equal(d.policy, "resource");
    json_decref(c);
}

static void test_a_token_for_another_server_is_denied(void **st)
{
    (void)st;
    /* the token is for S2; the call is to S1 */
    json_t *c = claims("{\"sub\":\"u1\",\"client_id\":\"agent\",\"aud\":\"" S2 "\","
                       "\"scope\":\"tools:read\"}");
    struct tool_facts f = base(c);
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_false(d.allowed);
    assert_string_equal(d.policy, "audience");
    json_decref(c);
    /* an aud array holding the server counts; a prefix does not */
    c = claims("{\"aud\":[\"" S2 "\",\"" S1 "\"],\"scope\":\"tools:read\"}");
    f = base(c);
    tool_decide(&f, &d);
    assert_true(d.allowed);
    json_decref(c);
    c = claims("{\"aud\":\"https://mcp.example.test\",\"scope\":\"tools:read\"}");
    f = base(c);
    tool_decide(&f, &d);
    assert_false(d.allowed);
    json_decref(c);
    /* no aud at all */
    c = claims("{\"scope\":\"tools:read\"}");
    f = base(c);
    tool_decide(&f, &d);
    assert_string_equal(d.policy, "audience");
    json_decref(c);
}

static void test_a_tool_not_in_the_catalog_is_denied_unless_unknown_tools_allow(void **st)
{
    (void)st;
    json_t *c = claims(AGENT);
    struct tool_facts f = base(c);
    f.entry = NULL;
    f.tool = "rm_rf";
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_false(d.allowed);
    assert_string_equal(d.policy, "catalog");
    f.unknown_tools_allow = true;
    tool_decide(&f, &d);
    assert_true(d.allowed);
    assert_string_equal(d.policy, "unknown_tools");
    json_decref(c);
}

static void test_a_scope_left_out_is_denied(void **st)
{
    (void)st;
    /* DEPLOY needs tools:read and tools:write; a prefix or a longer
     * scope is not the scope */
    const char *tokens[] = {
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read\",\"sid\":\"s1\"}",
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:writer\",\"sid\":\"s1\"}",
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:writ\",\"sid\":\"s1\"}",
        "{\"aud\":\"" S1 "\",\"sid\":\"s1\"}",
        "{\"aud\":\"" S1 "\",\"scope\":[\"tools:read\",\"tools:write\"],\"sid\":\"s1\"}",
    };
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        json_t *c = claims(tokens[i]);
        struct tool_facts f = base(c);
        f.entry = &DEPLOY;
        f.tool = "deploy";
        struct tool_decision d;
        tool_decide(&f, &d);
        assert_false(d.allowed);
        assert_string_equal(d.policy, "scope");
        json_decref(c);
    }
}

static const char *TASK_TOKEN =
    "{\"aud\":\"" S1 "\",\"scope\":\"tools:read  tools:write\",\"sid\":\"s1\","
    "\"authorization_details\":[{\"type\":\"mcp_tools\",\"locations\":[\"" S1 "\"],"
    "\"tools\":[\"search\",\"deploy\"]}]}";

static void test_approval_session_is_allowed_under_a_session_whose_task_lists_the_tool(void **st)
{
    (void)st;
    json_t *c = claims(TASK_TOKEN);
    struct tool_facts f = base(c);
    f.entry = &DEPLOY;
    f.tool = "deploy";
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_true(d.allowed);
    json_decref(c);
}

static void test_approval_session_without_a_sid_is_denied(void **st)
{
    (void)st;
    json_t *c = claims("{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\","
                       "\"authorization_details\":[{\"type\":\"mcp_tools\",\"tools\":[\"deploy\"]}]}");
    struct tool_facts f = base(c);
    f.entry = &DEPLOY;
    f.tool = "deploy";
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_false(d.allowed);
    assert_string_equal(d.policy, "session");
    json_decref(c);
    c = claims("{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\",\"sid\":\"\"}");
    f = base(c);
    f.entry = &DEPLOY;
    tool_decide(&f, &d);
    assert_string_equal(d.policy, "session");
    json_decref(c);
}

static void test_approval_session_with_a_task_that_does_not_list_the_tool_is_denied(void **st)
{
    (void)st;
    const char *tokens[] = {
        /* no details at all */
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\",\"sid\":\"s1\"}",
        /* other tools */
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\",\"sid\":\"s1\","
        "\"authorization_details\":[{\"type\":\"mcp_tools\",\"tools\":[\"search\"]}]}",
        /* the tool, but for another server */
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\",\"sid\":\"s1\","
        "\"authorization_details\":[{\"type\":\"mcp_tools\",\"locations\":[\"" S2 "\"],"
        "\"tools\":[\"deploy\"]}]}",
        /* another type of details */
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\",\"sid\":\"s1\","
        "\"authorization_details\":[{\"type\":\"payment\",\"tools\":[\"deploy\"]}]}",
        /* malformed: an object, not an array; tools a string */
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\",\"sid\":\"s1\","
        "\"authorization_details\":{\"type\":\"mcp_tools\",\"tools\":[\"deploy\"]}}",
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\",\"sid\":\"s1\","
        "\"authorization_details\":[{\"type\":\"mcp_tools\",\"tools\":\"deploy\"}]}",
        /* the location is a string, not an array */
        "{\"aud\":\"" S1 "\",\"scope\":\"tools:read tools:write\",\"sid\":\"s1\","
        "\"authorization_details\":[{\"type\":\"mcp_tools\",\"locations\":\"" S1 "\","
        "\"tools\":[\"deploy\"]}]}",
    };
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        json_t *c = claims(tokens[i]);
        struct tool_facts f = base(c);
        f.entry = &DEPLOY;
        f.tool = "deploy";
        struct tool_decision d;
        tool_decide(&f, &d);
        assert_false(d.allowed);
        assert_string_equal(d.policy, "task");
        json_decref(c);
    }
}

static void test_task_details_without_locations_cover_the_tokens_audiences(void **st)
{
    (void)st;
    json_t *d = claims("[{\"type\":\"mcp_tools\",\"tools\":[\"deploy\"]}]");
    json_t *aud = json_string(S1);
    assert_true(tool_task_covers(d, aud, S1, "deploy"));
    assert_false(tool_task_covers(d, aud, S2, "deploy"));
    assert_false(tool_task_covers(d, aud, S1, "search"));
    json_decref(aud);
    json_decref(d);
    /* several entries: one covering is enough */
    d = claims("[{\"type\":\"mcp_tools\",\"locations\":[\"" S2 "\"],\"tools\":[\"a\"]},"
               "{\"type\":\"mcp_tools\",\"locations\":[\"" S1 "\"],\"tools\":[\"b\"]}]");
    aud = json_string(S1);
    assert_true(tool_task_covers(d, aud, S1, "b"));
    assert_false(tool_task_covers(d, aud, S1, "a"));
    assert_false(tool_task_covers(NULL, aud, S1, "b"));
    json_decref(aud);
    json_decref(d);
}

static void test_drift_alert_allows_and_raises_an_alert(void **st)
{
    (void)st;
    json_t *c = claims(AGENT);
    struct tool_facts f = base(c);
    f.in_baseline = false;
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_true(d.allowed);
    assert_true(d.drift);
    assert_true(d.learn);
    json_decref(c);
}

static void test_drift_deny_refuses_a_pair_outside_the_baseline(void **st)
{
    (void)st;
    json_t *c = claims(AGENT);
    struct tool_facts f = base(c);
    f.drift = DRIFT_DENY;
    f.in_baseline = false;
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_false(d.allowed);
    assert_string_equal(d.policy, "drift");
    assert_true(d.drift);
    assert_false(d.learn);
    /* in the baseline: allowed, no alert */
    f.in_baseline = true;
    tool_decide(&f, &d);
    assert_true(d.allowed);
    assert_false(d.drift);
    json_decref(c);
}

static void test_drift_off_allows_and_learns_without_an_alert(void **st)
{
    (void)st;
    json_t *c = claims(AGENT);
    struct tool_facts f = base(c);
    f.drift = DRIFT_OFF;
    f.in_baseline = false;
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_true(d.allowed);
    assert_false(d.drift);
    assert_true(d.learn);
    json_decref(c);
}

static void test_a_call_denied_by_an_earlier_rule_raises_no_drift_alert(void **st)
{
    (void)st;
    json_t *c = claims(AGENT);
    struct tool_facts f = base(c);
    f.in_baseline = false;
    f.entry = NULL; /* not in the catalog */
    struct tool_decision d;
    tool_decide(&f, &d);
    assert_false(d.allowed);
    assert_false(d.drift);
    assert_false(d.learn);
    json_decref(c);
}

static void test_tool_names_follow_the_mcp_rule(void **st)
{
    (void)st;
    assert_true(tool_name_valid("search"));
    assert_true(tool_name_valid("a.b-c_D9"));
    assert_false(tool_name_valid(""));
    assert_false(tool_name_valid(NULL));
    assert_false(tool_name_valid("two words"));
    assert_false(tool_name_valid("x/y"));
    assert_false(tool_name_valid("é"));
    char longname[130];
    memset(longname, 'a', 129);
    longname[129] = '\0';
    assert_false(tool_name_valid(longname));
    longname[128] = '\0';
    assert_true(tool_name_valid(longname));
}

static void test_modes_and_risks_parse_only_their_names(void **st)
{
    (void)st;
    assert_int_equal(drift_mode_parse("off"), DRIFT_OFF);
    assert_int_equal(drift_mode_parse("alert"), DRIFT_ALERT);
    assert_int_equal(drift_mode_parse("deny"), DRIFT_DENY);
    assert_int_equal(drift_mode_parse("Deny"), -1);
    assert_int_equal(drift_mode_parse(NULL), -1);
    assert_int_equal(tool_risk_parse("destructive"), TOOL_DESTRUCTIVE);
    assert_int_equal(tool_risk_parse("delete"), -1);
    assert_string_equal(drift_mode_name(DRIFT_DENY), "deny");
    assert_string_equal(tool_risk_name(TOOL_WRITE), "write");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_allowed_call_in_the_baseline_is_allowed_by_the_catalog),
        cmocka_unit_test(test_a_token_that_is_not_active_is_denied),
        cmocka_unit_test(test_another_action_is_denied),
        cmocka_unit_test(test_a_server_that_is_not_the_tenants_is_denied),
        cmocka_unit_test(test_a_token_for_another_server_is_denied),
        cmocka_unit_test(test_a_tool_not_in_the_catalog_is_denied_unless_unknown_tools_allow),
        cmocka_unit_test(test_a_scope_left_out_is_denied),
        cmocka_unit_test(test_approval_session_is_allowed_under_a_session_whose_task_lists_the_tool),
        cmocka_unit_test(test_approval_session_without_a_sid_is_denied),
        cmocka_unit_test(test_approval_session_with_a_task_that_does_not_list_the_tool_is_denied),
        cmocka_unit_test(test_task_details_without_locations_cover_the_tokens_audiences),
        cmocka_unit_test(test_drift_alert_allows_and_raises_an_alert),
        cmocka_unit_test(test_drift_deny_refuses_a_pair_outside_the_baseline),
        cmocka_unit_test(test_drift_off_allows_and_learns_without_an_alert),
        cmocka_unit_test(test_a_call_denied_by_an_earlier_rule_raises_no_drift_alert),
        cmocka_unit_test(test_tool_names_follow_the_mcp_rule),
        cmocka_unit_test(test_modes_and_risks_parse_only_their_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
