/*
 * jwt.c: strict parsing and verification of JWTs signed by others (RFC 7515,
 * RFC 7517/7518/8037 keys, RFC 7519 claims). Used for RFC 7523 client
 * assertions and for workload / foreign tokens under trust policies. See
 * jwt.h for the rules; each check below quotes the step it implements.
 *
 * Keys are turned into EVP_PKEYs once per JWK Set (struct jwks, reference
 * counted so that a cached set can be used by many threads while it is
 * replaced); verification creates one EVP_MD_CTX per call, which is what
 * makes concurrent use of a shared EVP_PKEY safe.
 */
#include "crypto/jwt.h"
#include "crypto/crypto.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

/* ---------------------------------------------------------------- */
/* algorithms                                                        */

struct alg_info {
    const char *name;
    const char *md;            /* digest name; NULL for EdDSA (hashes internally) */
    enum jwk_kind kind;        /* the key type the algorithm needs */
    size_t es_coord;           /* ES*: bytes of r and of s in the raw signature */
    bool pss;                  /* RSASSA-PSS rather than PKCS#1 v1.5 */
};

static const struct alg_info ALGS[JWT_NALGS] = {
    [JWT_ES256] = {"ES256", "SHA256", JWK_EC_P256, 32, false},
    [JWT_ES384] = {"ES384", "SHA384", JWK_EC_P384, 48, false},
    [JWT_RS256] = {"RS256", "SHA256", JWK_RSA, 0, false},
    [JWT_PS256] = {"PS256", "SHA256", JWK_RSA, 0, true},
    [JWT_EDDSA] = {"EdDSA", NULL, JWK_ED25519, 0, false},
};

const char *jwt_alg_name(enum jwt_alg alg)
{
    return (unsigned)alg < JWT_NALGS ? ALGS[alg].name : "?";
}

