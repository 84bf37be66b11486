/*
 * ratelimit.h: per-client request rate limits (token buckets, in memory,
 * per authzd process). A limit of N allows N requests per second on
 * average with bursts of up to N.
 */
#ifndef AUTHZ_RATELIMIT_H
#define AUTHZ_RATELIMIT_H

#include <stdbool.h>

/* true when the request may go ahead; false with *retry_after (whole
 * seconds, at least 1) when the client is over its limit. */
bool ratelimit_take(const char *tenant_id, const char *client_id, int per_second, int *retry_after);

#endif
