/*
 * fetch.h: THE outbound HTTP/1.1 client of authzd, blocking, for the
 * threads that may wait on the network (database workers and the fetch
 * threads of runtime/fetchers.c; never the event loops): JWK Sets of trust
 * policies and of private_key_jwt clients that publish a jwks_uri, client ID
 * metadata documents (CIMD), webhooks and CIBA pings.
 *
 * Only https (certificate chain checked against the system CA store, which
 * SSL_CERT_FILE / SSL_CERT_DIR may replace, and the host name checked), or
 * http to a loopback host. No redirects, no userinfo, one deadline for the
 * whole exchange, a bounded body.
 *
 * Address checks: the host is resolved once and each address is checked
 * before it is connected to (so a name that resolves elsewhere at the second
 * look cannot slip through). Plain http reaches loopback addresses only. A
 * fetch of a URL that anyone may name (a CIMD client_id) is public_only: it
 * refuses private, shared (CGNAT), link-local, loopback, multicast and
 * reserved addresses (fetch_addr_public), loopback allowed only when the
 * caller says so (authzd's own public_url is on loopback: development and
 * tests).
 */
#ifndef AUTHZ_FETCH_H
#define AUTHZ_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/limits.h"

#define FETCH_MAX_BODY      (256 * 1024)
#define FETCH_MAX_HEADERS   (16 * 1024)
#define FETCH_TIMEOUT_MS    5000
#define FETCH_URL_MAX       AUTHZ_URI_MAX

struct fetch_url {
    bool tls;
    bool ip_literal;
    char host[256];            /* without brackets for IPv6 literals */
    char port[8];
    char hostport[272];        /* for the Host header: as written in the URL */
    char path[FETCH_URL_MAX + 1];  /* path and query, "/" at least */
};

/* Parses and checks an absolute URL with policy/uri.h's endpoint rule:
 * https://host[:port]/path?query, or http:// with host 127.0.0.1, localhost
 * or [::1]. No userinfo, fragment, whitespace or control characters. 0, or
 * -1 with *why. */
int fetch_url_parse(const char *url, struct fetch_url *u, const char **why);
/* fetch_url_parse() accepts it */
bool fetch_url_allowed(const char *url);

struct sockaddr;

/* The address is one anybody on the internet may own: not unspecified,
 * loopback, private (RFC 1918, fc00::/7), shared (100.64.0.0/10),
 * link-local (169.254.0.0/16, fe80::/10), multicast, documentation,
 * benchmarking or reserved; an IPv4-mapped or NAT64 IPv6 address is judged
 * by the IPv4 address it carries. *why (a static sentence) says which when
 * it is not. */
bool fetch_addr_public(const struct sockaddr *sa, const char **why);

/* How a fetch may go. */
struct fetch_opts {
    int timeout_ms;            /* the whole exchange; <= 0: FETCH_TIMEOUT_MS */
    size_t max_body;           /* 0: FETCH_MAX_BODY (and never more) */
    bool public_only;          /* only addresses fetch_addr_public accepts ... */
    bool allow_loopback;       /* ... and, with this, loopback ones too */
    const char *accept;        /* Accept header value; NULL: application/json */
};

/* An answer of any status. body, cache_control and location are malloc'd
 * (NULL when absent); fetch_answer_free frees them. */
struct fetch_answer {
    int status;
    char *body;
    size_t body_len;
    char *cache_control;       /* the Cache-Control header's value */
    char *location;            /* the Location header's value (redirects) */
};
void fetch_answer_free(struct fetch_answer *a);

/* GETs url under opts. 0 with *out filled (any status: the caller decides;
 * redirects are reported, never followed), or -1 with *why (a static
 * sentence a client can be shown): the URL, an address, the connection,
 * TLS, framing, size ("the answer is too large") or the deadline ("... timed
 * out"). */
int fetch_get(const char *url, const struct fetch_opts *opts, struct fetch_answer *out,
              const char **why);

/* GETs url and parses the 200 answer as JSON (duplicate members refused).
 * Returns a new reference, or NULL with *why (a static string). Blocks for
 * at most timeout_ms. */
json_t *fetch_json(const char *url, int timeout_ms, const char **why);

/* POSTs body to url with extra header lines ("Name: value", NULL-terminated
 * list) and reads the whole answer. 0 with the answer's status in *status,
 * or -1 with *why (connection, TLS, framing, size or time failure). */
int fetch_post(const char *url, const char *const *headers, const char *body, size_t bodylen,
               int timeout_ms, int *status, const char **why);

#endif
