/*
 * test_crypto.c: unit tests for authz/crypto (base64url, randomness,
 * constant-time comparison, master key, HKDF, secret hash, sealing, signing
 * keys, JWS and JWK export).
 *
 * Known-answer vectors: RFC 4648 §10 for base64; the HKDF and HMAC vectors
 * for a 32-byte master key were computed with Python's hmac/hashlib, whose
 * HKDF implementation reproduces RFC 5869 test case 3 (no salt, no info).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* mkstemp, strdup under -std=c17 */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"

/* ---- helpers ---- */

static void hex_to_bin(const char *hex, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static const uint8_t test_master[CRYPTO_MASTER_KEY_LEN] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* The public half of a signing key, as a verifier would hold it. */
static EVP_PKEY *public_of(const struct signing_key *k) {
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_PUBKEY(k->pkey, &der);
    EVP_PKEY *pub;

    assert_true(len > 0);
    p = der;
    pub = d2i_PUBKEY(NULL, &p, len);
    OPENSSL_free(der);
    assert_non_null(pub);
    return pub;
}

/* Decodes one base64url segment into a NUL-terminated malloc'd buffer. */
static char *decode_segment(const char *s, size_t n, size_t *outlen) {
    char *buf = malloc(n + 1);
    ssize_t len;
    assert_non_null(buf);
    len = b64url_decode(s, n, buf, n);
    assert_true(len >= 0);
    buf[len] = '\0';
    if (outlen)
        *outlen = (size_t)len;
    return buf;
}

/* Splits a compact JWS at its two dots. */
static void split_token(const char *tok, size_t *d1, size_t *d2) {
    const char *a = strchr(tok, '.');
    const char *b;
    assert_non_null(a);
    b = strchr(a + 1, '.');
    assert_non_null(b);
    assert_null(strchr(b + 1, '.'));
    *d1 = (size_t)(a - tok);
    *d2 = (size_t)(b - tok);
}

static char *write_temp(const void *data, size_t n) {
    char *path = strdup("/tmp/authz_test_masterXXXXXX");
    int fd;
    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

/* ---- base64url ---- */

static void test_b64url_encodes_rfc4648_vectors(void **state) {
    static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *enc[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
    char out[16];
    uint8_t back[16];

    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        size_t n = strlen(plain[i]);
        assert_int_equal(b64url_encoded_len(n), strlen(enc[i]));
        assert_int_equal(b64url_encode(plain[i], n, out), strlen(enc[i]));
        assert_string_equal(out, enc[i]);
        assert_int_equal(b64url_decode(enc[i], strlen(enc[i]), back, sizeof back), (ssize_t)n);
        assert_memory_equal(back, plain[i], n);
    }
}

static void test_b64url_uses_url_safe_alphabet(void **state) {
    const uint8_t in[] = { 0xfb, 0xff, 0xbf };
    char out[8];
    uint8_t back[3];

    b64url_encode(in, sizeof in, out);
    assert_string_equal(out, "-_-_");
    assert_int_equal(b64url_decode(out, 4, back, sizeof back), 3);
    assert_memory_equal(back, in, 3);
}

static void test_b64url_round_trips_every_length_to_300(void **state) {
    uint8_t in[300], back[300];
    char enc[401];

    for (size_t n = 0; n <= sizeof in; n++) {
        crypto_random(in, n);
        size_t el = b64url_encode(in, n, enc);
        assert_int_equal(el, b64url_encoded_len(n));
        assert_int_equal(strlen(enc), el);
        assert_int_equal(b64url_decode(enc, el, back, n), (ssize_t)n);
        assert_memory_equal(back, in, n);
    }
}

static void test_b64url_decode_rejects_padding(void **state) {
    uint8_t out[8];
    assert_int_equal(b64url_decode("Zg==", 4, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zm8=", 4, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zg=", 3, out, sizeof out), -1);
}

static void test_b64url_decode_rejects_chars_outside_alphabet(void **state) {
    uint8_t out[8];
    assert_int_equal(b64url_decode("Zm9+", 4, out, sizeof out), -1);  /* standard b64 */
    assert_int_equal(b64url_decode("Zm9/", 4, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zm 9v", 5, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zm9v\n", 5, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zm\0v", 4, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zm9\xc3", 4, out, sizeof out), -1);
}

static void test_b64url_decode_rejects_nonzero_trailing_bits(void **state) {
    uint8_t out[8];
    /* "Zg" is "f"; "Zh" sets a bit the encoding does not carry. */
    assert_int_equal(b64url_decode("Zg", 2, out, sizeof out), 1);
    assert_int_equal(b64url_decode("Zh", 2, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zv", 2, out, sizeof out), -1);
    /* "Zm8" is "fo"; "Zm9" has a low bit set in its last sextet. */
    assert_int_equal(b64url_decode("Zm8", 3, out, sizeof out), 2);
    assert_int_equal(b64url_decode("Zm9", 3, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zm-", 3, out, sizeof out), -1);
}

static void test_b64url_decode_rejects_impossible_length(void **state) {
    uint8_t out[8];
    assert_int_equal(b64url_decode("Z", 1, out, sizeof out), -1);
    assert_int_equal(b64url_decode("Zm9vY", 5, out, sizeof out), -1);
    assert_int_equal(b64url_decode("", 0, out, sizeof out), 0);
}

static void test_b64url_decode_rejects_cap_too_small(void **state) {
    uint8_t out[8];
    memset(out, 0xAA, sizeof out);
    assert_int_equal(b64url_decode("Zm9v", 4, out, 2), -1);
    /* Nothing was written past the cap. */
    assert_int_equal(out[2], 0xAA);
    assert_int_equal(b64url_decode("Zm9v", 4, out, 3), 3);
    assert_int_equal(b64url_decode("Zm9vYg", 6, out, 3), -1);
    assert_int_equal(b64url_decode("Zm9vYg", 6, out, 4), 4);
    assert_int_equal(b64url_decode("Zg", 2, out, 0), -1);
}

/* ---- randomness and comparison ---- */

static void test_random_id_is_base64url_of_requested_size(void **state) {
    char a[64], b[64];
    uint8_t raw[32];

    crypto_random_id(a, 16);
    crypto_random_id(b, 16);
    assert_int_equal(strlen(a), 22);
    assert_string_not_equal(a, b);
    assert_int_equal(b64url_decode(a, strlen(a), raw, sizeof raw), 16);
    crypto_random_id(a, 32);
    assert_int_equal(strlen(a), 43);
    assert_int_equal(b64url_decode(a, strlen(a), raw, sizeof raw), 32);
}

static void test_ct_equal_compares_bytes(void **state) {
    uint8_t a[32], b[32];
    crypto_random(a, sizeof a);
    memcpy(b, a, sizeof a);
    assert_int_equal(ct_equal(a, b, sizeof a), 1);
    assert_int_equal(ct_equal(a, b, 0), 1);
    for (size_t i = 0; i < sizeof a; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(ct_equal(a, b, sizeof a), 0);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(ct_equal(a, b, sizeof a), 1);
}

static void test_ct_streq_compares_strings_and_lengths(void **state) {
    assert_int_equal(ct_streq("", ""), 1);
    assert_int_equal(ct_streq("secret", "secret"), 1);
    assert_int_equal(ct_streq("secret", "secreT"), 0);
    assert_int_equal(ct_streq("Secret", "secret"), 0);
    assert_int_equal(ct_streq("secret", "secret1"), 0);
    assert_int_equal(ct_streq("secret1", "secret"), 0);
    assert_int_equal(ct_streq("", "a"), 0);
    assert_int_equal(ct_streq("a", ""), 0);
}

/* ---- master key ---- */

static void test_master_key_load_accepts_32_raw_bytes(void **state) {
    uint8_t raw[32], key[32];
    char err[256] = "";
    char *path;

    crypto_random(raw, sizeof raw);
    path = write_temp(raw, sizeof raw);
    assert_int_equal(crypto_master_key_load(path, key, err, sizeof err), 0);
    assert_memory_equal(key, raw, 32);
    unlink(path);
    free(path);
}

static void test_master_key_load_accepts_64_hex_with_or_without_newline(void **state) {
    static const char hex[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F\n";
    uint8_t key[32];
    char err[256] = "";
    char *path;

    path = write_temp(hex, 65);
    memset(key, 0, sizeof key);
    assert_int_equal(crypto_master_key_load(path, key, err, sizeof err), 0);
    assert_memory_equal(key, test_master, 32);
    unlink(path);
    free(path);

    path = write_temp(hex, 64);
    memset(key, 0, sizeof key);
    assert_int_equal(crypto_master_key_load(path, key, err, sizeof err), 0);
    assert_memory_equal(key, test_master, 32);
    unlink(path);
    free(path);
}

/* The message says what is wrong and how to make a NEW key for a NEW
 * installation, and never suggests writing to the file it names: that file
 * may hold the key every tenant's signing key is sealed with. */
static void assert_never_suggests_overwriting(const char *err, const char *path) {
    char redirect[600];
    snprintf(redirect, sizeof redirect, "> %s", path);
    assert_null(strstr(err, redirect));
    assert_non_null(strstr(err, "new installation"));
    assert_non_null(strstr(err, "noclobber"));
}

static void test_master_key_load_rejects_other_sizes_and_bad_hex(void **state) {
    static const char hex[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n";
    static const char badhex[] =
        "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n";
    uint8_t buf[100], key[32];
    static const size_t sizes[] = { 0, 1, 31, 33, 63, 65, 66, 100 };
    char err[1024];
    char expect[512];
    char *path;

    crypto_random(buf, sizeof buf);
    buf[64] = 'x';   /* 65 bytes that are not hex + newline */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        path = write_temp(buf, sizes[i]);
        err[0] = '\0';
        assert_int_equal(crypto_master_key_load(path, key, err, sizeof err), -1);
        if (sizes[i] < 66)
            snprintf(expect, sizeof expect, "master key file %s holds %zu bytes, not a master key",
                     path, sizes[i]);
        else
            snprintf(expect, sizeof expect, "master key file %s holds more than 65 bytes", path);
        assert_non_null(strstr(err, expect));
        assert_non_null(strstr(err, "exactly 32 random bytes"));
        assert_non_null(strstr(err, "do not replace it: restore it from its backup"));
        assert_never_suggests_overwriting(err, path);
        unlink(path);
        free(path);
    }
    /* 64 hex digits and two newlines; 64 bytes that are not all hex. */
    path = write_temp(hex, 66);
    assert_int_equal(crypto_master_key_load(path, key, err, sizeof err), -1);
    assert_never_suggests_overwriting(err, path);
    unlink(path);
    free(path);
    path = write_temp(badhex, 65);
    assert_int_equal(crypto_master_key_load(path, key, err, sizeof err), -1);
    assert_never_suggests_overwriting(err, path);
    unlink(path);
    free(path);
    /* A missing file: restore it, or create it for a new installation where
     * nothing can be overwritten (noclobber). */
    assert_int_equal(crypto_master_key_load("/nonexistent/authz/master.key", key, err,
                                            sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/authz/master.key does not exist"));
    assert_non_null(strstr(err, "restore the file from its backup"));
    assert_non_null(strstr(err, "(set -o noclobber; umask 077; head -c 32 /dev/urandom > "
                                "/nonexistent/authz/master.key)"));
    /* An unreadable one (a directory stands in for a file without read
     * permission, which root could read anyway). */
    assert_int_equal(crypto_master_key_load("/", key, err, sizeof err), -1);
    assert_non_null(strstr(err, "master key file /"));
    assert_non_null(strstr(err, "do not replace it"));
    assert_null(strstr(err, "> /"));
}

/* ---- HKDF and secret hash ---- */

static void test_hkdf_matches_known_vectors(void **state) {
    uint8_t out[42], want[42];

    assert_int_equal(crypto_hkdf(test_master, "authz secret hash v1", 20, out, 32), 0);
    hex_to_bin("b57beb8342af944bdb2ba5a3792cb78145dc67dcbf7e7c6a85908d1e98551d95", want, 32);
    assert_memory_equal(out, want, 32);

    /* Empty info, non-multiple-of-32 length. */
    assert_int_equal(crypto_hkdf(test_master, "", 0, out, 42), 0);
    hex_to_bin("37ad29109f43265287804b674e2653d0a513718907f97fca97c95bded8104bbf"
               "9601b7e7a7d5a882b151", want, 42);
    assert_memory_equal(out, want, 42);
}

static void test_hkdf_is_deterministic_and_info_bound(void **state) {
    uint8_t a[32], b[32], c[32], m2[32];

    assert_int_equal(crypto_hkdf(test_master, "purpose a", 9, a, 32), 0);
    assert_int_equal(crypto_hkdf(test_master, "purpose a", 9, b, 32), 0);
    assert_memory_equal(a, b, 32);
    assert_int_equal(crypto_hkdf(test_master, "purpose b", 9, c, 32), 0);
    assert_memory_not_equal(a, c, 32);
    memcpy(m2, test_master, 32);
    m2[31] ^= 1;
    assert_int_equal(crypto_hkdf(m2, "purpose a", 9, c, 32), 0);
    assert_memory_not_equal(a, c, 32);
}

static void test_secret_hash_matches_known_vector(void **state) {
    uint8_t pepper[32];
    char out[CRYPTO_SECRET_HASH_HEX + 1];

    assert_int_equal(crypto_hkdf(test_master, "authz secret hash v1", 20, pepper, 32), 0);
    crypto_secret_hash(pepper, "hunter2", 7, out);
    assert_string_equal(out, "d16c93f959388c79db6f9bfed2e9ac2a08ecb018a7a2713f5fb1bbe8dd913053");
}

static void test_secret_hash_is_deterministic_and_distinguishes(void **state) {
    uint8_t pepper[32], pepper2[32];
    char a[CRYPTO_SECRET_HASH_HEX + 1], b[CRYPTO_SECRET_HASH_HEX + 1];

    crypto_random(pepper, sizeof pepper);
    crypto_secret_hash(pepper, "s3cret-value", 12, a);
    crypto_secret_hash(pepper, "s3cret-value", 12, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);

    crypto_secret_hash(pepper, "s3cret-valuf", 12, b);
    assert_string_not_equal(a, b);
    /* len is honoured: a prefix hashes differently. */
    crypto_secret_hash(pepper, "s3cret-value", 11, b);
    assert_string_not_equal(a, b);

    memcpy(pepper2, pepper, 32);
    pepper2[0] ^= 0x80;
    crypto_secret_hash(pepper2, "s3cret-value", 12, b);
    assert_string_not_equal(a, b);
}

/* ---- seal / open ---- */

static void test_seal_open_round_trip(void **state) {
    static const char msg[] = "-----BEGIN not really a private key-----";
    uint8_t *sealed = NULL, *plain = NULL, *sealed2 = NULL;
    size_t sealedlen = 0, plainlen = 0, sealed2len = 0;

    assert_int_equal(crypto_seal(test_master, "tenant-1", "kid-1", msg, sizeof msg, &sealed,
                                 &sealedlen), 0);
    assert_int_equal(sealedlen, 12 + sizeof msg + 16);
    assert_int_equal(crypto_open(test_master, "tenant-1", "kid-1", sealed, sealedlen, &plain,
                                 &plainlen), 0);
    assert_int_equal(plainlen, sizeof msg);
    assert_memory_equal(plain, msg, sizeof msg);
    free(plain);

    /* Random nonce: sealing twice gives different ciphertexts. */
    assert_int_equal(crypto_seal(test_master, "tenant-1", "kid-1", msg, sizeof msg, &sealed2,
                                 &sealed2len), 0);
    assert_int_equal(sealed2len, sealedlen);
    assert_memory_not_equal(sealed, sealed2, sealedlen);
    free(sealed);
    free(sealed2);

    /* NULL aad is the empty aad; an empty plaintext still authenticates. */
    assert_int_equal(crypto_seal(test_master, "t", NULL, "", 0, &sealed, &sealedlen), 0);
    assert_int_equal(sealedlen, 28);
    assert_int_equal(crypto_open(test_master, "t", "", sealed, sealedlen, &plain, &plainlen), 0);
    assert_int_equal(plainlen, 0);
    free(plain);
    assert_int_equal(crypto_open(test_master, "t", NULL, sealed, sealedlen, &plain, &plainlen),
                     0);
    free(plain);
    free(sealed);
}

static void test_open_rejects_any_tampering(void **state) {
    static const char msg[] = "private key bytes";
    uint8_t *sealed = NULL, *plain = NULL;
    size_t sealedlen = 0, plainlen = 0;
    uint8_t master2[32];
    /* A byte in the nonce, the ciphertext (first, last) and the tag (first, last). */
    size_t flips[5];

    assert_int_equal(crypto_seal(test_master, "tenant-1", "kid-1", msg, sizeof msg, &sealed,
                                 &sealedlen), 0);
    flips[0] = 5;
    flips[1] = 12;
    flips[2] = 12 + sizeof msg - 1;
    flips[3] = sealedlen - 16;
    flips[4] = sealedlen - 1;
    for (size_t i = 0; i < 5; i++) {
        sealed[flips[i]] ^= 0x01;
        plain = (uint8_t *)"sentinel";
        assert_int_equal(crypto_open(test_master, "tenant-1", "kid-1", sealed, sealedlen,
                                     &plain, &plainlen), -1);
        assert_null(plain);
        sealed[flips[i]] ^= 0x01;
    }
    assert_int_equal(crypto_open(test_master, "tenant-2", "kid-1", sealed, sealedlen, &plain,
                                 &plainlen), -1);
    assert_int_equal(crypto_open(test_master, "tenant-1", "kid-2", sealed, sealedlen, &plain,
                                 &plainlen), -1);
    assert_int_equal(crypto_open(test_master, "tenant-1", NULL, sealed, sealedlen, &plain,
                                 &plainlen), -1);
    memcpy(master2, test_master, 32);
    master2[7] ^= 0x10;
    assert_int_equal(crypto_open(master2, "tenant-1", "kid-1", sealed, sealedlen, &plain,
                                 &plainlen), -1);
    assert_int_equal(crypto_open(test_master, "tenant-1", "kid-1", sealed, sealedlen - 1,
                                 &plain, &plainlen), -1);
    assert_int_equal(crypto_open(test_master, "tenant-1", "kid-1", sealed, 27, &plain,
                                 &plainlen), -1);
    /* Still intact after all that. */
    assert_int_equal(crypto_open(test_master, "tenant-1", "kid-1", sealed, sealedlen, &plain,
                                 &plainlen), 0);
    assert_memory_equal(plain, msg, sizeof msg);
    free(plain);
    free(sealed);
}

static void test_seal_text_round_trip_and_binding(void **state) {
    (void)state;
    char *s = crypto_seal_text(test_master, "tenant-1", "approval_webhook_secret", "s3cret value");
    assert_non_null(s);
    assert_true(crypto_is_sealed_text(s));
    assert_null(strstr(s, "s3cret"));
    char *p = crypto_open_text(test_master, "tenant-1", "approval_webhook_secret", s);
    assert_non_null(p);
    assert_string_equal(p, "s3cret value");
    free(p);
    /* bound to its tenant and its purpose */
    assert_null(crypto_open_text(test_master, "tenant-2", "approval_webhook_secret", s));
    assert_null(crypto_open_text(test_master, "tenant-1", "client_notification_token", s));
    /* any change is refused */
    size_t n = strlen(s);
    s[n - 2] = s[n - 2] == 'A' ? 'B' : 'A';
    assert_null(crypto_open_text(test_master, "tenant-1", "approval_webhook_secret", s));
    assert_null(crypto_open_text(test_master, "tenant-1", "approval_webhook_secret", "sealed:v1:"));
    assert_null(crypto_open_text(test_master, "tenant-1", "approval_webhook_secret", "sealed:v1:*!"));
    free(s);
    /* a value stored before sealing comes back as it is */
    p = crypto_open_text(test_master, "tenant-1", "approval_webhook_secret", "plain-old-secret");
    assert_non_null(p);
    assert_string_equal(p, "plain-old-secret");
    assert_false(crypto_is_sealed_text("plain-old-secret"));
    free(p);
}

/* ---- signing keys ---- */

static void test_sig_alg_names_parse_back(void **state) {
    assert_string_equal(sig_alg_name(SIG_ES256), "ES256");
    assert_string_equal(sig_alg_name(SIG_EDDSA), "EdDSA");
    assert_string_equal(sig_alg_name(SIG_RS256), "RS256");
    assert_int_equal(sig_alg_parse("ES256"), SIG_ES256);
    assert_int_equal(sig_alg_parse("EdDSA"), SIG_EDDSA);
    assert_int_equal(sig_alg_parse("RS256"), SIG_RS256);
    assert_int_equal(sig_alg_parse("es256"), -1);
    assert_int_equal(sig_alg_parse("none"), -1);
    assert_int_equal(sig_alg_parse("HS256"), -1);
}

static void check_der_round_trip(enum sig_alg alg) {
    struct signing_key *k = signing_key_generate(alg), *k2;
    uint8_t *der = NULL, *sealed = NULL, *opened = NULL;
    size_t derlen = 0, sealedlen = 0, openedlen = 0;
    char *jwk1, *jwk2, *tok;
    EVP_PKEY *pub;
    static const char payload[] = "{\"sub\":\"alice\"}";

    assert_non_null(k);
    assert_int_equal(k->alg, alg);
    assert_int_equal(strlen(k->kid), 22);
    assert_int_equal(signing_key_to_der(k, &der, &derlen), 0);
    assert_true(derlen > 0);
    /* The storage path: seal the DER, open it, rebuild the key. */
    assert_int_equal(crypto_seal(test_master, "tenant", k->kid, der, derlen, &sealed,
                                 &sealedlen), 0);
    assert_int_equal(crypto_open(test_master, "tenant", k->kid, sealed, sealedlen, &opened,
                                 &openedlen), 0);
    assert_int_equal(openedlen, derlen);
    assert_memory_equal(opened, der, derlen);

    k2 = signing_key_from_der(alg, k->kid, opened, openedlen);
    assert_non_null(k2);
    assert_string_equal(k2->kid, k->kid);
    assert_string_equal(k2->jws_header_b64, k->jws_header_b64);
    assert_int_equal(k2->jws_header_len, k->jws_header_len);
    assert_int_equal(EVP_PKEY_eq(k->pkey, k2->pkey), 1);
    jwk1 = signing_key_public_jwk(k);
    jwk2 = signing_key_public_jwk(k2);
    assert_non_null(jwk1);
    assert_string_equal(jwk1, jwk2);

    /* Signed by the rebuilt key, verified with the original's public key. */
    pub = public_of(k);
    tok = jws_sign(k2, payload, strlen(payload));
    assert_non_null(tok);
    assert_int_equal(jws_verify(pub, alg, tok, strlen(tok)), 1);

    /* The DER does not pass for another algorithm's key. */
    assert_null(signing_key_from_der((enum sig_alg)((alg + 1) % 3), k->kid, der, derlen));
    assert_null(signing_key_from_der(alg, k->kid, der, derlen - 1));

    free(tok);
    EVP_PKEY_free(pub);
    free(jwk1);
    free(jwk2);
    OPENSSL_cleanse(der, derlen);
    free(der);
    free(sealed);
    free(opened);
    signing_key_free(k2);
    signing_key_free(k);
}

static void test_signing_key_der_round_trip_es256(void **state) {
    check_der_round_trip(SIG_ES256);
}

static void test_signing_key_der_round_trip_eddsa(void **state) {
    check_der_round_trip(SIG_EDDSA);
}

static void test_signing_key_der_round_trip_rs256(void **state) {
    check_der_round_trip(SIG_RS256);
}

static void test_signing_key_from_der_rejects_bad_kid_and_garbage(void **state) {
    struct signing_key *k = signing_key_generate(SIG_EDDSA);
    uint8_t *der = NULL;
    size_t derlen = 0;
    char longkid[80];

    assert_non_null(k);
    assert_int_equal(signing_key_to_der(k, &der, &derlen), 0);
    assert_null(signing_key_from_der(SIG_EDDSA, "", der, derlen));
    assert_null(signing_key_from_der(SIG_EDDSA, "a\"b", der, derlen));
    memset(longkid, 'a', sizeof longkid - 1);
    longkid[sizeof longkid - 1] = '\0';
    assert_null(signing_key_from_der(SIG_EDDSA, longkid, der, derlen));
    assert_null(signing_key_from_der(SIG_EDDSA, "kid", (const uint8_t *)"garbage", 7));
    der[derlen / 2] ^= 0xff;
    /* A corrupted key either fails to parse or is a different key. */
    struct signing_key *k2 = signing_key_from_der(SIG_EDDSA, "kid", der, derlen);
    if (k2 != NULL) {
        assert_int_not_equal(EVP_PKEY_eq(k->pkey, k2->pkey), 1);
        signing_key_free(k2);
    }
    free(der);
    signing_key_free(k);
}

/* ---- JWS ---- */

static void test_jws_es256_header_signature_and_verification(void **state) {
    struct signing_key *k = signing_key_generate(SIG_ES256);
    static const char payload[] = "{\"iss\":\"https://as.example\",\"sub\":\"alice\"}";
    char expect_hdr[128];
    char *tok, *hdr, *body;
    size_t d1, d2, n;
    uint8_t sig[128];
    EVP_PKEY *pub;

    assert_non_null(k);
    tok = jws_sign(k, payload, strlen(payload));
    assert_non_null(tok);
    split_token(tok, &d1, &d2);

    hdr = decode_segment(tok, d1, NULL);
    snprintf(expect_hdr, sizeof expect_hdr,
             "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", k->kid);
    assert_string_equal(hdr, expect_hdr);
    assert_int_equal(d1, k->jws_header_len);
    assert_memory_equal(tok, k->jws_header_b64, d1);

    body = decode_segment(tok + d1 + 1, d2 - d1 - 1, &n);
    assert_int_equal(n, strlen(payload));
    assert_string_equal(body, payload);

    assert_int_equal(strlen(tok + d2 + 1), 86);
    assert_int_equal(b64url_decode(tok + d2 + 1, 86, sig, sizeof sig), 64);

    pub = public_of(k);
    assert_int_equal(jws_verify(pub, SIG_ES256, tok, strlen(tok)), 1);
    /* Verification is bounded by len, not by the NUL. */
    assert_int_equal(jws_verify(pub, SIG_ES256, tok, strlen(tok) - 1), 0);
    /* Claimed under the wrong algorithm. */
    assert_int_equal(jws_verify(pub, SIG_EDDSA, tok, strlen(tok)), 0);
    assert_int_equal(jws_verify(pub, SIG_RS256, tok, strlen(tok)), 0);

    free(hdr);
    free(body);
    free(tok);
    EVP_PKEY_free(pub);
    signing_key_free(k);
}

static void test_jws_modified_token_fails_verification(void **state) {
    struct signing_key *k = signing_key_generate(SIG_ES256);
    struct signing_key *other = signing_key_generate(SIG_ES256);
    static const char payload[] = "{\"sub\":\"alice\",\"scope\":\"read\"}";
    static const char evil[] = "{\"sub\":\"alice\",\"scope\":\"admin\"}";
    char *tok, *forged, evil_b64[128];
    size_t d1, d2, len;
    EVP_PKEY *pub, *otherpub;

    assert_non_null(k);
    assert_non_null(other);
    pub = public_of(k);
    otherpub = public_of(other);
    tok = jws_sign(k, payload, strlen(payload));
    assert_non_null(tok);
    len = strlen(tok);
    split_token(tok, &d1, &d2);
    assert_int_equal(jws_verify(pub, SIG_ES256, tok, len), 1);
    assert_int_equal(jws_verify(otherpub, SIG_ES256, tok, len), 0);

    /* Swap in another payload, keeping header and signature. */
    b64url_encode(evil, strlen(evil), evil_b64);
    forged = malloc(len + 64);
    assert_non_null(forged);
    snprintf(forged, len + 64, "%.*s.%s.%s", (int)d1, tok, evil_b64, tok + d2 + 1);
    assert_int_equal(jws_verify(pub, SIG_ES256, forged, strlen(forged)), 0);
    free(forged);

    /* Flip one character in each part. */
    for (size_t pos = 0; pos < len; pos++) {
        if (tok[pos] == '.')
            continue;
        char saved = tok[pos];
        tok[pos] = saved == 'A' ? 'B' : 'A';
        assert_int_equal(jws_verify(pub, SIG_ES256, tok, len), 0);
        tok[pos] = saved;
    }
    assert_int_equal(jws_verify(pub, SIG_ES256, tok, len), 1);

    /* Structural garbage. */
    assert_int_equal(jws_verify(pub, SIG_ES256, "a.b", 3), 0);
    assert_int_equal(jws_verify(pub, SIG_ES256, "a.b.c.d", 7), 0);
    assert_int_equal(jws_verify(pub, SIG_ES256, "", 0), 0);

    free(tok);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(otherpub);
    signing_key_free(k);
    signing_key_free(other);
}

static void check_sign_verify(enum sig_alg alg, size_t raw_sig_len) {
    struct signing_key *k = signing_key_generate(alg);
    static const char payload[] = "{\"sub\":\"bob\",\"aud\":\"api\"}";
    char expect_hdr[128];
    char *tok, *hdr;
    size_t d1, d2, len;
    uint8_t sig[600];
    EVP_PKEY *pub;

    assert_non_null(k);
    tok = jws_sign(k, payload, strlen(payload));
    assert_non_null(tok);
    len = strlen(tok);
    split_token(tok, &d1, &d2);
    hdr = decode_segment(tok, d1, NULL);
    snprintf(expect_hdr, sizeof expect_hdr,
             "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", sig_alg_name(alg), k->kid);
    assert_string_equal(hdr, expect_hdr);
    assert_int_equal(b64url_decode(tok + d2 + 1, len - d2 - 1, sig, sizeof sig),
                     (ssize_t)raw_sig_len);
    pub = public_of(k);
    assert_int_equal(jws_verify(pub, alg, tok, len), 1);
    tok[d1 + 2] ^= 1;   /* one payload character changes */
    assert_int_equal(jws_verify(pub, alg, tok, len), 0);
    free(hdr);
    free(tok);
    EVP_PKEY_free(pub);
    signing_key_free(k);
}

static void test_jws_eddsa_signs_and_verifies(void **state) {
    check_sign_verify(SIG_EDDSA, 64);
}

/* ---- ECDSA R || S <-> DER: the one conversion (jws.c), for ES256/384/512 ---- */

static void test_ecdsa_raw_der_round_trips_for_each_coordinate_size(void **state) {
    (void)state;
    const size_t coords[] = {32, 48, 66};
    for (size_t c = 0; c < 3; c++) {
        size_t coord = coords[c];
        uint8_t raw[2 * 66], back[2 * 66], der[2 * 66 + 16];
        crypto_random(raw, 2 * coord);
        raw[0] = 0x80;      /* a high bit: DER needs a leading zero */
        raw[coord] = 0x00;  /* a leading zero byte: DER drops it */
        raw[coord + 1] = 0x01;
        if (coord == 66)
            raw[0] = raw[coord] = 0x01; /* P-521: 521 bits */
        int dl = ecdsa_raw_to_der(raw, coord, der, sizeof der);
        assert_true(dl > 0);
        assert_int_equal(der[0], 0x30);
        assert_int_equal(ecdsa_der_to_raw(der, (size_t)dl, coord, back), 0);
        assert_memory_equal(raw, back, 2 * coord);
    }
}

static void test_ecdsa_conversion_refuses_malformed_der_and_small_buffers(void **state) {
    (void)state;
    uint8_t raw[64], der[80], out[64];
    memset(raw, 0xAB, sizeof raw);
    int dl = ecdsa_raw_to_der(raw, 32, der, sizeof der);
    assert_true(dl > 0);
    /* a buffer the DER does not fit */
    assert_int_equal(ecdsa_raw_to_der(raw, 32, der, (size_t)dl - 1), -1);
    /* truncated DER, and what is no DER at all */
    assert_int_equal(ecdsa_der_to_raw(der, (size_t)dl - 1, 32, out), -1);
    assert_int_equal(ecdsa_der_to_raw((const uint8_t *)"\x30\x00", 2, 32, out), -1);
    assert_int_equal(ecdsa_der_to_raw(raw, sizeof raw, 32, out), -1);
    /* an integer wider than the coordinate */
    uint8_t wide[96], wide_der[128];
    memset(wide, 0x7F, sizeof wide);
    int wl = ecdsa_raw_to_der(wide, 48, wide_der, sizeof wide_der);
    assert_true(wl > 0);
    assert_int_equal(ecdsa_der_to_raw(wide_der, (size_t)wl, 32, out), -1);
}

static void test_jws_rs256_signs_and_verifies(void **state) {
    check_sign_verify(SIG_RS256, 256);
}

static void test_jws_sign_into_respects_cap(void **state) {
    struct signing_key *k = signing_key_generate(SIG_ES256);
    static const char payload[] = "{\"sub\":\"carol\"}";
    char buf[512];
    ssize_t n, m;
    EVP_PKEY *pub;

    assert_non_null(k);
    n = jws_sign_into(k, payload, strlen(payload), buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(strlen(buf), (size_t)n);
    assert_int_equal(n, (ssize_t)(k->jws_header_len + 1 +
                                  b64url_encoded_len(strlen(payload)) + 1 + 86));
    /* Exactly enough room for the token and its NUL; one byte less fails. */
    memset(buf, 'Z', sizeof buf);
    m = jws_sign_into(k, payload, strlen(payload), buf, (size_t)n + 1);
    assert_int_equal(m, n);
    assert_int_equal(buf[n], '\0');
    assert_int_equal(buf[n + 1], 'Z');
    pub = public_of(k);
    assert_int_equal(jws_verify(pub, SIG_ES256, buf, (size_t)m), 1);
    assert_int_equal(jws_sign_into(k, payload, strlen(payload), buf, (size_t)n), -1);
    assert_int_equal(jws_sign_into(k, payload, strlen(payload), buf, 0), -1);
    EVP_PKEY_free(pub);
    signing_key_free(k);
}

/* ---- JWK ---- */

static const char *jwk_str(json_t *jwk, const char *name) {
    json_t *v = json_object_get(jwk, name);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static size_t jwk_bytes(json_t *jwk, const char *name, uint8_t *out, size_t cap) {
    const char *s = jwk_str(jwk, name);
    ssize_t n = b64url_decode(s, strlen(s), out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

/* Rebuilds a public key from JWK members with EVP_PKEY_fromdata, then checks
 * that it verifies a token the signing key made: the JWK is the real key. */
static void check_jwk_verifies(const struct signing_key *k, EVP_PKEY *pub) {
    static const char payload[] = "{\"sub\":\"dave\"}";
    char *tok = jws_sign(k, payload, strlen(payload));
    assert_non_null(tok);
    assert_int_equal(jws_verify(pub, k->alg, tok, strlen(tok)), 1);
    free(tok);
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM *params) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static void test_public_jwk_es256_has_exact_members_and_no_d(void **state) {
    struct signing_key *k = signing_key_generate(SIG_ES256);
    char *text;
    json_t *jwk;
    uint8_t point[65];
    OSSL_PARAM params[3];
    EVP_PKEY *pub;

    assert_non_null(k);
    text = signing_key_public_jwk(k);
    assert_non_null(text);
    jwk = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(jwk);
    assert_int_equal(json_object_size(jwk), 7);
    assert_string_equal(jwk_str(jwk, "kty"), "EC");
    assert_string_equal(jwk_str(jwk, "crv"), "P-256");
    assert_string_equal(jwk_str(jwk, "kid"), k->kid);
    assert_string_equal(jwk_str(jwk, "alg"), "ES256");
    assert_string_equal(jwk_str(jwk, "use"), "sig");
    assert_int_equal(strlen(jwk_str(jwk, "x")), 43);
    assert_int_equal(strlen(jwk_str(jwk, "y")), 43);
    assert_null(json_object_get(jwk, "d"));

    point[0] = 0x04;
    assert_int_equal(jwk_bytes(jwk, "x", point + 1, 32), 32);
    assert_int_equal(jwk_bytes(jwk, "y", point + 33, 32), 32);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
    params[2] = OSSL_PARAM_construct_end();
    pub = pkey_fromdata("EC", params);
    check_jwk_verifies(k, pub);

    EVP_PKEY_free(pub);
    json_decref(jwk);
    free(text);
    signing_key_free(k);
}

static void test_public_jwk_eddsa_has_exact_members_and_no_d(void **state) {
    struct signing_key *k = signing_key_generate(SIG_EDDSA);
    char *text;
    json_t *jwk;
    uint8_t x[32];
    EVP_PKEY *pub;

    assert_non_null(k);
    text = signing_key_public_jwk(k);
    assert_non_null(text);
    jwk = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(jwk);
    assert_int_equal(json_object_size(jwk), 6);
    assert_string_equal(jwk_str(jwk, "kty"), "OKP");
    assert_string_equal(jwk_str(jwk, "crv"), "Ed25519");
    assert_string_equal(jwk_str(jwk, "kid"), k->kid);
    assert_string_equal(jwk_str(jwk, "alg"), "EdDSA");
    assert_string_equal(jwk_str(jwk, "use"), "sig");
    assert_null(json_object_get(jwk, "d"));
    assert_int_equal(jwk_bytes(jwk, "x", x, sizeof x), 32);
    pub = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, sizeof x);
    assert_non_null(pub);
    check_jwk_verifies(k, pub);

    EVP_PKEY_free(pub);
    json_decref(jwk);
    free(text);
    signing_key_free(k);
}

static void test_public_jwk_rs256_has_exact_members_and_no_d(void **state) {
    struct signing_key *k = signing_key_generate(SIG_RS256);
    char *text;
    json_t *jwk;
    uint8_t n[300], e[8];
    size_t nlen, elen;
    BIGNUM *bn_n, *bn_e;
    OSSL_PARAM_BLD *bld;
    OSSL_PARAM *params;
    EVP_PKEY *pub;

    assert_non_null(k);
    text = signing_key_public_jwk(k);
    assert_non_null(text);
    jwk = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(jwk);
    assert_int_equal(json_object_size(jwk), 6);
    assert_string_equal(jwk_str(jwk, "kty"), "RSA");
    assert_string_equal(jwk_str(jwk, "kid"), k->kid);
    assert_string_equal(jwk_str(jwk, "alg"), "RS256");
    assert_string_equal(jwk_str(jwk, "use"), "sig");
    assert_null(json_object_get(jwk, "d"));
    assert_null(json_object_get(jwk, "p"));
    nlen = jwk_bytes(jwk, "n", n, sizeof n);
    elen = jwk_bytes(jwk, "e", e, sizeof e);
    assert_int_equal(nlen, 256);
    assert_string_equal(jwk_str(jwk, "e"), "AQAB");

    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    assert_non_null(bld);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e), 1);
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_non_null(params);
    pub = pkey_fromdata("RSA", params);
    check_jwk_verifies(k, pub);

    EVP_PKEY_free(pub);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    json_decref(jwk);
    free(text);
    signing_key_free(k);
}

/* ---- concurrency ---- */

#define MT_THREADS 4
#define MT_TOKENS  200

struct mt_arg {
    const struct signing_key *k;
    EVP_PKEY *pub;
    int id;
    int signed_ok;
    int verified_ok;
};

static void *mt_worker(void *p) {
    struct mt_arg *a = p;
    char payload[128], buf[512];
    for (int i = 0; i < MT_TOKENS; i++) {
        int plen = snprintf(payload, sizeof payload,
                            "{\"sub\":\"thread-%d\",\"n\":%d}", a->id, i);
        ssize_t n = jws_sign_into(a->k, payload, (size_t)plen, buf, sizeof buf);
        if (n <= 0)
            continue;
        a->signed_ok++;
        if (jws_verify(a->pub, SIG_ES256, buf, (size_t)n) == 1)
            a->verified_ok++;
    }
    return NULL;
}

static void test_jws_sign_shared_key_from_4_threads_200_tokens_each(void **state) {
    struct signing_key *k = signing_key_generate(SIG_ES256);
    EVP_PKEY *pub;
    pthread_t th[MT_THREADS];
    struct mt_arg args[MT_THREADS];

    assert_non_null(k);
    pub = public_of(k);
    for (int i = 0; i < MT_THREADS; i++) {
        args[i] = (struct mt_arg){ .k = k, .pub = pub, .id = i };
        assert_int_equal(pthread_create(&th[i], NULL, mt_worker, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < MT_THREADS; i++) {
        assert_int_equal(args[i].signed_ok, MT_TOKENS);
        assert_int_equal(args[i].verified_ok, MT_TOKENS);
    }
    EVP_PKEY_free(pub);
    signing_key_free(k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_encodes_rfc4648_vectors),
        cmocka_unit_test(test_b64url_uses_url_safe_alphabet),
        cmocka_unit_test(test_b64url_round_trips_every_length_to_300),
        cmocka_unit_test(test_b64url_decode_rejects_padding),
        cmocka_unit_test(test_b64url_decode_rejects_chars_outside_alphabet),
        cmocka_unit_test(test_b64url_decode_rejects_nonzero_trailing_bits),
        cmocka_unit_test(test_b64url_decode_rejects_impossible_length),
        cmocka_unit_test(test_b64url_decode_rejects_cap_too_small),
        cmocka_unit_test(test_random_id_is_base64url_of_requested_size),
        cmocka_unit_test(test_ct_equal_compares_bytes),
        cmocka_unit_test(test_ct_streq_compares_strings_and_lengths),
        cmocka_unit_test(test_master_key_load_accepts_32_raw_bytes),
        cmocka_unit_test(test_master_key_load_accepts_64_hex_with_or_without_newline),
        cmocka_unit_test(test_master_key_load_rejects_other_sizes_and_bad_hex),
        cmocka_unit_test(test_hkdf_matches_known_vectors),
        cmocka_unit_test(test_hkdf_is_deterministic_and_info_bound),
        cmocka_unit_test(test_secret_hash_matches_known_vector),
        cmocka_unit_test(test_secret_hash_is_deterministic_and_distinguishes),
        cmocka_unit_test(test_seal_open_round_trip),
        cmocka_unit_test(test_open_rejects_any_tampering),
        cmocka_unit_test(test_seal_text_round_trip_and_binding),
        cmocka_unit_test(test_sig_alg_names_parse_back),
        cmocka_unit_test(test_signing_key_der_round_trip_es256),
        cmocka_unit_test(test_signing_key_der_round_trip_eddsa),
        cmocka_unit_test(test_signing_key_der_round_trip_rs256),
        cmocka_unit_test(test_signing_key_from_der_rejects_bad_kid_and_garbage),
        cmocka_unit_test(test_jws_es256_header_signature_and_verification),
        cmocka_unit_test(test_jws_modified_token_fails_verification),
        cmocka_unit_test(test_jws_eddsa_signs_and_verifies),
        cmocka_unit_test(test_jws_rs256_signs_and_verifies),
        cmocka_unit_test(test_ecdsa_raw_der_round_trips_for_each_coordinate_size),
        cmocka_unit_test(test_ecdsa_conversion_refuses_malformed_der_and_small_buffers),
        cmocka_unit_test(test_jws_sign_into_respects_cap),
        cmocka_unit_test(test_public_jwk_es256_has_exact_members_and_no_d),
        cmocka_unit_test(test_public_jwk_eddsa_has_exact_members_and_no_d),
        cmocka_unit_test(test_public_jwk_rs256_has_exact_members_and_no_d),
        cmocka_unit_test(test_jws_sign_shared_key_from_4_threads_200_tokens_each),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    jws_thread_cleanup(); /* the main thread's cached signing contexts */
    return failed;
}
