/*
 * test_lists.c: unit tests for the parsers in front of the keyset-paged
 * lists (SPEC §13 "Lists", §7 audit paging) and the console's audit filters:
 * admin_list_cursor (authz/admin/lists.c), console_cursor_parse and
 * console_date_time (authz/web/console_pages.c). Every value refused here
 * reaches no statement: the answer is a 400.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "admin/admin.h"
#include "crypto/crypto.h"
#include "util/arena.h"
#include "web/console.h"

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

/* base64url of s, in a */
static const char *b64(struct arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, b64url_encoded_len(n) + 1);
    b64url_encode(s, n, out);
    return out;
}

static void a_list_cursor_is_microseconds_and_a_uuid(void **state)
{
    struct arena *a = *state;
    const char *us, *id;
    assert_true(admin_list_cursor(b64(a, "1796495667626462:dc32e50d-61e9-4c6b-af00-dec604963b5e"), a,
                                  &us, &id));
    assert_string_equal(us, "1796495667626462");
    assert_string_equal(id, "dc32e50d-61e9-4c6b-af00-dec604963b5e");
}

static void a_list_cursor_that_is_anything_else_is_refused(void **state)
{
    struct arena *a = *state;
    const char *us = NULL, *id = NULL;
    static const char *bad[] = {
        "",                                                      /* nothing */
        "1796495667626462",                                      /* no id */
        ":dc32e50d-61e9-4c6b-af00-dec604963b5e",                 /* no time */
        "-1:dc32e50d-61e9-4c6b-af00-dec604963b5e",               /* negative time */
        "12a:dc32e50d-61e9-4c6b-af00-dec604963b5e",              /* not digits */
        "99999999999999999999:dc32e50d-61e9-4c6b-af00-dec604963b5e", /* 20 digits: beyond bigint */
        "1:DC32E50D-61E9-4C6B-AF00-DEC604963B5E",                /* not as PostgreSQL prints it */
        "1:dc32e50d61e94c6baf00dec604963b5e",                    /* no dashes */
        "1:dc32e50d-61e9-4c6b-af00-dec604963b5",                 /* short */
        "1:dc32e50d-61e9-4c6b-af00-dec604963b5e0",               /* long */
        "1:dc32e50d-61e9-4c6b-af00-dec604963b5g",                /* not hex */
        "1:x' OR '1'='1",                                        /* SQL */
        "9223372036854775808:dc32e50d-61e9-4c6b-af00-dec604963b5e", /* beyond bigint */
        "1:dc32e50d-61e9-4c6b-af00-dec604963b5e:2",              /* a second colon */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(admin_list_cursor(b64(a, bad[i]), a, &us, &id));
    /* not base64url at all, and a NUL inside */
    assert_false(admin_list_cursor("!!!", a, &us, &id));
    assert_false(admin_list_cursor("MQAxOmRj", a, &us, &id));
    assert_false(admin_list_cursor("1:dc32e50d-61e9-4c6b-af00-dec604963b5e", a, &us, &id));
}

static void an_audit_cursor_is_a_signed_time_and_a_row_number(void **state)
{
    struct arena *a = *state;
    const char *us, *id;
    assert_true(console_cursor_parse(a, b64(a, "1796495667626462:42"), true, true, &us, &id));
    assert_string_equal(us, "1796495667626462");
    assert_string_equal(id, "42");
    /* before 1970 */
    assert_true(console_cursor_parse(a, b64(a, "-5:7"), true, true, &us, &id));
    assert_string_equal(us, "-5");
    assert_false(console_cursor_parse(a, b64(a, "-:7"), true, true, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "1-2:7"), true, true, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "1:7a"), true, true, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "1:99999999999999999999"), true, true, &us, &id));
    /* the largest bigint passes, one more does not (PostgreSQL would refuse it) */
    assert_true(console_cursor_parse(a, b64(a, "9223372036854775807:9223372036854775807"), true, true, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "9223372036854775808:1"), true, true, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "1:9223372036854775808"), true, true, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "-9223372036854775809:1"), true, true, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "1:"), true, true, &us, &id));
    assert_false(console_cursor_parse(a, NULL, true, true, &us, &id));
}

static void a_sessions_cursor_names_a_sid_of_base64url_characters(void **state)
{
    struct arena *a = *state;
    const char *us, *id;
    assert_true(console_cursor_parse(a, b64(a, "17:Abc-_09"), false, false, &us, &id));
    assert_string_equal(id, "Abc-_09");
    assert_false(console_cursor_parse(a, b64(a, "-17:Abc"), false, false, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "17:a b"), false, false, &us, &id));
    assert_false(console_cursor_parse(a, b64(a, "17:a'--"), false, false, &us, &id));
    char longid[200] = "1:";
    memset(longid + 2, 'a', 129);
    longid[131] = '\0';
    assert_false(console_cursor_parse(a, b64(a, longid), false, false, &us, &id));
}

static void the_audit_filter_takes_rfc3339_and_datetime_local_only(void **state)
{
    struct arena *a = *state;
    assert_string_equal(console_date_time(a, "2026-12-05T18:00:00Z"), "2026-12-05T18:00:00Z");
    assert_string_equal(console_date_time(a, "2026-12-05T18:00:00.123+01:00"),
                        "2026-12-05T18:00:00.123+01:00");
    /* what <input type="datetime-local"> sends, read as UTC */
    assert_string_equal(console_date_time(a, "2026-12-05T18:00"), "2026-12-05T18:00Z");
    assert_string_equal(console_date_time(a, "2026-12-05T18:00:30"), "2026-12-05T18:00:30Z");
    static const char *bad[] = {"yesterday", "now", "2026-12-05", "2026-12-05T18", "2026-12-05T18:00:0",
                                "2026-12-05T18:00:00.", "2026-12-05T18:00:00+1:00", "2026-12-05T18:00:00Zx",
                                "epoch", "", "'; DROP TABLE audit; --"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(console_date_time(a, bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_list_cursor_is_microseconds_and_a_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(a_list_cursor_that_is_anything_else_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(an_audit_cursor_is_a_signed_time_and_a_row_number, setup, teardown),
        cmocka_unit_test_setup_teardown(a_sessions_cursor_names_a_sid_of_base64url_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(the_audit_filter_takes_rfc3339_and_datetime_local_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
