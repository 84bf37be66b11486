/*
 * fuzz_jwt.c: libFuzzer target for JWT parsing and verification:
 * - foreign JWTs (authz/crypto/jwt.c): jwt_parse, jwt_verify against a fixed
 *   JWK Set (ES256, ES384, RS256, PS256, EdDSA), the claim helpers, and the
 *   whole trust-policy path trust_verify_in (authz/oauth/trust_verify.c) under
 *   an actor and a subject policy with inline keys: what token exchange does
 *   with a workload or IdP token;
 * - authz's own at+jwt access tokens (authz/oauth/mint.c,
 *   authz/oauth/introspect.c, authz/crypto/jws.c): access_token_tenant_slug
 *   (read before any verification, on every admin Bearer token),
 *   access_token_verify and access_token_active against a tenant holding
 *   fixed ES256 and EdDSA keys;
 * - JWK Sets (input starting with '{'): jwks_parse_text strict and lenient,
 *   as the admin API and the jwks_uri cache parse them.
 *
 * The keys and the seed tokens come from gen_jwt_seeds.mjs (jwt_fixture.h and
 * corpus/fuzz_jwt/). Invariants besides "no crash, no sanitizer report":
 * - jwt_parse never accepts alg none, HS*, crit, an empty signature or a
 *   token that is not exactly three parts;
 * - a verified token's alg fits the key that verified it (kid match);
 * - trust_verify_in accepts only tokens that jwt_verify accepts, from the
 *   policy's issuer, with exp;
 * - access_token_verify accepts only typ at+jwt tokens of the tenant's
 *   issuer, and access_token_tenant_slug names a slug without '/'.
 */
#include "fuzz_common.h"

#include <time.h>

#include "cache.h"
#include "crypto/crypto.h"
#include "crypto/jwt.h"
#include "http/http.h"
#include "oauth/oauth.h"
#include "policy/trust.h"
#include "oauth/trust_verify.h"
#include "util/arena.h"

#include "jwt_fixture.h"

json_t *access_token_verify(const struct tenant *t, const char *token, const char **why);
json_t *access_token_active(const struct tenant *t, const char *token);
char *access_token_tenant_slug(struct req *r, const char *token);

static struct jwks *g_foreign;
static struct tenant g_tenant;
static struct trust_set g_trust;

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

static void init_policy(struct trust_policy *p, const char *name, bool actor, const char *pattern,
                        const char *user_claim)
{
    memset(p, 0, sizeof *p);
    p->name = xstrdup(name);
    p->issuer = xstrdup(FUZZ_FOREIGN_ISS);
    p->audience = xstrdup("authz-fuzz");
    p->subject_pattern = xstrdup(pattern);
    p->jwks = jwks_ref(g_foreign);
    p->for_actor = actor;
    p->for_subject = !actor;
    p->maps_to_client = actor ? xstrdup("cl_agent") : NULL;
    p->user_claim = xstrdup(user_claim);
    p->max_token_age = actor ? 0 : (int64_t)86400 * 365 * 200;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *why = NULL;
    g_foreign = jwks_parse_text(FUZZ_FOREIGN_JWKS, strlen(FUZZ_FOREIGN_JWKS), JWKS_STRICT, &why);
    FZ_CHECK(g_foreign && g_foreign->n == 5, "fixture JWKS does not parse: %s", why ? why : "");

    /* the tenant "acme" with authz's two signing keys (public halves: only
     * verification is fuzzed) */
    struct jwks *ak = jwks_parse_text(FUZZ_AUTHZ_JWKS, strlen(FUZZ_AUTHZ_JWKS), JWKS_STRICT, &why);
    FZ_CHECK(ak && ak->n == 2, "fixture authz keys do not parse: %s", why ? why : "");
    g_tenant.id = "00000000-0000-4000-8000-00000000acme";
    g_tenant.slug = "acme";
    g_tenant.issuer = FUZZ_AUTHZ_ISS;
    g_tenant.signing_alg = "ES256";
    g_tenant.keys = calloc(2, sizeof(struct signing_key *));
    for (int i = 0; i < 2; i++) {
        struct signing_key *k = calloc(1, sizeof *k);
        k->alg = ak->keys[i].kind == JWK_ED25519 ? SIG_EDDSA : SIG_ES256;
        snprintf(k->kid, sizeof k->kid, "%s", ak->keys[i].kid);
        k->pkey = ak->keys[i].pkey;
        EVP_PKEY_up_ref(k->pkey);
        g_tenant.keys[i] = k;
    }
    g_tenant.nkeys = 2;
    g_tenant.active = g_tenant.keys[0];
    jwks_release(ak);
    g_public_url = FUZZ_PUBLIC_URL;

    g_trust.n = 3;
    g_trust.v = calloc(3, sizeof(struct trust_policy));
    init_policy(&g_trust.v[0], "k8s-agents", true, "system:serviceaccount:*:*", NULL);
    init_policy(&g_trust.v[1], "staff", false, NULL, "preferred_username");
    init_policy(&g_trust.v[2], "z-strict", true, "*", NULL);
    g_trust.v[2].nclaims = 1;
    g_trust.v[2].claim_names = calloc(1, sizeof(char *));
    g_trust.v[2].claim_values = calloc(1, sizeof(char *));
    g_trust.v[2].claim_names[0] = strdup("email");
    g_trust.v[2].claim_values[0] = strdup("a@example.test");
    g_trust.v[2].max_token_age = 3600;
    atomic_store(&g_trust.refs, 1);
    return 0;
}

