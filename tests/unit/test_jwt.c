/*
 * test_jwt.c: unit tests for authz/crypto/jwt.c, the verifier of JWTs that
 * authz did not sign (client assertions, workload tokens): strict compact
 * parsing, JWK to key conversion, key selection by kid, algorithm/key
 * agreement (alg none, HS256 with the public key as the secret, wrong curve,
 * wrong key type, the JWK's own alg), raw ECDSA signatures, size limits and
 * the NumericDate checks with leeway.
 *
 * Keys are generated per run with OpenSSL; tokens are signed here with
 * OpenSSL directly (not with authz's signer) so that any header can be made.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "crypto/crypto.h"
#include "crypto/jwt.h"

/* ---------------------------------------------------------------- */
/* helpers                                                           */

static EVP_PKEY *k_p256, *k_p256b, *k_p384, *k_ed, *k_rsa, *k_rsa1024;

static char *b64(const void *p, size_t n)
{
    char *out = malloc(b64url_encoded_len(n) + 1);
    assert_non_null(out);
    b64url_encode(p, n, out);
    return out;
}

static char *b64_bn(const BIGNUM *bn, int pad)
{
    int n = pad ? pad : BN_num_bytes(bn);
    unsigned char *buf = malloc((size_t)n);
    assert_int_equal(BN_bn2binpad(bn, buf, n), n);
    char *s = b64(buf, (size_t)n);
    free(buf);
    return s;
}

/* The public JWK of k with the given kid and alg (NULL: member left out). */
static json_t *jwk_of(EVP_PKEY *k, const char *kid, const char *alg)
{
    json_t *j = json_object();
    if (EVP_PKEY_is_a(k, "EC")) {
        BIGNUM *x = NULL, *y = NULL;
        int coord = EVP_PKEY_get_bits(k) == 384 ? 48 : 32;
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
        char *xs = b64_bn(x, coord), *ys = b64_bn(y, coord);
        json_object_set_new(j, "kty", json_string("EC"));
        json_object_set_new(j, "crv", json_string(coord == 48 ? "P-384" : "P-256"));
        json_object_set_new(j, "x", json_string(xs));
        json_object_set_new(j, "y", json_string(ys));
        free(xs);
        free(ys);
        BN_free(x);
        BN_free(y);
    } else if (EVP_PKEY_is_a(k, "RSA")) {
        BIGNUM *n = NULL, *e = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
        char *ns = b64_bn(n, 0), *es = b64_bn(e, 0);
        json_object_set_new(j, "kty", json_string("RSA"));
        json_object_set_new(j, "n", json_string(ns));
        json_object_set_new(j, "e", json_string(es));
        free(ns);
        free(es);
        BN_free(n);
        BN_free(e);
    } else {
        unsigned char raw[32];
        size_t rl = sizeof raw;
        assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &rl), 1);
        char *xs = b64(raw, rl);
        json_object_set_new(j, "kty", json_string("OKP"));
        json_object_set_new(j, "crv", json_string("Ed25519"));
        json_object_set_new(j, "x", json_string(xs));
        free(xs);
    }
    if (kid)
        json_object_set_new(j, "kid", json_string(kid));
    if (alg)
        json_object_set_new(j, "alg", json_string(alg));
    return j;
}

/* A JWK Set of the given JWKs (references stolen). */
static struct jwks *set_of(int flags, int n, ...)
{
    json_t *keys = json_array();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        json_array_append_new(keys, va_arg(ap, json_t *));
    va_end(ap);
    json_t *set = json_pack("{s:o}", "keys", keys);
    const char *why = NULL;
    struct jwks *ks = jwks_parse(set, flags, &why);
    json_decref(set);
    return ks;
}

/* header.payload.signature from JSON texts and raw signature bytes */
static char *assemble(const char *header, const char *claims, const uint8_t *sig, size_t siglen)
{
    char *h = b64(header, strlen(header)), *c = b64(claims, strlen(claims));
    char *s = b64(sig, siglen);
    size_t n = strlen(h) + strlen(c) + strlen(s) + 3;
    char *t = malloc(n);
    snprintf(t, n, "%s.%s.%s", h, c, s);
    free(h);
    free(c);
    free(s);
    return t;
}

/* Signs header.payload with k under alg ("ES256", "ES384", "RS256",
 * "PS256", "EdDSA"); ES* as raw r||s unless der is set. */
