/*
 * trust.h: tenant trust policies (SPEC §7 trust-policies, §4.4): which
 * external issuers' JWTs a tenant accepts, as workload identities of its
 * agents ("actor") or as people ("subject").
 *
 * Two halves:
 * - pure rules (policy/trust.c, no I/O, unit-tested): the sub glob, the claim
 *   checks of one policy, policy names;
 * - the entry point trust_verify() and the per-tenant policy cache
 *   (oauth/trust_verify.c), which load policies from the database and key
 *   sets from jwks_uri when they are not cached.
 */
#ifndef AUTHZ_TRUST_H
#define AUTHZ_TRUST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>


struct jwks;

/* One policy, parsed once (immutable while shared). */
struct trust_policy {
    char *name;
    char *issuer;
    char *audience;
    char *subject_pattern;     /* NULL: any sub */
    char *jwks_uri;            /* NULL when the keys are inline */
    struct jwks *jwks;         /* inline keys, parsed once; NULL with jwks_uri */
    char **claim_names, **claim_values;
    int nclaims;
    int64_t max_token_age;     /* 0: no limit */
    bool for_actor, for_subject;
    bool for_id_jag;           /* SPEC §11: ID-JAGs at the JWT bearer grant */
    char *maps_to_client;      /* actor use */
    char *user_claim;          /* subject use */
};

/* Every policy of one tenant, ordered by name. Reference counted. */
struct trust_set {
    atomic_int refs;
    char *tenant_id;
    struct trust_policy *v;
    int n;
};

/* ---- pure rules (policy/trust.c) ---- */

/* SPEC §7 subject_pattern: '*' matches any run of characters (also none,
 * also ':' and '/'); every other character matches itself. The whole of s
 * must match. */
bool trust_glob_match(const char *pattern, const char *s);
/* [a-z0-9][a-z0-9._-]{0,62} */
bool trust_policy_name_valid(const char *name);
/* The checks of one policy on a signature-verified token, for use "actor"
 * or "subject": iss, sub (present, matching subject_pattern), aud holding
 * the policy's audience, each required claim equal, exp required and
 * exp/nbf/iat with JWT_FOREIGN_LEEWAY seconds of leeway, iat within
 * max_token_age when set, and for subject use a non-empty string in
 * user_claim. false with *why (a static string) on the first failure. */
bool trust_check_claims(const struct trust_policy *p, const json_t *claims, const char *use,
                        int64_t now, const char **why);
/* true when p may be used for use ("actor" or "subject") */
bool trust_policy_has_use(const struct trust_policy *p, const char *use);
void trust_set_release(struct trust_set *s);
void trust_policy_clear(struct trust_policy *p);

/* ---- entry points (oauth/trust_verify.c) ---- */

struct trust_result {
    bool ok;
    const char *why;           /* reason on failure (static or arena) */
    const char *policy;        /* the policy that accepted; on failure the one
                                  whose refusal is reported, or NULL */
    const char *iss, *sub;
    const char *client_id;     /* actor: the policy's maps_to_client */
    const char *username;      /* subject, id-jag: the value of the policy's user_claim */
    const char *scope;         /* the token's scope claim, or NULL */
    int64_t exp;
    json_t *claims;            /* ok only: a reference the caller json_decref()s */
};



#endif
