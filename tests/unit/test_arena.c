/*
 * test_arena.c: unit tests for authz/util/arena.c: the per-request arena,
 * the string buffer, JSON string escaping (RFC 8259 §7) and PostgreSQL
 * array element quoting used to build answers and statement parameters,
 * and the UTF-8 validator every input goes through (RFC 3629 §3-4).
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

#include <jansson.h>

#include "util/arena.h"

/* sb_json_str of s, as a malloc'd string */
static char *json_of(const char *s)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_json_str(&sb, s);
    return sb_steal(&sb, NULL);
}

static void assert_json_of(const char *in, const char *want)
{
    char *got = json_of(in);
    assert_string_equal(got, want);
    free(got);
}

static bool valid(const char *s) { return utf8_valid(s, strlen(s)); }

/* ---- JSON escaping ---- */

static void test_json_str_quotes_plain_text_unchanged(void **state)
{
    (void)state;
    assert_json_of("hello", "\"hello\"");
    assert_json_of("", "\"\"");
    assert_json_of("a/b", "\"a/b\"");
}

static void test_json_str_escapes_quote_and_backslash(void **state)
{
    (void)state;
    assert_json_of("say \"hi\"", "\"say \\\"hi\\\"\"");
    assert_json_of("C:\\path\\", "\"C:\\\\path\\\\\"");
    assert_json_of("\\\"", "\"\\\\\\\"\"");
}

static void test_json_str_escapes_every_control_character(void **state)
{
    (void)state;
    assert_json_of("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    assert_json_of("\x01", "\"\\u0001\"");
    assert_json_of("\x1f", "\"\\u001f\"");
    assert_json_of("\b\f", "\"\\u0008\\u000c\"");
    /* RFC 8259 §7: only U+0000-U+001F must be escaped; DEL may stay */
    assert_json_of("\x7f", "\"\x7f\"");
}

static void test_json_str_passes_utf8_through(void **state)
{
    (void)state;
    assert_json_of("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

static void test_json_str_output_parses_back_to_the_input(void **state)
{
    (void)state;
    char in[200];
    size_t o = 0;
    for (int c = 1; c < 0x80; c++)
        in[o++] = (char)c;
    in[o] = '\0';
    char *lit = json_of(in);
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "[");
    sb_puts(&sb, lit);
    sb_puts(&sb, "]");
    json_error_t je;
    json_t *j = json_loads(sb.buf, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_array_get(j, 0)), in);
    json_decref(j);
    sb_free(&sb);
    free(lit);
}

/* ---- strbuf and arena ---- */

static void test_strbuf_grows_and_steal_resets(void **state)
{
    (void)state;
    struct strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < 1000; i++)
        sb_printf(&sb, "%d,", i % 10);
    assert_int_equal(sb.len, 2000);
    assert_int_equal(strlen(sb.buf), 2000);
    size_t len;
    char *s = sb_steal(&sb, &len);
    assert_int_equal(len, 2000);
    assert_true(!strncmp(s, "0,1,2,", 6));
    assert_null(sb.buf);
    assert_int_equal(sb.len, 0);
    free(s);
    /* stealing an empty buffer gives an empty string, not NULL */
    s = sb_steal(&sb, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
}

static void test_arena_allocations_are_zeroed_aligned_and_independent(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    assert_non_null(a);
    char *prev = NULL;
    for (int i = 1; i < 200; i++) {
        size_t n = (size_t)(i * 37 % 5000 + 1);
        unsigned char *p = arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(p[k], 0);
        memset(p, 0xAB, n);
        if (prev)
            assert_int_equal((unsigned char)prev[0], 0xAB);
        prev = (char *)p;
    }
    /* one large block beyond any chunk size */
    unsigned char *big = arena_alloc(a, 1 << 20);
    assert_non_null(big);
    assert_int_equal(big[(1 << 20) - 1], 0);
    arena_free(a);
}

static void test_arena_string_helpers(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    assert_string_equal(arena_strdup(a, "abc"), "abc");
    assert_string_equal(arena_strndup(a, "abcdef", 3), "abc");
    assert_string_equal(arena_sprintf(a, "%s-%d", "x", 42), "x-42");
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_string_equal(arena_sprintf(a, "%s", big), big);
    arena_free(a);
}

