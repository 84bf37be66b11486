/*
 * keys.c: key material.
 *
 * - the master key file (32 raw bytes, or 64 hex digits and a newline);
 * - HKDF-SHA256 derivation of purpose-bound keys from the master key;
 * - the keyed hash (HMAC-SHA256) of server-generated secrets;
 * - sealing private keys at rest with AES-256-GCM under a per-tenant key;
 * - signing keys: generation, PKCS#8 DER in and out, public JWK export.
 *
 * Signing itself lives in jws.c. Derived keys and decrypted key material are
 * wiped with OPENSSL_cleanse() before their memory is released.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/crypto.h"

#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN   16
#define KID_RANDOM_BYTES 16

static const char tenant_info_prefix[] = "authz tenant key v1:";

/* ---- master key ---- */

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* What a master key error tells the operator. The file named is never to be
 * replaced: if it held this installation's key, every tenant's signing key
 * is sealed with it, and a new key would open none of them. Only a new
 * installation gets a new key, written where nothing can be overwritten. */
#define MASTER_KEY_RESTORE \
    "If it held this installation's master key, do not replace it: restore it from its " \
    "backup (every tenant's signing key is sealed with it; a new key opens none of them). "
#define MASTER_KEY_NEW_INSTALL \
    "Only for a new installation, create a key in a new file: (set -o noclobber; umask 077; " \
    "head -c 32 /dev/urandom > NEW-FILE) and set master_key_file to it."

int crypto_master_key_load(const char *path, uint8_t key[CRYPTO_MASTER_KEY_LEN],
                           char *err, size_t errlen) {
    /* One byte more than the longest accepted form tells "too long" apart. */
    uint8_t buf[2 * CRYPTO_MASTER_KEY_LEN + 2];
    size_t n;
    int rc = -1;
    FILE *f = fopen(path, "rb");

    if (f == NULL && errno == ENOENT) {
        snprintf(err, errlen,
                 "master key file %s does not exist. An existing installation needs its own "
                 "master key: restore the file from its backup (a new key opens none of the "
                 "tenants' signing keys). Only for a new installation, create it: "
                 "(set -o noclobber; umask 077; head -c 32 /dev/urandom > %s)",
                 path, path);
        return -1;
    }
    if (f == NULL) {
        snprintf(err, errlen,
                 "cannot open master key file %s: %s: it must be readable by the user the "
                 "program runs as (and by no one else). " MASTER_KEY_RESTORE,
                 path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof buf, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read master key file %s. " MASTER_KEY_RESTORE, path);
        fclose(f);
        OPENSSL_cleanse(buf, sizeof buf);
        return -1;
    }
    fclose(f);

    if (n == CRYPTO_MASTER_KEY_LEN) {
        memcpy(key, buf, CRYPTO_MASTER_KEY_LEN);
        rc = 0;
    } else if (n == 2 * CRYPTO_MASTER_KEY_LEN ||
               (n == 2 * CRYPTO_MASTER_KEY_LEN + 1 && buf[n - 1] == '\n')) {
        uint8_t tmp[CRYPTO_MASTER_KEY_LEN];
        rc = 0;
        for (size_t i = 0; i < CRYPTO_MASTER_KEY_LEN; i++) {
            int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                rc = -1;
                break;
            }
            tmp[i] = (uint8_t)((hi << 4) | lo);
        }
        if (rc == 0)
            memcpy(key, tmp, CRYPTO_MASTER_KEY_LEN);
        OPENSSL_cleanse(tmp, sizeof tmp);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc != 0) {
        char size[48];
        if (n == sizeof buf)
            snprintf(size, sizeof size, "more than %zu bytes", sizeof buf - 1);
        else
            snprintf(size, sizeof size, "%zu bytes", n);
        snprintf(err, errlen,
                 "master key file %s holds %s, not a master key: it must hold exactly 32 random "
                 "bytes (or 64 hex digits). " MASTER_KEY_RESTORE MASTER_KEY_NEW_INSTALL,
                 path, size);
    }
    return rc;
}

/* ---- HKDF ---- */