static char *sign_as(EVP_PKEY *k, const char *alg, const char *header, const char *claims, bool der)
{
    char *h = b64(header, strlen(header)), *c = b64(claims, strlen(claims));
    size_t inl = strlen(h) + strlen(c) + 1;
    char *in = malloc(inl + 1);
    snprintf(in, inl + 1, "%s.%s", h, c);
    free(h);
    free(c);
    const char *md = !strcmp(alg, "EdDSA") ? NULL : !strcmp(alg, "ES384") ? "SHA384" : "SHA256";
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, md, NULL, NULL, k, NULL), 1);
    if (!strcmp(alg, "PS256")) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    uint8_t sig[1024];
    size_t sl = sizeof sig;
    assert_int_equal(EVP_DigestSign(m, sig, &sl, (const uint8_t *)in, inl), 1);
    EVP_MD_CTX_free(m);
    uint8_t raw[96];
    const uint8_t *final = sig;
    if (!der && alg[0] == 'E' && alg[1] == 'S') {
        int coord = !strcmp(alg, "ES384") ? 48 : 32;
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
        assert_non_null(es);
        const BIGNUM *r, *s;
        ECDSA_SIG_get0(es, &r, &s);
        BN_bn2binpad(r, raw, coord);
        BN_bn2binpad(s, raw + coord, coord);
        ECDSA_SIG_free(es);
        final = raw;
        sl = (size_t)(2 * coord);
    }
    char *s = b64(final, sl);
    size_t tl = inl + strlen(s) + 2;
    char *t = malloc(tl);
    snprintf(t, tl, "%s.%s", in, s);
    free(in);
    free(s);
    return t;
}

static char *claims_now(void)
{
    char *c = malloc(256);
    long now = (long)time(NULL);
    snprintf(c, 256, "{\"iss\":\"https://issuer.example\",\"sub\":\"agent\",\"aud\":\"authz\","
                     "\"exp\":%ld,\"iat\":%ld}",
             now + 120, now);
    return c;
}

/* Parses and verifies tok against ks. */
static enum jwt_verdict check(const char *tok, const struct jwks *ks, const char **why)
{
    struct jwt j;
    if (jwt_parse(tok, strlen(tok), &j, why) < 0)
        return (enum jwt_verdict)-100;
    enum jwt_verdict v = jwt_verify(&j, ks, why);
    jwt_free(&j);
    return v;
}

static int parse_fails(const char *tok)
{
    struct jwt j;
    const char *why = NULL;
    if (jwt_parse(tok, strlen(tok), &j, &why) == 0) {
        jwt_free(&j);
        return 0;
    }
    assert_non_null(why);
    return 1;
}

static int setup(void **state)
{
    (void)state;
    k_p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k_p256b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    k_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k_rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    return k_p256 && k_p256b && k_p384 && k_ed && k_rsa && k_rsa1024 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(k_p256);
    EVP_PKEY_free(k_p256b);
    EVP_PKEY_free(k_p384);
    EVP_PKEY_free(k_ed);
    EVP_PKEY_free(k_rsa);
    EVP_PKEY_free(k_rsa1024);
    return 0;
}

/* ---------------------------------------------------------------- */
/* every accepted algorithm                                          */

static void verify_alg(EVP_PKEY *k, const char *alg)
{
    char *c = claims_now();
    char hdr[128];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"k1\",\"typ\":\"JWT\"}", alg);
    char *tok = sign_as(k, alg, hdr, c, false);
    struct jwks *ks = set_of(JWKS_STRICT, 1, jwk_of(k, "k1", alg));
    assert_non_null(ks);
    const char *why = NULL;
    assert_int_equal(check(tok, ks, &why), JWT_VALID);
    /* the JWK without its own alg works too */
    struct jwks *ks2 = set_of(JWKS_STRICT, 1, jwk_of(k, "k1", NULL));
    assert_int_equal(check(tok, ks2, &why), JWT_VALID);
    jwks_release(ks);
    jwks_release(ks2);
    free(tok);
    free(c);
}

static void test_es256_es384_rs256_ps256_eddsa_tokens_verify(void **state)
{
    (void)state;
    verify_alg(k_p256, "ES256");
    verify_alg(k_p384, "ES384");
    verify_alg(k_rsa, "RS256");
    verify_alg(k_rsa, "PS256");
    verify_alg(k_ed, "EdDSA");
}

