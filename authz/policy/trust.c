/*
 * trust.c: the pure rules of trust policies (SPEC §7, §4.4): the sub glob,
 * the claim checks one policy makes on a token whose signature has been
 * verified with that policy's keys, and memory of parsed policies. No I/O;
 * the cache and the entry point are in oauth/trust_verify.c.
 */
#include "policy/trust.h"
#include "crypto/jwt.h"

#include <stdlib.h>
#include <string.h>

bool trust_glob_match(const char *p, const char *s)
{
    /* Greedy matching with one backtrack point (the last '*'): linear in
     * practice and never exponential, whatever the pattern. */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p && *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

bool trust_policy_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
              s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

bool trust_policy_has_use(const struct trust_policy *p, const char *use)
{
    if (!use)
        return false;
    if (strcmp(use, "actor") == 0)
        return p->for_actor;
    if (strcmp(use, "subject") == 0)
        return p->for_subject;
    if (strcmp(use, "id-jag") == 0)
        return p->for_id_jag;
    return false;
}

bool trust_check_claims(const struct trust_policy *p, const json_t *claims, const char *use,
                        int64_t now, const char **why)
{
    /* RFC 7519 §4.1.1 / RFC 7523 §3 item 1: the token is from the issuer the
     * policy names */
    const char *iss = jwt_claim_str(claims, "iss");
    if (!iss || strcmp(iss, p->issuer) != 0) {
        *why = "iss is not the policy's issuer";
        return false;
    }
    /* SPEC §7: the policy's use */
    if (!trust_policy_has_use(p, use)) {
        *why = "the policy is not for this use";
        return false;
    }
    /* RFC 7519 §4.1.2: sub identifies the principal; SPEC §7 subject_pattern
     * is a glob on it */
    const char *sub = jwt_claim_str(claims, "sub");
    if (!sub || !*sub) {
        *why = "the token has no sub";
        return false;
    }
    if (p->subject_pattern && !trust_glob_match(p->subject_pattern, sub)) {
        *why = "sub does not match the policy's subject_pattern";
        return false;
    }
    /* RFC 7519 §4.1.3: "If the principal processing the claim does not
     * identify itself with a value in the aud claim when this claim is
     * present, then the JWT MUST be rejected." SPEC §7: audience is required. */
    if (!jwt_aud_has(claims, p->audience)) {
        *why = "aud does not name the policy's audience";
        return false;
    }
    /* SPEC §7 required_claims: top-level claim -> exact string value */
    for (int i = 0; i < p->nclaims; i++) {
        const char *v = jwt_claim_str(claims, p->claim_names[i]);
        if (!v || strcmp(v, p->claim_values[i]) != 0) {
            *why = "a required claim is missing or differs";
            return false;
        }
    }
    /* SPEC §4.4: "JWTs from other issuers are checked with 60 s of clock
     * leeway (exp, nbf, iat)"; SPEC §7 max_token_age: seconds since iat */
    struct jwt_time_rules tr = {
        .now = now,
        .leeway = JWT_FOREIGN_LEEWAY,
        .require_exp = true,
        .max_age = p->max_token_age,
    };
    if (!jwt_check_times(claims, &tr, why))
        return false;
    /* SPEC §4.4: "the person is then the tenant's user named by the policy's
     * user_claim" */
    if (strcmp(use, "subject") == 0 || strcmp(use, "id-jag") == 0) {
        const char *u = p->user_claim ? jwt_claim_str(claims, p->user_claim) : NULL;
        if (!u || !*u) {
            *why = "the policy's user_claim is missing from the token";
            return false;
        }
    }
    return true;
}

void trust_policy_clear(struct trust_policy *p)
{
    free(p->name);
    free(p->issuer);
    free(p->audience);
    free(p->subject_pattern);
    free(p->jwks_uri);
    jwks_release(p->jwks);
    for (int i = 0; i < p->nclaims; i++) {
        free(p->claim_names[i]);
        free(p->claim_values[i]);
    }
    free(p->claim_names);
    free(p->claim_values);
    free(p->maps_to_client);
    free(p->user_claim);
    memset(p, 0, sizeof *p);
}

void trust_set_release(struct trust_set *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (int i = 0; i < s->n; i++)
        trust_policy_clear(&s->v[i]);
    free(s->v);
    free(s->tenant_id);
    free(s);
}
