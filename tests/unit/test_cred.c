/*
 * test_cred.c: unit tests for authz/crypto/cred.c, the recognisable
 * credential format of doc/CREDENTIALS.md (SPEC §13): type prefix, base62
 * body, CRC-32 checksum in base62. A scanner must accept every credential
 * authz makes and refuse any altered one.
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

#include "crypto/cred.h"

static void crc32_is_the_ieee_crc_of_zlib(void **state)
{
    (void)state;
    /* the check value of CRC-32/ISO-HDLC: crc32("123456789") */
    assert_int_equal(cred_crc32("123456789", 9), 0xCBF43926u);
    assert_int_equal(cred_crc32("", 0), 0);
}

static void every_kind_gets_its_prefix_and_passes_the_check(void **state)
{
    (void)state;
    const char *want[] = {"azcs_", "azrt_", "azroot_", "aziat_"};
    for (int k = 0; k < CRED_NKINDS; k++) {
        for (int i = 0; i < 200; i++) {
            char c[CRED_MAX];
            cred_new((enum cred_kind)k, c);
            assert_int_equal(strncmp(c, want[k], strlen(want[k])), 0);
            assert_int_equal(strlen(c), strlen(want[k]) + CRED_BODY_LEN + CRED_CRC_LEN);
            assert_int_equal(cred_check(c), k);
            assert_int_equal(cred_prefix_kind(c), k);
        }
    }
}

static void a_known_credential_checks_as_documented(void **state)
{
    (void)state;
    /* the worked example of doc/CREDENTIALS.md */
    assert_int_equal(cred_check("azcs_0123456789ABCDEFGHIJabcdefghij0123456789" "2qt0J4"),
                     CRED_CLIENT_SECRET);
}

static void one_changed_character_anywhere_fails_the_check(void **state)
{
    (void)state;
    char c[CRED_MAX];
    cred_new(CRED_REFRESH, c);
    size_t n = strlen(c);
    for (size_t i = strlen("azrt_"); i < n; i++) {
        char d[CRED_MAX];
        memcpy(d, c, n + 1);
        d[i] = d[i] == 'a' ? 'b' : 'a';
        assert_int_equal(cred_check(d), -1);
    }
}

static void wrong_length_alphabet_or_prefix_fails(void **state)
{
    (void)state;
    char c[CRED_MAX];
    cred_new(CRED_ROOT, c);
    char d[CRED_MAX + 2];
    strcpy(d, c);
    strcat(d, "0");
    assert_int_equal(cred_check(d), -1);           /* one longer */
    d[strlen(c) - 1] = '\0';
    assert_int_equal(cred_check(d), -1);           /* one shorter */
    strcpy(d, c);
    d[10] = '-';
    assert_int_equal(cred_check(d), -1);           /* not base62 */
    strcpy(d, c);
    memcpy(d, "azrxx_", 6);
    assert_int_equal(cred_check(d), -1);           /* no known prefix */
    assert_int_equal(cred_check(""), -1);
    assert_int_equal(cred_check("azcs_"), -1);
    /* an older refresh token: the prefix without the checksum */
    assert_int_equal(cred_prefix_kind("azrt_abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE"), CRED_REFRESH);
    assert_int_equal(cred_check("azrt_abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE"), -1);
}

static void bodies_are_not_repeated(void **state)
{
    (void)state;
    char a[CRED_MAX], b[CRED_MAX];
    cred_new(CRED_CLIENT_SECRET, a);
    cred_new(CRED_CLIENT_SECRET, b);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32_is_the_ieee_crc_of_zlib),
        cmocka_unit_test(every_kind_gets_its_prefix_and_passes_the_check),
        cmocka_unit_test(a_known_credential_checks_as_documented),
        cmocka_unit_test(one_changed_character_anywhere_fails_the_check),
        cmocka_unit_test(wrong_length_alphabet_or_prefix_fails),
        cmocka_unit_test(bodies_are_not_repeated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
