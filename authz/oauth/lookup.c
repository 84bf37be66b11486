/*
 * lookup.c: the people and consents the event-loop handlers need (token
 * exchange, session grants), through the cache: answered from memory when
 * cached, else H_BLOCK (run again on a database worker, which loads them
 * from storage and caches them). A value read from the database is cached
 * only when no invalidation happened since the read began.
 */
#include "oauth/oauth.h"
#include "storage/store.h"
#include "storage/pgarray.h"
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* "id\tusername\t{scopes}" (text[] literal, storage/pgarray.h) */
static void person_from_value(struct req *r, const char *v, struct person *out)
{
    const char *t1 = strchr(v, '\t');
    const char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    out->id = arena_strndup(r->arena, v, t1 ? (size_t)(t1 - v) : strlen(v));
    out->username = t1 ? arena_strndup(r->arena, t1 + 1, t2 ? (size_t)(t2 - t1 - 1) : strlen(t1 + 1)) : "";
    out->nscopes = t2 ? pgarray_parse(r->arena, t2 + 1, &out->scopes) : 0;
}

enum hres person_lookup(struct req *r, const char *tenant_id, const char *id, const char *username,
                        struct person *out, int *found)
{
    enum kv_kind kind = id ? KV_PERSON_ID : KV_PERSON_NAME;
    const char *key = id ? id : username;
    const char *v;
    *found = 0;
    if (cache_kv_get(r->arena, kind, tenant_id, key, &v)) {
        if (v) {
            person_from_value(r, v, out);
            *found = 1;
        }
        return H_DONE;
    }
    if (!r->can_block)
        return H_BLOCK;
    unsigned long long ep = cache_epoch();
    int rc = person_find(&r->tx, tenant_id, id, username, out);
    if (rc < 0) {
        *found = -1;
        return H_DONE;
    }
    char *val = NULL;
    if (rc == 1) {
        char *sc = pgarray_build_heap(out->scopes, out->nscopes);
        size_t l = strlen(out->id) + strlen(out->username) + strlen(sc) + 3;
        val = malloc(l);
        snprintf(val, l, "%s\t%s\t%s", out->id, out->username, sc);
        free(sc);
    }
    cache_kv_put(ep, kind, tenant_id, key, val);
    free(val);
    *found = rc;
    return H_DONE;
}

/* "id\t{scopes}\t{resources}\t<details JSON or empty>" (text[] literals) */
enum hres consent_lookup(struct req *r, const char *tenant_id, const char *user_id,
                         const char *client_id, struct consent *out, int *found)
{
    size_t kl = strlen(user_id) + strlen(client_id) + 2;
    char *key = arena_alloc(r->arena, kl);
    snprintf(key, kl, "%s %s", user_id, client_id);
    const char *v;
    *found = 0;
    memset(out, 0, sizeof *out);
    if (cache_kv_get(r->arena, KV_CONSENT, tenant_id, key, &v)) {
        if (v) {
            const char *t1 = strchr(v, '\t');
            const char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            const char *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
            if (!t1 || !t2 || !t3)
                return H_DONE;
            out->id = arena_strndup(r->arena, v, (size_t)(t1 - v));
            out->scopes.n = pgarray_parse(r->arena, arena_strndup(r->arena, t1 + 1, (size_t)(t2 - t1 - 1)),
                                          &out->scopes.v);
            out->resources.n = pgarray_parse(r->arena, arena_strndup(r->arena, t2 + 1, (size_t)(t3 - t2 - 1)),
                                             &out->resources.v);
            out->details = t3[1] ? arena_strdup(r->arena, t3 + 1) : NULL;
            *found = 1;
        }
        return H_DONE;
    }
    if (!r->can_block)
        return H_BLOCK;
    unsigned long long ep = cache_epoch();
    int rc = consent_find(&r->tx, tenant_id, user_id, client_id, out);
    if (rc < 0) {
        *found = -1;
        return H_DONE;
    }
    char *val = NULL;
    if (rc == 1) {
        char *sc = pgarray_build_heap(out->scopes.v, out->scopes.n);
        char *rs = pgarray_build_heap(out->resources.v, out->resources.n);
        const char *dj = out->details ? out->details : "";
        size_t l = strlen(out->id) + strlen(sc) + strlen(rs) + strlen(dj) + 4;
        val = malloc(l);
        snprintf(val, l, "%s\t%s\t%s\t%s", out->id, sc, rs, dj);
        free(sc);
        free(rs);
    }
    cache_kv_put(ep, KV_CONSENT, tenant_id, key, val);
    free(val);
    *found = rc;
    return H_DONE;
}
