/*
 * baseline.c: the drift baselines cached per tenant (baseline.h). One table
 * per loaded tenant, keyed by a seeded SipHash of (agent, server, tool):
 * agents choose their tool names. A table is installed only when no
 * invalidation of its tenant came in while it was read, so a stale read
 * never hides a change. At most AUTHZ_BASELINE_PAIRS_MAX pairs are kept per
 * tenant; beyond that the tenant is not cached and every decision that
 * needs its baseline reads it (correct, only slower).
 */
#include "baseline.h"
#include "storage/tools.h"
#include "storage/db.h"
#include "util/hash.h"
#include "util/limits.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct bl_entry {
    struct bl_entry *next;
    uint64_t h;
    char *client_id, *server, *tool;
    int64_t last_used, drift_at;
};

struct bl_table {
    struct bl_table *next;
    char *tenant_id;
    struct bl_entry **b;
    size_t nb, n;
};

static pthread_rwlock_t bl_mu = PTHREAD_RWLOCK_INITIALIZER;
static struct bl_table *tables;
/* bumped by every invalidation: a load installs only when unchanged */
static atomic_ullong bl_gen;

static uint64_t key_hash(const char *client_id, const char *server, const char *tool)
{
    return hash_more(hash_more(hash_str(client_id), server), tool);
}

static void table_free(struct bl_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nb; i++) {
        struct bl_entry *e = t->b[i];
        while (e) {
            struct bl_entry *n = e->next;
            free(e->client_id);
            free(e->server);
            free(e->tool);
            free(e);
            e = n;
        }
    }
    free(t->b);
    free(t->tenant_id);
    free(t);
}

int baseline_get(const char *tenant_id, const char *client_id, const char *server,
                 const char *tool, int64_t *last_used, int64_t *drift_at)
{
    uint64_t h = key_hash(client_id, server, tool);
    int rc = -1;
    pthread_rwlock_rdlock(&bl_mu);
    for (struct bl_table *t = tables; t; t = t->next) {
        if (strcmp(t->tenant_id, tenant_id) != 0)
            continue;
        rc = 0;
        for (struct bl_entry *e = t->b[h % t->nb]; e; e = e->next)
            if (e->h == h && !strcmp(e->client_id, client_id) && !strcmp(e->server, server) &&
                !strcmp(e->tool, tool)) {
                *last_used = e->last_used;
                *drift_at = e->drift_at;
                rc = 1;
                break;
            }
        break;
    }
    pthread_rwlock_unlock(&bl_mu);
    return rc;
}

struct loading {
    struct bl_table *t;
    bool too_many;
};

static void add_row(void *arg, const char *client_id, const char *server, const char *tool,
                    int64_t last_used, int64_t drift_at)
{
    struct loading *l = arg;
    if (l->t->n >= AUTHZ_BASELINE_PAIRS_MAX) {
        l->too_many = true;
        return;
    }
    struct bl_entry *e = calloc(1, sizeof *e);
    e->h = key_hash(client_id, server, tool);
    e->client_id = strdup(client_id);
    e->server = strdup(server);
    e->tool = strdup(tool);
    e->last_used = last_used;
    e->drift_at = drift_at;
    size_t i = e->h % l->t->nb;
    e->next = l->t->b[i];
    l->t->b[i] = e;
    l->t->n++;
}

int baseline_load(struct dbtx *tx, const char *tenant_id, int window_days)
{
    unsigned long long gen = atomic_load(&bl_gen);
    struct loading l = {calloc(1, sizeof(struct bl_table)), false};
    l.t->tenant_id = strdup(tenant_id);
    l.t->nb = 1024;
    l.t->b = calloc(l.t->nb, sizeof(struct bl_entry *));
    if (store_baseline_load(tx, tenant_id, window_days, add_row, &l) < 0) {
        table_free(l.t);
        return -1;
    }
    if (l.too_many) {
        table_free(l.t);
        return 0;
    }
    pthread_rwlock_wrlock(&bl_mu);
    if (atomic_load(&bl_gen) == gen) {
        /* replace any table of the tenant */
        for (struct bl_table **pp = &tables; *pp; pp = &(*pp)->next)
            if (!strcmp((*pp)->tenant_id, tenant_id)) {
                struct bl_table *old = *pp;
                *pp = old->next;
                table_free(old);
                break;
            }
        l.t->next = tables;
        tables = l.t;
        l.t = NULL;
    }
    pthread_rwlock_unlock(&bl_mu);
    table_free(l.t);
    return 0;
}

void baseline_invalidate(const char *tenant_id)
{
    pthread_rwlock_wrlock(&bl_mu);
    atomic_fetch_add(&bl_gen, 1);
    for (struct bl_table **pp = &tables; *pp;) {
        struct bl_table *t = *pp;
        /* an empty payload (a lost LISTEN connection) drops every tenant */
        if (!tenant_id || !*tenant_id || !strcmp(t->tenant_id, tenant_id)) {
            *pp = t->next;
            table_free(t);
        } else {
            pp = &t->next;
        }
    }
    pthread_rwlock_unlock(&bl_mu);
}