int crypto_hkdf(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *info,
                size_t infolen, uint8_t *out, size_t outlen) {
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[4], *p = params;
    int rc = -1;

    if (outlen == 0 || outlen > 255 * 32 || (info == NULL && infolen > 0))
        return -1;
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL)
        return -1;
    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return -1;

    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master,
                                             CRYPTO_MASTER_KEY_LEN);
    if (infolen > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    *p = OSSL_PARAM_construct_end();

    if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
        rc = 0;
    else
        OPENSSL_cleanse(out, outlen);
    EVP_KDF_CTX_free(kctx);
    return rc;
}

/* ---- keyed secret hash ---- */

void crypto_secret_hash(const uint8_t pepper[32], const char *secret, size_t len,
                        char out[CRYPTO_SECRET_HASH_HEX + 1]) {
    static const char hex[] = "0123456789abcdef";
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (HMAC(EVP_sha256(), pepper, 32, (const unsigned char *)(secret ? secret : ""),
             secret ? len : 0, md, &mdlen) == NULL || mdlen != 32) {
        /* Only an allocation failure inside OpenSSL gets here; an empty or
         * partial hash could match another, so there is no safe fallback. */
        fputs("authz: fatal: HMAC-SHA256 failed in crypto_secret_hash\n", stderr);
        abort();
    }
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[CRYPTO_SECRET_HASH_HEX] = '\0';
    OPENSSL_cleanse(md, sizeof md);
}

/* ---- sealing private keys at rest ---- */

static int tenant_key(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                      uint8_t key[32]) {
    size_t plen = sizeof tenant_info_prefix - 1;
    size_t tlen;
    char stackbuf[256];
    char *info = stackbuf;
    int rc;

    if (tenant_id == NULL)
        return -1;
    tlen = strlen(tenant_id);
    if (tlen > SIZE_MAX - plen)
        return -1;
    if (plen + tlen > sizeof stackbuf && (info = malloc(plen + tlen)) == NULL)
        return -1;
    memcpy(info, tenant_info_prefix, plen);
    memcpy(info + plen, tenant_id, tlen);
    rc = crypto_hkdf(master, info, plen + tlen, key, 32);
    if (info != stackbuf)
        free(info);
    return rc;
}

int crypto_seal(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                const char *aad, const void *plain, size_t plainlen,
                uint8_t **out, size_t *outlen) {
    uint8_t key[32];
    uint8_t *buf = NULL;
    EVP_CIPHER_CTX *c = NULL;
    size_t aadlen = aad ? strlen(aad) : 0;
    int len = 0, rc = -1;

    *out = NULL;
    *outlen = 0;
    if (plainlen > (size_t)INT_MAX - GCM_NONCE_LEN - GCM_TAG_LEN || aadlen > (size_t)INT_MAX ||
        (plain == NULL && plainlen > 0))
        return -1;
    if (tenant_key(master, tenant_id, key) != 0)
        return -1;
    buf = malloc(GCM_NONCE_LEN + plainlen + GCM_TAG_LEN);
    c = EVP_CIPHER_CTX_new();
    if (buf == NULL || c == NULL)
        goto done;

    crypto_random(buf, GCM_NONCE_LEN);
    if (EVP_EncryptInit_ex2(c, EVP_aes_256_gcm(), key, buf, NULL) != 1)
        goto done;
    if (aadlen > 0 && EVP_EncryptUpdate(c, NULL, &len, (const uint8_t *)aad, (int)aadlen) != 1)
        goto done;
    if (plainlen > 0 &&
        EVP_EncryptUpdate(c, buf + GCM_NONCE_LEN, &len, plain, (int)plainlen) != 1)
        goto done;
    if (EVP_EncryptFinal_ex(c, buf + GCM_NONCE_LEN + plainlen, &len) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, GCM_TAG_LEN,
                            buf + GCM_NONCE_LEN + plainlen) != 1)
        goto done;
    *out = buf;
    *outlen = GCM_NONCE_LEN + plainlen + GCM_TAG_LEN;
    buf = NULL;
    rc = 0;
