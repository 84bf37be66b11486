/*
 * test_password.c: unit tests for authz/crypto/password.c, the one place
 * people's passwords are hashed (admin API) and verified (sign-in page):
 * Argon2id in its PHC encoding, salted afresh each time.
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

#include "config.h"
#include "crypto/password.h"

/* cheap parameters: the tests prove the logic, not the cost */
static const struct password_cost CHEAP = {1, 64, 1};

static void a_hash_verifies_its_own_password(void **state)
{
    (void)state;
    char *h = password_hash(&CHEAP, "correct horse battery staple");
    assert_non_null(h);
    assert_true(password_verify(h, "correct horse battery staple"));
    free(h);
}

static void a_wrong_password_is_refused(void **state)
{
    (void)state;
    char *h = password_hash(&CHEAP, "s3cret-Passw0rd");
    assert_non_null(h);
    assert_false(password_verify(h, "s3cret-passw0rd"));
    assert_false(password_verify(h, "s3cret-Passw0rd "));
    assert_false(password_verify(h, ""));
    assert_false(password_verify(h, NULL));
    free(h);
}

static void the_hash_is_argon2id_with_its_cost_and_a_fresh_salt(void **state)
{
    (void)state;
    char *a = password_hash(&CHEAP, "same");
    char *b = password_hash(&CHEAP, "same");
    assert_non_null(a);
    assert_non_null(b);
    const char *prefix = "$argon2id$v=19$m=64,t=1,p=1$";
    assert_int_equal(strncmp(a, prefix, strlen(prefix)), 0);
    assert_string_not_equal(a, b); /* salted afresh */
    assert_true(password_verify(b, "same"));
    free(a);
    free(b);
}

static void a_malformed_or_foreign_hash_never_verifies(void **state)
{
    (void)state;
    char *h = password_hash(&CHEAP, "pw");
    assert_non_null(h);
    /* cut short, and one character of the tag changed */
    char *cut = strndup(h, strlen(h) - 5);
    assert_false(password_verify(cut, "pw"));
    char *flip = strdup(h);
    flip[strlen(flip) - 2] = flip[strlen(flip) - 2] == 'A' ? 'B' : 'A';
    assert_false(password_verify(flip, "pw"));
    /* Argon2i and Argon2d hashes, and what is no hash at all */
    char *i = strdup(h);
    memmove(i + 8, i + 9, strlen(i + 9) + 1); /* "$argon2id$" -> "$argon2i$" */
    assert_false(password_verify(i, "pw"));
    assert_false(password_verify("", "pw"));
    assert_false(password_verify(NULL, "pw"));
    assert_false(password_verify("pw", "pw"));
    assert_false(password_verify("$argon2id$v=19$m=64,t=1,p=1$$", "pw"));
    free(cut);
    free(flip);
    free(i);
    free(h);
}

static void an_unknown_user_never_verifies(void **state)
{
    (void)state;
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.argon2_t_cost = 1;
    cfg.argon2_m_cost_kib = 64;
    cfg.argon2_parallelism = 1;
    g_config = &cfg;
    struct password_cost c = password_cost_configured();
    assert_int_equal(c.t_cost, 1);
    assert_int_equal(c.m_cost_kib, 64);
    assert_false(password_verify_unknown("anything"));
    assert_false(password_verify_unknown(""));
    g_config = NULL;
}

static void without_configuration_the_cost_is_the_configs_default(void **state)
{
    (void)state;
    g_config = NULL;
    struct password_cost c = password_cost_configured();
    assert_int_equal(c.t_cost, 3);
    assert_int_equal(c.m_cost_kib, 65536);
    assert_int_equal(c.parallelism, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hash_verifies_its_own_password),
        cmocka_unit_test(a_wrong_password_is_refused),
        cmocka_unit_test(the_hash_is_argon2id_with_its_cost_and_a_fresh_salt),
        cmocka_unit_test(a_malformed_or_foreign_hash_never_verifies),
        cmocka_unit_test(an_unknown_user_never_verifies),
        cmocka_unit_test(without_configuration_the_cost_is_the_configs_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