static void test_tampered_claims_fail_signature(void **state)
{
    (void)state;
    char *c = claims_now();
    char *tok = sign_as(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"k1\"}", c, false);
    /* swap the payload for another one, keep header and signature */
    char *other = sign_as(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"k1\"}",
                          "{\"sub\":\"admin\",\"iss\":\"x\"}", false);
    char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    char *o1 = strchr(other, '.'), *o2 = strchr(o1 + 1, '.');
    char forged[4096];
    snprintf(forged, sizeof forged, "%.*s%.*s%s", (int)(d1 - tok), tok, (int)(o2 - o1), o1, d2);
    struct jwks *ks = set_of(JWKS_STRICT, 1, jwk_of(k_p256, "k1", NULL));
    const char *why = NULL;
    assert_int_equal(check(forged, ks, &why), JWT_INVALID);
    assert_string_equal(why, "bad signature");
    jwks_release(ks);
    free(tok);
    free(other);
    free(c);
}

/* ---------------------------------------------------------------- */
/* refused algorithms                                                */

static void test_alg_none_is_refused_with_or_without_signature(void **state)
{
    (void)state;
    char *c = claims_now();
    char *t1 = assemble("{\"alg\":\"none\"}", c, (const uint8_t *)"", 0);
    char *t2 = assemble("{\"alg\":\"none\",\"kid\":\"k1\"}", c, (const uint8_t *)"xx", 2);
    char *t3 = assemble("{\"alg\":\"None\"}", c, (const uint8_t *)"xx", 2);
    struct jwt j;
    const char *why = NULL;
    assert_int_equal(jwt_parse(t1, strlen(t1), &j, &why), -1);
    assert_int_equal(jwt_parse(t2, strlen(t2), &j, &why), -1);
    assert_string_equal(why, "unsigned tokens (alg none) are not accepted");
    assert_int_equal(jwt_parse(t3, strlen(t3), &j, &why), -1);
    free(t1);
    free(t2);
    free(t3);
    free(c);
}

static void test_hs256_signed_with_the_public_key_is_refused(void **state)
{
    (void)state;
    /* algorithm confusion: an attacker MACs with what the verifier holds
     * as a public key (its JWK text, and its PEM) */
    json_t *jwk = jwk_of(k_p256, "k1", NULL);
    char *secret = json_dumps(jwk, JSON_COMPACT);
    char *c = claims_now();
    const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"k1\"}";
    char *h = b64(hdr, strlen(hdr)), *p = b64(c, strlen(c));
    char in[2048];
    snprintf(in, sizeof in, "%s.%s", h, p);
    uint8_t mac[32];
    unsigned ml = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)in, strlen(in), mac, &ml);
    char *tok = assemble(hdr, c, mac, ml);
    struct jwks *ks = set_of(JWKS_STRICT, 1, jwk);
    const char *why = NULL;
    assert_int_equal(check(tok, ks, &why), -100);
    assert_string_equal(why, "symmetric algorithms (HS*) are not accepted");
    /* HS384/HS512 and unknown algorithms too */
    char *t2 = assemble("{\"alg\":\"HS512\",\"kid\":\"k1\"}", c, mac, ml);
    char *t3 = assemble("{\"alg\":\"RS384\",\"kid\":\"k1\"}", c, mac, ml);
    char *t4 = assemble("{\"kid\":\"k1\"}", c, mac, ml);
    assert_true(parse_fails(t2));
    assert_true(parse_fails(t3));
    assert_true(parse_fails(t4));
    /* an oct key in a set is never a verification key */
    json_t *oct = json_pack("{s:s, s:s, s:s}", "kty", "oct", "k", "c2VjcmV0", "kid", "k1");
    assert_null(set_of(JWKS_STRICT, 1, oct));
    struct jwks *lax = set_of(0, 1, json_pack("{s:s, s:s, s:s}", "kty", "oct", "k", "c2VjcmV0",
                                              "kid", "k1"));
    assert_non_null(lax);
    assert_int_equal(lax->n, 0);
    jwks_release(lax);
    jwks_release(ks);
    free(secret);
    free(tok);
    free(t2);
    free(t3);
    free(t4);
    free(h);
    free(p);
    free(c);
}

/* ---------------------------------------------------------------- */
/* key selection and key/algorithm agreement                         */

