/*
 * test_text.c: unit tests for authz/util/text.c, the one check of text that
 * people and clients give authz and that it shows back (CIBA
 * binding_message, RFC 7591 client_name & co, admin API names, trust-policy
 * claims, tenant display names): well-formed UTF-8, no control character,
 * a limit in bytes or in characters.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/arena.h"
#include "util/text.h"

static void plain_text_and_utf8_are_printable(void **state)
{
    (void)state;
    assert_true(text_printable("Deploy the release", 100));
    assert_true(text_printable("caf\xC3\xA9 \xF0\x9F\x98\x80", 100));
    assert_true(text_printable("", 10)); /* callers that need text say so */
}

static void control_characters_and_del_are_refused(void **state)
{
    (void)state;
    assert_false(text_printable("tab\there", 20));
    assert_false(text_printable("line\nbreak", 20));
    assert_false(text_printable("cr\r", 20));
    assert_false(text_printable("esc\x1b[31m", 20));
    assert_false(text_printable("del\x7f", 20));
    assert_false(text_printable(NULL, 20));
}

static void malformed_utf8_is_refused(void **state)
{
    (void)state;
    assert_false(text_printable("\xC3", 20));          /* truncated */
    assert_false(text_printable("\xC0\xAF", 20));      /* overlong '/' */
    assert_false(text_printable("\xED\xA0\x80", 20));  /* a surrogate */
    assert_false(text_printable("\xF5\x80\x80\x80", 20));
    assert_false(text_printable("\x80x", 20));         /* a lone continuation byte */
}

static void byte_limit_counts_bytes(void **state)
{
    (void)state;
    assert_true(text_printable("abcd", 4));
    assert_false(text_printable("abcde", 4));
    assert_true(text_printable("caf\xC3\xA9", 5));
    assert_false(text_printable("caf\xC3\xA9", 4));
}

static void character_limit_counts_code_points_and_needs_one(void **state)
{
    (void)state;
    assert_true(text_printable_chars("a", 1));
    assert_true(text_printable_chars("caf\xC3\xA9", 4));
    assert_false(text_printable_chars("caf\xC3\xA9", 3));
    assert_false(text_printable_chars("", 10));
    assert_false(text_printable_chars("nl\n", 20));
    assert_false(text_printable_chars("\xC3", 20));
    assert_false(text_printable_chars(NULL, 20));
    assert_int_equal(utf8_chars(""), 0);
    assert_int_equal(utf8_chars("\xF0\x9F\x98\x80x"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_text_and_utf8_are_printable),
        cmocka_unit_test(control_characters_and_del_are_refused),
        cmocka_unit_test(malformed_utf8_is_refused),
        cmocka_unit_test(byte_limit_counts_bytes),
        cmocka_unit_test(character_limit_counts_code_points_and_needs_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
