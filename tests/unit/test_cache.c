/*
 * test_cache.c: unit tests for the client cache of authz/cache.c: unknown
 * client_ids (negative entries) are bounded apart from real clients, the
 * oldest forgotten first, so that guessing client_ids never keeps a real
 * client out of the cache (it once did after 100,000 unknown ids). A lookup
 * that cannot block answers MISS exactly when the cache does not hold the
 * client_id: that is how these tests see what is cached.
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

#include "cache.h"
#include "util/limits.h"

static struct client *client_new(const char *tenant_id, const char *client_id, bool missing)
{
    struct client *c = calloc(1, sizeof *c);
    c->tenant_id = strdup(tenant_id);
    c->client_id = strdup(client_id);
    c->missing = missing;
    atomic_store(&c->refs, 1);
    return c;
}

static void put(const char *tenant_id, const char *client_id, bool missing)
{
    struct client *c = client_new(tenant_id, client_id, missing);
    cache_client_put(cache_epoch(), c);
    client_release(c);
}

/* CACHED with *out (NULL for a remembered unknown id), or MISS: not cached */
enum { MISS = 0, CACHED = 1 };
static int lookup(struct tenant *t, const char *client_id, struct client **out)
{
    struct dbtx tx;
    memset(&tx, 0, sizeof tx);
    *out = NULL;
    return cache_client(&tx, false, t, client_id, out) ? CACHED : MISS;
}

static int teardown(void **state)
{
    (void)state;
    cache_invalidate_all();
    return 0;
}

static void real_clients_still_cache_after_100001_unknown_client_ids(void **state)
{
    (void)state;
    struct tenant t = {.id = "tenant-a"};
    char id[32];
    for (int i = 0; i <= 100000; i++) {
        snprintf(id, sizeof id, "guess-%d", i);
        put(t.id, id, true);
    }
    put(t.id, "real-client", false);
    struct client *out;
    assert_int_equal(lookup(&t, "real-client", &out), CACHED);
    assert_non_null(out);
    assert_string_equal(out->client_id, "real-client");
    client_release(out);
}

static void the_oldest_unknown_client_ids_are_forgotten_first(void **state)
{
    (void)state;
    struct tenant t = {.id = "tenant-b"};
    char id[32];
    int n = AUTHZ_CACHE_UNKNOWN_CLIENTS_MAX + 5;
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "guess-%d", i);
        put(t.id, id, true);
    }
    struct client *out;
    /* the newest ones are remembered as unknown: no database query */
    snprintf(id, sizeof id, "guess-%d", n - 1);
    assert_int_equal(lookup(&t, id, &out), CACHED);
    assert_null(out);
    snprintf(id, sizeof id, "guess-%d", 5);
    assert_int_equal(lookup(&t, id, &out), CACHED);
    /* the five oldest were forgotten: the next lookup asks the database */
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "guess-%d", i);
        assert_int_equal(lookup(&t, id, &out), MISS);
    }
}

static void client_ids_are_cached_per_tenant(void **state)
{
    (void)state;
    struct tenant a = {.id = "tenant-c"}, b = {.id = "tenant-d"};
    put(a.id, "shared-name", false);
    struct client *out;
    assert_int_equal(lookup(&a, "shared-name", &out), CACHED);
    assert_non_null(out);
    client_release(out);
    assert_int_equal(lookup(&b, "shared-name", &out), MISS);
}

static void an_invalidation_drops_unknown_ids_and_the_bound_still_holds(void **state)
{
    (void)state;
    struct tenant t = {.id = "tenant-e"};
    char id[32];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "guess-%d", i);
        put(t.id, id, true);
    }
    cache_invalidate_tenant(t.id);
    struct client *out;
    assert_int_equal(lookup(&t, "guess-1", &out), MISS);
    /* the age list is still sound: fill past the bound once more */
    for (int i = 0; i < AUTHZ_CACHE_UNKNOWN_CLIENTS_MAX + 1; i++) {
        snprintf(id, sizeof id, "again-%d", i);
        put(t.id, id, true);
    }
    assert_int_equal(lookup(&t, "again-0", &out), MISS);
    assert_int_equal(lookup(&t, "again-1", &out), CACHED);
}

static void a_load_that_raced_with_an_invalidation_is_not_cached(void **state)
{
    (void)state;
    struct tenant t = {.id = "tenant-f"};
    unsigned long long seen = cache_epoch();
    cache_invalidate_tenant(t.id); /* a change while the load was running */
    struct client *c = client_new(t.id, "stale", false);
    cache_client_put(seen, c);
    client_release(c);
    struct client *out;
    assert_int_equal(lookup(&t, "stale", &out), MISS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(real_clients_still_cache_after_100001_unknown_client_ids, teardown),
        cmocka_unit_test_teardown(the_oldest_unknown_client_ids_are_forgotten_first, teardown),
        cmocka_unit_test_teardown(client_ids_are_cached_per_tenant, teardown),
        cmocka_unit_test_teardown(an_invalidation_drops_unknown_ids_and_the_bound_still_holds, teardown),
        cmocka_unit_test_teardown(a_load_that_raced_with_an_invalidation_is_not_cached, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