static void test_unknown_kid_is_no_key(void **state)
{
    (void)state;
    char *c = claims_now();
    char *tok = sign_as(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"other\"}", c, false);
    struct jwks *ks = set_of(JWKS_STRICT, 1, jwk_of(k_p256, "k1", NULL));
    const char *why = NULL;
    assert_int_equal(check(tok, ks, &why), JWT_NO_KEY);
    assert_string_equal(why, "no key with the token's kid");
    jwks_release(ks);
    free(tok);
    free(c);
}

static void test_kid_selects_among_several_keys(void **state)
{
    (void)state;
    char *c = claims_now();
    char *tok = sign_as(k_p256b, "ES256", "{\"alg\":\"ES256\",\"kid\":\"b\"}", c, false);
    struct jwks *ks = set_of(JWKS_STRICT, 3, jwk_of(k_p256, "a", NULL), jwk_of(k_p256b, "b", NULL),
                             jwk_of(k_rsa, "c", NULL));
    const char *why = NULL;
    assert_int_equal(check(tok, ks, &why), JWT_VALID);
    /* the right kid on the wrong key: bad signature */
    char *t2 = sign_as(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"b\"}", c, false);
    assert_int_equal(check(t2, ks, &why), JWT_INVALID);
    jwks_release(ks);
    free(tok);
    free(t2);
    free(c);
}

static void test_no_kid_uses_the_only_fitting_key_and_refuses_ambiguity(void **state)
{
    (void)state;
    char *c = claims_now();
    char *tok = sign_as(k_p256, "ES256", "{\"alg\":\"ES256\"}", c, false);
    struct jwks *one = set_of(JWKS_STRICT, 1, jwk_of(k_p256, "a", NULL));
    struct jwks *two = set_of(JWKS_STRICT, 2, jwk_of(k_p256, "a", NULL), jwk_of(k_p256b, "b", NULL));
    /* one P-256 key among keys of other types: that one */
    struct jwks *mixed = set_of(JWKS_STRICT, 3, jwk_of(k_rsa, "r", NULL), jwk_of(k_p256, "a", NULL),
                                jwk_of(k_ed, "e", NULL));
    /* no key of the set fits ES256 */
    struct jwks *none = set_of(JWKS_STRICT, 1, jwk_of(k_rsa, "r", NULL));
    const char *why = NULL;
    assert_int_equal(check(tok, one, &why), JWT_VALID);
    assert_int_equal(check(tok, two, &why), JWT_NO_KEY);
    assert_string_equal(why, "the token names no kid and several keys fit its algorithm");
    assert_int_equal(check(tok, mixed, &why), JWT_VALID);
    assert_int_equal(check(tok, none, &why), JWT_NO_KEY);
    jwks_release(one);
    jwks_release(two);
    jwks_release(mixed);
    jwks_release(none);
    free(tok);
    free(c);
}

static void test_wrong_curve_is_refused(void **state)
{
    (void)state;
    char *c = claims_now();
    /* ES256 named, but the kid's key is P-384 (and the reverse) */
    char *t1 = sign_as(k_p384, "ES384", "{\"alg\":\"ES256\",\"kid\":\"k\"}", c, false);
    char *t2 = sign_as(k_p256, "ES256", "{\"alg\":\"ES384\",\"kid\":\"k\"}", c, false);
    struct jwks *s384 = set_of(JWKS_STRICT, 1, jwk_of(k_p384, "k", NULL));
    struct jwks *s256 = set_of(JWKS_STRICT, 1, jwk_of(k_p256, "k", NULL));
    const char *why = NULL;
    assert_int_equal(check(t1, s384, &why), JWT_INVALID);
    assert_string_equal(why, "the key does not fit the token's algorithm");
    assert_int_equal(check(t2, s256, &why), JWT_INVALID);
    /* a JWK whose alg does not fit its curve is not a usable key */
    assert_null(set_of(JWKS_STRICT, 1, jwk_of(k_p256, "k", "ES384")));
    /* unsupported curves */
    json_t *p521 = jwk_of(k_p256, "k", NULL);
    json_object_set_new(p521, "crv", json_string("P-521"));
    assert_null(set_of(JWKS_STRICT, 1, p521));
    jwks_release(s384);
    jwks_release(s256);
    free(t1);
    free(t2);
    free(c);
}

