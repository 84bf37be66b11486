/*
 * trust.c: trust policies in PostgreSQL (table trust_policies, migration
 * 003) for the admin API and the per-tenant policy cache, and the single-use
 * record of client assertion ids (assertion_jtis, migration 002).
 */
#include "storage/trust.h"
#include "storage/db.h"
#include "util/arena.h"
#include "storage/store.h"
#include "policy/trust.h"
#include "crypto/jwt.h"
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- */
/* admin API                                                         */

#define POLICY_JSON                                                                                \
    "json_build_object('name', name, 'issuer', issuer, 'jwks', jwks, 'jwks_uri', jwks_uri, "      \
    "'audience', audience, 'subject_pattern', subject_pattern, 'required_claims', "               \
    "required_claims, 'max_token_age', max_token_age, 'use', use, 'maps_to_client', "             \
    "maps_to_client, 'user_claim', user_claim, 'created_at', " SQL_TS("created_at") ", "          \
    "'updated_at', " SQL_TS("updated_at") ")"

int store_trust_put(struct dbtx *tx, const struct trust_policy_doc *d)
{
    const char *p[12] = {d->tenant_id,       d->name,          d->issuer,
                         d->jwks,            d->jwks_uri,      d->audience,
                         d->subject_pattern, d->required_claims, d->max_token_age,
                         d->use,             d->maps_to_client, d->user_claim};
    PGresult *res = db_q(tx,
                         "INSERT INTO trust_policies (tenant_id, name, issuer, jwks, jwks_uri, "
                         "audience, subject_pattern, required_claims, max_token_age, use, "
                         "maps_to_client, user_claim) VALUES ($1::uuid, $2, $3, $4::jsonb, $5, $6, "
                         "$7, $8::jsonb, $9::int, $10::text[], $11, $12) "
                         "ON CONFLICT (tenant_id, name) DO UPDATE SET issuer = EXCLUDED.issuer, "
                         "jwks = EXCLUDED.jwks, jwks_uri = EXCLUDED.jwks_uri, "
                         "audience = EXCLUDED.audience, subject_pattern = EXCLUDED.subject_pattern, "
                         "required_claims = EXCLUDED.required_claims, "
                         "max_token_age = EXCLUDED.max_token_age, use = EXCLUDED.use, "
                         "maps_to_client = EXCLUDED.maps_to_client, "
                         "user_claim = EXCLUDED.user_claim, updated_at = now() "
                         "RETURNING (xmax = 0)",
                         12, p);
    if (!res || PQntuples(res) != 1)
        return -1;
    return strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 1 : 0;
}

int store_trust_get(struct dbtx *tx, const char *tenant_id, const char *name, const char **json)
{
    const char *p[2] = {tenant_id, name};
    PGresult *res = db_q(tx,
                         "SELECT " POLICY_JSON "::text FROM trust_policies "
                         "WHERE tenant_id = $1::uuid AND name = $2",
                         2, p);
    if (!res)
        return -1;
    if (PQntuples(res) == 0)
        return 0;
    *json = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    return 1;
}

int store_trust_list(struct dbtx *tx, const char *tenant_id, const char **json)
{
    const char *p[1] = {tenant_id};
    PGresult *res = db_q(tx,
                         "SELECT json_build_object('trust_policies', coalesce(json_agg(" POLICY_JSON
                         " ORDER BY name), '[]'::json))::text FROM trust_policies "
                         "WHERE tenant_id = $1::uuid",
                         1, p);
    if (!res || PQntuples(res) != 1)
        return -1;
    *json = arena_strdup(tx->arena, PQgetvalue(res, 0, 0));
    return 0;
}

int store_trust_delete(struct dbtx *tx, const char *tenant_id, const char *name)
{
    const char *p[2] = {tenant_id, name};
    PGresult *res = db_q(tx,
                         "DELETE FROM trust_policies WHERE tenant_id = $1::uuid AND name = $2 "
                         "RETURNING 1",
                         2, p);
    if (!res)
        return -1;
    return PQntuples(res) > 0 ? 1 : 0;
}

