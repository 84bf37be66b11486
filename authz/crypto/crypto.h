/*
 * crypto.h: every cryptographic primitive authz uses, in one place.
 *
 * - base64url (RFC 4648 §5, no padding), strict on decode.
 * - random bytes and random identifiers (OpenSSL's CSPRNG).
 * - constant-time comparison.
 * - keyed hashing of server-generated secrets (HMAC-SHA256 under a key derived
 *   from the master key): client secrets and root tokens are 256-bit random, so a
 *   fast keyed hash is enough; people's passwords use Argon2id (crypto/password.c).
 * - per-tenant encryption of private keys at rest: AES-256-GCM under a key derived
 *   with HKDF-SHA256 from the master key and the tenant id.
 * - signing keys: generated once, parsed once into an EVP_PKEY, JWS compact
 *   serialisation signed with OpenSSL directly (ES256 raw r||s, EdDSA, RS256),
 *   public JWK export.
 *
 * Nothing here does I/O except reading the master key file.
 */
#ifndef AUTHZ_CRYPTO_H
#define AUTHZ_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include <openssl/evp.h>

/* ---- base64url ---- */
/* Length of the unpadded encoding of n bytes (without the NUL). */
size_t b64url_encoded_len(size_t n);
/* Writes b64url_encoded_len(n) chars plus a NUL to out; returns chars written. */
size_t b64url_encode(const void *in, size_t n, char *out);
/* Strict decode: alphabet A-Z a-z 0-9 - _ only, no padding, no whitespace, and
 * a final quantum whose unused bits are zero. Returns bytes written, or -1 on
 * malformed input or when the result does not fit in cap. */
ssize_t b64url_decode(const char *in, size_t n, void *out, size_t cap);

/* ---- randomness ---- */
/* Fills buf with n bytes from the CSPRNG; aborts the process if it fails. */
void crypto_random(void *buf, size_t n);
/* A random identifier: nbytes random bytes, base64url encoded, into out
 * (capacity b64url_encoded_len(nbytes)+1). */
void crypto_random_id(char *out, size_t nbytes);

/* ---- ECDSA signatures (RFC 7518 §3.4), jws.c ---- */
/* OpenSSL's DER ECDSA-Sig-Value -> JWS's R || S, each left-padded to coord
 * bytes (32 for ES256, 48 for ES384, 66 for ES512) into raw (2 * coord).
 * 0, or -1 on malformed DER or a value wider than coord. */
int ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t coord, uint8_t *raw);
/* R || S, each of coord bytes -> DER into der (at most cap bytes): the DER
 * length, or -1. */
int ecdsa_raw_to_der(const uint8_t *raw, size_t coord, uint8_t *der, size_t cap);

/* ---- constant-time comparison ---- */
/* 1 when the n bytes are equal; time depends only on n. */
int ct_equal(const void *a, const void *b, size_t n);
/* 1 when the two strings are equal; time depends only on their lengths. */
int ct_streq(const char *a, const char *b);

/* ---- master key and derived keys ---- */
#define CRYPTO_MASTER_KEY_LEN 32
/* Reads exactly 32 bytes from path (a file of more or fewer bytes is an error;
 * one trailing newline after 64 hex digits is also accepted as a hex form).
 * Returns 0, or -1 with a message in err (give it 1024 bytes) that says what
 * is wrong and never suggests overwriting the file named. */
int crypto_master_key_load(const char *path, uint8_t key[CRYPTO_MASTER_KEY_LEN],
                           char *err, size_t errlen);
/* HKDF-SHA256(master, salt=NULL, info) -> out (outlen bytes). 0 on success. */
int crypto_hkdf(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *info,
                size_t infolen, uint8_t *out, size_t outlen);

/* ---- keyed secret hash (client secrets, root tokens, refresh tokens) ---- */
#define CRYPTO_SECRET_HASH_HEX 64
/* hex(HMAC-SHA256(pepper, secret)) into out (65 bytes with NUL).
 * pepper is 32 bytes, derived once from the master key with
 * crypto_hkdf(master, "authz secret hash v1"). */
