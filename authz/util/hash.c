/*
 * hash.c: SipHash-2-4 (Aumasson and Bernstein, 2012) and the process's
 * seeded hash on top of it. The key comes from getrandom(2) the first time
 * a hash is asked for; every thread then uses the same key.
 */
#include "util/hash.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t siphash24(const uint8_t k[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = load64(k), k1 = load64(k + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = (uint64_t)len << 56;
    const uint8_t *end = in + (len - len % 8);
    for (; in != end; in += 8) {
        uint64_t m = load64(in);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static uint8_t g_key[16];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void draw_key(void)
{
    size_t got = 0;
    while (got < sizeof g_key) {
        ssize_t n = getrandom(g_key + got, sizeof g_key - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
}

uint64_t hash_bytes(const void *data, size_t len)
{
    pthread_once(&g_once, draw_key);
    return siphash24(g_key, data, len);
}

uint64_t hash_str(const char *s)
{
    return hash_bytes(s, strlen(s));
}

uint64_t hash_more(uint64_t h, const char *s)
{
    pthread_once(&g_once, draw_key);
    uint8_t k[16];
    memcpy(k, g_key, 16);
    for (int i = 0; i < 8; i++)
        k[i] ^= (uint8_t)(h >> (8 * i));
    return siphash24(k, s, strlen(s));
}
