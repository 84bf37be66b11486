/*
 * trust_verify.h: verifying external JWTs under a tenant's trust policies
 * (oauth/trust_verify.c): the policies through the cache, their key sets
 * through oauth/jwks_cache.c, the rules through policy/trust.c.
 */
#ifndef AUTHZ_TRUST_VERIFY_H
#define AUTHZ_TRUST_VERIFY_H

#include "http/http.h"
#include "policy/trust.h"

/* Verifies an external JWT under r->tenant's trust policies for use "actor"
 * or "subject". Candidates are the policies naming the token's iss and that
 * use; the token is accepted when any of them accepts it (signature with the
 * policy's JWKS, then trust_check_claims). Strings in *out live in r's
 * arena. H_BLOCK (out untouched) when the policies or a key set must be
 * loaded and r cannot block; H_DONE otherwise, with out->ok, or r->tx.down
 * when the database failed. Workload tokens may be presented again while
 * valid: there is no single-use check. */
enum hres trust_verify(struct req *r, const char *jwt, const char *use, struct trust_result *out);

/* trust_verify() under a given set of policies (the cache's, or a test's);
 * r->tenant is not used. */
enum hres trust_verify_in(struct req *r, const struct trust_set *s, const char *jwt,
                          const char *use, struct trust_result *out);
/* The tenant's policies (a reference: trust_set_release), through the cache.
 * H_BLOCK when not cached and r cannot block; on database failure H_DONE
 * with *out NULL and r->tx.down set. */
enum hres trust_policies(struct req *r, struct trust_set **out);
#endif
