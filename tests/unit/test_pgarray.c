/*
 * test_pgarray.c: unit tests for storage/pgarray.c, the one builder and the
 * one parser of PostgreSQL text[] literals (array_in / array_out text form):
 * what authz writes quotes every element so that no element is read as
 * syntax, and what PostgreSQL writes back (bare or quoted elements) parses
 * to the same strings.
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

#include "storage/pgarray.h"
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

static void builder_quotes_every_element_and_escapes_quote_and_backslash(void **state)
{
    struct arena *a = *state;
    const char *v[] = {"plain", "a\"b\\c,{d}", "", "NULL", "two words"};
    assert_string_equal(pgarray_build(a, v, 5),
                        "{\"plain\",\"a\\\"b\\\\c,{d}\",\"\",\"NULL\",\"two words\"}");
    assert_string_equal(pgarray_build(a, NULL, 0), "{}");
    struct strbuf sb;
    sb_init(&sb);
    pgarray_append_elem(&sb, "x\"");
    assert_string_equal(sb.buf, "\"x\\\"\"");
    sb_free(&sb);
}

static void parser_reads_back_what_the_builder_wrote(void **state)
{
    struct arena *a = *state;
    const char *v[] = {"plain", "a\"b\\c,{d}", "", "NULL", "https://x.example/cb?q=a,b%7D"};
    const char **out;
    int n = pgarray_parse(a, pgarray_build(a, v, 5), &out);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(out[i], v[i]);
    assert_null(out[5]);
}

static void parser_takes_array_outs_bare_elements(void **state)
{
    struct arena *a = *state;
    const char **out;
    /* array_out writes bare elements when nothing needs quoting */
    int n = pgarray_parse(a, "{openid,mcp:tools,\"two words\",https://api.example/}", &out);
    assert_int_equal(n, 4);
    assert_string_equal(out[0], "openid");
    assert_string_equal(out[1], "mcp:tools");
    assert_string_equal(out[2], "two words");
    assert_string_equal(out[3], "https://api.example/");
}

static void parser_gives_nothing_for_empty_null_and_non_arrays(void **state)
{
    struct arena *a = *state;
    const char **out = (const char **)1;
    assert_int_equal(pgarray_parse(a, "{}", &out), 0);
    assert_non_null(out);
    assert_int_equal(pgarray_parse(a, NULL, &out), 0);
    assert_null(out);
    assert_int_equal(pgarray_parse(a, "", &out), 0);
    assert_int_equal(pgarray_parse(a, "openid", &out), 0);
    /* cut short: what is there is read, nothing past the end */
    assert_int_equal(pgarray_parse(a, "{\"a\",\"b", &out), 2);
    assert_string_equal(out[1], "b");
    assert_int_equal(pgarray_parse(a, "{\"a\\", &out), 1);
}

static void heap_parser_agrees_with_the_arena_parser(void **state)
{
    struct arena *a = *state;
    const char *lit = "{x,\"y,z\",\"q\\\"\"}";
    const char **av;
    char **hv;
    int an = pgarray_parse(a, lit, &av);
    int hn = pgarray_parse_heap(lit, &hv);
    assert_int_equal(an, 3);
    assert_int_equal(hn, an);
    for (int i = 0; i < an; i++) {
        assert_string_equal(hv[i], av[i]);
        free(hv[i]);
    }
    free(hv);
    assert_int_equal(pgarray_parse_heap(NULL, &hv), 0);
    assert_null(hv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(builder_quotes_every_element_and_escapes_quote_and_backslash, setup, teardown),
        cmocka_unit_test_setup_teardown(parser_reads_back_what_the_builder_wrote, setup, teardown),
        cmocka_unit_test_setup_teardown(parser_takes_array_outs_bare_elements, setup, teardown),
        cmocka_unit_test_setup_teardown(parser_gives_nothing_for_empty_null_and_non_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(heap_parser_agrees_with_the_arena_parser, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
