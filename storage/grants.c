/*
 * grants.c: grants (token families), authorization codes, refresh tokens and
 * revocations. Codes and refresh tokens are stored as keyed hashes only.
 */
#include "storage/grants.h"
#include "storage/db.h"
#include "util/arena.h"
#include "storage/pgarray.h"
#include "crypto/crypto.h"
#include "crypto/cred.h"
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void ts(char *buf, size_t n, int64_t t)
{
    snprintf(buf, n, "%lld", (long long)t);
}

int grant_create(struct dbtx *tx, const char *tenant_id, const char *client_id, const char *user_id,
                 const char *kind, const char *scopes_pg, const char *resources_pg,
                 const char *details_json, int64_t auth_time, int64_t expires_at,
                 char id_out[32])
{
    if (!id_out[0])
        crypto_random_id(id_out, 16);
    char at[24], ex[24];
    ts(at, sizeof at, auth_time);
    ts(ex, sizeof ex, expires_at);
    const char *v[10] = {id_out, tenant_id, client_id, user_id, kind, scopes_pg,
                         resources_pg ? resources_pg : "{}", auth_time ? at : NULL,
                         expires_at ? ex : NULL, details_json};
    return db_q(tx,
                "INSERT INTO grants (id, tenant_id, client_id, user_id, kind, scopes, resources, "
                "auth_time, expires_at, authorization_details) VALUES ($1, $2, $3, $4, $5, "
                "$6::text[], $7::text[], to_timestamp($8::bigint), to_timestamp($9::bigint), "
                "$10::jsonb)",
                10, v)
               ? 0
               : -1;
}

int revocation_record(struct dbtx *tx, const char *tenant_id, enum rev_kind kind, const char *value,
                      int64_t expires_at)
{
    char ex[24];
    ts(ex, sizeof ex, expires_at);
    const char *v[4] = {tenant_id, rev_kind_name(kind), value, ex};
    /* a second revocation of the same thing keeps the later expiry and, for
     * a standing revocation, moves its moment forward (created_at) */
    if (!db_q(tx,
              "INSERT INTO revocations (tenant_id, kind, value, expires_at) "
              "VALUES ($1, $2, $3, to_timestamp($4::bigint)) ON CONFLICT (tenant_id, kind, value) "
              "DO UPDATE SET expires_at = GREATEST(revocations.expires_at, EXCLUDED.expires_at), "
              "created_at = CASE WHEN EXCLUDED.kind IN ('user', 'client', 'act_for', 'impersonate', "
              "'trust') THEN now() ELSE revocations.created_at END",
              4, v))
        return -1;
    revset_add(tenant_id, kind, value, expires_at, (int64_t)time(NULL));
    return 0;
}

int64_t revocation_horizon(void)
{
    return (int64_t)time(NULL) + ACCESS_TOKEN_TTL_MAX + 60;
}

int grant_revoke(struct dbtx *tx, const char *tenant_id, const char *grant_id, const char *reason,
                 int64_t expires_at)
{
    const char *v[3] = {tenant_id, grant_id, reason};
    if (!db_q(tx,
              "UPDATE grants SET revoked_at = coalesce(revoked_at, now()), "
              "revoked_reason = coalesce(revoked_reason, $3) WHERE tenant_id = $1 AND id = $2",
              3, v))
        return -1;
    if (!db_q(tx,
              "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
              "WHERE tenant_id = $1 AND grant_id = $2",
              2, v))
        return -1;
    return revocation_record(tx, tenant_id, REV_GRANT, grant_id, expires_at);
}

int jti_revoke(struct dbtx *tx, const char *tenant_id, const char *jti, int64_t exp)
{
    return revocation_record(tx, tenant_id, REV_JTI, jti, exp);
}

