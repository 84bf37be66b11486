/*
 * cimd.c: the clients that are client ID metadata documents (see cimd.h):
 * the in-memory cache shared by every thread, the fetch (net/fetch.c with
 * CIMD's limits), the snapshot of a client built from a valid document
 * (policy/cimd.c's rules), and client_find, which every endpoint uses to
 * find a client by client_id.
 *
 * The table is keyed by the URL (clients choose it: the seeded hash of
 * util/hash.h). Lookups take the read lock and a reference to the client
 * snapshot; a fetch runs without any lock, with the entry marked busy so
 * that other threads needing the same URL wait for it instead of fetching
 * again.
 */
#include "oauth/cimd.h"
#include "policy/cimd.h"
#include "policy/uri.h"
#include "net/fetch.h"
#include "util/hash.h"
#include "util/limits.h"
#include "cache.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKETS 1024

struct entry {
    struct entry *next;
    char *url;
    struct client *client;     /* the document's client, or NULL: refused */
    char *error;               /* why it was refused (client NULL) */
    int64_t expires_at;        /* seconds (CLOCK_MONOTONIC): fetch again after */
    _Atomic int64_t used_at;
    bool busy;                 /* a fetch is running */
    int pins;                  /* threads fetching or waiting: not evictable */
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t wait_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static struct entry *buckets[BUCKETS];
static int nentries;

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static unsigned bucket(const char *url)
{
    return (unsigned)(hash_str(url) % BUCKETS);
}

bool cimd_public_url_loopback(void)
{
    static int known = -1;
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (k < 0) {
        struct uri u;
        const char *why;
        k = g_public_url && uri_parse(g_public_url, &u, &why) == 0 && u.has_authority &&
            uri_host_loopback(u.host.p, u.host.n);
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k == 1;
}

/* under the lock */
static struct entry *find(const char *url)
{
    for (struct entry *e = buckets[bucket(url)]; e; e = e->next)
        if (!strcmp(e->url, url))
            return e;
    return NULL;
}

static void entry_free(struct entry *e)
{
    client_release(e->client);
    free(e->error);
    free(e->url);
    free(e);
}

/* Makes room for one more entry: the least recently used one nobody is
 * fetching or waiting for goes (write lock held). */
static void evict_one(void)
{
    struct entry **victim = NULL;
    for (int b = 0; b < BUCKETS; b++)
        for (struct entry **pp = &buckets[b]; *pp; pp = &(*pp)->next)
            if ((*pp)->pins == 0 && !(*pp)->busy &&
                (!victim || atomic_load(&(*pp)->used_at) < atomic_load(&(*victim)->used_at)))
                victim = pp;
    if (!victim)
        return;
    struct entry *e = *victim;
    *victim = e->next;
    entry_free(e);
    nentries--;
}

void cimd_cache_clear(void)
{
    pthread_rwlock_wrlock(&lock);
    for (int b = 0; b < BUCKETS; b++) {
        struct entry **pp = &buckets[b];
        while (*pp) {
            struct entry *e = *pp;
            if (e->pins || e->busy) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            entry_free(e);
            nentries--;
        }
    }
    pthread_rwlock_unlock(&lock);
}

/* ---- the snapshot of a client described by a valid document ---- */

static void list_dup(struct strlist *l, const char *const *v, int n)
{
    l->v = calloc((size_t)n + 1, sizeof(char *));
    l->n = 0;
    for (int i = 0; l->v && i < n; i++)
        l->v[l->n++] = strdup(v[i]);
}

static struct client *client_from_doc(const char *url, const char *host, const struct cimd_doc *d)
{
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_store(&c->refs, 1);
    c->tenant_id = strdup("");      /* one document serves every tenant */
    c->client_id = strdup(url);
    c->auth_method = strdup(d->auth_method);
    c->client_name = strdup(d->client_name);
    list_dup(&c->grant_types, d->grant_types, d->ngrant_types);
    static const char *const code[] = {"code"};
    list_dup(&c->response_types, code, 1);
    list_dup(&c->redirect_uris, d->redirect_uris, d->nredirect_uris);
    c->cimd = true;
    c->cimd_host = strdup(host);
    c->cimd_loopback_only = d->loopback_only;
    c->jwks = d->jwks ? strdup(d->jwks) : NULL;
    c->jwks_uri = d->jwks_uri ? strdup(d->jwks_uri) : NULL;
    c->bc_delivery = strdup("poll");
    return c;
}

/* ---- the fetch ---- */

/* Fetches and checks the document at url: a client (a reference) and its
 * TTL, or NULL with *error (malloc'd) and the TTL of the refusal. */
static struct client *fetch_document(const char *url, const char *host, int *ttl, char **error)
{
    struct arena *a = arena_new();
    const char *why = NULL;
    struct client *c = NULL;
    /* SPEC §11: "fetched (GET, no redirects followed, ≤ 5 s, ≤ 16 KiB,
     * JSON)"; addresses: "Hosts that resolve to private, link-local or
     * loopback addresses are refused, except loopback when public_url is
     * itself loopback" */
    struct fetch_opts o = {
        .timeout_ms = AUTHZ_CIMD_TIMEOUT_MS,
        .max_body = AUTHZ_CIMD_MAX_BYTES,
        .public_only = true,
        .allow_loopback = cimd_public_url_loopback(),
        .accept = "application/json",
    };
    struct fetch_answer ans;
    *ttl = AUTHZ_CIMD_FAIL_TTL;
    if (fetch_get(url, &o, &ans, &why) < 0) {
        if (why && !strcmp(why, "the answer is too large"))
            why = "the client metadata document is larger than 16 KiB";
        else
            why = arena_sprintf(a, "the client metadata document could not be fetched: %s", why);
    } else if (ans.status >= 300 && ans.status < 400) {
        /* SPEC §11: "no redirects followed" */
        why = arena_sprintf(a,
                            "the client metadata document URL answered with a redirect (HTTP %d); "
                            "redirects are not followed: use the document's own URL as client_id",
                            ans.status);
    } else if (ans.status != 200) {
        why = arena_sprintf(a, "the client metadata document URL answered HTTP %d, not 200",
                            ans.status);
    } else {
        struct cimd_doc d;
        if (cimd_parse(a, url, ans.body, ans.body_len, &d, &why) == 0) {
            c = client_from_doc(url, host, &d);
            if (c)
                *ttl = cimd_cache_ttl(ans.cache_control);
            else
                why = "out of memory";
        }
    }
    if (!c) {
        *error = strdup(why ? why : "the client metadata document was refused");
        log_msg(LOG_INFO, "client metadata document %s refused: %s", url, *error);
    }
    fetch_answer_free(&ans);
    arena_free(a);
    return c;
}

/* Fetches url into its entry (fresh or expired), or waits for the fetch
 * another thread is running. Then answers from the entry. */
static void fetch_into(struct req *r, const char *url, const char *host, struct client **out,
                       const char **why)
{
    pthread_rwlock_wrlock(&lock);
    struct entry *e = find(url);
    if (!e) {
        if (nentries >= AUTHZ_CIMD_CACHE_MAX)
            evict_one();
        e = calloc(1, sizeof *e);
        if (!e || !(e->url = strdup(url))) {
            free(e);
            pthread_rwlock_unlock(&lock);
            *why = "out of memory";
            return;
        }
        unsigned b = bucket(url);
        e->next = buckets[b];
        buckets[b] = e;
        nentries++;
    }
    e->pins++;
    atomic_store(&e->used_at, now_s());
    bool fetch = !e->busy && now_s() >= e->expires_at;
    if (fetch)
        e->busy = true;
    pthread_rwlock_unlock(&lock);

    if (fetch) {
        int ttl;
        char *error = NULL;
        struct client *c = fetch_document(url, host, &ttl, &error);
        pthread_rwlock_wrlock(&lock);
        client_release(e->client);
        free(e->error);
        e->client = c;
        e->error = error;
        e->expires_at = now_s() + ttl;
        e->busy = false;
        pthread_rwlock_unlock(&lock);
        pthread_mutex_lock(&wait_mu);
        pthread_cond_broadcast(&done_cv);
        pthread_mutex_unlock(&wait_mu);
    } else {
        /* another thread fetches it: wait for that fetch (bounded by the
         * fetch's own deadline) */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += AUTHZ_CIMD_TIMEOUT_MS / 1000 + 2;
        pthread_mutex_lock(&wait_mu);
        for (;;) {
            pthread_rwlock_rdlock(&lock);
            bool busy = e->busy;
            pthread_rwlock_unlock(&lock);
            if (!busy || pthread_cond_timedwait(&done_cv, &wait_mu, &ts) == ETIMEDOUT)
                break;
        }
        pthread_mutex_unlock(&wait_mu);
    }

    pthread_rwlock_wrlock(&lock);
    if (e->client) {
        atomic_fetch_add(&e->client->refs, 1);
        *out = e->client;
    } else {
        *why = arena_strdup(r->arena, e->error ? e->error
                                               : "the client metadata document is being fetched; "
                                                 "try again");
    }
    e->pins--;
    pthread_rwlock_unlock(&lock);
}

/* The CIMD client at url for r->tenant. */
static enum hres cimd_client(struct req *r, const char *url, struct client **out, const char **why)
{
    char host[256];
    const struct tenant *t = r->tenant;
    /* SPEC §11: "a client_id that is an https URL with a path (or, while
     * public_url is itself on loopback, an http URL on a loopback host)" */
    if (cimd_url_check(url, cimd_public_url_loopback(), host, why) < 0)
        return H_DONE;
    /* SPEC §11: "Tenant setting cimd_policy: open (default), allowlist
     * (with cimd_hosts, host globs) or off" */
    if (!cimd_host_allowed(t->cimd_policy, t->cimd_hosts.v, t->cimd_hosts.n, host, why))
        return H_DONE;
    /* cached, and not expired: answered from memory */
    pthread_rwlock_rdlock(&lock);
    struct entry *e = find(url);
    if (e && !e->busy && now_s() < e->expires_at) {
        atomic_store(&e->used_at, now_s());
        if (e->client) {
            atomic_fetch_add(&e->client->refs, 1);
            *out = e->client;
        } else {
            *why = arena_strdup(r->arena, e->error);
        }
        pthread_rwlock_unlock(&lock);
        return H_DONE;
    }
    pthread_rwlock_unlock(&lock);
    /* SPEC §11 / issue 13: "A document fetch never blocks an event loop" */
    if (!r->can_block && !r->can_fetch) {
        r->wants_fetch = true;
        return H_BLOCK;
    }
    fetch_into(r, url, host, out, why);
    return H_DONE;
}

enum hres client_find(struct req *r, const char *client_id, struct client **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    if (cimd_client_id_is_url(client_id))
        return cimd_client(r, client_id, out, why);
    if (!cache_client(&r->tx, r->can_block, r->tenant, client_id, out))
        return H_BLOCK;
    return H_DONE;
}