static void fuzz_jwks(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    struct jwks *s = jwks_parse_text((const char *)data, size, JWKS_STRICT | JWKS_NO_PRIVATE, &why);
    if (s) {
        FZ_CHECK(s->n >= 1 && s->n <= JWKS_MAX_KEYS, "strict set of %d keys", s->n);
        for (int i = 0; i < s->n; i++) {
            FZ_CHECK(s->keys[i].pkey != NULL, "key %d without EVP_PKEY", i);
            if (s->keys[i].kid)
                FZ_CHECK(jwks_has_kid(s, s->keys[i].kid), "jwks_has_kid(%s)", s->keys[i].kid);
        }
        jwks_release(s);
    } else {
        FZ_CHECK(why && *why, "jwks_parse_text failed without a reason");
    }
    why = NULL;
    s = jwks_parse_text((const char *)data, size, 0, &why);
    if (s) {
        FZ_CHECK(s->n >= 0 && s->n <= JWKS_MAX_KEYS, "lenient set of %d keys", s->n);
        jwks_release(jwks_ref(s));
        jwks_release(s);
    }
    /* each member of "keys" as one JWK */
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(j, "keys");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        enum jwk_kind kind;
        EVP_PKEY *pk = jwk_to_pkey(k, &kind, &why);
        if (pk) {
            FZ_CHECK(kind >= JWK_EC_P256 && kind <= JWK_ED25519, "kind %d", (int)kind);
            EVP_PKEY_free(pk);
        }
        if (i > 8)
            break;
    }
    json_decref(j);
}