int jwt_alg_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < JWT_NALGS; i++)
        if (strcmp(name, ALGS[i].name) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- */
/* parsing                                                           */

/* One base64url part decoded and parsed as a JSON object (duplicate members
 * refused), or NULL. */
static json_t *decode_object(const char *s, size_t n, size_t cap)
{
    if (n == 0 || n > cap / 3 * 4 + 4)
        return NULL;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    ssize_t l = b64url_decode(s, n, buf, cap);
    json_t *j = NULL;
    if (l > 0)
        j = json_loadb(buf, (size_t)l, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

void jwt_free(struct jwt *j)
{
    if (!j)
        return;
    json_decref(j->header);
    json_decref(j->claims);
    j->header = j->claims = NULL;
    j->kid = NULL;
}

int jwt_parse(const char *token, size_t len, struct jwt *out, const char **why)
{
    memset(out, 0, offsetof(struct jwt, sig));
    out->siglen = 0;
    if (!token || len == 0) {
        *why = "empty token";
        return -1;
    }
    if (len > JWT_MAX_LEN) {
        *why = "token too large";
        return -1;
    }
    /* RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.'
     * BASE64URL(signature): exactly two dots. */
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
        *why = "not a JWS compact serialisation";
        return -1;
    }
    size_t hlen = (size_t)(d1 - token), plen = (size_t)(d2 - d1 - 1);
    size_t slen = len - (size_t)(d2 + 1 - token);
    if (slen == 0) {
        /* RFC 7519 §6: unsecured JWTs have an empty signature */
        *why = "unsigned token";
        return -1;
    }

    /* RFC 7515 §5.2 step 3-4: the header decodes to a JSON object
     * ("completely valid JSON", no duplicate member names: §5.2 step 4) */
    json_t *h = decode_object(token, hlen, JWT_HEADER_MAX);
    if (!h) {
        *why = "malformed JOSE header";
        return -1;
    }
    /* RFC 7515 §4.1.1: alg is required; RFC 8725 §3.1 and §2.1: only
     * algorithms the verifier chose are accepted, never "none" and never a
     * MAC when the key is public (algorithm confusion). */
    const char *alg = json_string_value(json_object_get(h, "alg"));
    int a = jwt_alg_parse(alg);
    if (a < 0) {
        if (!alg)
            *why = "the header names no alg";
        else if (strcasecmp(alg, "none") == 0)
            *why = "unsigned tokens (alg none) are not accepted";
        else if (strncmp(alg, "HS", 2) == 0)
            *why = "symmetric algorithms (HS*) are not accepted";
        else
            *why = "the algorithm is not accepted";
        json_decref(h); /* alg pointed into h */
        return -1;
    }
    /* RFC 7515 §4.1.4: kid is a case-sensitive string */
    json_t *kid = json_object_get(h, "kid");
    if (kid && (!json_is_string(kid) || json_string_length(kid) == 0 ||
                json_string_length(kid) > 256)) {
        json_decref(h);
        *why = "malformed kid";
        return -1;
    }
    /* RFC 7515 §4.1.11: "If any of the listed extension Header Parameters
     * are not understood and supported by the recipient, then the JWS is
     * invalid." authz understands none. */
    if (json_object_get(h, "crit")) {
        json_decref(h);
        *why = "critical header extensions are not supported";
        return -1;
    }

    /* RFC 7519 §7.2 step 10: the payload is a JSON object (the claims set) */
    json_t *c = decode_object(d1 + 1, plen, JWT_CLAIMS_MAX);
    if (!c) {
        json_decref(h);
        *why = "malformed claims";
        return -1;
    }

    /* RFC 7515 §5.2 step 7: the signature part is base64url */
    ssize_t sl = b64url_decode(d2 + 1, slen, out->sig, sizeof out->sig);
    if (sl <= 0) {
        json_decref(h);
        json_decref(c);
        *why = "malformed signature";
        return -1;
    }
    out->header = h;
    out->claims = c;
    out->alg = (enum jwt_alg)a;
    out->kid = kid ? json_string_value(kid) : NULL;
    out->token = token;
    out->signing_input_len = (size_t)(d2 - token);
    out->siglen = (size_t)sl;
    return 0;
}

/* ---------------------------------------------------------------- */
/* keys                                                              */

/* A base64url member of a JWK, decoded; -1 when absent or malformed. */
static ssize_t jwk_bytes(const json_t *jwk, const char *name, uint8_t *buf, size_t cap)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    if (!s || !*s)
        return -1;
    return b64url_decode(s, strlen(s), buf, cap);
}

static EVP_PKEY *ec_key(const json_t *jwk, const char *crv, enum jwk_kind *kind, const char **why)
{
    size_t coord;
    const char *group;
    if (crv && strcmp(crv, "P-256") == 0) {
        coord = 32;
        group = "prime256v1";
        *kind = JWK_EC_P256;
    } else if (crv && strcmp(crv, "P-384") == 0) {
        coord = 48;
        group = "secp384r1";
        *kind = JWK_EC_P384;
    } else {
        *why = "unsupported EC curve (P-256 and P-384 are accepted)";
        return NULL;
    }
    /* RFC 7518 §6.2.1.2/3: x and y are the full size of a coordinate */
    uint8_t pub[1 + 2 * 48];
    pub[0] = 0x04; /* uncompressed point (SEC 1 §2.3.3) */
    if (jwk_bytes(jwk, "x", pub + 1, coord + 1) != (ssize_t)coord ||
        jwk_bytes(jwk, "y", pub + 1 + coord, coord + 1) != (ssize_t)coord) {
        *why = "malformed EC key coordinates";
        return NULL;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * coord),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_CTX_free(ctx);
        *why = "the EC point is not on the curve";
        return NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    /* SEC 1 §3.2.2.1: a valid public key is a point of the curve other than
     * the point at infinity */
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        *why = "the EC point is not on the curve";
        return NULL;
    }
    return pkey;
}