int code_issue(struct dbtx *tx, const char *tenant_id, const char *client_id, const char *user_id,
               const char *redirect_uri, const char *code_challenge, const char *scopes_pg,
               const char *resources_pg, const char *details_json, int64_t auth_time,
               char code_out[64])
{
    char gid[32] = "";
    if (grant_create(tx, tenant_id, client_id, user_id, "authorization_code", scopes_pg,
                     resources_pg, details_json, auth_time, 0, gid) < 0)
        return -1;
    crypto_random_id(code_out, 32);
    char hash[CRYPTO_SECRET_HASH_HEX + 1], at[24];
    crypto_secret_hash(g_secret_pepper, code_out, strlen(code_out), hash);
    ts(at, sizeof at, auth_time);
    const char *v[10] = {hash, tenant_id, gid, client_id, user_id, redirect_uri, code_challenge,
                         scopes_pg, resources_pg ? resources_pg : "{}", at};
    /* RFC 9700 §4.2.1 / OAuth 2.1: codes are short-lived (60 s here) */
    return db_q(tx,
                "INSERT INTO auth_codes (code_hash, tenant_id, grant_id, client_id, user_id, "
                "redirect_uri, code_challenge, scopes, resources, auth_time, expires_at) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8::text[], $9::text[], to_timestamp($10::bigint), "
                "now() + interval '60 seconds')",
                10, v)
               ? 0
               : -1;
}

static const char *col(struct dbtx *tx, PGresult *res, int c)
{
    return PQgetisnull(res, 0, c) ? NULL : arena_strdup(tx->arena, PQgetvalue(res, 0, c));
}

