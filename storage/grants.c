/*
 * grants.c: grants (token families), authorization codes, refresh tokens and
 * revocations. Codes and refresh tokens are stored as keyed hashes only.
 */
#include "oauth/grants.h"
#include "storage/db.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "cache.h"

#include <stdio.h>
#include <string.h>

static void ts(char *buf, size_t n, int64_t t)
{
    snprintf(buf, n, "%lld", (long long)t);
}

int grant_create(struct req *r, const char *tenant_id, const char *client_id, const char *user_id,
                 const char *kind, const char *scopes_pg, const char *resources_pg,
                 int64_t auth_time, int64_t expires_at, char id_out[32])
{
    crypto_random_id(id_out, 16);
    char at[24], ex[24];
    ts(at, sizeof at, auth_time);
    ts(ex, sizeof ex, expires_at);
    const char *v[9] = {id_out, tenant_id, client_id, user_id, kind, scopes_pg,
                        resources_pg ? resources_pg : "{}", auth_time ? at : NULL,
                        expires_at ? ex : NULL};
    return db_q(r,
                "INSERT INTO grants (id, tenant_id, client_id, user_id, kind, scopes, resources, "
                "auth_time, expires_at) VALUES ($1, $2, $3, $4, $5, $6::text[], $7::text[], "
                "to_timestamp($8::bigint), to_timestamp($9::bigint))",
                9, v)
               ? 0
               : -1;
}

static int record_revocation(struct req *r, const char *tenant_id, enum rev_kind kind,
                             const char *value, int64_t expires_at)
{
    char ex[24];
    ts(ex, sizeof ex, expires_at);
    const char *v[4] = {tenant_id, rev_kind_name(kind), value, ex};
    if (!db_q(r,
              "INSERT INTO revocations (tenant_id, kind, value, expires_at) "
              "VALUES ($1, $2, $3, to_timestamp($4::bigint)) ON CONFLICT (tenant_id, kind, value) "
              "DO UPDATE SET expires_at = GREATEST(revocations.expires_at, EXCLUDED.expires_at)",
              4, v))
        return -1;
    revset_add(tenant_id, kind, value, expires_at);
    return 0;
}

int grant_revoke(struct req *r, const char *tenant_id, const char *grant_id, const char *reason,
                 int64_t expires_at)
{
    const char *v[3] = {tenant_id, grant_id, reason};
    if (!db_q(r,
              "UPDATE grants SET revoked_at = coalesce(revoked_at, now()), "
              "revoked_reason = coalesce(revoked_reason, $3) WHERE tenant_id = $1 AND id = $2",
              3, v))
        return -1;
    if (!db_q(r,
              "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
              "WHERE tenant_id = $1 AND grant_id = $2",
              2, v))
        return -1;
    return record_revocation(r, tenant_id, REV_GRANT, grant_id, expires_at);
}

int jti_revoke(struct req *r, const char *tenant_id, const char *jti, int64_t exp)
{
    return record_revocation(r, tenant_id, REV_JTI, jti, exp);
}

int code_issue(struct req *r, const char *tenant_id, const char *client_id, const char *user_id,
               const char *redirect_uri, const char *code_challenge, const char *scopes_pg,
               const char *resources_pg, int64_t auth_time, char code_out[64])
{
    char gid[32];
    if (grant_create(r, tenant_id, client_id, user_id, "authorization_code", scopes_pg,
                     resources_pg, auth_time, 0, gid) < 0)
        return -1;
    crypto_random_id(code_out, 32);
    char hash[CRYPTO_SECRET_HASH_HEX + 1], at[24];
    crypto_secret_hash(g_secret_pepper, code_out, strlen(code_out), hash);
    ts(at, sizeof at, auth_time);
    const char *v[10] = {hash, tenant_id, gid, client_id, user_id, redirect_uri, code_challenge,
                         scopes_pg, resources_pg ? resources_pg : "{}", at};
    /* RFC 9700 §4.2.1 / OAuth 2.1: codes are short-lived (60 s here) */
    return db_q(r,
                "INSERT INTO auth_codes (code_hash, tenant_id, grant_id, client_id, user_id, "
                "redirect_uri, code_challenge, scopes, resources, auth_time, expires_at) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8::text[], $9::text[], to_timestamp($10::bigint), "
                "now() + interval '60 seconds')",
                10, v)
               ? 0
               : -1;
}