static EVP_PKEY *rsa_key(const json_t *jwk, const char **why)
{
    uint8_t nb[JWT_RSA_MAX_BITS / 8 + 1], eb[8];
    ssize_t nl = jwk_bytes(jwk, "n", nb, sizeof nb);
    ssize_t el = jwk_bytes(jwk, "e", eb, sizeof eb);
    if (nl <= 0 || el <= 0) {
        *why = "malformed RSA key (n, e)";
        return NULL;
    }
    BIGNUM *n = BN_bin2bn(nb, (int)nl, NULL), *e = BN_bin2bn(eb, (int)el, NULL);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (!n || !e) {
        *why = "malformed RSA key (n, e)";
        goto out;
    }
    /* NIST SP 800-131A / RFC 7518 §3.3: "A key of size 2048 bits or larger
     * MUST be used with these algorithms." */
    int bits = BN_num_bits(n);
    if (bits < JWT_RSA_MIN_BITS || bits > JWT_RSA_MAX_BITS || !BN_is_odd(n)) {
        *why = "RSA keys must have 2048 to 8192 bits";
        goto out;
    }
    /* a public exponent is odd and at least 3 */
    if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_num_bits(e) > 64) {
        *why = "malformed RSA public exponent";
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (!bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
        !(params = OSSL_PARAM_BLD_to_param(bld))) {
        *why = "RSA key construction failed";
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pkey = NULL;
        *why = "RSA key construction failed";
    }
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

static EVP_PKEY *okp_key(const json_t *jwk, const char *crv, const char **why)
{
    /* RFC 8037 §2: OKP with crv Ed25519; x is the 32-byte public key */
    if (!crv || strcmp(crv, "Ed25519") != 0) {
        *why = "unsupported OKP curve (Ed25519 is accepted)";
        return NULL;
    }
    uint8_t x[33];
    if (jwk_bytes(jwk, "x", x, sizeof x) != 32) {
        *why = "malformed Ed25519 key";
        return NULL;
    }
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
    if (!pkey)
        *why = "malformed Ed25519 key";
    return pkey;
}

EVP_PKEY *jwk_to_pkey(const json_t *jwk, enum jwk_kind *kind, const char **why)
{
    if (!json_is_object(jwk)) {
        *why = "a JWK must be a JSON object";
        return NULL;
    }
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    /* RFC 7517 §4.1: kty is required */
    if (!kty) {
        *why = "a JWK needs kty";
        return NULL;
    }
    if (strcmp(kty, "EC") == 0)
        return ec_key(jwk, crv, kind, why);
    if (strcmp(kty, "RSA") == 0) {
        *kind = JWK_RSA;
        return rsa_key(jwk, why);
    }
    if (strcmp(kty, "OKP") == 0) {
        *kind = JWK_ED25519;
        return okp_key(jwk, crv, why);
    }
    if (strcmp(kty, "oct") == 0) {
        /* a symmetric key would turn a MAC into a "signature" anyone holding
         * the published set could forge */
        *why = "symmetric (oct) keys are not accepted";
        return NULL;
    }
    *why = "unsupported key type";
    return NULL;
}

/* RFC 7518 §6.2.2.1, §6.3.2, RFC 8037 §2: members that only a private key has */
static bool jwk_has_private(const json_t *jwk)
{
    static const char *priv[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};
    for (size_t i = 0; i < sizeof priv / sizeof priv[0]; i++)
        if (json_object_get(jwk, priv[i]))
            return true;
    return false;
}

/* Checks one JWK of a set and converts it; false with *why when unusable. */
static bool jwk_load(const json_t *jwk, int flags, struct jwk *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->alg = -1;
    if (!json_is_object(jwk)) {
        *why = "a JWK must be a JSON object";
        return false;
    }
    if ((flags & JWKS_NO_PRIVATE) && jwk_has_private(jwk)) {
        *why = "the JWK Set must hold public keys only";
        return false;
    }
    /* RFC 7517 §4.2: use "sig" for signature keys */
    json_t *use = json_object_get(jwk, "use");
    if (use && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0)) {
        *why = "a key's use must be sig";
        return false;
    }
    /* RFC 7517 §4.3: key_ops, when present, must allow verify */
    json_t *ops = json_object_get(jwk, "key_ops");
    if (ops) {
        bool verify = false;
        size_t i;
        json_t *o;
        if (!json_is_array(ops)) {
            *why = "malformed key_ops";
            return false;
        }
        json_array_foreach(ops, i, o) if (json_is_string(o) && !strcmp(json_string_value(o), "verify"))
            verify = true;
        if (!verify) {
            *why = "a key's key_ops must include verify";
            return false;
        }
    }
    /* RFC 7517 §4.5: kid is a string */
    json_t *kid = json_object_get(jwk, "kid");
    if (kid && (!json_is_string(kid) || json_string_length(kid) == 0 ||
                json_string_length(kid) > 256)) {
        *why = "malformed kid";
        return false;
    }
    /* RFC 7517 §4.4: alg, when present, is the one algorithm the key is for */
    json_t *alg = json_object_get(jwk, "alg");
    if (alg) {
        out->alg = jwt_alg_parse(json_string_value(alg));
        if (out->alg < 0) {
            *why = "a key's alg is not one of ES256, ES384, RS256, PS256, EdDSA";
            return false;
        }
    }
    enum jwk_kind kind = JWK_RSA;
    EVP_PKEY *pkey = jwk_to_pkey(jwk, &kind, why);
    if (!pkey)
        return false;
    if (out->alg >= 0 && ALGS[out->alg].kind != kind) {
        EVP_PKEY_free(pkey);
        *why = "a key's alg does not fit its type or curve";
        return false;
    }
    out->kind = kind;
    out->pkey = pkey;
    out->kid = kid ? strdup(json_string_value(kid)) : NULL;
    return true;
}