done:
    OPENSSL_cleanse(key, sizeof key);
    EVP_CIPHER_CTX_free(c);
    free(buf);
    return rc;
}

int crypto_open(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                const char *aad, const uint8_t *sealed, size_t sealedlen,
                uint8_t **plain, size_t *plainlen) {
    uint8_t key[32];
    uint8_t tag[GCM_TAG_LEN];
    uint8_t *buf = NULL;
    EVP_CIPHER_CTX *c = NULL;
    size_t aadlen = aad ? strlen(aad) : 0;
    size_t ctlen;
    int len = 0, rc = -1;

    *plain = NULL;
    *plainlen = 0;
    if (sealed == NULL || sealedlen < GCM_NONCE_LEN + GCM_TAG_LEN ||
        sealedlen > (size_t)INT_MAX || aadlen > (size_t)INT_MAX)
        return -1;
    ctlen = sealedlen - GCM_NONCE_LEN - GCM_TAG_LEN;
    if (tenant_key(master, tenant_id, key) != 0)
        return -1;
    /* One spare byte so an empty plaintext still gets a distinct allocation. */
    buf = malloc(ctlen + 1);
    c = EVP_CIPHER_CTX_new();
    if (buf == NULL || c == NULL)
        goto done;
    memcpy(tag, sealed + GCM_NONCE_LEN + ctlen, GCM_TAG_LEN);

    if (EVP_DecryptInit_ex2(c, EVP_aes_256_gcm(), key, sealed, NULL) != 1)
        goto done;
    if (aadlen > 0 && EVP_DecryptUpdate(c, NULL, &len, (const uint8_t *)aad, (int)aadlen) != 1)
        goto done;
    if (ctlen > 0 &&
        EVP_DecryptUpdate(c, buf, &len, sealed + GCM_NONCE_LEN, (int)ctlen) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, GCM_TAG_LEN, tag) != 1)
        goto done;
    if (EVP_DecryptFinal_ex(c, buf + ctlen, &len) != 1)
        goto done;
    *plain = buf;
    *plainlen = ctlen;
    buf = NULL;
    rc = 0;
done:
    OPENSSL_cleanse(key, sizeof key);
    EVP_CIPHER_CTX_free(c);
    if (buf != NULL) {
        /* Unauthenticated plaintext never leaves this function. */
        OPENSSL_cleanse(buf, ctlen + 1);
        free(buf);
    }
    return rc;
}

#define SEALED_TEXT_PREFIX "sealed:v1:"

char *crypto_seal_text(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                       const char *purpose, const char *plain) {
    uint8_t *sealed = NULL;
    size_t sealedlen = 0;
    if (crypto_seal(master, tenant_id, purpose, plain, strlen(plain), &sealed, &sealedlen) < 0)
        return NULL;
    size_t pl = strlen(SEALED_TEXT_PREFIX);
    char *out = malloc(pl + b64url_encoded_len(sealedlen) + 1);
    if (out) {
        memcpy(out, SEALED_TEXT_PREFIX, pl);
        b64url_encode(sealed, sealedlen, out + pl);
    }
    free(sealed);
    return out;
}

char *crypto_open_text(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                       const char *purpose, const char *stored) {
    size_t pl = strlen(SEALED_TEXT_PREFIX);
    if (strncmp(stored, SEALED_TEXT_PREFIX, pl) != 0)
        return strdup(stored); /* written before secrets were sealed */
    const char *b = stored + pl;
    size_t n = strlen(b);
    uint8_t *bin = malloc(n + 1);
    if (!bin)
        return NULL;
    ssize_t blen = b64url_decode(b, n, bin, n + 1);
    uint8_t *plain = NULL;
    size_t plainlen = 0;
    char *out = NULL;
    if (blen >= 0 &&
        crypto_open(master, tenant_id, purpose, bin, (size_t)blen, &plain, &plainlen) == 0 &&
        !memchr(plain, '\0', plainlen)) {
        out = malloc(plainlen + 1);
        if (out) {
            memcpy(out, plain, plainlen);
            out[plainlen] = '\0';
        }
    }
    if (plain) {
        OPENSSL_cleanse(plain, plainlen);
        free(plain);
    }
    free(bin);
    return out;
}

