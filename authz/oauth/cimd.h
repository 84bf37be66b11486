/*
 * cimd.h: clients that are client ID metadata documents (CIMD, SPEC §11),
 * and the one way every endpoint finds a client by its client_id.
 *
 * A client_id that is an https URL (or, while authzd's public_url is on
 * loopback, an http URL on a loopback host) names a document the client
 * publishes: authzd fetches it with the one outbound fetcher (net/fetch.c:
 * GET, no redirects, within 5 s, at most 16 KiB, public addresses only),
 * checks it (policy/cimd.c), and keeps the client it describes in memory,
 * shared by every thread and tenant, for as long as its Cache-Control says
 * (at least 60 s, at most 24 h). Nothing is stored in the database. A
 * document that is refused is remembered as refused for
 * AUTHZ_CIMD_FAIL_TTL seconds, so that naming it again costs no fetch.
 *
 * The fetch never blocks an event loop: a lookup on a loop that misses
 * returns H_BLOCK with r->wants_fetch, and the request runs again on a fetch
 * thread (runtime/fetchers.c), which fetches once for every request waiting
 * on the same URL.
 */
#ifndef AUTHZ_OAUTH_CIMD_H
#define AUTHZ_OAUTH_CIMD_H

#include <stdbool.h>

#include "http/http.h"

struct client;

/* The client client_id names in r->tenant: a registered client (through
 * the client cache), or a CIMD client when client_id is a URL. H_BLOCK when
 * it must be loaded (database) or fetched (network) and r cannot wait here;
 * else H_DONE with *out (a new reference) or *out NULL: then *why says why
 * when the client_id is a URL (what was wrong with the URL, the tenant's
 * policy or the document: SPEC §11's invalid_client description), and is
 * NULL for an unknown registered client; r->tx.down on a database
 * failure. */
enum hres client_find(struct req *r, const char *client_id, struct client **out,
                      const char **why);

/* authzd's own public_url is on a loopback host (development, tests): then
 * http client_id URLs on loopback hosts, and documents on loopback
 * addresses, are accepted (SPEC §11). */
bool cimd_public_url_loopback(void);

/* Forgets every cached document (tests). */
void cimd_cache_clear(void);

#endif