int store_trust_client_exists(struct dbtx *tx, const char *tenant_id, const char *client_id)
{
    const char *p[2] = {tenant_id, client_id};
    PGresult *res = db_q(tx,
                         "SELECT 1 FROM clients WHERE tenant_id = $1::uuid AND client_id = $2 "
                         "FOR KEY SHARE",
                         2, p);
    if (!res)
        return -1;
    return PQntuples(res) > 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- */
/* the cache's loader                                                */

static char *dup_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

/* Fills p from one row; false when the row does not parse (it was written
 * by the validated admin API, so this means a schema or version mismatch). */
static bool policy_from_row(PGresult *res, int i, struct trust_policy *p, const char **why)
{
    memset(p, 0, sizeof *p);
    p->name = dup_or_null(res, i, 0);
    p->issuer = dup_or_null(res, i, 1);
    p->jwks_uri = dup_or_null(res, i, 3);
    p->audience = dup_or_null(res, i, 4);
    p->subject_pattern = dup_or_null(res, i, 5);
    p->max_token_age = strtoll(PQgetvalue(res, i, 7), NULL, 10);
    p->for_actor = strcmp(PQgetvalue(res, i, 8), "t") == 0;
    p->for_subject = strcmp(PQgetvalue(res, i, 9), "t") == 0;
    p->maps_to_client = dup_or_null(res, i, 10);
    p->user_claim = dup_or_null(res, i, 11);
    p->for_id_jag = PQnfields(res) > 12 && strcmp(PQgetvalue(res, i, 12), "t") == 0;
    if (!p->name || !p->issuer || !p->audience) {
        *why = "missing columns";
        return false;
    }
    if (!PQgetisnull(res, i, 2)) {
        const char *t = PQgetvalue(res, i, 2);
        p->jwks = jwks_parse_text(t, strlen(t), 0, why);
        if (!p->jwks)
            return false;
    } else if (!p->jwks_uri) {
        *why = "neither jwks nor jwks_uri";
        return false;
    }
    const char *rc = PQgetvalue(res, i, 6);
    json_t *o = json_loads(rc, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        *why = "required_claims is not an object";
        return false;
    }
    size_t n = json_object_size(o);
    p->claim_names = calloc(n ? n : 1, sizeof(char *));
    p->claim_values = calloc(n ? n : 1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v)) {
            json_decref(o);
            *why = "a required claim's value is not a string";
            return false;
        }
        p->claim_names[p->nclaims] = strdup(k);
        p->claim_values[p->nclaims] = strdup(json_string_value(v));
        p->nclaims++;
    }
    json_decref(o);
    return true;
}

struct trust_set *trust_set_load(PGconn *c, const char *tenant_id, bool *db_failed)
{
    *db_failed = false;
    const char *p[1] = {tenant_id};
    char err[256];
    PGresult *res = pq_exec(c,
                            "SELECT name, issuer, jwks::text, jwks_uri, audience, subject_pattern, "
                            "required_claims::text, coalesce(max_token_age, 0), "
                            "'actor' = ANY (use), 'subject' = ANY (use), maps_to_client, user_claim, "
                            "'id-jag' = ANY (use) FROM trust_policies WHERE tenant_id = $1::uuid ORDER BY name",
                            1, p, err, sizeof err);
    if (!res) {
        log_msg(LOG_WARN, "loading trust policies failed: %s", err);
        *db_failed = true;
        return NULL;
    }
    int n = PQntuples(res);
    struct trust_set *s = calloc(1, sizeof *s);
    s->v = calloc(n ? (size_t)n : 1, sizeof *s->v);
    s->tenant_id = strdup(tenant_id);
    atomic_init(&s->refs, 1);
    for (int i = 0; i < n; i++) {
        const char *why = NULL;
        if (policy_from_row(res, i, &s->v[s->n], &why)) {
            s->n++;
        } else {
            log_msg(LOG_WARN, "trust policy %s of tenant %s is unusable: %s",
                    PQgetvalue(res, i, 0), tenant_id, why);
            trust_policy_clear(&s->v[s->n]);
        }
    }
    PQclear(res);
    return s;
}

/* ---------------------------------------------------------------- */
/* client assertion ids                                              */

/* Records (tenant, scope, jti) with an insert of that shape ($1 tenant,
 * $2 scope: client or issuer, $3 jti, $4 expiry in seconds): 1 first use,
 * 0 replay, -1 failure. */
static int jti_first_use(struct dbtx *tx, const char *sql, const char *tenant_id,
                         const char *scope, const char *jti, int64_t expires_at)
{
    char exp[32];
    snprintf(exp, sizeof exp, "%lld", (long long)expires_at);
    const char *p[4] = {tenant_id, scope, jti, exp};
    PGresult *res = db_q(tx, sql, 4, p);
    if (!res)
        return -1;
    return PQntuples(res) == 1 ? 1 : 0;
}

static _Atomic int64_t last_prune;

int store_assertion_jti_use(struct dbtx *tx, const char *tenant_id, const char *client_id,
                            const char *jti, int64_t expires_at)
{
    /* ids whose assertion can no longer be accepted anyway are dropped, at
     * most once a minute per process */
    int64_t now = (int64_t)time(NULL), last = atomic_load(&last_prune);
    if (now - last >= 60 && atomic_compare_exchange_strong(&last_prune, &last, now)) {
        if (!db_q(tx, "DELETE FROM assertion_jtis WHERE expires_at < now() - interval '5 minutes'",
                  0, NULL) &&
            tx->down)
            return -1;
    }
    /* RFC 7523 §3 item 7: "The authorization server MAY ensure that JWTs are
     * not replayed by maintaining the set of used jti values for the length
     * of time for which the JWT would be considered valid" */
    return jti_first_use(tx,
                         "INSERT INTO assertion_jtis (tenant_id, client_id, jti, expires_at) "
                         "VALUES ($1::uuid, $2, $3, to_timestamp($4::bigint)) "
                         "ON CONFLICT DO NOTHING RETURNING 1",
                         tenant_id, client_id, jti, expires_at);
}

int store_grant_jti_use(struct dbtx *tx, const char *tenant_id, const char *issuer,
                        const char *jti, int64_t expires_at)
{
    return jti_first_use(tx,
                         "INSERT INTO grant_assertion_jtis (tenant_id, issuer, jti, expires_at) "
                         "VALUES ($1::uuid, $2, $3, to_timestamp($4::bigint)) "
                         "ON CONFLICT DO NOTHING RETURNING 1",
                         tenant_id, issuer, jti, expires_at);
}
