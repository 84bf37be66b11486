/*
 * hash.h: the one hash for tables keyed by what clients send (client ids,
 * tokens, revocation values): SipHash-2-4 under a key drawn from the
 * system's random source once per process, so that nobody outside can
 * choose keys that all land in one bucket (Redis dict.c does the same).
 */
#ifndef AUTHZ_HASH_H
#define AUTHZ_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of data under the 128-bit key k (the reference algorithm). */
uint64_t siphash24(const uint8_t k[16], const void *data, size_t len);

/* Seeded hashes under this process's key (drawn on first use). */
uint64_t hash_bytes(const void *data, size_t len);
uint64_t hash_str(const char *s);
/* Combines a further string into a running hash (for composite keys). */
uint64_t hash_more(uint64_t h, const char *s);

#endif
