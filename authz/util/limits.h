/*
 * limits.h: every fixed limit of authz in one visible block (OpenBSD
 * httpd.h's habit), each with what it bounds and why. Code uses these
 * names; a limit an operator may change is a config key instead, and its
 * default is named here.
 *
 * (It lives in util/ rather than beside main.c: with -I authz, a
 * top-level authz/limits.h would shadow the C library's <limits.h>.)
 */
#ifndef AUTHZ_LIMITS_H
#define AUTHZ_LIMITS_H

/* ---- URIs ---- */
/* Any URI authz stores or fetches (redirect URIs, resources, jwks_uri,
 * webhooks): 2000 bytes, what browsers and proxies reliably carry. */
#define AUTHZ_URI_MAX 2000

/* ---- in-memory caches (authz/cache.c) ---- */
/* Real clients kept in the client cache; a client past it is loaded from
 * the database on every request. */
#define AUTHZ_CACHE_CLIENTS_MAX 100000
/* Unknown client_ids remembered (so that guessing costs no queries); the
 * oldest is forgotten first. Counted apart from real clients. */
#define AUTHZ_CACHE_UNKNOWN_CLIENTS_MAX 10000

#endif
