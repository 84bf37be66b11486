/*
 * trust_verify.c: verification of external JWTs under a tenant's trust
 * policies (SPEC §4.4, §7), and the per-tenant cache of those policies.
 *
 * The cache holds one immutable, reference-counted struct trust_set per
 * tenant, loaded on a database worker the first time it is needed and
 * dropped with the tenant's other cached data (cache.c) at every
 * authz_cache notification (a trigger on trust_policies sends one), so
 * that a policy change takes effect on every authzd within a second. As in
 * cache.c, an epoch bumped by every invalidation keeps a load that raced
 * with a change from caching what it read before the change.
 */
#include "policy/trust.h"
#include "oauth/trust_verify.h"
#include "crypto/jwt.h"
#include "oauth/jwks_cache.h"
#include "storage/trust.h"
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum hres trust_policies(struct req *r, struct trust_set **out)
{
    return cache_trust_set(&r->tx, r->can_block, tenant_id_of(r->tenant), out) ? H_DONE : H_BLOCK;
}

/* The keys of policy p for a token naming kid: inline, or through the
 * jwks_uri cache. H_BLOCK when a fetch is needed and r cannot block. */
static enum hres policy_keys(struct req *r, const struct trust_policy *p, const char *kid,
                             struct jwks **out, const char **why)
{
    if (p->jwks) {
        *out = jwks_ref(p->jwks);
        return H_DONE;
    }
    return jwks_uri_keys(r, p->jwks_uri, kid, out, why);
}

enum hres trust_verify(struct req *r, const char *token, const char *use, struct trust_result *out)
{
    struct trust_set *s = NULL;
    if (!r->tenant) {
        struct trust_result res = {.ok = false, .why = "no tenant"};
        *out = res;
        return H_DONE;
    }
    if (trust_policies(r, &s) == H_BLOCK)
        return H_BLOCK;
    if (!s) {
        struct trust_result res = {.ok = false, .why = "the trust policies could not be loaded"};
        *out = res;
        return H_DONE;
    }
    enum hres h = trust_verify_in(r, s, token, use, out);
    trust_set_release(s);
    return h;
}

enum hres trust_verify_in(struct req *r, const struct trust_set *s, const char *token,
                          const char *use, struct trust_result *out)
{
    struct trust_result res = {.ok = false};
    struct jwt j;
    const char *why = NULL;

    /* RFC 7519 §7.2: a JWT is a JWS compact serialisation (strict parse;
     * alg none and HS* refused here) */
    if (!token || jwt_parse(token, strlen(token), &j, &why) < 0) {
        res.why = why ? why : "not a JWT";
        *out = res;
        return H_DONE;
    }
    /* SPEC §7: a trust policy names the issuer; the policy is chosen by iss
     * (the claim is trusted only once a key of that policy verified it) */
    const char *iss = jwt_claim_str(j.claims, "iss");
    if (!iss) {
        jwt_free(&j);
        res.why = "the token has no iss";
        *out = res;
        return H_DONE;
    }
    /* Candidates in name order; the first that accepts wins. One whose key
     * set must be fetched sends the request to a worker (H_BLOCK), where the
     * same candidates are tried again from the start. */
    int64_t now = (int64_t)time(NULL);
    bool any = false;
    for (int i = 0; i < s->n && !res.ok; i++) {
        const struct trust_policy *p = &s->v[i];
        if (strcmp(p->issuer, iss) != 0 || !trust_policy_has_use(p, use))
            continue;
        const char *pwhy = NULL;
        struct jwks *ks = NULL;
        if (policy_keys(r, p, j.kid, &ks, &pwhy) == H_BLOCK) {
            jwt_free(&j);
            return H_BLOCK;
        }
        /* RFC 7515 §5.2 step 8 / RFC 8725 §3.1: the signature, with a key of
         * this policy's set that fits the token's (asymmetric) alg */
        if (!ks) {
            /* pwhy from the fetch */
        } else if (jwt_verify(&j, ks, &pwhy) != JWT_VALID) {
            /* pwhy from the verification */
        } else if (!trust_check_claims(p, j.claims, use, now, &pwhy)) {
            /* pwhy from the claim rules */
        } else {
            res.ok = true;
        }
        jwks_release(ks);
        /* report the first candidate's refusal, or the one that accepted */
        if (res.ok || !any) {
            res.policy = arena_strdup(r->arena, p->name);
            res.why = res.ok ? NULL : pwhy;
        }
        any = true;
        if (res.ok) {
            const char *sub = jwt_claim_str(j.claims, "sub");
            const char *scope = jwt_claim_str(j.claims, "scope");
            int64_t exp = 0;
            jwt_claim_date(j.claims, "exp", &exp);
            res.iss = arena_strdup(r->arena, iss);
            res.sub = arena_strdup(r->arena, sub);
            res.scope = scope ? arena_strdup(r->arena, scope) : NULL;
            res.exp = exp;
            if (strcmp(use, "actor") == 0)
                res.client_id = arena_strdup(r->arena, p->maps_to_client);
            else
                res.username = arena_strdup(r->arena, jwt_claim_str(j.claims, p->user_claim));
            res.claims = json_incref(j.claims);
        }
    }
    if (!any)
        res.why = "no trust policy of this tenant names the token's issuer for this use";
    jwt_free(&j);
    *out = res;
    return H_DONE;
}