/* ---- UTF-8 ---- */

static void test_utf8_accepts_ascii_and_well_formed_sequences(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(valid("plain ASCII ~"));
    assert_true(valid("\xC2\x80"));             /* U+0080, smallest 2-byte */
    assert_true(valid("\xDF\xBF"));             /* U+07FF */
    assert_true(valid("\xE0\xA0\x80"));         /* U+0800, smallest 3-byte */
    assert_true(valid("\xED\x9F\xBF"));         /* U+D7FF, just below surrogates */
    assert_true(valid("\xEE\x80\x80"));         /* U+E000, just above */
    assert_true(valid("\xEF\xBF\xBF"));         /* U+FFFF */
    assert_true(valid("\xF0\x90\x80\x80"));     /* U+10000, smallest 4-byte */
    assert_true(valid("\xF4\x8F\xBF\xBF"));     /* U+10FFFF, the last code point */
}

static void test_utf8_rejects_overlong_encodings(void **state)
{
    (void)state;
    assert_false(valid("\xC0\xAF"));            /* '/' in 2 bytes */
    assert_false(valid("\xC1\xBF"));
    assert_false(valid("\xE0\x80\xAF"));        /* '/' in 3 bytes */
    assert_false(valid("\xE0\x9F\xBF"));        /* U+07FF in 3 bytes */
    assert_false(valid("\xF0\x80\x80\xAF"));    /* '/' in 4 bytes */
    assert_false(valid("\xF0\x8F\xBF\xBF"));    /* U+FFFF in 4 bytes */
}

static void test_utf8_rejects_surrogates_and_beyond_u10ffff(void **state)
{
    (void)state;
    assert_false(valid("\xED\xA0\x80"));        /* U+D800 */
    assert_false(valid("\xED\xBF\xBF"));        /* U+DFFF */
    assert_false(valid("\xF4\x90\x80\x80"));    /* U+110000 */
    assert_false(valid("\xF5\x80\x80\x80"));
    assert_false(valid("\xF8\x88\x80\x80\x80")); /* 5-byte form */
}

static void test_utf8_rejects_invalid_and_truncated_bytes(void **state)
{
    (void)state;
    assert_false(valid("\xFF"));
    assert_false(valid("\xFE"));
    assert_false(valid("\x80"));                /* lone continuation */
    assert_false(valid("a\xBF" "b"));
    assert_false(valid("\xC3\x28"));            /* bad continuation */
    assert_false(valid("\xC3"));                /* truncated at the end */
    assert_false(valid("\xE2\x82"));
    assert_false(valid("\xF0\x9F\x98"));
    assert_false(valid("\xE2\x82" "a"));
}

static void test_utf8_rejects_nul_and_respects_length(void **state)
{
    (void)state;
    static const char with_nul[] = "a\0b";
    assert_false(utf8_valid(with_nul, 3));
    assert_true(utf8_valid(with_nul, 1));
    /* bytes past n are not looked at, and a sequence may not cross n */
    assert_true(utf8_valid("ab\xFF", 2));
    assert_false(utf8_valid("\xC3\xA9", 1));
    assert_true(utf8_valid("\xC3\xA9", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_str_quotes_plain_text_unchanged),
        cmocka_unit_test(test_json_str_escapes_quote_and_backslash),
        cmocka_unit_test(test_json_str_escapes_every_control_character),
        cmocka_unit_test(test_json_str_passes_utf8_through),
        cmocka_unit_test(test_json_str_output_parses_back_to_the_input),
        cmocka_unit_test(test_strbuf_grows_and_steal_resets),
        cmocka_unit_test(test_arena_allocations_are_zeroed_aligned_and_independent),
        cmocka_unit_test(test_arena_string_helpers),
        cmocka_unit_test(test_utf8_accepts_ascii_and_well_formed_sequences),
        cmocka_unit_test(test_utf8_rejects_overlong_encodings),
        cmocka_unit_test(test_utf8_rejects_surrogates_and_beyond_u10ffff),
        cmocka_unit_test(test_utf8_rejects_invalid_and_truncated_bytes),
        cmocka_unit_test(test_utf8_rejects_nul_and_respects_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
