/*
 * cimd.h: the pure rules of client ID metadata documents (CIMD,
 * draft-ietf-oauth-client-id-metadata-document; SPEC §11): which client_ids
 * are such URLs, which of them a tenant accepts (cimd_policy, cimd_hosts),
 * what a document must say, and how long it is kept (Cache-Control). No I/O;
 * the fetch and the cache shared by every thread are oauth/cimd.c, the
 * outbound fetcher (limits, address checks) net/fetch.c.
 *
 * Every refusal comes with a sentence saying what was wrong, for the
 * invalid_client error_description (SPEC §11).
 */
#ifndef AUTHZ_POLICY_CIMD_H
#define AUTHZ_POLICY_CIMD_H

#include <stdbool.h>
#include <stddef.h>

#include "util/limits.h"

struct arena;

/* A client_id that names a document rather than a registered client: it
 * begins with "https://" or "http://". Such client_ids are never given to
 * registered clients (those are random identifiers), so the shape alone
 * decides where a client is looked up. */
bool cimd_client_id_is_url(const char *client_id);

/* The client_id URL rules (draft §3, SPEC §11): https with a host and a path
 * other than "/", or, when allow_http_loopback (authzd's own public_url is on
 * loopback), http on a loopback host; no userinfo, no fragment, no "." or
 * ".." path segment, at most AUTHZ_CLIENT_ID_MAX bytes. 0 with the host (as
 * written, lower-cased, brackets kept for IPv6) in host_out (256 bytes), or
 * -1 with *why. */
int cimd_url_check(const char *url, bool allow_http_loopback, char host_out[256],
                   const char **why);

/* The tenant's cimd_policy ("open", "allowlist", "off") and cimd_hosts
 * (globs: '*' matches any run of characters, case-insensitive) allow a
 * document on host. false with *why. */
bool cimd_host_allowed(const char *policy, char *const *hosts, int nhosts, const char *host,
                       const char **why);

/* Seconds to keep a document, from its Cache-Control value (NULL: none):
 * s-maxage, else max-age, else 0 (no-store and no-cache count as 0),
 * clamped to [AUTHZ_CIMD_TTL_MIN, AUTHZ_CIMD_TTL_MAX] (SPEC §11: "at least
 * 60 s, at most 24 h"). */
int cimd_cache_ttl(const char *cache_control);

/* What a valid document registers. Strings and arrays in the arena. */
struct cimd_doc {
    const char *client_name;
    const char **redirect_uris;
    int nredirect_uris;
    bool loopback_only;          /* every redirect URI is on a loopback host */
    const char *auth_method;     /* "none" or "private_key_jwt" */
    const char *jwks;            /* compact JSON text of a public JWK Set, or NULL */
    const char *jwks_uri;        /* or NULL */
    const char **grant_types;    /* authorization_code [, refresh_token] */
    int ngrant_types;
};

/* Validates the document fetched from url (body of len bytes) under SPEC
 * §11: a JSON object whose client_id is url itself, a client_name,
 * redirect_uris (SPEC §3 rules), token_endpoint_auth_method none or
 * private_key_jwt (with jwks or jwks_uri, not both), grant_types within
 * authorization_code and refresh_token (default authorization_code, RFC 7591
 * §2), response_types ["code"] when present, and no client_secret. 0, or -1
 * with *why (in the arena). */
int cimd_parse(struct arena *a, const char *url, const char *body, size_t len,
               struct cimd_doc *out, const char **why);

#endif
