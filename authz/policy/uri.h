/*
 * uri.h: the one URI parser of authz (RFC 3986) and the one loopback rule.
 * Pure functions: no I/O, no allocation; unit-tested in tests/unit/test_uri.c
 * and driven by tests/fuzz/fuzz_redirect.c.
 *
 * Every URI authz is given goes through uri_parse, and then through one of
 * three rules:
 *
 * - an endpoint (uri_endpoint_check): a URL that authz sends a browser to or
 *   connects to itself: redirect URIs (SPEC §3, RFC 9700 §2.1, RFC 8252),
 *   client and trust-policy jwks_uri (SPEC §7), the approval webhook and
 *   CIBA ping endpoints (SPEC §6 "Notification endpoints and the webhook
 *   must be https, except on a loopback host"), and whatever the outbound
 *   fetcher (http/fetch.c) is asked to GET or POST. `https`, or `http` on a
 *   loopback host; a host name or IP literal; no userinfo, no fragment.
 * - a web page (uri_web_ok): client_uri, logo_uri, tos_uri, policy_uri of
 *   RFC 7591 §2: http or https on any host, no userinfo; one fragment allowed.
 * - a resource indicator (resource_uri_valid in policy/scope.c, RFC 8707 §2):
 *   any absolute URI without a fragment.
 *
 * Characters (all rules): RFC 3986 §2 allows unreserved, reserved and
 * percent-encoded octets only, so spaces, controls, non-ASCII bytes and
 * " < > \ ^ ` { | } are refused, and so is a '%' not followed by two hex
 * digits. A port is 1 to 5 digits naming 1..65535.
 *
 * Loopback, two questions with one answer each:
 * - a host as written in a URL is loopback when it is exactly `127.0.0.1`,
 *   `[::1]` or `localhost`, the three SPEC §3 names for RFC 8252's loopback
 *   redirects. RFC 8252 §8.3 calls `localhost` "NOT RECOMMENDED" (it may
 *   resolve elsewhere) but MCP clients register it, so it counts for every
 *   rule that takes a loopback host; other 127.0.0.0/8 addresses and other
 *   spellings (`LOCALHOST`, `127.1`) do not: a port-free string comparison
 *   is what RFC 8252 §7.3's exception is defined on.
 * - an address a connection goes to is loopback when it is in 127.0.0.0/8
 *   or is ::1 (uri_addr_loopback): the fetcher checks the resolved address,
 *   so a `localhost` that resolves elsewhere is never reached over plain http.
 */
#ifndef AUTHZ_URI_H
#define AUTHZ_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "util/limits.h"

struct sockaddr;

/* A piece of the parsed string (not NUL-terminated). */
struct uri_part {
    const char *p;
    size_t n;
};

/* An absolute URI split as RFC 3986 §3 does: scheme ":" ["//" authority]
 * path ["?" query] ["#" fragment]. Parts point into the parsed string. */
struct uri {
    struct uri_part scheme;     /* without the ':' */
    bool has_authority;
    struct uri_part authority;  /* [userinfo "@"] host [":" port] */
    bool has_userinfo;
    struct uri_part host;       /* as written; an IP-literal keeps its brackets */
    bool host_ipv6;             /* host is "[" IPv6address "]" */
    unsigned port;              /* 0 when the authority names none */
    struct uri_part path;
    bool has_query;
    struct uri_part query;      /* without the '?' */
    bool has_fragment;
    const char *rest;           /* path, query and fragment, to the end */
};

/* Parses s as an absolute URI (RFC 3986 §4.3), checking its characters
 * (see above), the form of its host (an IP-literal must hold an IPv6
 * address) and of its port. 0, or -1 with *why (a static sentence). */
int uri_parse(const char *s, struct uri *u, const char **why);

/* The host as written is one of the three loopback names (see above). */
bool uri_host_loopback(const char *host, size_t n);
/* The address is in 127.0.0.0/8 or is ::1. */
bool uri_addr_loopback(const struct sockaddr *sa);

/* An endpoint URL (see above), of at most AUTHZ_URI_MAX bytes: 0 with *u
 * filled, or -1 with *why (a static sentence a client can act on). */
int uri_endpoint_check(const char *s, struct uri *u, const char **why);
/* uri_endpoint_check accepts s (false for NULL). */
bool uri_endpoint_ok(const char *s);
/* A web page of RFC 7591 §2 metadata (see above), at most AUTHZ_URI_MAX. */
bool uri_web_ok(const char *s);

#endif
