/*
 * jwks_cache.h: JWK Sets published at a jwks_uri (trust policies, and
 * private_key_jwt clients that registered a jwks_uri), fetched with
 * net/fetch.c on a fetch thread (or on a database worker that needs them)
 * and kept in memory.
 *
 * A set is used for JWKS_TTL seconds; a token whose kid the cached set does
 * not hold makes it fetched again, at most once every JWKS_REFETCH seconds
 * (SPEC §7); a failed fetch is retried after JWKS_FAIL_RETRY seconds, and
 * the previous set stays in use (up to JWKS_MAX_STALE seconds old) while the
 * publisher is unreachable. One fetch per URI at a time.
 */
#ifndef AUTHZ_JWKS_CACHE_H
#define AUTHZ_JWKS_CACHE_H

#include <stdint.h>

#include "http/http.h"

struct jwks;

#define JWKS_TTL         300
#define JWKS_REFETCH     60
#define JWKS_FAIL_RETRY  10
#define JWKS_MAX_STALE   3600
#define JWKS_MAX_URIS    512

/* The key set at uri for a token naming kid (NULL: none). H_DONE with *out
 * (a reference: jwks_release) or *out NULL and *why; H_BLOCK with
 * r->wants_fetch when it must be fetched (or is being fetched) and r runs on
 * an event loop. */
enum hres jwks_uri_keys(struct req *r, const char *uri, const char *kid, struct jwks **out,
                        const char **why);

/* Tests only: replaces the clock (seconds) the timing rules use; NULL
 * restores time(). */
void jwks_cache_clock(int64_t (*fn)(void));

#endif
