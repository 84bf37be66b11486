/*
 * jws.c: JWS compact serialisation (RFC 7515) of access tokens.
 *
 * jws_sign_into() is the token endpoint's hot path: it writes
 * header "." payload "." signature straight into the caller's buffer, signs
 * the first two parts in place and keeps everything else on the stack, so the
 * only allocations are OpenSSL's own (one EVP_MD_CTX per call, which is what
 * makes concurrent signing with one shared EVP_PKEY safe).
 *
 * ES256 signatures are converted between OpenSSL's DER ECDSA-Sig-Value and
 * JWS's fixed 64-byte r||s (RFC 7518 §3.4). EdDSA is Ed25519 (RFC 8037), RS256
 * RSASSA-PKCS1-v1_5 with SHA-256 (OpenSSL's default RSA padding).
 */
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <openssl/rsa.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "crypto/crypto.h"

#define ES256_RAW_LEN  64
#define EDDSA_SIG_LEN  64
/* Largest RSA signature accepted (4096-bit keys); see pkey_fits_alg(). */
#define SIG_MAX_LEN    512
/* Largest DER ECDSA-Sig-Value for P-256: 2 + 2 * (2 + 33). */
#define ES256_DER_MAX  72
/* Decoded JWS header size accepted by jws_verify(). */
#define HEADER_MAX     1024

/* Digest name for EVP_DigestSignInit_ex(); Ed25519 hashes internally. */
static const char *alg_md(enum sig_alg alg) {
    return alg == SIG_EDDSA ? NULL : "SHA256";
}

/* Length of the raw JWS signature k produces, or 0 for an unusable key. */
static size_t sig_len(const struct signing_key *k) {
    switch (k->alg) {
    case SIG_ES256: return ES256_RAW_LEN;
    case SIG_EDDSA: return EDDSA_SIG_LEN;
    case SIG_RS256: {
        int n = EVP_PKEY_get_size(k->pkey);
        return n > 0 && n <= SIG_MAX_LEN ? (size_t)n : 0;
    }
    }
    return 0;
}

/* RFC 7518 §3.4: DER ECDSA-Sig-Value -> R || S, each left-padded to coord
 * bytes. The one conversion, for what authz signs (here) and what it
 * verifies (here and in jwt.c). */
int ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t coord, uint8_t *raw) {
    const unsigned char *p = der;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    int ok;

    if (sig == NULL)
        return -1;
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, (int)coord) == (int)coord &&
         BN_bn2binpad(s, raw + coord, (int)coord) == (int)coord;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

/* R || S, each of coord bytes -> DER ECDSA-Sig-Value in at most cap bytes. */
int ecdsa_raw_to_der(const uint8_t *raw, size_t coord, uint8_t *der, size_t cap) {
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)coord, NULL), *s = BN_bin2bn(raw + coord, (int)coord, NULL);
    unsigned char *p = der;
    int len = -1;

    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return -1;
    }
    /* sig owns r and s now. */
    int need = i2d_ECDSA_SIG(sig, NULL);
    if (need > 0 && (size_t)need <= cap)
        len = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    return len > 0 ? len : -1;
}

/*
 * Hot-path signing for ES256 and RS256: OpenSSL 3 spends as long setting up a
 * fresh EVP_DigestSign context (algorithm fetch, key-context creation) as it
 * does signing. Each thread therefore keeps, per key, one EVP_PKEY_CTX
 * initialised for signing once, and hashes with a SHA-256 fetched once. The
 * contexts hold a reference on their EVP_PKEY, so a cached pointer can never
 * name a different, later key. A context is used by its own thread only.
 */
#define SIGN_CACHE 8
struct sign_slot {
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *mdctx;
};
struct sign_cache {
    struct sign_slot slot[SIGN_CACHE];
    unsigned next;
};
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;

/* A thread's cache goes with the thread (pthread key destructor). */
static void sign_cache_free(void *p)
{
    struct sign_cache *c = p;
    for (unsigned i = 0; i < SIGN_CACHE; i++) {
        EVP_PKEY_CTX_free(c->slot[i].pctx);
        EVP_MD_CTX_free(c->slot[i].mdctx);
    }
    free(c);
}

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    pthread_key_create(&cache_key, sign_cache_free);
}