int code_take(struct dbtx *tx, const char *tenant_id, const char *code, struct grant_row *out)
{
    memset(out, 0, sizeof *out);
    char hash[CRYPTO_SECRET_HASH_HEX + 1];
    crypto_secret_hash(g_secret_pepper, code, strlen(code), hash);
    const char *v[2] = {tenant_id, hash};
    PGresult *res = db_q(tx,
                         "SELECT c.grant_id, c.client_id, c.user_id, c.redirect_uri, "
                         "c.code_challenge, c.scopes::text, c.resources::text, "
                         "extract(epoch from c.auth_time)::bigint, c.used_at IS NOT NULL, "
                         "c.expires_at <= now(), g.revoked_at IS NOT NULL, u.scopes::text, "
                         "g.authorization_details::text "
                         "FROM auth_codes c JOIN grants g ON g.id = c.grant_id "
                         "JOIN users u ON u.id = c.user_id "
                         "WHERE c.tenant_id = $1 AND c.code_hash = $2 FOR UPDATE OF c",
                         2, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->grant_id = col(tx, res, 0);
    out->client_id = col(tx, res, 1);
    out->user_id = col(tx, res, 2);
    out->redirect_uri = col(tx, res, 3);
    out->code_challenge = col(tx, res, 4);
    out->scopes_pg = col(tx, res, 5);
    out->resources_pg = col(tx, res, 6);
    out->auth_time = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    out->used = PQgetvalue(res, 0, 8)[0] == 't';
    out->expired = PQgetvalue(res, 0, 9)[0] == 't';
    out->revoked = PQgetvalue(res, 0, 10)[0] == 't';
    out->nscopes = pgarray_parse(tx->arena, out->scopes_pg, &out->scopes);
    out->nresources = pgarray_parse(tx->arena, out->resources_pg, &out->resources);
    out->nuser_scopes = pgarray_parse(tx->arena, PQgetvalue(res, 0, 11), &out->user_scopes);
    out->details_json = col(tx, res, 12);
    if (!out->used && !db_q(tx, "UPDATE auth_codes SET used_at = now() WHERE code_hash = $2 AND tenant_id = $1", 2, v))
        return -1;
    return 1;
}

void refresh_token_new(char token_out[64])
{
    /* SPEC §13: a recognisable credential (crypto/cred.h); refresh tokens
     * made before it (azrt_ and base64url, no checksum) keep working: they
     * are looked up by their keyed hash like these */
    cred_new(CRED_REFRESH, token_out);
}

int refresh_issue(struct dbtx *tx, const char *tenant_id, const char *grant_id,
                  const char *client_id, const char *scopes_pg, const char *resources_pg,
                  int64_t expires_at, char token_out[64])
{
    refresh_token_new(token_out);
    char hash[CRYPTO_SECRET_HASH_HEX + 1], ex[24];
    crypto_secret_hash(g_secret_pepper, token_out, strlen(token_out), hash);
    ts(ex, sizeof ex, expires_at);
    const char *v[7] = {hash, tenant_id, grant_id, client_id, scopes_pg,
                        resources_pg ? resources_pg : "{}", ex};
    return db_q(tx,
                "INSERT INTO refresh_tokens (token_hash, tenant_id, grant_id, client_id, scopes, "
                "resources, expires_at) VALUES ($1, $2, $3, $4, $5::text[], $6::text[], "
                "to_timestamp($7::bigint))",
                7, v)
               ? 0
               : -1;
}

int refresh_successor_get(struct dbtx *tx, const char *tenant_id, const char *old_hash,
                          const char **sealed)
{
    const char *v[2] = {tenant_id, old_hash};
    PGresult *res = db_q(tx,
                         "SELECT successor_sealed FROM refresh_successors WHERE tenant_id = $1 "
                         "AND token_hash = $2 AND retry_until > now()",
                         2, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    *sealed = col(tx, res, 0);
    return 1;
}

int refresh_take(struct dbtx *tx, const char *tenant_id, const char *token, bool lock,
                 struct grant_row *out)
{
    memset(out, 0, sizeof *out);
    char hash[CRYPTO_SECRET_HASH_HEX + 1];
    crypto_secret_hash(g_secret_pepper, token, strlen(token), hash);
    const char *v[2] = {tenant_id, hash};
    PGresult *res = db_q(tx,
                         "SELECT t.grant_id, t.client_id, g.user_id, t.scopes::text, "
                         "t.resources::text, extract(epoch from g.auth_time)::bigint, "
                         "t.rotated_at IS NOT NULL, t.expires_at <= now() OR "
                         "coalesce(g.expires_at <= now(), false), "
                         "t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL, u.scopes::text, "
                         "extract(epoch from g.expires_at)::bigint, "
                         "CASE WHEN g.kind = 'ciba' THEN g.id END, g.authorization_details::text "
                         "FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id "
                         "LEFT JOIN users u ON u.id = g.user_id "
                         "WHERE t.tenant_id = $1 AND t.token_hash = $2",
                         2, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    /* a locking read writes the row (and so needs a commit with a WAL
     * flush): only callers inside a transaction that changes it ask for one */
    if (lock && !db_q(tx, "SELECT 1 FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2 FOR UPDATE", 2, v))
        return -1;
    out->grant_id = col(tx, res, 0);
    out->client_id = col(tx, res, 1);
    out->user_id = col(tx, res, 2);
    out->scopes_pg = col(tx, res, 3);
    out->resources_pg = col(tx, res, 4);
    out->auth_time = PQgetisnull(res, 0, 5) ? 0 : strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    out->used = PQgetvalue(res, 0, 6)[0] == 't';
    out->expired = PQgetvalue(res, 0, 7)[0] == 't';
    out->revoked = PQgetvalue(res, 0, 8)[0] == 't';
    out->nscopes = pgarray_parse(tx->arena, out->scopes_pg, &out->scopes);
    out->nresources = pgarray_parse(tx->arena, out->resources_pg, &out->resources);
    out->nuser_scopes = PQgetisnull(res, 0, 9) ? -1 : pgarray_parse(tx->arena, PQgetvalue(res, 0, 9), &out->user_scopes);
    out->grant_expires_at = PQgetisnull(res, 0, 10) ? 0 : strtoll(PQgetvalue(res, 0, 10), NULL, 10);
    out->sid = col(tx, res, 11);
    out->details_json = col(tx, res, 12);
    out->token_hash = arena_strdup(tx->arena, hash);
    return 1;
}

void grant_jti(const char *grant_id, char out[64])
{
    char rnd[32];
    crypto_random_id(rnd, 12);
    snprintf(out, 64, "%s.%s", grant_id, rnd);
}

void jti_grant(const char *jti, char out[32])
{
    const char *dot = strchr(jti, '.');
    size_t n = dot ? (size_t)(dot - jti) : 0;
    if (n == 0 || n >= 32) {
        out[0] = '\0';
        return;
    }
    memcpy(out, jti, n);
    out[n] = '\0';
}

int grant_record_session_revocation(struct dbtx *tx, const char *tenant_id, const char *sid,
                                    int64_t expires_at)
{
    return revocation_record(tx, tenant_id, REV_SESSION, sid, expires_at);
}
