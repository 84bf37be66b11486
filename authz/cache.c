/*
 * cache.c: the tenant and client caches. Lookups take a read lock and a
 * reference; invalidation takes the write lock and drops entries (their
 * memory goes when the last request holding them ends). A global epoch,
 * bumped by every invalidation, keeps a load that raced with a change from
 * caching what it read before the change.
 */
#include "cache.h"
#include "util/arena.h"
#include "log.h"
#include "policy/trust.h"
#include "storage/trust.h"
#include "util/hash.h"
#include "util/limits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

uint8_t g_master_key[32];
uint8_t g_secret_pepper[32];
const char *g_public_url;

#define CLIENT_BUCKETS 4096

struct tentry {
    struct tentry *next;
    struct tenant *t;
};
struct centry {
    struct centry *next;
    struct client *c;
    struct centry *older, *newer;  /* negative entries: oldest first */
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct tentry *tenants;
static struct centry *clients[CLIENT_BUCKETS];
static int nclients;                    /* real clients */
/* Negative entries (unknown client_ids) are counted apart and bounded on
 * their own, the oldest forgotten first: guessing client_ids never keeps
 * real clients out of the cache. */
static struct centry *missing_oldest, *missing_newest;
static int nmissing;
static atomic_ullong epoch;

/* Seeded (util/hash.h): clients choose the client_ids and keys looked up. */
static unsigned client_bucket(const char *tenant_id, const char *client_id)
{
    return (unsigned)(hash_more(hash_str(tenant_id), client_id) % CLIENT_BUCKETS);
}

const char *tenant_id_of(const struct tenant *t) { return t->id; }
const char *client_id_of(const struct client *c) { return c->client_id; }

void tenant_release(struct tenant *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        tenant_free(t);
}

void client_release(struct client *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        client_free(c);
}

bool strlist_has(const struct strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

const struct resource *tenant_resource(const struct tenant *t, const char *uri)
{
    for (int i = 0; i < t->nresources; i++)
        if (strcmp(t->resources[i].uri, uri) == 0)
            return &t->resources[i];
    return NULL;
}

const struct tool_entry *resource_tool(const struct resource *res, const char *name)
{
    /* the catalog is sorted by name in byte order (storage/tenants.c) */
    int lo = 0, hi = res->ntools - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(res->tools[mid].name, name);
        if (c == 0)
            return &res->tools[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static const char *resource_describes(const struct resource *res, const char *scope)
{
    for (int k = 0; k < res->desc_scopes.n && k < res->desc_texts.n; k++)
        if (!strcmp(res->desc_scopes.v[k], scope))
            return res->desc_texts.v[k];
    return NULL;
}

const char *tenant_scope_description(const struct tenant *t, const char *scope,
                                     const char *const *uris, int n)
{
    const char *d = NULL;
    if (n > 0) {
        for (int i = 0; i < n && !d; i++) {
            const struct resource *res = tenant_resource(t, uris[i]);
            if (res)
                d = resource_describes(res, scope);
        }
        return d;
    }
    for (int i = 0; i < t->nresources && !d; i++)
        d = resource_describes(&t->resources[i], scope);
    return d;
}

const struct signing_key *tenant_key(const struct tenant *t, const char *kid)
{
    for (int i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i]->kid, kid) == 0)
            return t->keys[i];
    return NULL;
}

/* ---- public documents kept through an outage ----
 * The JWKS and discovery document of every tenant loaded, kept when its
 * snapshot is dropped (losing the database drops them all: notifications
 * may be missed meanwhile) and answered while the database cannot be
 * reached. Public documents may be stale: a key rotated meanwhile appears
 * once the database is back and the tenant is loaded again; a tenant found
 * gone at a load is forgotten here too. */
struct pub_entry {
    struct pub_entry *next;
    char *slug, *jwks, *metadata;
};
static pthread_rwlock_t pub_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct pub_entry *pubs;

static void pub_entry_free(struct pub_entry *e)
{
    free(e->slug);
    free(e->jwks);
    free(e->metadata);
    free(e);
}

static void public_docs_remember(const struct tenant *t)
{
    struct pub_entry *n = calloc(1, sizeof *n);
    if (!n)
        return;
    n->slug = strdup(t->slug);
    n->jwks = strdup(t->jwks_json);
    n->metadata = strdup(t->metadata_json);
    if (!n->slug || !n->jwks || !n->metadata) {
        pub_entry_free(n);
        return;
    }
    pthread_rwlock_wrlock(&pub_lock);
    struct pub_entry **pp = &pubs;
    while (*pp && strcmp((*pp)->slug, t->slug) != 0)
        pp = &(*pp)->next;
    if (*pp) {
        struct pub_entry *old = *pp;
        n->next = old->next;
        *pp = n;
        pub_entry_free(old);
    } else {
        n->next = pubs;
        pubs = n;
    }
    pthread_rwlock_unlock(&pub_lock);
}

static void public_docs_forget(const char *slug)
{
    pthread_rwlock_wrlock(&pub_lock);
    for (struct pub_entry **pp = &pubs; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->slug, slug)) {
            struct pub_entry *e = *pp;
            *pp = e->next;
            pub_entry_free(e);
            break;
        }
    pthread_rwlock_unlock(&pub_lock);
}

char *cache_public_doc(const char *slug, enum public_doc which)
{
    char *out = NULL;
    pthread_rwlock_rdlock(&pub_lock);
    for (struct pub_entry *e = pubs; e; e = e->next)
        if (!strcmp(e->slug, slug)) {
            out = strdup(which == PUBLIC_JWKS ? e->jwks : e->metadata);
            break;
        }
    pthread_rwlock_unlock(&pub_lock);
    return out;
}

bool cache_tenant(struct dbtx *tx, bool may_load, const char *slug, struct tenant **out)
{
    *out = NULL;
    pthread_rwlock_rdlock(&lock);
    for (struct tentry *e = tenants; e; e = e->next)
        if (strcmp(e->t->slug, slug) == 0) {
            atomic_fetch_add(&e->t->refs, 1);
            *out = e->t;
            break;
        }
    pthread_rwlock_unlock(&lock);
    if (*out)
        return true;
    if (!may_load)
        return false;
    unsigned long long ep = atomic_load(&epoch);
    bool failed = false;
    struct tenant *t = tenant_load(tx->conn, slug, &failed);
    if (failed) {
        tx->down = true;
        return true;
    }
    if (!t) {
        public_docs_forget(slug);
        return true;
    }
    public_docs_remember(t);
    atomic_store(&t->refs, 1); /* the request's reference */
    pthread_rwlock_wrlock(&lock);
    if (atomic_load(&epoch) == ep) {
        bool dup = false;
        for (struct tentry *e = tenants; e; e = e->next)
            if (strcmp(e->t->slug, slug) == 0)
                dup = true;
        if (!dup) {
            struct tentry *e = malloc(sizeof(*e));
            e->t = t;
            e->next = tenants;
            atomic_fetch_add(&t->refs, 1); /* the cache's reference */
            tenants = e;
        }
    }
    pthread_rwlock_unlock(&lock);
    *out = t;
    return true;
}

bool cache_client(struct dbtx *tx, bool may_load, struct tenant *t, const char *client_id,
                  struct client **out)
{
    *out = NULL;
    unsigned b = client_bucket(t->id, client_id);
    struct client *found = NULL;
    pthread_rwlock_rdlock(&lock);
    for (struct centry *e = clients[b]; e; e = e->next)
        if (strcmp(e->c->client_id, client_id) == 0 && strcmp(e->c->tenant_id, t->id) == 0) {
            atomic_fetch_add(&e->c->refs, 1);
            found = e->c;
            break;
        }
    pthread_rwlock_unlock(&lock);
    if (found) {
        if (found->missing) {
            client_release(found);
            return true;
        }
        *out = found;
        return true;
    }
    if (!may_load)
        return false;
    unsigned long long ep = atomic_load(&epoch);
    bool failed = false;
    struct client *c = client_load(tx->conn, t->id, client_id, &failed);
    if (failed) {
        tx->down = true;
        return true;
    }
    if (!c) {
        /* remember that it does not exist, so guessing costs no queries */
        c = calloc(1, sizeof(*c));
        c->missing = true;
        c->tenant_id = strdup(t->id);
        c->client_id = strdup(client_id);
    }
    atomic_store(&c->refs, 1);
    cache_client_put(ep, c);
    if (c->missing) {
        client_release(c);
        return true;
    }
    *out = c;
    return true;
}

/* Takes e out of the negative entries' age list (lock held for writing). */
static void missing_unlink(struct centry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        missing_oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        missing_newest = e->older;
    nmissing--;
}

/* Forgets the oldest unknown client_id (lock held for writing). */
static void missing_forget_oldest(void)
{
    struct centry *old = missing_oldest;
    struct centry **pp = &clients[client_bucket(old->c->tenant_id, old->c->client_id)];
    while (*pp != old)
        pp = &(*pp)->next;
    *pp = old->next;
    missing_unlink(old);
    client_release(old->c);
    free(old);
}

void cache_client_put(unsigned long long seen_epoch, struct client *c)
{
    unsigned b = client_bucket(c->tenant_id, c->client_id);
    pthread_rwlock_wrlock(&lock);
    bool room = c->missing || nclients < AUTHZ_CACHE_CLIENTS_MAX;
    if (atomic_load(&epoch) == seen_epoch && room) {
        bool dup = false;
        for (struct centry *e = clients[b]; e; e = e->next)
            if (strcmp(e->c->client_id, c->client_id) == 0 &&
                strcmp(e->c->tenant_id, c->tenant_id) == 0)
                dup = true;
        if (!dup) {
            if (c->missing && nmissing >= AUTHZ_CACHE_UNKNOWN_CLIENTS_MAX)
                missing_forget_oldest();
            struct centry *e = calloc(1, sizeof(*e));
            e->c = c;
            e->next = clients[b];
            clients[b] = e;
            if (c->missing) {
                e->older = missing_newest;
                if (missing_newest)
                    missing_newest->newer = e;
                else
                    missing_oldest = e;
                missing_newest = e;
                nmissing++;
            } else {
                nclients++;
            }
            atomic_fetch_add(&c->refs, 1);
        }
    }
    pthread_rwlock_unlock(&lock);
}

static void drop(const char *tenant_id)
{
    struct tentry **tp = &tenants;
    while (*tp) {
        struct tentry *e = *tp;
        if (!tenant_id || strcmp(e->t->id, tenant_id) == 0) {
            *tp = e->next;
            tenant_release(e->t);
            free(e);
        } else {
            tp = &e->next;
        }
    }
    for (int b = 0; b < CLIENT_BUCKETS; b++) {
        struct centry **cp = &clients[b];
        while (*cp) {
            struct centry *e = *cp;
            if (!tenant_id || strcmp(e->c->tenant_id, tenant_id) == 0) {
                *cp = e->next;
                if (e->c->missing)
                    missing_unlink(e);
                else
                    nclients--;
                client_release(e->c);
                free(e);
            } else {
                cp = &e->next;
            }
        }
    }
}


/* ---- small keyed values: people and consents ---- */

#define KV_BUCKETS 4096

struct kv_entry {
    struct kv_entry *next;
    enum kv_kind kind;
    char *tenant_id;
    char *key;
    char *value;           /* NULL: known not to exist */
};

static pthread_rwlock_t kv_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct kv_entry *kv[KV_BUCKETS];
static int kv_n;

static unsigned kv_hash(enum kv_kind kind, const char *tenant_id, const char *key)
{
    return (unsigned)((hash_more(hash_str(tenant_id), key) + (unsigned)kind) % KV_BUCKETS);
}

unsigned long long cache_epoch(void)
{
    return atomic_load(&epoch);
}

int cache_kv_get(struct arena *a, enum kv_kind kind, const char *tenant_id, const char *key,
                 const char **value)
{
    unsigned b = kv_hash(kind, tenant_id, key);
    int found = 0;
    pthread_rwlock_rdlock(&kv_lock);
    for (struct kv_entry *e = kv[b]; e; e = e->next)
        if (e->kind == kind && !strcmp(e->key, key) && !strcmp(e->tenant_id, tenant_id)) {
            *value = e->value ? arena_strdup(a, e->value) : NULL;
            found = 1;
            break;
        }
    pthread_rwlock_unlock(&kv_lock);
    return found;
}

void cache_kv_put(unsigned long long seen_epoch, enum kv_kind kind, const char *tenant_id,
                  const char *key, const char *value)
{
    unsigned b = kv_hash(kind, tenant_id, key);
    pthread_rwlock_wrlock(&kv_lock);
    /* a change since the caller read the database: what it read may be old */
    if (atomic_load(&epoch) != seen_epoch || kv_n >= AUTHZ_CACHE_KV_MAX) {
        pthread_rwlock_unlock(&kv_lock);
        return;
    }
    for (struct kv_entry *e = kv[b]; e; e = e->next)
        if (e->kind == kind && !strcmp(e->key, key) && !strcmp(e->tenant_id, tenant_id)) {
            pthread_rwlock_unlock(&kv_lock);
            return;
        }
    struct kv_entry *e = malloc(sizeof(*e));
    e->kind = kind;
    e->tenant_id = strdup(tenant_id);
    e->key = strdup(key);
    e->value = value ? strdup(value) : NULL;
    e->next = kv[b];
    kv[b] = e;
    kv_n++;
    pthread_rwlock_unlock(&kv_lock);
}

/* kind < 0: every kind; tenant_id NULL: every tenant */
static void kv_drop(int kind, const char *tenant_id)
{
    pthread_rwlock_wrlock(&kv_lock);
    atomic_fetch_add(&epoch, 1);
    for (int b = 0; b < KV_BUCKETS; b++) {
        struct kv_entry **pp = &kv[b];
        while (*pp) {
            struct kv_entry *e = *pp;
            if ((kind < 0 || (int)e->kind == kind) && (!tenant_id || !strcmp(e->tenant_id, tenant_id))) {
                *pp = e->next;
                free(e->tenant_id);
                free(e->key);
                free(e->value);
                free(e);
                kv_n--;
            } else {
                pp = &e->next;
            }
        }
    }
    pthread_rwlock_unlock(&kv_lock);
}

void cache_invalidate_consents(const char *tenant_id)
{
    kv_drop(KV_CONSENT, tenant_id);
}

/* ---- trust policies: one immutable set per tenant ---- */

struct tsentry {
    struct tsentry *next;
    struct trust_set *s;
};

static pthread_rwlock_t ts_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct tsentry *sets;
static atomic_ullong ts_epoch;

static void trust_sets_drop(const char *tenant_id)
{
    pthread_rwlock_wrlock(&ts_lock);
    atomic_fetch_add(&ts_epoch, 1);
    struct tsentry **pp = &sets;
    while (*pp) {
        struct tsentry *e = *pp;
        if (!tenant_id || strcmp(e->s->tenant_id, tenant_id) == 0) {
            *pp = e->next;
            trust_set_release(e->s);
            free(e);
        } else {
            pp = &e->next;
        }
    }
    pthread_rwlock_unlock(&ts_lock);
}

bool cache_trust_set(struct dbtx *tx, bool may_load, const char *tid, struct trust_set **out)
{
    *out = NULL;
    pthread_rwlock_rdlock(&ts_lock);
    for (struct tsentry *e = sets; e; e = e->next)
        if (strcmp(e->s->tenant_id, tid) == 0) {
            atomic_fetch_add(&e->s->refs, 1);
            *out = e->s;
            break;
        }
    pthread_rwlock_unlock(&ts_lock);
    if (*out)
        return true;
    if (!may_load)
        return false;
    unsigned long long ep = atomic_load(&ts_epoch);
    bool failed = false;
    struct trust_set *s = trust_set_load(tx->conn, tid, &failed);
    if (!s) {
        tx->down = true;
        return true;
    }
    pthread_rwlock_wrlock(&ts_lock);
    if (atomic_load(&ts_epoch) == ep) {
        bool dup = false;
        for (struct tsentry *e = sets; e; e = e->next)
            if (strcmp(e->s->tenant_id, tid) == 0)
                dup = true;
        if (!dup) {
            struct tsentry *e = malloc(sizeof *e);
            e->s = s;
            e->next = sets;
            sets = e;
            atomic_fetch_add(&s->refs, 1); /* the cache's reference */
        }
    }
    pthread_rwlock_unlock(&ts_lock);
    *out = s;
    return true;
}


void cache_invalidate_tenant(const char *tenant_id)
{
    pthread_rwlock_wrlock(&lock);
    atomic_fetch_add(&epoch, 1);
    drop(tenant_id);
    pthread_rwlock_unlock(&lock);
    kv_drop(-1, tenant_id);           /* people and consents of the tenant */
    trust_sets_drop(tenant_id); /* the tenant's trust policies too */
}

void cache_invalidate_all(void)
{
    pthread_rwlock_wrlock(&lock);
    atomic_fetch_add(&epoch, 1);
    drop(NULL);
    pthread_rwlock_unlock(&lock);
    kv_drop(-1, NULL);
    trust_sets_drop(NULL);
}