static void jwks_free(struct jwks *ks)
{
    for (int i = 0; i < ks->n; i++) {
        EVP_PKEY_free(ks->keys[i].pkey);
        free(ks->keys[i].kid);
    }
    free(ks->keys);
    free(ks);
}

struct jwks *jwks_parse(const json_t *set, int flags, const char **why)
{
    /* RFC 7517 §5: {"keys": [JWK, ...]} */
    json_t *keys = json_is_object(set) ? json_object_get(set, "keys") : NULL;
    if (!json_is_array(keys)) {
        *why = "a JWK Set is an object with a keys array";
        return NULL;
    }
    size_t n = json_array_size(keys);
    if (n > JWKS_MAX_KEYS) {
        *why = "too many keys in the JWK Set";
        return NULL;
    }
    struct jwks *ks = calloc(1, sizeof *ks);
    if (!ks || !(ks->keys = calloc(n ? n : 1, sizeof *ks->keys))) {
        free(ks);
        *why = "out of memory";
        return NULL;
    }
    atomic_init(&ks->refs, 1);
    for (size_t i = 0; i < n; i++) {
        const char *kwhy = NULL;
        struct jwk k;
        if (!jwk_load(json_array_get(keys, i), flags, &k, &kwhy)) {
            if (flags & JWKS_STRICT) {
                jwks_free(ks);
                *why = kwhy;
                return NULL;
            }
            continue; /* RFC 7517 §5: ignore keys that cannot be used */
        }
        if ((flags & JWKS_STRICT) && k.kid && jwks_has_kid(ks, k.kid)) {
            EVP_PKEY_free(k.pkey);
            free(k.kid);
            jwks_free(ks);
            *why = "two keys of the JWK Set share one kid";
            return NULL;
        }
        ks->keys[ks->n++] = k;
    }
    if ((flags & JWKS_STRICT) && ks->n == 0) {
        jwks_free(ks);
        *why = "the JWK Set holds no key";
        return NULL;
    }
    return ks;
}

struct jwks *jwks_parse_text(const char *text, size_t len, int flags, const char **why)
{
    if (len > JWKS_MAX_BYTES) {
        *why = "the JWK Set is too large";
        return NULL;
    }
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!j) {
        *why = "the JWK Set is not valid JSON";
        return NULL;
    }
    struct jwks *ks = jwks_parse(j, flags, why);
    json_decref(j);
    return ks;
}

struct jwks *jwks_ref(struct jwks *ks)
{
    if (ks)
        atomic_fetch_add(&ks->refs, 1);
    return ks;
}

void jwks_release(struct jwks *ks)
{
    if (ks && atomic_fetch_sub(&ks->refs, 1) == 1)
        jwks_free(ks);
}