bool crypto_is_sealed_text(const char *stored) {
    return strncmp(stored, SEALED_TEXT_PREFIX, strlen(SEALED_TEXT_PREFIX)) == 0;
}

/* ---- signing keys ---- */

const char *sig_alg_name(enum sig_alg alg) {
    switch (alg) {
    case SIG_ES256: return "ES256";
    case SIG_EDDSA: return "EdDSA";
    case SIG_RS256: return "RS256";
    }
    return "unknown";
}

int sig_alg_parse(const char *name) {
    if (name == NULL)
        return -1;
    if (strcmp(name, "ES256") == 0)
        return SIG_ES256;
    if (strcmp(name, "EdDSA") == 0)
        return SIG_EDDSA;
    if (strcmp(name, "RS256") == 0)
        return SIG_RS256;
    return -1;
}

/* OpenSSL key type name for each algorithm. */
static const char *alg_keytype(enum sig_alg alg) {
    switch (alg) {
    case SIG_ES256: return "EC";
    case SIG_EDDSA: return "ED25519";
    case SIG_RS256: return "RSA";
    }
    return NULL;
}

/* A kid goes verbatim into JSON (header and JWK) and URLs: keep it to
 * characters that need no escaping anywhere. */
static int kid_ok(const char *kid) {
    size_t n = strlen(kid);
    if (n == 0 || n >= sizeof ((struct signing_key *)0)->kid)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = kid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '~'))
            return 0;
    }
    return 1;
}

/* Checks that pkey is the key type and size alg requires. */
static int pkey_fits_alg(EVP_PKEY *pkey, enum sig_alg alg) {
    switch (alg) {
    case SIG_ES256: {
        char group[64];
        size_t glen = 0;
        if (!EVP_PKEY_is_a(pkey, "EC"))
            return 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof group, &glen) != 1)
            return 0;
        return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
    }
    case SIG_EDDSA:
        return EVP_PKEY_is_a(pkey, "ED25519");
    case SIG_RS256: {
        int bits = EVP_PKEY_get_bits(pkey);
        /* jws.c keeps RSA signatures in a 512-byte stack buffer. */
        return EVP_PKEY_is_a(pkey, "RSA") && bits >= 2048 && bits <= 4096;
    }
    }
    return 0;
}

/* Wraps pkey (ownership passes in) with its kid and precomputed JWS header. */
static struct signing_key *key_wrap(enum sig_alg alg, const char *kid, EVP_PKEY *pkey) {
    char json[160];
    struct signing_key *k;
    int n;

    n = snprintf(json, sizeof json, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
                 sig_alg_name(alg), kid);
    if (n < 0 || (size_t)n >= sizeof json || (k = calloc(1, sizeof *k)) == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    k->alg = alg;
    memcpy(k->kid, kid, strlen(kid) + 1);
    k->pkey = pkey;
    k->jws_header_b64 = malloc(b64url_encoded_len((size_t)n) + 1);
    if (k->jws_header_b64 == NULL) {
        signing_key_free(k);
        return NULL;
    }
    k->jws_header_len = b64url_encode(json, (size_t)n, k->jws_header_b64);
    return k;
}

struct signing_key *signing_key_generate(enum sig_alg alg) {
    char kid[KID_RANDOM_BYTES * 2];
    EVP_PKEY *pkey = NULL;