static void test_key_type_and_key_alg_must_match_the_token(void **state)
{
    (void)state;
    char *c = claims_now();
    /* EdDSA named with an RSA key under the kid */
    char *t1 = sign_as(k_ed, "EdDSA", "{\"alg\":\"EdDSA\",\"kid\":\"k\"}", c, false);
    struct jwks *rsa = set_of(JWKS_STRICT, 1, jwk_of(k_rsa, "k", NULL));
    const char *why = NULL;
    assert_int_equal(check(t1, rsa, &why), JWT_INVALID);
    /* PS256 made with an RSA key whose JWK says RS256 */
    char *t2 = sign_as(k_rsa, "PS256", "{\"alg\":\"PS256\",\"kid\":\"k\"}", c, false);
    struct jwks *rs = set_of(JWKS_STRICT, 1, jwk_of(k_rsa, "k", "RS256"));
    assert_int_equal(check(t2, rs, &why), JWT_INVALID);
    assert_string_equal(why, "the token's alg differs from the key's alg");
    /* RS256 signature presented as PS256 with a JWK without alg */
    char *t3 = sign_as(k_rsa, "RS256", "{\"alg\":\"PS256\",\"kid\":\"k\"}", c, false);
    assert_int_equal(check(t3, rsa, &why), JWT_INVALID);
    jwks_release(rsa);
    jwks_release(rs);
    free(t1);
    free(t2);
    free(t3);
    free(c);
}

static void test_rsa_keys_below_2048_bits_are_refused(void **state)
{
    (void)state;
    const char *why = NULL;
    enum jwk_kind kind;
    json_t *small = jwk_of(k_rsa1024, "k", NULL);
    assert_null(jwk_to_pkey(small, &kind, &why));
    assert_string_equal(why, "RSA keys must have 2048 to 8192 bits");
    json_decref(small);
}

static void test_ec_point_off_the_curve_is_refused(void **state)
{
    (void)state;
    json_t *j = jwk_of(k_p256, "k", NULL);
    /* flip the last bit of y */
    const char *y = json_string_value(json_object_get(j, "y"));
    uint8_t raw[32];
    assert_int_equal(b64url_decode(y, strlen(y), raw, sizeof raw), 32);
    raw[31] ^= 1;
    char *ny = b64(raw, 32);
    json_object_set_new(j, "y", json_string(ny));
    free(ny);
    const char *why = NULL;
    enum jwk_kind kind;
    EVP_PKEY *k = jwk_to_pkey(j, &kind, &why);
    assert_null(k);
    /* short coordinates (not the full size) are refused too */
    json_object_set_new(j, "y", json_string("AQAB"));
    assert_null(jwk_to_pkey(j, &kind, &why));
    json_decref(j);
}

static void test_jwks_strictness_private_members_use_and_duplicates(void **state)
{
    (void)state;
    /* private members: refused with JWKS_NO_PRIVATE, ignored otherwise */
    json_t *priv = jwk_of(k_p256, "k", NULL);
    json_object_set_new(priv, "d", json_string("AAAA"));
    assert_null(set_of(JWKS_STRICT | JWKS_NO_PRIVATE, 1, json_incref(priv)));
    struct jwks *ks = set_of(JWKS_STRICT, 1, priv);
    assert_non_null(ks);
    assert_int_equal(ks->n, 1);
    jwks_release(ks);
    /* use enc: refused when strict, skipped otherwise */
    json_t *enc = jwk_of(k_p256, "e", NULL);
    json_object_set_new(enc, "use", json_string("enc"));
    assert_null(set_of(JWKS_STRICT, 1, json_incref(enc)));
    ks = set_of(0, 2, enc, jwk_of(k_p256b, "s", NULL));
    assert_int_equal(ks->n, 1);
    assert_true(jwks_has_kid(ks, "s"));
    assert_false(jwks_has_kid(ks, "e"));
    jwks_release(ks);
    /* key_ops without verify */
    json_t *ops = jwk_of(k_p256, "o", NULL);
    json_object_set_new(ops, "key_ops", json_pack("[s]", "sign"));
    assert_null(set_of(JWKS_STRICT, 1, ops));
    /* two keys with one kid */
    assert_null(set_of(JWKS_STRICT, 2, jwk_of(k_p256, "k", NULL), jwk_of(k_p256b, "k", NULL)));
    /* not a set */
    const char *why = NULL;
    assert_null(jwks_parse_text("[]", 2, 0, &why));
    assert_null(jwks_parse_text("{\"keys\":{}}", 11, 0, &why));
    assert_null(jwks_parse_text("{\"keys\":[],\"keys\":[]}", 21, 0, &why));
    /* an empty set is an error only when strict */
    assert_null(jwks_parse_text("{\"keys\":[]}", 11, JWKS_STRICT, &why));
    ks = jwks_parse_text("{\"keys\":[]}", 11, 0, &why);
    assert_non_null(ks);
    jwks_release(ks);
}

