/*
 * revset.c: the revocation set (revset.h). Introspection, token exchange
 * and the admin API consult it in memory; the database table `revocations`
 * is its durable form and NOTIFY authz_revoke carries each new entry to
 * every authzd within milliseconds. Entries leave once everything they
 * revoke has expired. The table is keyed by what clients send (jtis,
 * client ids), so its hash is the process's seeded SipHash.
 */
#include "revset.h"
#include "storage/db.h"
#include "util/hash.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REV_BUCKETS 65536

struct rev {
    struct rev *next;
    int64_t expires_at;
    int64_t at;
    enum rev_kind kind;
    char *tenant_id;
    char *value;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct rev *buckets[REV_BUCKETS];

static const char *const kind_names[REV_NKINDS] = {
    [REV_JTI] = "jti",           [REV_GRANT] = "grant",   [REV_SESSION] = "session",
    [REV_CONSENT] = "consent",   [REV_USER] = "user",     [REV_CLIENT] = "client",
    [REV_ACT_FOR] = "act_for",   [REV_IMPERSONATE] = "impersonate", [REV_TRUST] = "trust",
};

const char *rev_kind_name(enum rev_kind k)
{
    return (unsigned)k < REV_NKINDS ? kind_names[k] : "?";
}

int rev_kind_parse(const char *name, size_t len)
{
    for (int k = 0; k < REV_NKINDS; k++)
        if (strlen(kind_names[k]) == len && !memcmp(kind_names[k], name, len))
            return k;
    return -1;
}

bool rev_kind_standing(enum rev_kind k)
{
    return k == REV_USER || k == REV_CLIENT || k == REV_ACT_FOR || k == REV_IMPERSONATE ||
           k == REV_TRUST;
}

static unsigned bucket(const char *tenant, enum rev_kind kind, const char *value)
{
    uint64_t h = hash_more(hash_str(value), tenant) ^ (uint64_t)kind;
    return (unsigned)(h % REV_BUCKETS);
}

/* under the lock */
static struct rev *find(const char *tenant_id, enum rev_kind kind, const char *value)
{
    for (struct rev *e = buckets[bucket(tenant_id, kind, value)]; e; e = e->next)
        if (e->kind == kind && !strcmp(e->value, value) && !strcmp(e->tenant_id, tenant_id))
            return e;
    return NULL;
}

static struct rev *entry_new(const char *tenant_id, enum rev_kind kind, const char *value,
                             int64_t expires_at, int64_t at)
{
    struct rev *e = malloc(sizeof(*e));
    e->kind = kind;
    e->expires_at = expires_at;
    e->at = at;
    e->tenant_id = strdup(tenant_id);
    e->value = strdup(value);
    return e;
}

void revset_add(const char *tenant_id, enum rev_kind kind, const char *value, int64_t expires_at,
                int64_t at)
{
    pthread_rwlock_wrlock(&lock);
    struct rev *e = find(tenant_id, kind, value);
    if (e) {
        if (expires_at > e->expires_at)
            e->expires_at = expires_at;
        if (at > e->at)
            e->at = at;
    } else {
        unsigned b = bucket(tenant_id, kind, value);
        e = entry_new(tenant_id, kind, value, expires_at, at);
        e->next = buckets[b];
        buckets[b] = e;
    }
    pthread_rwlock_unlock(&lock);
}

bool revset_has(const char *tenant_id, enum rev_kind kind, const char *value)
{
    pthread_rwlock_rdlock(&lock);
    bool found = find(tenant_id, kind, value) != NULL;
    pthread_rwlock_unlock(&lock);
    return found;
}

int64_t revset_at(const char *tenant_id, enum rev_kind kind, const char *value)
{
    pthread_rwlock_rdlock(&lock);
    struct rev *e = find(tenant_id, kind, value);
    int64_t at = e ? e->at : 0;
    pthread_rwlock_unlock(&lock);
    return at;
}

/* under the lock: does an entry kill a token issued at iat */
static bool kills(const char *tenant_id, enum rev_kind kind, const char *value, int64_t iat)
{
    struct rev *e = find(tenant_id, kind, value);
    if (!e)
        return false;
    return !rev_kind_standing(kind) || iat <= e->at;
}

/* under the lock: a token's jti, and the grant it names ("<grant>.<random>") */
static bool jti_killed(const char *tenant_id, const char *jti)
{
    if (kills(tenant_id, REV_JTI, jti, 0))
        return true;
    const char *dot = strchr(jti, '.');
    if (!dot || dot == jti || dot - jti >= 32)
        return false;
    char gid[32];
    memcpy(gid, jti, (size_t)(dot - jti));
    gid[dot - jti] = '\0';
    return kills(tenant_id, REV_GRANT, gid, 0);
}

/* under the lock: one lineage key "kind:value" */
static bool key_killed(const char *tenant_id, const char *key, int64_t iat)
{
    const char *colon = strchr(key, ':');
    if (!colon)
        return false;
    int k = rev_kind_parse(key, (size_t)(colon - key));
    if (k < 0)
        return false;
    if (k == REV_JTI)
        return jti_killed(tenant_id, colon + 1);
    return kills(tenant_id, (enum rev_kind)k, colon + 1, iat);
}

bool revset_token_revoked(const char *tenant_id, const json_t *claims)
{
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    const char *sid = json_string_value(json_object_get(claims, "sid"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *cid = json_string_value(json_object_get(claims, "client_id"));
    int64_t iat = (int64_t)json_integer_value(json_object_get(claims, "iat"));
    const json_t *lin = json_object_get(claims, "lineage");
    const json_t *on = lin ? json_object_get(lin, "on") : NULL;
    bool dead = false;
    pthread_rwlock_rdlock(&lock);
    if ((jti && jti_killed(tenant_id, jti)) || (sid && kills(tenant_id, REV_SESSION, sid, iat)) ||
        (sub && kills(tenant_id, REV_USER, sub, iat)) ||
        (cid && kills(tenant_id, REV_CLIENT, cid, iat)))
        dead = true;
    /* every agent of the chain */
    for (const json_t *a = json_object_get(claims, "act"); !dead && json_is_object(a);
         a = json_object_get(a, "act")) {
        const char *asub = json_string_value(json_object_get(a, "sub"));
        if (asub && kills(tenant_id, REV_CLIENT, asub, iat))
            dead = true;
    }
    if (!dead && json_is_array(on)) {
        size_t i;
        const json_t *k;
        json_array_foreach(on, i, k)
        {
            const char *ks = json_string_value(k);
            if (ks && key_killed(tenant_id, ks, iat)) {
                dead = true;
                break;
            }
        }
    }
    pthread_rwlock_unlock(&lock);
    return dead;
}

int64_t revset_floor(const char *tenant_id, const char *sub, const char *client_id,
                     const char *const *lineage, int nlineage)
{
    int64_t at = 0;
    pthread_rwlock_rdlock(&lock);
    struct rev *e;
    if (sub && (e = find(tenant_id, REV_USER, sub)) && e->at > at)
        at = e->at;
    if (client_id && (e = find(tenant_id, REV_CLIENT, client_id)) && e->at > at)
        at = e->at;
    for (int i = 0; i < nlineage; i++) {
        const char *colon = strchr(lineage[i], ':');
        int k = colon ? rev_kind_parse(lineage[i], (size_t)(colon - lineage[i])) : -1;
        if (k >= 0 && rev_kind_standing((enum rev_kind)k) &&
            (e = find(tenant_id, (enum rev_kind)k, colon + 1)) && e->at > at)
            at = e->at;
    }
    pthread_rwlock_unlock(&lock);
    return at ? at + 1 : 0;
}

int revset_reload(PGconn *c)
{
    PGresult *res = store_revocations_live(c);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *k = PQgetvalue(res, i, 1);
        int kind = rev_kind_parse(k, strlen(k));
        if (kind < 0)
            continue;
        revset_add(PQgetvalue(res, i, 0), (enum rev_kind)kind, PQgetvalue(res, i, 2),
                   strtoll(PQgetvalue(res, i, 3), NULL, 10), strtoll(PQgetvalue(res, i, 4), NULL, 10));
    }
    PQclear(res);
    return 0;
}

/* "<tenant id> <kind> <expires_at> <at> <value>": the value last, since it
 * may hold spaces (an act_for entry) */
void revset_notify(const char *payload)
{
    char tid[64], kind[32];
    long long exp, at;
    int off = 0;
    if (sscanf(payload, "%63s %31s %lld %lld %n", tid, kind, &exp, &at, &off) != 4 || off <= 0 ||
        !payload[off])
        return;
    int k = rev_kind_parse(kind, strlen(kind));
    if (k < 0)
        return;
    revset_add(tid, (enum rev_kind)k, payload + off, exp, at);
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
