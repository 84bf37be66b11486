/*
 * keys.c: tenant signing keys. A new key is generated, its private half sealed
 * with the tenant's key (AES-256-GCM under the master key), and made active;
 * the key it replaces stays published in the JWKS until the longest-lived
 * token it can have signed has expired (plus a minute of clock leeway).
 */
#include "storage/store.h"
#include "storage/db.h"
#include "crypto/crypto.h"
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_key_rotate(PGconn *c, const char *tenant_id, const char *alg, char *kid_out, char *err,
                     size_t errlen)
{
    int a = sig_alg_parse(alg);
    if (a < 0) {
        snprintf(err, errlen, "unknown signing algorithm %s", alg);
        return -1;
    }
    const char *tv[1] = {tenant_id};
    PGresult *res = pq_exec(c, "SELECT access_token_ttl FROM tenants WHERE id = $1 FOR UPDATE", 1,
                            tv, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "no such tenant");
        return -1;
    }
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    struct signing_key *k = signing_key_generate((enum sig_alg)a);
    if (!k) {
        snprintf(err, errlen, "key generation failed");
        return -1;
    }
    uint8_t *der = NULL, *sealed = NULL;
    size_t derlen = 0, sealedlen = 0;
    char *jwk = signing_key_public_jwk(k);
    int rc = -1;
    if (signing_key_to_der(k, &der, &derlen) < 0 ||
        crypto_seal(g_master_key, tenant_id, k->kid, der, derlen, &sealed, &sealedlen) < 0) {
        snprintf(err, errlen, "sealing the private key failed");
        goto out;
    }
    res = pq_exec(c,
                  "UPDATE signing_keys SET active = false, retired_at = now(), "
                  "publish_until = now() + make_interval(secs => max_token_ttl + 60) "
                  "WHERE tenant_id = $1 AND active",
                  1, tv, err, errlen);
    if (!res)
        goto out;
    PQclear(res);
    const char *v[6] = {tenant_id, k->kid, sig_alg_name(k->alg), jwk, (const char *)sealed, ttl};
    int lens[6] = {0, 0, 0, 0, (int)sealedlen, 0};
    int fmts[6] = {0, 0, 0, 0, 1, 0};
    res = PQexecParams(c,
                       "INSERT INTO signing_keys (tenant_id, kid, alg, public_jwk, sealed_private, "
                       "max_token_ttl) VALUES ($1, $2, $3, $4::jsonb, $5, $6::int)",
                       6, NULL, v, lens, fmts, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
        PQclear(res);
        goto out;
    }
    PQclear(res);
    snprintf(kid_out, 64, "%s", k->kid);
    rc = 0;
out:
    if (der) {
        OPENSSL_cleanse(der, derlen);
        free(der);
    }
    free(sealed);
    free(jwk);
    signing_key_free(k);
    return rc;
}

/* SPEC §9: authzd "refuses to start ... when the master key cannot open the
 * tenants' keys", and /readyz says when the keys are not ready. One key per
 * tenant is enough to tell a wrong master key: its active one. Unsealing is
 * an HKDF and an AES-GCM open of a few hundred bytes, cheap enough for every
 * tenant at start and for the newest keys on every /readyz. */
int store_keys_check(PGconn *c, int limit, int *checked, char *bad, size_t badlen, char *err,
                     size_t errlen)
{
    *checked = 0;
    if (badlen)
        bad[0] = '\0';
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *v[1] = {limit > 0 ? lim : NULL}; /* LIMIT NULL: every tenant */
    /* binary results: the sealed key is bytes; the text columns come as
     * their bytes too (no terminating NUL: copied with their length) */
    PGresult *res = PQexecParams(c,
                                 "SELECT t.slug, k.tenant_id::text, k.kid, k.sealed_private "
                                 "FROM signing_keys k JOIN tenants t ON t.id = k.tenant_id "
                                 "WHERE k.active ORDER BY k.created_at DESC LIMIT $1::int",
                                 1, NULL, v, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    int nbad = 0;
    size_t used = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        char slug[64], tenant_id[64], kid[64];
        snprintf(slug, sizeof slug, "%.*s", PQgetlength(res, i, 0), PQgetvalue(res, i, 0));
        snprintf(tenant_id, sizeof tenant_id, "%.*s", PQgetlength(res, i, 1), PQgetvalue(res, i, 1));
        snprintf(kid, sizeof kid, "%.*s", PQgetlength(res, i, 2), PQgetvalue(res, i, 2));
        uint8_t *der = NULL;
        size_t derlen = 0;
        (*checked)++;
        if (crypto_open(g_master_key, tenant_id, kid, (const uint8_t *)PQgetvalue(res, i, 3),
                        (size_t)PQgetlength(res, i, 3), &der, &derlen) == 0) {
            OPENSSL_cleanse(der, derlen);
            free(der);
            continue;
        }
        nbad++;
        /* name the first few; the count says how many there are */
        if (nbad <= 5 && used < badlen) {
            int w = snprintf(bad + used, badlen - used, "%s%s", nbad > 1 ? ", " : "", slug);
            used = w < 0 ? badlen : used + (size_t)w;
        }
    }
    PQclear(res);
    return nbad;
}
