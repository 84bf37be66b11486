/*
 * cred.h: credentials that secret scanners can recognise (SPEC §13), the
 * format of doc/CREDENTIALS.md. Every opaque credential authz hands out is
 *
 *     <prefix><body><checksum>
 *
 * prefix: azcs_ (client secret), azrt_ (refresh token), azroot_ (root
 * token), aziat_ (initial access token); body: CRED_BODY_LEN characters of
 * base62 (0-9A-Za-z), CSPRNG, about 238 bits; checksum: the CRC-32 (IEEE
 * 802.3, as zlib's crc32) of prefix and body, in base62, most significant
 * digit first, left-padded with '0' to CRED_CRC_LEN characters. The checksum
 * is no secret: it lets a scanner tell a real credential from a lookalike
 * offline, without asking authz. Pure functions, no I/O.
 */
#ifndef AUTHZ_CRED_H
#define AUTHZ_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cred_kind { CRED_CLIENT_SECRET = 0, CRED_REFRESH, CRED_ROOT, CRED_IAT, CRED_NKINDS };

#define CRED_BODY_LEN 40
#define CRED_CRC_LEN 6
/* the longest credential and its NUL */
#define CRED_MAX 64

/* "azcs_" ... */
const char *cred_prefix(enum cred_kind k);
/* "client_secret", "refresh_token", "root_token", "initial_access_token" */
const char *cred_type_name(enum cred_kind k);
/* A new credential of kind k into out (CRED_MAX bytes). */
void cred_new(enum cred_kind k, char out[CRED_MAX]);
/* The kind of s when it is a well-formed credential of this format (prefix,
 * length, alphabet and checksum all right); -1 otherwise. */
int cred_check(const char *s);
/* The kind whose prefix s starts with (whatever follows), or -1. Older
 * credentials of some kinds already had the prefix without a checksum. */
int cred_prefix_kind(const char *s);
/* CRC-32 (IEEE) of n bytes */
uint32_t cred_crc32(const void *p, size_t n);

#endif