/* ---------------------------------------------------------------- */
/* malformed tokens                                                  */

static void test_truncated_and_garbage_tokens_are_refused(void **state)
{
    (void)state;
    char *c = claims_now();
    char *tok = sign_as(k_p256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"k1\"}", c, false);
    struct jwks *ks = set_of(JWKS_STRICT, 1, jwk_of(k_p256, "k1", NULL));
    const char *why = NULL;
    size_t n = strlen(tok);
    char *d2 = strrchr(tok, '.');
    /* every truncation fails, at parse or at verification */
    for (size_t cut = 0; cut < n; cut++) {
        char *t = strndup(tok, cut);
        enum jwt_verdict v = check(t, ks, &why);
        assert_int_not_equal(v, JWT_VALID);
        free(t);
    }
    /* no signature part, a fourth part, doubled dots */
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s", (int)(d2 - tok), tok);
    assert_true(parse_fails(buf));
    snprintf(buf, sizeof buf, "%.*s.", (int)(d2 - tok), tok);
    assert_true(parse_fails(buf));
    snprintf(buf, sizeof buf, "%s.AAAA", tok);
    assert_true(parse_fails(buf));
    assert_true(parse_fails(""));
    assert_true(parse_fails(".."));
    assert_true(parse_fails("..."));
    assert_true(parse_fails("a.b.c"));
    assert_true(parse_fails("not a token"));
    assert_true(parse_fails("eyJhbGciOiJFUzI1NiJ9.eyJ9.AAAA"));
    /* padding and non-alphabet characters */
    snprintf(buf, sizeof buf, "%s=", tok);
    assert_true(parse_fails(buf));
    snprintf(buf, sizeof buf, "%s", tok);
    buf[3] = '+';
    assert_true(parse_fails(buf));
    /* binary garbage */
    uint8_t g[300];
    crypto_random(g, sizeof g);
    for (size_t i = 0; i < sizeof g; i++)
        if (g[i] == 0)
            g[i] = 1;
    memcpy(buf, g, sizeof g);
    buf[sizeof g] = '\0';
    assert_true(parse_fails(buf));
    jwks_release(ks);
    free(tok);
    free(c);
}

static void test_header_and_claims_must_be_objects_without_duplicates(void **state)
{
    (void)state;
    const uint8_t sig[64] = {1};
    const char *ok_claims = "{\"sub\":\"a\"}";
    char *t;
    t = assemble("{\"alg\":\"ES256\",\"alg\":\"ES256\"}", ok_claims, sig, 64);
    assert_true(parse_fails(t));
    free(t);
    t = assemble("[\"ES256\"]", ok_claims, sig, 64);
    assert_true(parse_fails(t));
    free(t);
    t = assemble("{\"alg\":\"ES256\"}", "{\"sub\":\"a\",\"sub\":\"b\"}", sig, 64);
    assert_true(parse_fails(t));
    free(t);
    t = assemble("{\"alg\":\"ES256\"}", "\"just a string\"", sig, 64);
    assert_true(parse_fails(t));
    free(t);
    t = assemble("{\"alg\":\"ES256\"}", "{\"sub\":\"a\"", sig, 64);
    assert_true(parse_fails(t));
    free(t);
    t = assemble("{\"alg\":\"ES256\",\"kid\":7}", ok_claims, sig, 64);
    assert_true(parse_fails(t));
    free(t);
    t = assemble("{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}", ok_claims, sig, 64);
    assert_true(parse_fails(t));
    free(t);
    /* a well-formed one parses */
    t = assemble("{\"alg\":\"ES256\",\"kid\":\"k\"}", ok_claims, sig, 64);
    assert_false(parse_fails(t));
    free(t);
}