static void fuzz_foreign(const char *tok, size_t len)
{
    struct jwt j;
    const char *why = NULL;
    int rc = jwt_parse(tok, len, &j, &why);
    if (rc == 0) {
        FZ_CHECK(j.header && j.claims && json_is_object(j.header) && json_is_object(j.claims),
                 "jwt_parse gave no objects");
        const char *alg = json_string_value(json_object_get(j.header, "alg"));
        FZ_CHECK(alg && !strcmp(alg, jwt_alg_name(j.alg)), "alg %s parsed as %s", alg ? alg : "-",
                 jwt_alg_name(j.alg));
        FZ_CHECK(!json_object_get(j.header, "crit"), "crit accepted");
        FZ_CHECK(j.siglen > 0 && j.siglen <= JWT_SIG_MAX, "siglen %zu", j.siglen);
        FZ_CHECK(j.signing_input_len < len && tok[j.signing_input_len] == '.', "signing input");
        const char *vwhy = NULL;
        enum jwt_verdict v = jwt_verify(&j, g_foreign, &vwhy);
        if (v == JWT_VALID) {
            /* the key that verified: by kid, or the only one fitting alg */
            bool found = false;
            for (int i = 0; i < g_foreign->n; i++) {
                const struct jwk *k = &g_foreign->keys[i];
                if (j.kid && (!k->kid || strcmp(k->kid, j.kid)))
                    continue;
                if (k->alg >= 0 && k->alg != (int)j.alg)
                    continue;
                found = true;
            }
            FZ_CHECK(found, "verified with no key fitting kid %s alg %s", j.kid ? j.kid : "-",
                     jwt_alg_name(j.alg));
        } else {
            FZ_CHECK(vwhy && *vwhy, "jwt_verify refused without a reason");
        }
        for (int i = 0; i < g_foreign->n; i++)
            (void)jwt_verify_key(&j, &g_foreign->keys[i], &vwhy);

        /* claims helpers */
        int64_t d;
        (void)jwt_claim_date(j.claims, "exp", &d);
        (void)jwt_claim_date(j.claims, "nbf", &d);
        (void)jwt_claim_date(j.claims, "iat", &d);
        (void)jwt_aud_has(j.claims, "authz-fuzz");
        struct jwt_time_rules tr = {.now = (int64_t)time(NULL), .leeway = 30, .require_exp = true,
                                    .require_iat = true, .max_exp_ahead = 300, .max_age = 60};
        (void)jwt_check_times(j.claims, &tr, &vwhy);
        struct jwt_time_rules tr2 = {.now = INT64_MAX / 2, .leeway = 60};
        (void)jwt_check_times(j.claims, &tr2, &vwhy);
        for (int i = 0; i < g_trust.n; i++) {
            (void)trust_check_claims(&g_trust.v[i], j.claims, "actor", (int64_t)time(NULL), &vwhy);
            (void)trust_check_claims(&g_trust.v[i], j.claims, "subject", (int64_t)time(NULL), &vwhy);
        }

        /* the whole token-exchange path under the test policies */
        struct req r = {0};
        r.arena = arena_new();
        for (int u = 0; u < 2; u++) {
            const char *use = u ? "subject" : "actor";
            struct trust_result res;
            char *copy = arena_strndup(r.arena, tok, len);
            FZ_CHECK(trust_verify_in(&r, &g_trust, copy, use, &res) == H_DONE, "inline keys blocked");
            if (res.ok) {
                FZ_CHECK(strlen(copy) == len, "accepted a token with a NUL byte");
                FZ_CHECK(v == JWT_VALID, "trust_verify_in accepted what jwt_verify refused");
                FZ_CHECK(res.iss && !strcmp(res.iss, FUZZ_FOREIGN_ISS), "issuer %s", res.iss);
                FZ_CHECK(res.sub && *res.sub, "no sub");
                FZ_CHECK(res.exp > 0, "no exp");
                FZ_CHECK(u ? res.username && *res.username : res.client_id != NULL, "use member");
                json_decref(res.claims);
            } else {
                FZ_CHECK(res.why != NULL, "trust_verify_in refused without a reason");
            }
        }
        arena_free(r.arena);
        jwt_free(&j);
    } else {
        FZ_CHECK(why && *why, "jwt_parse failed without a reason");
    }
}

static void fuzz_authz(const char *tok, size_t len)
{
    if (strlen(tok) != len)
        return; /* the server's C strings end at a NUL: header values cannot hold one */
    struct req r = {0};
    r.arena = arena_new();
    char *slug = access_token_tenant_slug(&r, tok);
    if (slug)
        FZ_CHECK(!strchr(slug, '/'), "slug %s has a '/'", slug);
    const char *why = NULL;
    json_t *c = access_token_verify(&g_tenant, tok, &why);
    if (c) {
        FZ_CHECK(json_is_object(c), "claims not an object");
        const char *iss = json_string_value(json_object_get(c, "iss"));
        FZ_CHECK(iss && !strcmp(iss, g_tenant.issuer), "accepted iss %s", iss ? iss : "-");
        FZ_CHECK(json_is_integer(json_object_get(c, "exp")), "accepted without integer exp");
        json_decref(c);
    } else {
        FZ_CHECK(why && *why, "access_token_verify refused without a reason");
    }
    c = access_token_active(&g_tenant, tok);
    json_decref(c);
    arena_free(r.arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > JWT_MAX_LEN + 16)
        return 0;
    if (size && data[0] == '{') {
        fuzz_jwks(data, size);
        return 0;
    }
    char *tok = fz_strndup(data, size);
    fuzz_foreign(tok, size);
    fuzz_authz(tok, size);
    free(tok);
    return 0;
}