    switch (alg) {
    case SIG_ES256:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", (char *)"P-256");
        break;
    case SIG_EDDSA:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    case SIG_RS256:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    }
    if (pkey == NULL)
        return NULL;
    crypto_random_id(kid, KID_RANDOM_BYTES);
    return key_wrap(alg, kid, pkey);
}

int signing_key_to_der(const struct signing_key *k, uint8_t **der, size_t *derlen) {
    OSSL_ENCODER_CTX *ectx;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = -1;

    *der = NULL;
    *derlen = 0;
    ectx = OSSL_ENCODER_CTX_new_for_pkey(k->pkey, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo",
                                         NULL);
    if (ectx == NULL)
        return -1;
    if (OSSL_ENCODER_CTX_get_num_encoders(ectx) > 0 &&
        OSSL_ENCODER_to_data(ectx, &data, &len) == 1 && len > 0) {
        /* Hand back plain malloc memory, as the header promises free(). */
        if ((*der = malloc(len)) != NULL) {
            memcpy(*der, data, len);
            *derlen = len;
            rc = 0;
        }
    }
    if (data != NULL)
        OPENSSL_clear_free(data, len);
    OSSL_ENCODER_CTX_free(ectx);
    return rc;
}

struct signing_key *signing_key_from_der(enum sig_alg alg, const char *kid,
                                         const uint8_t *der, size_t derlen) {
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = der;
    size_t left = derlen;
    const char *keytype = alg_keytype(alg);

    if (keytype == NULL || kid == NULL || !kid_ok(kid) || der == NULL || derlen == 0)
        return NULL;
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "PrivateKeyInfo", keytype,
                                         EVP_PKEY_KEYPAIR, NULL, NULL);
    if (dctx == NULL)
        return NULL;
    if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
        OSSL_DECODER_CTX_free(dctx);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    if (pkey == NULL || !pkey_fits_alg(pkey, alg)) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return key_wrap(alg, kid, pkey);
}

void signing_key_free(struct signing_key *k) {
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k->jws_header_b64);
    free(k);
}

/* base64url of a BIGNUM parameter, left-padded to pad bytes (0: minimal). */
static char *bn_param_b64(EVP_PKEY *pkey, const char *name, int pad) {
    BIGNUM *bn = NULL;
    uint8_t *bin = NULL;
    char *b64 = NULL;
    int len;

    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
        return NULL;
    len = pad > 0 ? pad : BN_num_bytes(bn);
    if (len <= 0 || (bin = malloc((size_t)len)) == NULL)
        goto done;
    if (BN_bn2binpad(bn, bin, len) != len)
        goto done;
    if ((b64 = malloc(b64url_encoded_len((size_t)len) + 1)) != NULL)
        b64url_encode(bin, (size_t)len, b64);
done:
    free(bin);
    BN_free(bn);
    return b64;
}

char *signing_key_public_jwk(const struct signing_key *k) {
    char *a = NULL, *b = NULL, *json = NULL;
    const char *alg = sig_alg_name(k->alg);
    size_t cap;
    int n = -1;

    switch (k->alg) {
    case SIG_ES256:
        a = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        b = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
        if (a == NULL || b == NULL)
            break;
        /* 128 bytes covers the fixed text, the alg name and the kid (< 64). */
        cap = strlen(a) + strlen(b) + 192;
        if ((json = malloc(cap)) == NULL)
            break;
        n = snprintf(json, cap,
                     "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
                     "\"kid\":\"%s\",\"alg\":\"%s\",\"use\":\"sig\"}",
                     a, b, k->kid, alg);
        break;
    case SIG_EDDSA: {
        uint8_t pub[32];
        char x[48];
        size_t len = 0;
        if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub,
                                            &len) != 1 || len != sizeof pub)
            break;
        b64url_encode(pub, sizeof pub, x);
        cap = strlen(x) + 192;
        if ((json = malloc(cap)) == NULL)
            break;
        n = snprintf(json, cap,
                     "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\","
                     "\"kid\":\"%s\",\"alg\":\"%s\",\"use\":\"sig\"}",
                     x, k->kid, alg);
        break;
    }
    case SIG_RS256:
        a = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        b = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
        if (a == NULL || b == NULL)
            break;
        cap = strlen(a) + strlen(b) + 192;
        if ((json = malloc(cap)) == NULL)
            break;
        n = snprintf(json, cap,
                     "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\","
                     "\"kid\":\"%s\",\"alg\":\"%s\",\"use\":\"sig\"}",
                     a, b, k->kid, alg);
        break;
    }
    free(a);
    free(b);
    if (json != NULL && (n < 0 || (size_t)n >= cap)) {
        free(json);
        json = NULL;
    }
    return json;
}
