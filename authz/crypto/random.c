/*
 * random.c: randomness and constant-time comparison.
 *
 * crypto_random() draws from OpenSSL's CSPRNG (seeded from getrandom(2)) and
 * aborts when it cannot deliver: no caller can do anything sensible with a
 * weak secret. crypto_random_id() makes the base64url identifiers used for
 * kids, codes and tokens. ct_equal()/ct_streq() compare secrets without
 * exiting early on the first difference.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"

void crypto_random(void *buf, size_t n) {
    uint8_t *p = buf;
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1) {
            fputs("authz: fatal: the OpenSSL CSPRNG failed (RAND_bytes)\n", stderr);
            abort();
        }
        p += chunk;
        n -= (size_t)chunk;
    }
}

void crypto_random_id(char *out, size_t nbytes) {
    uint8_t stackbuf[64];
    uint8_t *buf = nbytes <= sizeof stackbuf ? stackbuf : malloc(nbytes);
    if (buf == NULL) {
        fputs("authz: fatal: out of memory in crypto_random_id\n", stderr);
        abort();
    }
    crypto_random(buf, nbytes);
    b64url_encode(buf, nbytes, out);
    OPENSSL_cleanse(buf, nbytes);
    if (buf != stackbuf)
        free(buf);
}

int ct_equal(const void *a, const void *b, size_t n) {
    const volatile uint8_t *pa = a, *pb = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(pa[i] ^ pb[i]);
    /* 1 when d == 0, without a data-dependent branch. */
    return (int)(1 & (((unsigned)d - 1) >> 8));
}

int ct_streq(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t n = la > lb ? la : lb;
    const volatile uint8_t *pa = (const uint8_t *)a, *pb = (const uint8_t *)b;
    unsigned d = (unsigned)(la != lb);
    for (size_t i = 0; i < n; i++) {
        /* Past its end a string reads as NUL; the bound depends only on lengths. */
        uint8_t ca = i < la ? pa[i] : 0;
        uint8_t cb = i < lb ? pb[i] : 0;
        d |= (unsigned)(ca ^ cb);
    }
    return (int)(1 & ((d - 1) >> 8));
}
