/*
 * fetch.h: a small blocking HTTP/1.1 GET client for database-worker threads
 * (never the event loops): JWK Sets of trust policies and of private_key_jwt
 * clients that publish a jwks_uri.
 *
 * Only https (certificate chain checked against the system CA store, which
 * SSL_CERT_FILE / SSL_CERT_DIR may replace, and the host name checked), or
 * http to a loopback host. No redirects, no userinfo, only status 200, a
 * body of at most FETCH_MAX_BODY bytes, one deadline for the whole exchange.
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
