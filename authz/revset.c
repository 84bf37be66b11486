/*
 * revset.c: the revocation set. Introspection and token exchange consult it
 * in memory; the database table `revocations` is its durable form and
 * NOTIFY authz_revoke carries each new entry to every authzd within
 * milliseconds. Entries leave once everything they revoke has expired.
 */
#include "oauth/grants.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REV_BUCKETS 8192

struct rev {
    struct rev *next;
    int64_t expires_at;
    enum rev_kind kind;
    char *tenant_id;
    char *value;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct rev *buckets[REV_BUCKETS];

const char *rev_kind_name(enum rev_kind k)
{
    return k == REV_JTI ? "jti" : k == REV_GRANT ? "grant" : "session";
}

static unsigned bucket(const char *tenant, enum rev_kind kind, const char *value)
{
    unsigned h = 2166136261u ^ (unsigned)kind;
    for (const char *p = value; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = tenant; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % REV_BUCKETS;
}

void revset_add(const char *tenant_id, enum rev_kind kind, const char *value, int64_t expires_at)
{
    unsigned b = bucket(tenant_id, kind, value);
    pthread_rwlock_wrlock(&lock);
    for (struct rev *e = buckets[b]; e; e = e->next)
        if (e->kind == kind && !strcmp(e->value, value) && !strcmp(e->tenant_id, tenant_id)) {
            if (expires_at > e->expires_at)
                e->expires_at = expires_at;
            pthread_rwlock_unlock(&lock);
            return;
        }
    struct rev *e = malloc(sizeof(*e));
    e->kind = kind;
    e->expires_at = expires_at;
    e->tenant_id = strdup(tenant_id);
    e->value = strdup(value);
    e->next = buckets[b];
    buckets[b] = e;
    pthread_rwlock_unlock(&lock);
}

bool revset_has(const char *tenant_id, enum rev_kind kind, const char *value)
{
    unsigned b = bucket(tenant_id, kind, value);
    bool found = false;
    pthread_rwlock_rdlock(&lock);
    for (struct rev *e = buckets[b]; e; e = e->next)
        if (e->kind == kind && !strcmp(e->value, value) && !strcmp(e->tenant_id, tenant_id)) {
            found = true;
            break;
        }
    pthread_rwlock_unlock(&lock);
    return found;
}

int revset_reload(PGconn *c)
{
    PGresult *res = PQexec(c, "SELECT tenant_id, kind, value, extract(epoch from expires_at)::bigint "
                              "FROM revocations WHERE expires_at > now()");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return -1;
    }
    static struct rev *fresh[REV_BUCKETS];
    for (int i = 0; i < PQntuples(res); i++) {
        const char *k = PQgetvalue(res, i, 1);
        enum rev_kind kind = !strcmp(k, "jti") ? REV_JTI : !strcmp(k, "grant") ? REV_GRANT : REV_SESSION;
        const char *tid = PQgetvalue(res, i, 0), *val = PQgetvalue(res, i, 2);
        unsigned b = bucket(tid, kind, val);
        struct rev *e = malloc(sizeof(*e));
        e->kind = kind;
        e->expires_at = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        e->tenant_id = strdup(tid);
        e->value = strdup(val);
        e->next = fresh[b];
        fresh[b] = e;
    }
    PQclear(res);
    /* entries added locally since the query keep their place: merge the old
     * set into the fresh one rather than dropping it */
    pthread_rwlock_wrlock(&lock);
    for (int b = 0; b < REV_BUCKETS; b++) {
        struct rev *e = buckets[b];
        while (e) {
            struct rev *n = e->next;
            e->next = fresh[b];
            fresh[b] = e;
            e = n;
        }
        buckets[b] = fresh[b];
        fresh[b] = NULL;
    }
    pthread_rwlock_unlock(&lock);
    return 0;
}

void revset_notify(const char *payload)
{
    char tid[64], kind[16], value[512];
    long long exp;
    if (sscanf(payload, "%63s %15s %511s %lld", tid, kind, value, &exp) != 4)
        return;
    enum rev_kind k = !strcmp(kind, "jti") ? REV_JTI : !strcmp(kind, "grant") ? REV_GRANT : REV_SESSION;
    revset_add(tid, k, value, exp);
}

void revset_prune(int64_t now)
{
    pthread_rwlock_wrlock(&lock);
    for (int b = 0; b < REV_BUCKETS; b++) {
        struct rev **pp = &buckets[b];
        while (*pp) {
            struct rev *e = *pp;
            if (e->expires_at < now - 60) {
                *pp = e->next;
                free(e->tenant_id);
                free(e->value);
                free(e);
            } else {
                pp = &e->next;
            }
        }
    }
    pthread_rwlock_unlock(&lock);
}
