/*
 * redirect.h: redirection URIs of the authorization endpoint. Pure
 * functions (no I/O), unit-tested in tests/unit/test_redirect.c.
 *
 * RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: the redirect_uri of a request is
 * compared with the registered ones by simple string comparison (RFC 3986
 * §6.2.1), with one exception, RFC 8252 §7.3: for an http redirect URI on a
 * loopback host (127.0.0.1, [::1], localhost) the port may differ, because
 * native apps listen on whatever port the operating system gives them.
 *
 * Which redirect URIs may be registered (https, or http on a loopback host,
 * no fragment, no userinfo) is policy/uri.h's endpoint rule, uri_endpoint_ok,
 * and so is the loopback rule the port exception uses.
 */
#ifndef AUTHZ_REDIRECT_H
#define AUTHZ_REDIRECT_H

#include <stdbool.h>

struct arena;
struct strbuf;

/* true when given is an acceptable redirect_uri for the registered one. */
bool redirect_uri_matches(const char *registered, const char *given);
/* Index of the first registered URI that given matches, or -1. */
int redirect_uri_find(char *const *registered, int n, const char *given);

/* Appends s to sb percent-encoded (RFC 3986 §2.1): only the unreserved
 * characters ALPHA / DIGIT / "-" / "." / "_" / "~" stay as they are. */
void uri_encode_component(struct strbuf *sb, const char *s);

/* uri with the query parameters names[i]=values[i] added (RFC 6749 §4.1.2:
 * "retaining" the query component the URI already has): separated from it
 * by '?' when it has no query, by '&' otherwise. Pairs whose value is NULL
 * are left out. The result is allocated in a. */
char *redirect_uri_append(struct arena *a, const char *uri, const char *const *names,
                          const char *const *values, int n);

#endif
