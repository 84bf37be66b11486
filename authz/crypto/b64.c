/*
 * b64.c: base64url without padding (RFC 4648 §5), as used by JWS and JWK.
 *
 * Encoding never fails. Decoding is strict: only the URL-safe alphabet, no
 * '=' padding, no whitespace, no impossible lengths (n % 4 == 1) and no set
 * bits in the unused low bits of the final quantum, so every byte string has
 * exactly one accepted encoding.
 */
#include "crypto/crypto.h"

static const char b64url_alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value plus one for each alphabet byte; 0 marks a byte outside the alphabet. */
static const uint8_t b64url_value1[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
    ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
    ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
    ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
    ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

size_t b64url_encoded_len(size_t n) {
    static const size_t tail[3] = { 0, 2, 3 };
    return (n / 3) * 4 + tail[n % 3];
}

size_t b64url_encode(const void *in, size_t n, char *out) {
    const uint8_t *p = in;
    char *o = out;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        o[0] = b64url_alphabet[(v >> 18) & 63];
        o[1] = b64url_alphabet[(v >> 12) & 63];
        o[2] = b64url_alphabet[(v >> 6) & 63];
        o[3] = b64url_alphabet[v & 63];
        o += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        o[0] = b64url_alphabet[(v >> 18) & 63];
        o[1] = b64url_alphabet[(v >> 12) & 63];
        o += 2;
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        o[0] = b64url_alphabet[(v >> 18) & 63];
        o[1] = b64url_alphabet[(v >> 12) & 63];
        o[2] = b64url_alphabet[(v >> 6) & 63];
        o += 3;
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* Value of one alphabet byte, or 0x40 (a bit no sextet has) when outside it. */
static inline uint8_t sextet(uint8_t ch) {
    uint8_t v1 = b64url_value1[ch];
    return v1 ? (uint8_t)(v1 - 1) : 0x40;
}

ssize_t b64url_decode(const char *in, size_t n, void *out, size_t cap) {
    const uint8_t *s = (const uint8_t *)in;
    uint8_t *o = out;
    size_t rem = n % 4;
    size_t full = n - rem;
    size_t outlen;

    if (rem == 1)
        return -1;
    outlen = (full / 4) * 3 + (rem == 2 ? 1 : rem == 3 ? 2 : 0);
    if (outlen > cap || outlen > SIZE_MAX / 2) /* must fit in ssize_t */
        return -1;

    for (size_t i = 0; i < full; i += 4) {
        uint8_t a = sextet(s[i]), b = sextet(s[i + 1]);
        uint8_t c = sextet(s[i + 2]), d = sextet(s[i + 3]);
        if ((a | b | c | d) & 0x40)
            return -1;
        uint32_t v = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6) | d;
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
        o += 3;
    }
    if (rem == 2) {
        /* 12 bits carry 8: the low 4 bits of the second sextet must be zero. */
        uint8_t a = sextet(s[full]), b = sextet(s[full + 1]);
        if (((a | b) & 0x40) || (b & 0x0F))
            return -1;
        o[0] = (uint8_t)((a << 2) | (b >> 4));
    } else if (rem == 3) {
        /* 18 bits carry 16: the low 2 bits of the third sextet must be zero. */
        uint8_t a = sextet(s[full]), b = sextet(s[full + 1]), c = sextet(s[full + 2]);
        if (((a | b | c) & 0x40) || (c & 0x03))
            return -1;
        o[0] = (uint8_t)((a << 2) | (b >> 4));
        o[1] = (uint8_t)((b << 4) | (c >> 2));
    }
    return (ssize_t)outlen;
}
