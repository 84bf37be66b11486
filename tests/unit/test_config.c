/*
 * test_config.c: unit tests for authz/config.c (SPEC §10): defaults,
 * `key = value` files with `#` comments, unknown keys refused with the key
 * and line named, AUTHZ_<KEY> environment overrides winning over the file,
 * bounds on numbers, and settings that only make sense together.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* mkstemp, setenv under -std=c17 */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

extern char **environ;

/* Removes every AUTHZ_* variable, so that the caller's environment (a test
 * harness exporting AUTHZ_DATABASE_URL, say) cannot change the results. */
static void clear_authz_env(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; *e; e++)
            if (!strncmp(*e, "AUTHZ_", 6)) {
                size_t n = strcspn(*e, "=");
                if (n >= sizeof name)
                    n = sizeof name - 1;
                memcpy(name, *e, n);
                name[n] = '\0';
                break;
            }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

struct fixture {
    char path[64];
    struct config cfg;
    char err[1024];
};

static int setup(void **state)
{
    clear_authz_env();
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->path, sizeof f->path, "/tmp/authz-test-config-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0) {
        free(f);
        return -1;
    }
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_free(&f->cfg);
    unlink(f->path);
    free(f);
    clear_authz_env();
    return 0;
}

static void write_conf(struct fixture *f, const char *text)
{
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* config_load on the fixture's file; the previous result is freed first. */
static int load(struct fixture *f, const char *text)
{
    config_free(&f->cfg);
    f->err[0] = '\0';
    if (text)
        write_conf(f, text);
    return config_load(&f->cfg, text ? f->path : NULL, f->err, sizeof f->err);
}

static void assert_err_contains(const struct fixture *f, const char *needle)
{
    if (!strstr(f->err, needle))
        fail_msg("error message '%s' does not contain '%s'", f->err, needle);
}

static void test_defaults_without_file_or_environment(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->cfg.listen, "127.0.0.1:8080");
    assert_string_equal(f->cfg.public_url, "http://127.0.0.1:8080");
    assert_string_equal(f->cfg.database_url, "dbname=authz");
    assert_string_equal(f->cfg.log_level, "info");
    assert_string_equal(f->cfg.tls_cert, "");
    assert_string_equal(f->cfg.tls_key, "");
    assert_string_equal(f->cfg.master_key_file, "");
    assert_true(f->cfg.threads >= 2);   /* 0 means "two per online core" */
    assert_int_equal(f->cfg.db_pool_size, 8);
    assert_int_equal(f->cfg.max_body_bytes, 65536);
    assert_int_equal(f->cfg.max_act_depth, 5);
    assert_int_equal(f->cfg.token_rate_limit, 0);
}

static void test_file_with_comments_blank_lines_and_spaces_is_parsed(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "# authzd configuration\n"
                             "\n"
                             "   # an indented comment\n"
                             "listen = 127.0.0.1:9999\n"
                             "public_url=https://auth.example.com/\n"
                             "  threads   =   3  \n"
                             "database_url = host=/run/postgresql dbname=authz user=authz\n"
                             "log_level = warn\n"
                             "\t\n"),
                     0);
    assert_string_equal(f->cfg.listen, "127.0.0.1:9999");
    /* a trailing slash is dropped: issuers are public_url + "/t/<slug>" */
    assert_string_equal(f->cfg.public_url, "https://auth.example.com");
    assert_int_equal(f->cfg.threads, 3);
    /* only the first '=' splits key from value */
    assert_string_equal(f->cfg.database_url, "host=/run/postgresql dbname=authz user=authz");
    assert_string_equal(f->cfg.log_level, "warn");
}

static void test_public_url_defaults_to_listen_address(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "listen = 127.0.0.1:7000\n"), 0);
    assert_string_equal(f->cfg.public_url, "http://127.0.0.1:7000");
}

static void test_unknown_key_is_an_error_naming_key_and_line(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "# comment\n\nlisten = 127.0.0.1:1\nno_such_key = 1\n"), -1);
    assert_err_contains(f, "no_such_key");
    assert_err_contains(f, ":4");
    assert_err_contains(f, f->path);
}

static void test_line_without_equals_is_an_error_naming_the_line(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "listen = 127.0.0.1:1\nthreads 4\n"), -1);
    assert_err_contains(f, ":2");
}

static void test_missing_file_is_an_error(void **state)
{
    struct fixture *f = *state;
    f->err[0] = '\0';
    assert_int_equal(config_load(&f->cfg, "/nonexistent/authzd.conf", f->err, sizeof f->err), -1);
    assert_err_contains(f, "/nonexistent/authzd.conf");
}

static void test_environment_overrides_the_file(void **state)
{
    struct fixture *f = *state;
    setenv("AUTHZ_THREADS", "7", 1);
    setenv("AUTHZ_LISTEN", "127.0.0.1:8181", 1);
    setenv("AUTHZ_DATABASE_URL", "dbname=from_env", 1);
    assert_int_equal(load(f, "threads = 2\nlisten = 127.0.0.1:8080\ndatabase_url = dbname=from_file\n"),
                     0);
    assert_int_equal(f->cfg.threads, 7);
    assert_string_equal(f->cfg.listen, "127.0.0.1:8181");
    assert_string_equal(f->cfg.database_url, "dbname=from_env");
}

