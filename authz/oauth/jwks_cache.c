/*
 * jwks_cache.c: the in-memory cache of JWK Sets fetched from jwks_uri (see
 * jwks_cache.h for the timing rules). One mutex guards the table; a fetch
 * runs without it, with the entry marked busy so that other workers needing
 * the same URI wait for that fetch instead of starting their own, and event
 * loops hand the request to a worker instead of waiting.
 */
#include "oauth/jwks_cache.h"
#include "crypto/jwt.h"
#include "net/fetch.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct uentry {
    struct uentry *next;
    char *uri;
    struct jwks *keys;         /* last good set, or NULL */
    int64_t fetched_at;        /* when keys was fetched */
    int64_t tried_at;          /* last attempt, good or not */
    int64_t used_at;
    const char *error;         /* why the last attempt failed, or NULL */
    int pins;                  /* threads fetching or waiting: not evictable */
    bool busy;                 /* a fetch is running */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t (*clock_fn)(void);

static int64_t now_s(void)
{
    return clock_fn ? clock_fn() : (int64_t)time(NULL);
}

void jwks_cache_clock(int64_t (*fn)(void))
{
    clock_fn = fn;
}
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static struct uentry *entries;
static int nentries;

static void evict_one(void)
{
    struct uentry **victim = NULL;
    for (struct uentry **pp = &entries; *pp; pp = &(*pp)->next)
        if ((*pp)->pins == 0 && (!victim || (*pp)->used_at < (*victim)->used_at))
            victim = pp;
    if (!victim)
        return;
    struct uentry *e = *victim;
    *victim = e->next;
    jwks_release(e->keys);
    free(e->uri);
    free(e);
    nentries--;
}

static struct uentry *entry_for(const char *uri, int64_t now)
{
    for (struct uentry *e = entries; e; e = e->next)
        if (strcmp(e->uri, uri) == 0) {
            e->used_at = now;
            return e;
        }
    if (nentries >= JWKS_MAX_URIS)
        evict_one();
    struct uentry *e = calloc(1, sizeof *e);
    e->uri = strdup(uri);
    e->used_at = now;
    e->next = entries;
    entries = e;
    nentries++;
    return e;
}

/* Whether a token naming kid needs the set fetched now. */
static bool needs_fetch(const struct uentry *e, const char *kid, int64_t now)
{
    if (e->tried_at == 0)
        return true;
    if (!e->keys || now - e->fetched_at >= JWKS_TTL)
        return now - e->tried_at >= JWKS_FAIL_RETRY;
    /* SPEC §7: "refetched at most once a minute on an unknown kid" */
    if (kid && !jwks_has_kid(e->keys, kid))
        return now - e->tried_at >= JWKS_REFETCH;
    return false;
}

/* Whether a request must fetch, or wait for the fetch under way, before it
 * can use the entry for a token naming kid. */
static bool must_fetch_or_wait(const struct uentry *e, const char *kid, int64_t now)
{
    if (e->busy)
        return !e->keys || (kid && !jwks_has_kid(e->keys, kid));
    return needs_fetch(e, kid, now);
}

/* The set to use now, or NULL with *why. */
static struct jwks *usable(const struct uentry *e, int64_t now, const char **why)
{
    if (e->keys && now - e->fetched_at < JWKS_MAX_STALE)
        return jwks_ref(e->keys);
    *why = e->error ? e->error : "the key set could not be fetched";
    return NULL;
}

enum hres jwks_uri_keys(struct req *r, const char *uri, const char *kid, struct jwks **out,
                        const char **why)
{
    *out = NULL;
    int64_t now = now_s();
    pthread_mutex_lock(&mu);
    struct uentry *e = entry_for(uri, now);
    if (!must_fetch_or_wait(e, kid, now)) {
        *out = usable(e, now, why);
        pthread_mutex_unlock(&mu);
        return H_DONE;
    }
    /* the event loop never waits for the network: a fetch thread does */
    if (!r->can_block && !r->can_fetch) {
        pthread_mutex_unlock(&mu);
        r->wants_fetch = true;
        return H_BLOCK;
    }
    /* a fetch already running for this URI is waited for, not repeated */
    e->pins++;
    while (e->busy) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += FETCH_TIMEOUT_MS / 1000 + 1;
        if (pthread_cond_timedwait(&done_cv, &mu, &ts) == ETIMEDOUT)
            break;
    }
    now = now_s();
    if (e->busy || !needs_fetch(e, kid, now)) {
        *out = usable(e, now, why);
        e->pins--;
        pthread_mutex_unlock(&mu);
        return H_DONE;
    }
    e->busy = true;
    e->tried_at = now;
    pthread_mutex_unlock(&mu);

    const char *ferr = NULL;
    struct jwks *ks = NULL;
    json_t *doc = fetch_json(uri, FETCH_TIMEOUT_MS, &ferr);
    if (doc) {
        ks = jwks_parse(doc, 0, &ferr);
        json_decref(doc);
    }
    if (!ks)
        log_msg(LOG_WARN, "fetching the JWK Set at %s failed: %s", uri, ferr);

    pthread_mutex_lock(&mu);
    if (ks) {
        jwks_release(e->keys);
        e->keys = ks;
        e->fetched_at = now_s();
        e->error = NULL;
    } else {
        e->error = ferr;
    }
    e->busy = false;
    pthread_cond_broadcast(&done_cv);
    *out = usable(e, now_s(), why);
    e->pins--;
    pthread_mutex_unlock(&mu);
    return H_DONE;
}
