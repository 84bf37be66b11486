/*
 * people.c: what token exchange and session grants need to know about a
 * person: who they are (by id or username), their own scopes, and what they
 * consented to a given agent.
 */
#include "storage/store.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "http/http.h"
#include "cache.h"
#include "oauth/grants.h"
#include "policy/delegation.h"

#include <stdio.h>
#include <stdlib.h>

#include <string.h>


int person_find(struct req *r, const char *tenant_id, const char *id, const char *username,
                struct person *out)
{
    memset(out, 0, sizeof *out);
    const char *v[3] = {tenant_id, id, username};
    PGresult *res = db_q(r,
                         "SELECT id, username, scopes::text FROM users WHERE tenant_id = $1 AND "
                         "(($2::text IS NOT NULL AND id::text = $2) OR "
                         "($3::text IS NOT NULL AND username = $3))",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->id = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
    out->username = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
    out->nscopes = pgarray_parse(r->arena, PQgetvalue(res, 0, 2), &out->scopes);
    return 1;
}

int consent_find(struct req *r, const char *tenant_id, const char *user_id, const char *client_id,
                 struct consent *out)
{
    memset(out, 0, sizeof *out);
    const char *v[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(r,
                         "SELECT id, scopes::text, resources::text FROM consents WHERE tenant_id = $1 "
                         "AND user_id = $2::uuid AND client_id = $3",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->id = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
    out->scopes.n = pgarray_parse(r->arena, PQgetvalue(res, 0, 1), &out->scopes.v);
    out->resources.n = pgarray_parse(r->arena, PQgetvalue(res, 0, 2), &out->resources.v);
    return 1;
}

int sessions_live(struct req *r, const char *tenant_id, const char *user_id, const char *client_id,
                  struct deleg_session **out)
{
    *out = NULL;
    const char *v[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(r,
                         "SELECT id, scopes::text, resources::text, "
                         "extract(epoch from expires_at)::bigint FROM grants "
                         "WHERE tenant_id = $1 AND user_id = $2::uuid AND client_id = $3 "
                         "AND kind = 'ciba' AND revoked_at IS NULL AND expires_at > now() "
                         "ORDER BY created_at DESC LIMIT 32",
                         3, v);
    if (!res)
        return -1;
    int n = PQntuples(res);
    struct deleg_session *s = arena_alloc(r->arena, sizeof *s * (size_t)(n + 1));
    int k = 0;
    for (int i = 0; i < n; i++) {
        const char *sid = PQgetvalue(res, i, 0);
        if (revset_has(tenant_id, REV_SESSION, sid))
            continue;
        s[k].sid = arena_strdup(r->arena, sid);
        s[k].scopes.n = pgarray_parse(r->arena, PQgetvalue(res, i, 1), &s[k].scopes.v);
        s[k].resources.n = pgarray_parse(r->arena, PQgetvalue(res, i, 2), &s[k].resources.v);
        s[k].ends_at = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        k++;
    }
    *out = s;
    return k;
}

/* ---- cached lookups (token exchange runs on the event loop) ---- */

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
    if (cache_kv_get(r, kind, tenant_id, key, &v)) {
        if (v) {
            person_from_value(r, v, out);
            *found = 1;
        }
        return H_DONE;
    }
    if (!r->can_block)
        return H_BLOCK;
    unsigned long long ep = cache_epoch();
    int rc = person_find(r, tenant_id, id, username, out);
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

/* "id\t{scopes}\t{resources}" (text[] literals) */
enum hres consent_lookup(struct req *r, const char *tenant_id, const char *user_id,
                         const char *client_id, struct consent *out, int *found)
{
    size_t kl = strlen(user_id) + strlen(client_id) + 2;
    char *key = arena_alloc(r->arena, kl);
    snprintf(key, kl, "%s %s", user_id, client_id);
    const char *v;
    *found = 0;
    memset(out, 0, sizeof *out);
    if (cache_kv_get(r, KV_CONSENT, tenant_id, key, &v)) {
        if (v) {
            const char *t1 = strchr(v, '\t');
            const char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            if (!t1 || !t2)
                return H_DONE;
            out->id = arena_strndup(r->arena, v, (size_t)(t1 - v));
            out->scopes.n = pgarray_parse(r->arena, arena_strndup(r->arena, t1 + 1, (size_t)(t2 - t1 - 1)),
                                          &out->scopes.v);
            out->resources.n = pgarray_parse(r->arena, t2 + 1, &out->resources.v);
            *found = 1;
        }
        return H_DONE;
    }
    if (!r->can_block)
        return H_BLOCK;
    unsigned long long ep = cache_epoch();
    int rc = consent_find(r, tenant_id, user_id, client_id, out);
    if (rc < 0) {
        *found = -1;
        return H_DONE;
    }
    char *val = NULL;
    if (rc == 1) {
        char *sc = pgarray_build_heap(out->scopes.v, out->scopes.n);
        char *rs = pgarray_build_heap(out->resources.v, out->resources.n);
        size_t l = strlen(out->id) + strlen(sc) + strlen(rs) + 3;
        val = malloc(l);
        snprintf(val, l, "%s\t%s\t%s", out->id, sc, rs);
        free(sc);
        free(rs);
    }
    cache_kv_put(ep, KV_CONSENT, tenant_id, key, val);
    free(val);
    *found = rc;
    return H_DONE;
}
