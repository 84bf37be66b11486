/*
 * test_restart_contract.c: the handler restart contract (authz/http/
 * routes.h): a handler run that returns H_BLOCK is run again from the top
 * on a database worker, so it must not have set an answer, added audit
 * rows, set a rotation or taken a database connection. router.c checks
 * http_restart_violation after every H_BLOCK (and aborts in sanitizer and
 * fuzzing builds); these tests pin down what it sees.
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

#include "http/http.h"
#include "http/routes.h"

static struct req *new_req(void)
{
    struct arena *a = arena_new();
    struct req *r = arena_alloc(a, sizeof *r);
    r->arena = a;
    r->kind = RK_OAUTH;
    return r;
}

static void free_req(struct req *r)
{
    free(r->resp_body);
    arena_free(r->arena);
}

static void a_fresh_request_breaks_nothing(void **state)
{
    (void)state;
    struct req *r = new_req();
    assert_null(http_restart_violation(r));
    free_req(r);
}

static void references_and_the_rate_mark_may_be_kept_for_the_next_run(void **state)
{
    (void)state;
    struct req *r = new_req();
    r->tenant = (struct tenant *)(uintptr_t)1; /* only looked at, never followed */
    r->client = (struct client *)(uintptr_t)1;
    r->rate_counted = true;
    r->log_client = "c";
    r->log_tenant = "t";
    assert_null(http_restart_violation(r));
    free_req(r);
}

static void an_error_answer_before_h_block_is_a_breach(void **state)
{
    (void)state;
    struct req *r = new_req();
    resp_error(r, 400, "invalid_request", "x");
    assert_non_null(http_restart_violation(r));
    assert_string_equal(http_restart_violation(r), "it set an answer status");
    free_req(r);
}

static void a_header_alone_before_h_block_is_a_breach(void **state)
{
    (void)state;
    struct req *r = new_req();
    resp_header(r, "Access-Control-Allow-Origin", "*");
    assert_string_equal(http_restart_violation(r), "it set answer headers");
    free_req(r);
}

static void an_audit_row_a_rotation_or_a_connection_is_a_breach(void **state)
{
    (void)state;
    struct req *r = new_req();
    r->tx.naudit = 1;
    assert_string_equal(http_restart_violation(r), "it added audit rows");
    r->tx.naudit = 0;
    r->job.rotation = (struct rotation *)(uintptr_t)1;
    assert_string_equal(http_restart_violation(r), "it set a refresh token rotation");
    r->job.rotation = NULL;
    r->tx.conn = (PGconn *)(uintptr_t)1;
    assert_string_equal(http_restart_violation(r), "it holds a database connection");
    r->tx.conn = NULL;
    assert_null(http_restart_violation(r));
    free_req(r);
}

static void resp_reset_leaves_nothing_the_check_would_see(void **state)
{
    (void)state;
    /* the worker's re-run after a lost connection (storage/db.c) and the
     * loop's hand-over both rely on resp_reset clearing it all */
    struct req *r = new_req();
    resp_error(r, 503, "temporarily_unavailable", "x");
    resp_header(r, "Retry-After", "1");
    r->tx.naudit = 2;
    r->job.rotation = (struct rotation *)(uintptr_t)1;
    resp_reset(r);
    assert_null(http_restart_violation(r));
    free_req(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_fresh_request_breaks_nothing),
        cmocka_unit_test(references_and_the_rate_mark_may_be_kept_for_the_next_run),
        cmocka_unit_test(an_error_answer_before_h_block_is_a_breach),
        cmocka_unit_test(a_header_alone_before_h_block_is_a_breach),
        cmocka_unit_test(an_audit_row_a_rotation_or_a_connection_is_a_breach),
        cmocka_unit_test(resp_reset_leaves_nothing_the_check_would_see),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
