/*
 * fuzz_common.h: small helpers shared by the libFuzzer targets of tests/fuzz/.
 */
#ifndef AUTHZ_FUZZ_COMMON_H
#define AUTHZ_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant of the code under test: print what broke and abort, which
 * libFuzzer reports as a crash (and saves the input). */
#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated copy of data[0..n) (malloc'd; the caller frees). An
 * embedded NUL simply ends the C string early, as it would for the server. */
static inline char *fz_strndup(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* Splits data at the first '\n' into a first line and the rest; either may be
 * empty. Returns 1 when there was a newline. */
static inline int fz_split_line(const uint8_t *data, size_t n, const uint8_t **rest, size_t *restlen,
                                size_t *linelen)
{
    const uint8_t *nl = memchr(data, '\n', n);
    if (!nl) {
        *linelen = n;
        *rest = data + n;
        *restlen = 0;
        return 0;
    }
    *linelen = (size_t)(nl - data);
    *rest = nl + 1;
    *restlen = n - *linelen - 1;
    return 1;
}

#endif