static void test_oversized_tokens_are_refused(void **state)
{
    (void)state;
    const uint8_t sig[64] = {1};
    /* claims over JWT_CLAIMS_MAX */
    size_t big = JWT_CLAIMS_MAX + 10;
    char *claims = malloc(big + 32);
    strcpy(claims, "{\"x\":\"");
    memset(claims + 6, 'a', big);
    strcpy(claims + 6 + big, "\"}");
    char *t = assemble("{\"alg\":\"ES256\"}", claims, sig, 64);
    assert_true(parse_fails(t));
    free(t);
    /* a header over JWT_HEADER_MAX */
    char *hdr = malloc(JWT_HEADER_MAX + 64);
    strcpy(hdr, "{\"alg\":\"ES256\",\"x\":\"");
    size_t hl = strlen(hdr);
    memset(hdr + hl, 'b', JWT_HEADER_MAX);
    strcpy(hdr + hl + JWT_HEADER_MAX, "\"}");
    t = assemble(hdr, "{}", sig, 64);
    assert_true(parse_fails(t));
    free(t);
    /* the whole token over JWT_MAX_LEN, and a signature over JWT_SIG_MAX */
    char *huge = malloc(JWT_MAX_LEN + 2);
    memset(huge, 'A', JWT_MAX_LEN + 1);
    huge[10] = '.';
    huge[20] = '.';
    huge[JWT_MAX_LEN + 1] = '\0';
    struct jwt j;
    const char *why = NULL;
    assert_int_equal(jwt_parse(huge, strlen(huge), &j, &why), -1);
    assert_string_equal(why, "token too large");
    uint8_t *bigsig = calloc(1, JWT_SIG_MAX + 1);
    t = assemble("{\"alg\":\"RS256\"}", "{}", bigsig, JWT_SIG_MAX + 1);
    assert_true(parse_fails(t));
    free(t);
    free(bigsig);
    free(huge);
    free(hdr);
    free(claims);
}

static void test_es256_signature_must_be_raw_64_bytes(void **state)
{
    (void)state;
    char *c = claims_now();
    const char *hdr = "{\"alg\":\"ES256\",\"kid\":\"k1\"}";
    struct jwks *ks = set_of(JWKS_STRICT, 1, jwk_of(k_p256, "k1", NULL));
    const char *why = NULL;
    /* DER (what OpenSSL produces) instead of r||s */
    char *der = sign_as(k_p256, "ES256", hdr, c, true);
    assert_int_equal(check(der, ks, &why), JWT_INVALID);
    assert_string_equal(why, "an ECDSA signature of the wrong length");
    /* 63 and 65 bytes */
    char *good = sign_as(k_p256, "ES256", hdr, c, false);
    char *d2 = strrchr(good, '.');
    uint8_t raw[66];
    assert_int_equal(b64url_decode(d2 + 1, strlen(d2 + 1), raw, sizeof raw), 64);
    raw[64] = 0;
    for (size_t len = 63; len <= 65; len += 2) {
        char *s = b64(raw, len);
        char buf[4096];
        snprintf(buf, sizeof buf, "%.*s.%s", (int)(d2 - good), good, s);
        assert_int_equal(check(buf, ks, &why), JWT_INVALID);
        free(s);
    }
    /* r = s = 0 */
    memset(raw, 0, 64);
    char *z = b64(raw, 64);
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s.%s", (int)(d2 - good), good, z);
    assert_int_equal(check(buf, ks, &why), JWT_INVALID);
    assert_int_equal(check(good, ks, &why), JWT_VALID);
    jwks_release(ks);
    free(z);
    free(der);
    free(good);
    free(c);
}

/* ---------------------------------------------------------------- */
/* claims                                                            */

static bool times_ok(const char *claims, const struct jwt_time_rules *r)
{
    json_t *c = json_loads(claims, 0, NULL);
    assert_non_null(c);
    const char *why = NULL;
    bool ok = jwt_check_times(c, r, &why);
    json_decref(c);
    return ok;
}