static void test_environment_alone_sets_keys_over_defaults(void **state)
{
    struct fixture *f = *state;
    setenv("AUTHZ_DB_POOL_SIZE", "16", 1);
    setenv("AUTHZ_LOG_LEVEL", "debug", 1);
    assert_int_equal(load(f, NULL), 0);
    assert_int_equal(f->cfg.db_pool_size, 16);
    assert_string_equal(f->cfg.log_level, "debug");
}

static void test_unknown_authz_environment_variable_is_an_error(void **state)
{
    struct fixture *f = *state;
    setenv("AUTHZ_NO_SUCH_KEY", "1", 1);
    assert_int_equal(load(f, NULL), -1);
    assert_err_contains(f, "AUTHZ_NO_SUCH_KEY");
}

static void test_out_of_range_and_non_numeric_ints_are_rejected(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "threads = 257\n"), -1);
    assert_err_contains(f, "threads");
    assert_int_equal(load(f, "db_pool_size = 0\n"), -1);
    assert_err_contains(f, "db_pool_size");
    assert_int_equal(load(f, "threads = -1\n"), -1);
    assert_int_equal(load(f, "threads = 4x\n"), -1);
    assert_int_equal(load(f, "threads = \n"), -1);
    assert_int_equal(load(f, "max_body_bytes = 1023\n"), -1);
    assert_int_equal(load(f, "threads = 99999999999999999999\n"), -1);
    /* the bounds themselves are accepted */
    assert_int_equal(load(f, "threads = 256\ndb_pool_size = 1\nmax_body_bytes = 1024\n"), 0);
    assert_int_equal(f->cfg.threads, 256);
    assert_int_equal(f->cfg.max_body_bytes, 1024);
}

static void test_out_of_range_environment_value_is_rejected_and_named(void **state)
{
    struct fixture *f = *state;
    setenv("AUTHZ_DB_POOL_SIZE", "100000", 1);
    assert_int_equal(load(f, NULL), -1);
    assert_err_contains(f, "AUTHZ_DB_POOL_SIZE");
}

static void test_tls_cert_without_tls_key_is_rejected(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "tls_cert = /etc/authz/cert.pem\n"), -1);
    assert_err_contains(f, "tls_key");
    assert_int_equal(load(f, "tls_key = /etc/authz/key.pem\n"), -1);
    assert_int_equal(load(f, "tls_cert = /etc/authz/cert.pem\ntls_key = /etc/authz/key.pem\n"), 0);
    assert_string_equal(f->cfg.tls_cert, "/etc/authz/cert.pem");
    assert_string_equal(f->cfg.tls_key, "/etc/authz/key.pem");
}

static void test_invalid_log_level_and_public_url_scheme_are_rejected(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "log_level = verbose\n"), -1);
    assert_err_contains(f, "log_level");
    assert_int_equal(load(f, "public_url = ftp://auth.example.com\n"), -1);
    assert_err_contains(f, "public_url");
}

/* SPEC §10: database_url is a libpq connection string. One that is not is
 * refused at start saying so (libpq would take it for a database name and
 * fail with a socket error), and the message never echoes what could be a
 * password. */
static void test_malformed_database_url_is_rejected_without_echoing_it(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "database_url = authz\n"), -1);
    assert_err_contains(f, "database_url is not a valid libpq connection string");
    assert_int_equal(load(f, "database_url = host=db port\n"), -1);
    assert_err_contains(f, "missing \"=\" after \"port\"");
    assert_int_equal(load(f, "database_url = host=db password=hunter2 secret2\n"), -1);
    assert_err_contains(f, "database_url is not a valid libpq connection string");
    assert_null(strstr(f->err, "secret2"));
    assert_null(strstr(f->err, "hunter2"));
    assert_int_equal(load(f, "database_url = postgres//authz:hunter2@db/authz\n"), -1);
    assert_null(strstr(f->err, "hunter2"));
    assert_int_equal(load(f, "database_url = postgresql://authz:hun%zzter@db/authz\n"), -1);
    assert_null(strstr(f->err, "hun%zz"));
    assert_int_equal(load(f, "database_url = host=db hots=x\n"), -1);
    assert_err_contains(f, "invalid connection option");
    /* conninfo and URI forms are accepted */
    assert_int_equal(load(f, "database_url = host=127.0.0.1 port=5432 dbname=authz user=authz "
                             "password='a b' connect_timeout=1\n"), 0);
    assert_int_equal(load(f, "database_url = postgresql://authz:pw@db:5432/authz?sslmode=require\n"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_without_file_or_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_with_comments_blank_lines_and_spaces_is_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_url_defaults_to_listen_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_is_an_error_naming_key_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_without_equals_is_an_error_naming_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_overrides_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_alone_sets_keys_over_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_authz_environment_variable_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_and_non_numeric_ints_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_environment_value_is_rejected_and_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_cert_without_tls_key_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_log_level_and_public_url_scheme_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_database_url_is_rejected_without_echoing_it, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