/* The calling thread's cache. Memory is freed when the thread ends; the
 * main thread's (tests) at exit through jws_thread_cleanup(). */
static struct sign_cache *thread_cache(void)
{
    struct sign_cache *c = pthread_getspecific(cache_key);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (c)
            pthread_setspecific(cache_key, c);
    }
    return c;
}

void jws_thread_cleanup(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    struct sign_cache *c = pthread_getspecific(cache_key);
    if (c) {
        pthread_setspecific(cache_key, NULL);
        sign_cache_free(c);
    }
}

static struct sign_slot *sign_slot_for(const struct signing_key *k)
{
    struct sign_cache *cache = thread_cache();
    if (!cache)
        return NULL;
    for (unsigned i = 0; i < SIGN_CACHE; i++)
        if (cache->slot[i].pkey == k->pkey && cache->slot[i].pctx)
            return &cache->slot[i];
    struct sign_slot *s = &cache->slot[cache->next++ % SIGN_CACHE];
    EVP_PKEY_CTX_free(s->pctx);
    EVP_MD_CTX_free(s->mdctx);
    memset(s, 0, sizeof *s);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (!pctx || EVP_PKEY_sign_init(pctx) != 1 ||
        (k->alg == SIG_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
        EVP_PKEY_CTX_set_signature_md(pctx, sha256_md) != 1) {
        EVP_PKEY_CTX_free(pctx);
        return NULL;
    }
    s->pctx = pctx;
    s->mdctx = EVP_MD_CTX_new();
    s->pkey = k->pkey;
    return s;
}

static int sign_prehashed(const struct signing_key *k, const uint8_t *tbs, size_t tbslen,
                          uint8_t *sig, size_t *siglen)
{
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md)
        return -1;
    struct sign_slot *s = sign_slot_for(k);
    if (!s || !s->mdctx)
        return -1;
    uint8_t md[32];
    unsigned mdlen = 0;
    if (EVP_DigestInit_ex2(s->mdctx, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(s->mdctx, tbs, tbslen) != 1 ||
        EVP_DigestFinal_ex(s->mdctx, md, &mdlen) != 1)
        return -1;
    return EVP_PKEY_sign(s->pctx, sig, siglen, md, mdlen) == 1 ? 0 : -1;
}

ssize_t jws_sign_into(const struct signing_key *k, const char *payload,
                      size_t payloadlen, char *out, size_t cap) {
    uint8_t sig[SIG_MAX_LEN];
    uint8_t raw[ES256_RAW_LEN];
    const uint8_t *final_sig = sig;
    size_t siglen = sizeof sig;
    size_t rawlen = sig_len(k);
    size_t hl = k->jws_header_len;
    size_t pl, tbslen, total;
    EVP_MD_CTX *mctx;
    int ok;

    if (rawlen == 0 || payloadlen > (SIZE_MAX / 2) || (payload == NULL && payloadlen > 0))
        return -1;
    pl = b64url_encoded_len(payloadlen);
    tbslen = hl + 1 + pl;
    total = tbslen + 1 + b64url_encoded_len(rawlen);
    if (total >= cap || total > SIZE_MAX / 2)
        return -1;

    memcpy(out, k->jws_header_b64, hl);
    out[hl] = '.';
    b64url_encode(payload ? payload : "", payloadlen, out + hl + 1);

    if (k->alg == SIG_EDDSA) {
        if ((mctx = EVP_MD_CTX_new()) == NULL)
            return -1;
        ok = EVP_DigestSignInit_ex(mctx, NULL, alg_md(k->alg), NULL, NULL, k->pkey, NULL) == 1 &&
             EVP_DigestSign(mctx, sig, &siglen, (const uint8_t *)out, tbslen) == 1;
        EVP_MD_CTX_free(mctx);
    } else {
        ok = sign_prehashed(k, (const uint8_t *)out, tbslen, sig, &siglen) == 0;
    }
    if (!ok)
        return -1;

    if (k->alg == SIG_ES256) {
        if (ecdsa_der_to_raw(sig, siglen, ES256_RAW_LEN / 2, raw) != 0)
            return -1;
        final_sig = raw;
    } else if (siglen != rawlen) {
        return -1;
    }
    out[tbslen] = '.';
    b64url_encode(final_sig, rawlen, out + tbslen + 1);
    return (ssize_t)total;
}

char *jws_sign(const struct signing_key *k, const char *payload, size_t payloadlen) {
    size_t rawlen = sig_len(k);
    size_t cap;
    char *out;

    if (rawlen == 0 || payloadlen > SIZE_MAX / 2)
        return NULL;
    cap = k->jws_header_len + 1 + b64url_encoded_len(payloadlen) + 1 +
          b64url_encoded_len(rawlen) + 1;
    if ((out = malloc(cap)) == NULL)
        return NULL;
    if (jws_sign_into(k, payload, payloadlen, out, cap) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* The header must be a JSON object whose "alg" names alg exactly. */
static int header_ok(const char *b64, size_t n, enum sig_alg alg) {
    char buf[HEADER_MAX];
    ssize_t len = b64url_decode(b64, n, buf, sizeof buf);
    json_t *hdr, *a;
    int ok;

    if (len <= 0)
        return 0;
    hdr = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (hdr == NULL)
        return 0;
    a = json_object_get(hdr, "alg");
    ok = json_is_object(hdr) && json_is_string(a) &&
         strcmp(json_string_value(a), sig_alg_name(alg)) == 0;
    json_decref(hdr);
    return ok;
}

/* The key must be of the type alg uses. */
static int pub_fits_alg(EVP_PKEY *pub, enum sig_alg alg) {
    switch (alg) {
    case SIG_ES256: return EVP_PKEY_is_a(pub, "EC") && EVP_PKEY_get_bits(pub) == 256;
    case SIG_EDDSA: return EVP_PKEY_is_a(pub, "ED25519");
    case SIG_RS256: return EVP_PKEY_is_a(pub, "RSA") && EVP_PKEY_get_bits(pub) >= 2048;
    }
    return 0;
}

int jws_verify(EVP_PKEY *pub, enum sig_alg alg, const char *token, size_t len) {
    const char *dot1, *dot2;
    uint8_t sig[SIG_MAX_LEN];
    uint8_t der[ES256_DER_MAX];
    const uint8_t *vsig = sig;
    size_t vsiglen, plen;
    ssize_t siglen;
    uint8_t *payload;
    EVP_MD_CTX *mctx;
    int ok;

    if (pub == NULL || token == NULL || !pub_fits_alg(pub, alg))
        return 0;
    dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return 0;
    dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
        return 0;

    if (!header_ok(token, (size_t)(dot1 - token), alg))
        return 0;
    /* The payload segment must be well-formed base64url too. */
    plen = (size_t)(dot2 - dot1 - 1);
    if ((payload = malloc(plen / 4 * 3 + 3)) == NULL)
        return 0;
    ok = b64url_decode(dot1 + 1, plen, payload, plen / 4 * 3 + 3) >= 0;
    free(payload);
    if (!ok)
        return 0;

    siglen = b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig, sizeof sig);
    if (siglen <= 0)
        return 0;
    vsiglen = (size_t)siglen;
    if (alg == SIG_ES256) {
        int dlen;
        if (siglen != ES256_RAW_LEN || (dlen = ecdsa_raw_to_der(sig, ES256_RAW_LEN / 2, der, sizeof der)) < 0)
            return 0;
        vsig = der;
        vsiglen = (size_t)dlen;
    } else if (alg == SIG_EDDSA && siglen != EDDSA_SIG_LEN) {
        return 0;
    } else if (alg == SIG_RS256 && siglen != EVP_PKEY_get_size(pub)) {
        return 0;
    }

    if ((mctx = EVP_MD_CTX_new()) == NULL)
        return 0;
    ok = EVP_DigestVerifyInit_ex(mctx, NULL, alg_md(alg), NULL, NULL, pub, NULL) == 1 &&
         EVP_DigestVerify(mctx, vsig, vsiglen, (const uint8_t *)token,
                          (size_t)(dot2 - token)) == 1;
    EVP_MD_CTX_free(mctx);
    return ok;
}
