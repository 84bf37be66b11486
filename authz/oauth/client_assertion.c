/*
 * client_assertion.c: private_key_jwt (RFC 7523 §2.2 and §3; RFC 7521 §4.2;
 * SPEC §3). A confidential client authenticates at the token endpoint with
 * a short-lived JWT about itself, signed with a private key whose public
 * half it registered (jwks, or jwks_uri). Each numbered requirement of RFC
 * 7523 §3 is its own check below, quoted above it; the single-use jti is
 * recorded in PostgreSQL so that a replay is caught by any authzd.
 */
#include "oauth/client_assertion.h"
#include "oauth/jwks_cache.h"
#include "crypto/jwt.h"
#include "storage/trust.h"
#include "storage/db.h"
#include "cache.h"

#include <string.h>
#include <time.h>

#define JTI_MAX 256

/* The keys the client registered: inline jwks, or its jwks_uri through the
 * cache. */
static enum hres client_keys(struct req *r, const struct client *c, const char *kid,
                             struct jwks **out, const char **why)
{
    *out = NULL;
    if (c->jwks) {
        *out = jwks_parse_text(c->jwks, strlen(c->jwks), 0, why);
        return H_DONE;
    }
    if (c->jwks_uri)
        return jwks_uri_keys(r, c->jwks_uri, kid, out, why);
    *why = "the client registered no keys";
    return H_DONE;
}

/* Everything but the jti's single use. false with *why. */
static bool assertion_claims_ok(const struct req *r, const struct client *c, const json_t *claims,
                                int64_t *exp, const char **why)
{
    /* RFC 7523 §3 item 1: "The JWT MUST contain an iss (issuer) claim that
     * contains a unique identifier for the entity that issued the JWT";
     * RFC 7521 §5.2: for client authentication that is the client_id. */
    const char *iss = jwt_claim_str(claims, "iss");
    if (!iss || strcmp(iss, c->client_id) != 0) {
        *why = "the assertion's iss is not the client_id";
        return false;
    }
    /* RFC 7523 §3 item 2.B: "For client authentication, the subject MUST be
     * the client_id of the OAuth client." */
    const char *sub = jwt_claim_str(claims, "sub");
    if (!sub || strcmp(sub, c->client_id) != 0) {
        *why = "the assertion's sub is not the client_id";
        return false;
    }
    /* RFC 7523 §3 item 3: "The JWT MUST contain an aud (audience) claim
     * containing a value that identifies the authorization server as an
     * intended audience. The token endpoint URL of the authorization server
     * MAY be used as a value for an aud element to identify the
     * authorization server as an intended audience of the JWT." SPEC §3: the
     * issuer or the token endpoint. */
    if (!jwt_aud_has(claims, r->tenant->issuer) && !jwt_aud_has(claims, r->tenant->token_endpoint)) {
        *why = "the assertion's aud names neither the issuer nor the token endpoint";
        return false;
    }
    /* RFC 7523 §3 item 4: "The JWT MUST contain an exp (expiration time)
     * claim that limits the time window during which the JWT can be used.
     * The authorization server MUST reject any JWT with an expiration time
     * that has passed, subject to allowable clock skew between systems."
     * SPEC §3: exp is short (at most 5 minutes ahead).
     * RFC 7523 §3 item 5: "The JWT MAY contain an nbf (not before) claim ...
     * the token MUST NOT be accepted for processing" before it.
     * RFC 7523 §3 item 6: "The JWT MAY contain an iat (issued at) claim";
     * one from the future is not believed. */
    struct jwt_time_rules tr = {
        .now = (int64_t)time(NULL),
        .leeway = CLIENT_ASSERTION_LEEWAY,
        .require_exp = true,
        .max_exp_ahead = CLIENT_ASSERTION_MAX_LIFETIME,
    };
    if (!jwt_check_times(claims, &tr, why))
        return false;
    jwt_claim_date(claims, "exp", exp);
    /* RFC 7523 §3 item 7: "The JWT MAY contain a jti (JWT ID) claim that
     * provides a unique identifier for the token." SPEC §3: jti is
     * single-use, so it is required. */
    const char *jti = jwt_claim_str(claims, "jti");
    if (!jti || !*jti || strlen(jti) > JTI_MAX) {
        *why = "the assertion has no jti (or one longer than 256 characters)";
        return false;
    }
    return true;
}

enum hres client_assertion_verify(struct req *r, struct client *c, const char *assertion_type,
                                  const char *assertion, const char **why, bool *ok)
{
    *ok = false;
    *why = NULL;
    /* RFC 7523 §2.2: "The value of the client_assertion_type parameter MUST
     * be urn:ietf:params:oauth:client-assertion-type:jwt-bearer." */
    if (!assertion_type || strcmp(assertion_type, CLIENT_ASSERTION_TYPE_JWT) != 0) {
        *why = "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
        return H_DONE;
    }
    /* RFC 7591 §2 token_endpoint_auth_method: the client uses the method it
     * registered */
    if (strcmp(c->auth_method, "private_key_jwt") != 0) {
        *why = "authentication method does not match the registered one";
        return H_DONE;
    }
    /* RFC 7523 §3 item 8 / RFC 7519 §7.2: a well-formed JWT (strict; alg
     * none and HS* refused while parsing, RFC 8725 §3.1) */
    struct jwt j;
    if (!assertion || jwt_parse(assertion, strlen(assertion), &j, why) < 0)
        return H_DONE;

    struct jwks *ks = NULL;
    const char *kwhy = NULL;
    if (client_keys(r, c, j.kid, &ks, &kwhy) == H_BLOCK) {
        jwt_free(&j);
        return H_BLOCK;
    }
    /* RFC 7523 §3 item 9: "The JWT MUST be digitally signed or have a
     * Message Authentication Code (MAC) applied by the issuer. The
     * authorization server MUST reject JWTs with an invalid signature or
     * MAC." Only signatures with a key the client registered, in an
     * algorithm that fits the key. */
    if (!ks) {
        *why = kwhy;
        jwt_free(&j);
        return H_DONE;
    }
    enum jwt_verdict v = jwt_verify(&j, ks, why);
    jwks_release(ks);
    if (v != JWT_VALID) {
        jwt_free(&j);
        return H_DONE;
    }
    int64_t exp = 0;
    if (!assertion_claims_ok(r, c, j.claims, &exp, why)) {
        jwt_free(&j);
        return H_DONE;
    }
    /* the jti needs the database: the rest runs on a worker */
    if (!r->can_block) {
        jwt_free(&j);
        return H_BLOCK;
    }
    /* RFC 7523 §3 item 7: "The authorization server MAY ensure that JWTs
     * are not replayed by maintaining the set of used jti values for the
     * length of time for which the JWT would be considered valid based on
     * the applicable exp instant." SPEC §3: single-use, across every
     * authzd sharing the database. */
    int used = store_assertion_jti_use(&r->tx, tenant_id_of(r->tenant), c->client_id,
                                       jwt_claim_str(j.claims, "jti"),
                                       exp + CLIENT_ASSERTION_LEEWAY);
    jwt_free(&j);
    if (used < 0) {
        /* r->tx.down when the database is gone (503); otherwise refused */
        *why = "the assertion id could not be recorded";
        return H_DONE;
    }
    if (used == 0) {
        *why = "the assertion's jti was used before (replay)";
        return H_DONE;
    }
    *ok = true;
    return H_DONE;
}