bool jwks_has_kid(const struct jwks *ks, const char *kid)
{
    for (int i = 0; ks && kid && i < ks->n; i++)
        if (ks->keys[i].kid && strcmp(ks->keys[i].kid, kid) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- */
/* signatures                                                        */

enum jwt_verdict jwt_verify_key(const struct jwt *j, const struct jwk *k, const char **why)
{
    const struct alg_info *a = &ALGS[j->alg];
    /* RFC 8725 §3.1: the key must be one the algorithm is for: kty and
     * curve, and the JWK's own alg when it names one (RFC 7517 §4.4) */
    if (k->kind != a->kind) {
        *why = "the key does not fit the token's algorithm";
        return JWT_INVALID;
    }
    if (k->alg >= 0 && k->alg != (int)j->alg) {
        *why = "the token's alg differs from the key's alg";
        return JWT_INVALID;
    }
    const uint8_t *sig = j->sig;
    size_t siglen = j->siglen;
    uint8_t der[2 * 48 + 16];
    if (a->es_coord) {
        /* RFC 7518 §3.4: the signature is the 2 * coordinate-size octet
         * sequence R || S; anything else (DER included) is invalid */
        if (siglen != 2 * a->es_coord) {
            *why = "an ECDSA signature of the wrong length";
            return JWT_INVALID;
        }
        int dl = ecdsa_raw_to_der(j->sig, a->es_coord, der, sizeof der);
        if (dl < 0) {
            *why = "bad signature";
            return JWT_INVALID;
        }
        sig = der;
        siglen = (size_t)dl;
    } else if (k->kind == JWK_ED25519) {
        /* RFC 8032 §5.1.6: a 64-byte signature */
        if (siglen != 64) {
            *why = "an Ed25519 signature of the wrong length";
            return JWT_INVALID;
        }
    } else if ((int)siglen != EVP_PKEY_get_size(k->pkey)) {
        /* RFC 8017 §8.2.2 step 1 / §8.1.2 step 1: length of the modulus */
        *why = "an RSA signature of the wrong length";
        return JWT_INVALID;
    }
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = mctx && EVP_DigestVerifyInit_ex(mctx, &pctx, a->md, NULL, NULL, k->pkey, NULL) == 1;
    if (ok && k->kind == JWK_RSA) {
        if (a->pss) {
            /* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash */
            ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
                 EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, a->md, NULL) == 1;
        } else {
            ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
        }
    }
    /* RFC 7515 §5.2 step 8: validate the signature over the ASCII
     * "BASE64URL(header) '.' BASE64URL(payload)" */
    ok = ok && EVP_DigestVerify(mctx, sig, siglen, (const uint8_t *)j->token,
                                j->signing_input_len) == 1;
    EVP_MD_CTX_free(mctx);
    if (!ok) {
        *why = "bad signature";
        return JWT_INVALID;
    }
    return JWT_VALID;
}

enum jwt_verdict jwt_verify(const struct jwt *j, const struct jwks *ks, const char **why)
{
    if (!ks || ks->n == 0) {
        *why = "no key to verify with";
        return JWT_NO_KEY;
    }
    if (!j->kid) {
        /* without a kid, the one key of the set that fits the algorithm
         * (kty, curve, the JWK's alg); none or several: no key */
        const struct jwk *only = NULL;
        int fits = 0;
        for (int i = 0; i < ks->n; i++)
            if (ks->keys[i].kind == ALGS[j->alg].kind &&
                (ks->keys[i].alg < 0 || ks->keys[i].alg == (int)j->alg)) {
                only = &ks->keys[i];
                fits++;
            }
        if (fits != 1) {
            *why = fits ? "the token names no kid and several keys fit its algorithm"
                        : "no key of the set fits the token's algorithm";
            return JWT_NO_KEY;
        }
        return jwt_verify_key(j, only, why);
    }
    /* RFC 7515 §4.1.4: kid selects the key */
    bool any = false;
    enum jwt_verdict v = JWT_INVALID;
    for (int i = 0; i < ks->n; i++) {
        if (!ks->keys[i].kid || strcmp(ks->keys[i].kid, j->kid) != 0)
            continue;
        any = true;
        v = jwt_verify_key(j, &ks->keys[i], why);
        if (v == JWT_VALID)
            return v;
    }
    if (!any) {
        *why = "no key with the token's kid";
        return JWT_NO_KEY;
    }
    return v;
}

/* ---------------------------------------------------------------- */
/* claims                                                            */

const char *jwt_claim_str(const json_t *claims, const char *name)
{
    return json_string_value(json_object_get(claims, name));
}

int jwt_claim_date(const json_t *claims, const char *name, int64_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (!v)
        return 0;
    /* RFC 7519 §2: "A JSON numeric value representing the number of seconds
     * from 1970-01-01T00:00:00Z UTC until the specified UTC date/time" */
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < -(json_int_t)1e15 || i > (json_int_t)1e15)
            return -1;
        *out = (int64_t)i;
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d < -1e15 || d > 1e15)
            return -1;
        int64_t i = (int64_t)d; /* truncation toward zero, then floor */
        if ((double)i > d)
            i--;
        *out = i;
        return 1;
    }
    return -1;
}

