/*
 * cred.c: recognisable credentials (cred.h, doc/CREDENTIALS.md): a type
 * prefix, a base62 body from the CSPRNG, and a CRC-32 checksum of the rest
 * in base62, as GitHub's tokens carry, so that secret scanners can check
 * one offline. The body is drawn by rejection sampling, so that each of the
 * 62 characters is equally likely.
 */
#include "crypto/cred.h"
#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <string.h>

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const char *const PREFIX[CRED_NKINDS] = {
    [CRED_CLIENT_SECRET] = "azcs_",
    [CRED_REFRESH] = "azrt_",
    [CRED_ROOT] = "azroot_",
    [CRED_IAT] = "aziat_",
};

static const char *const TYPE[CRED_NKINDS] = {
    [CRED_CLIENT_SECRET] = "client_secret",
    [CRED_REFRESH] = "refresh_token",
    [CRED_ROOT] = "root_token",
    [CRED_IAT] = "initial_access_token",
};

const char *cred_prefix(enum cred_kind k)
{
    return (unsigned)k < CRED_NKINDS ? PREFIX[k] : "";
}

const char *cred_type_name(enum cred_kind k)
{
    return (unsigned)k < CRED_NKINDS ? TYPE[k] : "unknown";
}

uint32_t cred_crc32(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

/* CRC_LEN base62 digits of v, most significant first, '0'-padded */
static void crc_digits(uint32_t v, char out[CRED_CRC_LEN])
{
    for (int i = CRED_CRC_LEN - 1; i >= 0; i--) {
        out[i] = B62[v % 62];
        v /= 62;
    }
}

void cred_new(enum cred_kind k, char out[CRED_MAX])
{
    const char *pre = cred_prefix(k);
    size_t pl = strlen(pre);
    memcpy(out, pre, pl);
    size_t n = 0;
    unsigned char rnd[64];
    while (n < CRED_BODY_LEN) {
        crypto_random(rnd, sizeof rnd);
        for (size_t i = 0; i < sizeof rnd && n < CRED_BODY_LEN; i++)
            if (rnd[i] < 248) /* 248 = 4 * 62: no bias */
                out[pl + n++] = B62[rnd[i] % 62];
    }
    OPENSSL_cleanse(rnd, sizeof rnd);
    crc_digits(cred_crc32(out, pl + CRED_BODY_LEN), out + pl + CRED_BODY_LEN);
    out[pl + CRED_BODY_LEN + CRED_CRC_LEN] = '\0';
}

int cred_prefix_kind(const char *s)
{
    for (int k = 0; k < CRED_NKINDS; k++)
        if (!strncmp(s, PREFIX[k], strlen(PREFIX[k])))
            return k;
    return -1;
}

int cred_check(const char *s)
{
    int k = cred_prefix_kind(s);
    if (k < 0)
        return -1;
    size_t pl = strlen(PREFIX[k]);
    if (strlen(s) != pl + CRED_BODY_LEN + CRED_CRC_LEN)
        return -1;
    for (size_t i = pl; s[i]; i++)
        if (!memchr(B62, s[i], sizeof B62 - 1))
            return -1;
    char want[CRED_CRC_LEN];
    crc_digits(cred_crc32(s, pl + CRED_BODY_LEN), want);
    return memcmp(want, s + pl + CRED_BODY_LEN, CRED_CRC_LEN) ? -1 : k;
}
