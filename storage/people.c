/*
 * people.c: what token exchange and session grants need to know about a
 * person: who they are (by id or username), their own scopes, and what they
 * consented to a given agent.
 */
#include "storage/store.h"
#include "storage/db.h"
#include "util/arena.h"
#include "storage/pgarray.h"
#include "cache.h"
#include "storage/grants.h"
#include "policy/delegation.h"

#include <stdio.h>
#include <stdlib.h>

#include <string.h>


int person_find(struct dbtx *tx, const char *tenant_id, const char *id, const char *username,
                struct person *out)
{
    memset(out, 0, sizeof *out);
    const char *v[3] = {tenant_id, id, username};
    PGresult *res = db_q(tx,
                         /* SPEC §13: a disabled person is found by no
                          * grant (CIBA login_hint, exchange as subject) */
                         "SELECT id, username, scopes::text FROM users WHERE tenant_id = $1 AND "
                         "status = 'active' AND "
                         "(($2::text IS NOT NULL AND id::text = $2) OR "
                         "($3::text IS NOT NULL AND username = $3))",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->id = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    out->username = arena_strdup(tx->arena, PQgetvalue(res, 0, 1));
    out->nscopes = pgarray_parse(tx->arena, PQgetvalue(res, 0, 2), &out->scopes);
    return 1;
}

int consent_find(struct dbtx *tx, const char *tenant_id, const char *user_id, const char *client_id,
                 struct consent *out)
{
    memset(out, 0, sizeof *out);
    const char *v[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(tx,
                         "SELECT id, scopes::text, resources::text, authorization_details::text "
                         "FROM consents WHERE tenant_id = $1 "
                         "AND user_id = $2::uuid AND client_id = $3",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->id = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    out->scopes.n = pgarray_parse(tx->arena, PQgetvalue(res, 0, 1), &out->scopes.v);
    out->resources.n = pgarray_parse(tx->arena, PQgetvalue(res, 0, 2), &out->resources.v);
    out->details = PQgetisnull(res, 0, 3) ? NULL : arena_strdup(tx->arena, PQgetvalue(res, 0, 3));
    return 1;
}

int sessions_live(struct dbtx *tx, const char *tenant_id, const char *user_id, const char *client_id,
                  struct deleg_session **out)
{
    *out = NULL;
    const char *v[3] = {tenant_id, user_id, client_id};
    PGresult *res = db_q(tx,
                         "SELECT id, scopes::text, resources::text, "
                         "extract(epoch from expires_at)::bigint, authorization_details::text "
                         "FROM grants "
                         "WHERE tenant_id = $1 AND user_id = $2::uuid AND client_id = $3 "
                         "AND kind = 'ciba' AND revoked_at IS NULL AND expires_at > now() "
                         "ORDER BY created_at DESC LIMIT 32",
                         3, v);
    if (!res)
        return -1;
    int n = PQntuples(res);
    struct deleg_session *s = arena_alloc(tx->arena, sizeof *s * (size_t)(n + 1));
    int k = 0;
    for (int i = 0; i < n; i++) {
        const char *sid = PQgetvalue(res, i, 0);
        if (revset_has(tenant_id, REV_SESSION, sid))
            continue;
        s[k].sid = arena_strdup(tx->arena, sid);
        s[k].scopes.n = pgarray_parse(tx->arena, PQgetvalue(res, i, 1), &s[k].scopes.v);
        s[k].resources.n = pgarray_parse(tx->arena, PQgetvalue(res, i, 2), &s[k].resources.v);
        s[k].ends_at = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        s[k].details = PQgetisnull(res, i, 4) ? NULL : arena_strdup(tx->arena, PQgetvalue(res, i, 4));
        k++;
    }
    *out = s;
    return k;
}