bool jwt_aud_has(const json_t *claims, const char *want)
{
    json_t *aud = json_object_get(claims, "aud");
    if (!want)
        return false;
    /* RFC 7519 §4.1.3: "In the general case, the aud value is an array of
     * case-sensitive strings ... In the special case when the JWT has one
     * audience, the aud value MAY be a single case-sensitive string" */
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return false;
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(aud, i, e)
    {
        if (!json_is_string(e))
            return false;
        if (strcmp(json_string_value(e), want) == 0)
            found = true;
    }
    return found;
}

bool jwt_check_times(const json_t *claims, const struct jwt_time_rules *t, const char **why)
{
    int64_t exp = 0, nbf = 0, iat = 0;
    int rc = jwt_claim_date(claims, "exp", &exp);
    if (rc < 0) {
        *why = "exp is not a NumericDate";
        return false;
    }
    if (rc == 0 && (t->require_exp || t->max_exp_ahead > 0)) {
        *why = "exp is required";
        return false;
    }
    /* RFC 7519 §4.1.4: "the current date/time MUST be before the expiration
     * date/time listed in the exp claim", with "some small leeway ... to
     * account for clock skew" */
    if (rc == 1 && exp <= t->now - t->leeway) {
        *why = "expired";
        return false;
    }
    /* RFC 7523 §3 item 4 (and SPEC §3: exp is short): the lifetime a
     * verifier accepts is bounded */
    if (rc == 1 && t->max_exp_ahead > 0 && exp > t->now + t->max_exp_ahead + t->leeway) {
        *why = "exp is too far in the future";
        return false;
    }
    /* RFC 7519 §4.1.5: "the current date/time MUST be after or equal to the
     * not-before date/time listed in the nbf claim" (with leeway) */
    rc = jwt_claim_date(claims, "nbf", &nbf);
    if (rc < 0) {
        *why = "nbf is not a NumericDate";
        return false;
    }
    if (rc == 1 && nbf > t->now + t->leeway) {
        *why = "not yet valid (nbf)";
        return false;
    }
    /* RFC 7519 §4.1.6: iat is the time the JWT was issued; one from the
     * future (beyond the leeway) is not believed, and RFC 7523 §3 item 6
     * lets a verifier refuse tokens issued "unreasonably far in the past" */
    rc = jwt_claim_date(claims, "iat", &iat);
    if (rc < 0) {
        *why = "iat is not a NumericDate";
        return false;
    }
    if (rc == 0 && (t->require_iat || t->max_age > 0)) {
        *why = "iat is required";
        return false;
    }
    if (rc == 1 && iat > t->now + t->leeway) {
        *why = "issued in the future (iat)";
        return false;
    }
    if (rc == 1 && t->max_age > 0 && iat < t->now - t->max_age) {
        *why = "too old (iat beyond the maximum token age)";
        return false;
    }
    return true;
}