void crypto_secret_hash(const uint8_t pepper[32], const char *secret, size_t len,
                        char out[CRYPTO_SECRET_HASH_HEX + 1]);

/* ---- private keys at rest ---- */
/* AES-256-GCM with a 12-byte random nonce. The key is
 * crypto_hkdf(master, "authz tenant key v1:" + tenant_id). aad binds the
 * ciphertext to its row (the key id). Output layout: nonce(12) || ciphertext ||
 * tag(16); *outlen gets its length. Caller frees *out with free(). */
int crypto_seal(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                const char *aad, const void *plain, size_t plainlen,
                uint8_t **out, size_t *outlen);
/* Inverse of crypto_seal; fails (-1) on any tampering. */
int crypto_open(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                const char *aad, const uint8_t *sealed, size_t sealedlen,
                uint8_t **plain, size_t *plainlen);

/* Secrets authz must use again later (a tenant's approval webhook secret,
 * a CIBA client_notification_token), at rest: "sealed:v1:" followed by the
 * base64url of crypto_seal(master, tenant_id, purpose, text). Malloc'd; NULL
 * on failure. */
char *crypto_seal_text(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                       const char *purpose, const char *plain);
/* Inverse of crypto_seal_text (malloc'd; NULL when tampered with, or sealed
 * for another tenant or purpose). A value without the prefix was stored
 * before secrets were sealed and comes back as it is. */
char *crypto_open_text(const uint8_t master[CRYPTO_MASTER_KEY_LEN], const char *tenant_id,
                       const char *purpose, const char *stored);
bool crypto_is_sealed_text(const char *stored);

/* ---- signing keys ---- */
enum sig_alg { SIG_ES256 = 0, SIG_EDDSA = 1, SIG_RS256 = 2 };
/* "ES256", "EdDSA", "RS256" */
const char *sig_alg_name(enum sig_alg alg);
/* -1 when unknown */
int sig_alg_parse(const char *name);

struct signing_key {
    enum sig_alg alg;
    char kid[64];
    EVP_PKEY *pkey;          /* private key, parsed once */
    char *jws_header_b64;    /* base64url of {"alg":..,"kid":..,"typ":"at+jwt"}, precomputed */
    size_t jws_header_len;
};

/* Generates a new key of alg (P-256 for ES256, Ed25519, RSA-2048) and a random
 * kid. Returns NULL on failure. */
struct signing_key *signing_key_generate(enum sig_alg alg);
/* PKCS#8 DER of the private key, for sealing. Caller frees *der. */
int signing_key_to_der(const struct signing_key *k, uint8_t **der, size_t *derlen);
/* Rebuilds a key from PKCS#8 DER (after crypto_open). */
struct signing_key *signing_key_from_der(enum sig_alg alg, const char *kid,
                                         const uint8_t *der, size_t derlen);
void signing_key_free(struct signing_key *k);
/* The public JWK (kty, crv/x/y or n/e, kid, alg, use:"sig") as a JSON object
 * string; caller frees with free(). */
char *signing_key_public_jwk(const struct signing_key *k);

/* JWS compact serialisation over payload (a JSON text) with the key's
 * precomputed at+jwt header. Returns a malloc'd NUL-terminated token, or NULL.
 * ES256 signatures are the 64-byte raw r||s form (RFC 7518 §3.4). Thread-safe:
 * many threads may sign with one key at once. */
char *jws_sign(const struct signing_key *k, const char *payload, size_t payloadlen);
/* Same, but writes into a caller buffer of cap bytes; returns the length, or -1
 * if it did not fit. For the hot path (no allocation). */
ssize_t jws_sign_into(const struct signing_key *k, const char *payload,
                      size_t payloadlen, char *out, size_t cap);

/* Frees the calling thread's cached signing contexts (threads other than
 * the main one have theirs freed when they end). */
void jws_thread_cleanup(void);

/* Verifies a compact JWS made by jws_sign against a public key of alg. Used by
 * tests and by authz itself for its own tokens. Returns 1 valid, 0 not. */
int jws_verify(EVP_PKEY *pub, enum sig_alg alg, const char *token, size_t len);

#endif