static void test_exp_nbf_iat_with_leeway(void **state)
{
    (void)state;
    struct jwt_time_rules r = {.now = 1000000, .leeway = 60, .require_exp = true};
    char b[256];
#define T(fmt, ...) (snprintf(b, sizeof b, fmt, __VA_ARGS__), times_ok(b, &r))
    /* exp: before now + leeway passes, at or past it fails */
    assert_true(T("{\"exp\":%d}", 1000001));
    assert_true(T("{\"exp\":%d}", 1000000 - 59));
    assert_false(T("{\"exp\":%d}", 1000000 - 60));
    assert_false(T("{\"exp\":%d}", 1000000 - 61));
    assert_false(times_ok("{}", &r));
    assert_false(times_ok("{\"exp\":\"1000100\"}", &r));
    assert_false(times_ok("{\"exp\":true}", &r));
    assert_true(times_ok("{\"exp\":1000100.5}", &r));
    /* nbf: up to leeway in the future */
    assert_true(T("{\"exp\":%d,\"nbf\":%d}", 1000100, 1000060));
    assert_false(T("{\"exp\":%d,\"nbf\":%d}", 1000100, 1000061));
    assert_false(T("{\"exp\":%d,\"nbf\":\"x\"}", 1000100));
    /* iat: up to leeway in the future */
    assert_true(T("{\"exp\":%d,\"iat\":%d}", 1000100, 1000060));
    assert_false(T("{\"exp\":%d,\"iat\":%d}", 1000100, 1000061));
    /* max_exp_ahead (client assertions: 300 s) */
    r.max_exp_ahead = 300;
    assert_true(T("{\"exp\":%d}", 1000000 + 360));
    assert_false(T("{\"exp\":%d}", 1000000 + 361));
    r.max_exp_ahead = 0;
    /* max_age: iat required, now - iat <= max_age */
    r.max_age = 600;
    assert_false(T("{\"exp\":%d}", 1000100));
    assert_true(T("{\"exp\":%d,\"iat\":%d}", 1000100, 1000000 - 600));
    assert_false(T("{\"exp\":%d,\"iat\":%d}", 1000100, 1000000 - 601));
    /* huge values do not overflow */
    r.max_age = 0;
    assert_false(times_ok("{\"exp\":9223372036854775807}", &r));
    assert_false(times_ok("{\"exp\":-9223372036854775807}", &r));
    assert_false(times_ok("{\"exp\":1e300}", &r));
#undef T
}

static void test_aud_string_or_array(void **state)
{
    (void)state;
    json_t *a = json_loads("{\"aud\":\"https://as\"}", 0, NULL);
    json_t *b = json_loads("{\"aud\":[\"x\",\"https://as\"]}", 0, NULL);
    json_t *c = json_loads("{\"aud\":[\"x\",7,\"https://as\"]}", 0, NULL);
    json_t *d = json_loads("{\"aud\":[]}", 0, NULL);
    json_t *e = json_loads("{}", 0, NULL);
    assert_true(jwt_aud_has(a, "https://as"));
    assert_false(jwt_aud_has(a, "https://as/"));
    assert_true(jwt_aud_has(b, "https://as"));
    assert_false(jwt_aud_has(c, "https://as"));
    assert_false(jwt_aud_has(d, "https://as"));
    assert_false(jwt_aud_has(e, "https://as"));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es256_es384_rs256_ps256_eddsa_tokens_verify),
        cmocka_unit_test(test_tampered_claims_fail_signature),
        cmocka_unit_test(test_alg_none_is_refused_with_or_without_signature),
        cmocka_unit_test(test_hs256_signed_with_the_public_key_is_refused),
        cmocka_unit_test(test_unknown_kid_is_no_key),
        cmocka_unit_test(test_kid_selects_among_several_keys),
        cmocka_unit_test(test_no_kid_uses_the_only_fitting_key_and_refuses_ambiguity),
        cmocka_unit_test(test_wrong_curve_is_refused),
        cmocka_unit_test(test_key_type_and_key_alg_must_match_the_token),
        cmocka_unit_test(test_rsa_keys_below_2048_bits_are_refused),
        cmocka_unit_test(test_ec_point_off_the_curve_is_refused),
        cmocka_unit_test(test_jwks_strictness_private_members_use_and_duplicates),
        cmocka_unit_test(test_truncated_and_garbage_tokens_are_refused),
        cmocka_unit_test(test_header_and_claims_must_be_objects_without_duplicates),
        cmocka_unit_test(test_oversized_tokens_are_refused),
        cmocka_unit_test(test_es256_signature_must_be_raw_64_bytes),
        cmocka_unit_test(test_exp_nbf_iat_with_leeway),
        cmocka_unit_test(test_aud_string_or_array),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
