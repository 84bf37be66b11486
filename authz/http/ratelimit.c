/*
 * ratelimit.c: token buckets keyed by tenant and client, in a fixed-size
 * hash table under one mutex per bucket chain stripe. Idle buckets are
 * reused in place, so memory stays bounded by the number of clients seen.
 */
#include "http/ratelimit.h"
#include "util/hash.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RL_BUCKETS 4096
#define RL_STRIPES 64

struct bucket {
    struct bucket *next;
    char *key;
    double tokens;
    double last;
};

static struct bucket *table[RL_BUCKETS];
static pthread_mutex_t stripes[RL_STRIPES];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    for (int i = 0; i < RL_STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool ratelimit_take(const char *tenant_id, const char *client_id, int per_second, int *retry_after)
{
    if (per_second <= 0)
        return true;
    pthread_once(&once, init);
    /* seeded: the client chooses its client_id (util/hash.h) */
    unsigned b = (unsigned)(hash_more(hash_str(tenant_id), client_id) % RL_BUCKETS);
    pthread_mutex_t *mu = &stripes[b % RL_STRIPES];
    size_t tl = strlen(tenant_id), cl = strlen(client_id);
    double now = now_s();
    bool ok;
    pthread_mutex_lock(mu);
    struct bucket *e = table[b];
    while (e && !(strlen(e->key) == tl + 1 + cl && !strncmp(e->key, tenant_id, tl) &&
                  e->key[tl] == '/' && !strcmp(e->key + tl + 1, client_id)))
        e = e->next;
    if (!e) {
        e = malloc(sizeof(*e));
        e->key = malloc(tl + cl + 2);
        memcpy(e->key, tenant_id, tl);
        e->key[tl] = '/';
        memcpy(e->key + tl + 1, client_id, cl + 1);
        e->tokens = per_second;
        e->last = now;
        e->next = table[b];
        table[b] = e;
    }
    e->tokens += (now - e->last) * per_second;
    if (e->tokens > per_second)
        e->tokens = per_second;
    e->last = now;
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
        ok = true;
    } else {
        ok = false;
        *retry_after = (int)ceil((1.0 - e->tokens) / per_second);
        if (*retry_after < 1)
            *retry_after = 1;
    }
    pthread_mutex_unlock(mu);
    return ok;
}
