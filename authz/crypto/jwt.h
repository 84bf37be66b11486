/*
 * jwt.h: verification of JWTs that authz did not sign: RFC 7523 client
 * assertions (private_key_jwt) and workload / foreign-issuer tokens under
 * tenant trust policies.
 *
 * Strict by construction:
 * - compact JWS only (RFC 7515 §7.1): exactly three base64url parts, each
 *   strictly decoded; header and claims are JSON objects without duplicate
 *   members; every size is bounded (JWT_MAX_LEN and friends);
 * - only asymmetric algorithms (ES256, ES384, RS256, PS256, EdDSA). "none"
 *   and every HS* are refused before any key is looked at, so a public key
 *   can never be used as an HMAC secret (algorithm confusion);
 * - the key comes from a JWK Set the verifier holds (never from the token's
 *   own jwk / jku / x5u / x5c headers), chosen by kid (or the only key fitting
 *   the algorithm when the token names none), and must fit the algorithm: kty
 *   and curve, RSA of
 *   at least 2048 bits, and the JWK's own "alg" when it has one;
 * - ES* signatures are the raw r||s form of RFC 7518 §3.4.
 *
 * Claim helpers check NumericDate claims (exp, nbf, iat) with a leeway, iss
 * and aud (a string or an array of strings). Nothing here does I/O.
 */
#ifndef AUTHZ_JWT_H
#define AUTHZ_JWT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/limits.h"

#include <jansson.h>
#include <openssl/evp.h>

/* ---- limits ---- */
#define JWT_MAX_LEN        AUTHZ_TOKEN_MAX  /* compact serialisation, in characters */
#define JWT_HEADER_MAX     2048   /* decoded JOSE header, bytes */
#define JWT_CLAIMS_MAX     12288  /* decoded claims set, bytes */
#define JWT_SIG_MAX        1024   /* decoded signature (RSA up to 8192 bits) */
#define JWKS_MAX_KEYS      64     /* keys in one JWK Set */
#define JWKS_MAX_BYTES     (256 * 1024)
#define JWT_RSA_MIN_BITS   2048
#define JWT_RSA_MAX_BITS   8192
/* Clock leeway for tokens of other issuers (SPEC §4.4), seconds. */
#define JWT_FOREIGN_LEEWAY 60

/* ---- algorithms ---- */
enum jwt_alg { JWT_ES256 = 0, JWT_ES384, JWT_RS256, JWT_PS256, JWT_EDDSA };
#define JWT_NALGS 5
/* "ES256", "ES384", "RS256", "PS256", "EdDSA" */
const char *jwt_alg_name(enum jwt_alg alg);
/* The algorithm named, or -1 for anything authz does not verify: "none",
 * HS256/384/512, RS384, unknown names. */
int jwt_alg_parse(const char *name);

/* ---- parsed token ---- */
struct jwt {
    json_t *header;            /* owned; a JSON object */
    json_t *claims;            /* owned; a JSON object */
    enum jwt_alg alg;
    const char *kid;           /* from the header (owned by header); NULL when absent */
    const char *token;         /* the caller's text, not copied */
    size_t signing_input_len;  /* length of "header.payload" in token */
    uint8_t sig[JWT_SIG_MAX];
    size_t siglen;
};

/* Parses a compact JWS without verifying it: the three parts, the header
 * (alg must be one of the accepted asymmetric algorithms; kid, when present,
 * a string; crit is refused since no extension is understood) and the claims
 * object. Returns 0, or -1 with *why set (a static string) and nothing to
 * free. On success free with jwt_free(). */
int jwt_parse(const char *token, size_t len, struct jwt *out, const char **why);
void jwt_free(struct jwt *j);

/* ---- keys ---- */
enum jwk_kind { JWK_EC_P256 = 0, JWK_EC_P384, JWK_RSA, JWK_ED25519 };

struct jwk {
    char *kid;                 /* NULL when the JWK has none */
    int alg;                   /* enum jwt_alg named by the JWK, or -1 */
    enum jwk_kind kind;
    EVP_PKEY *pkey;            /* public key */
};

struct jwks {
    atomic_int refs;
    int n;
    struct jwk *keys;
};

/* jwks_parse flags */
#define JWKS_STRICT     1      /* every key must be usable (administrator input);
                                  otherwise unusable keys are skipped */
#define JWKS_NO_PRIVATE 2      /* refuse keys carrying private members (d, p, q…) */

/* A JWK (RFC 7517/7518/8037) as a public EVP_PKEY: EC P-256 / P-384 (x and y
 * of the full coordinate size, on the curve), RSA (n of 2048 to 8192 bits,
 * odd e >= 3) or OKP Ed25519. Private members are ignored; "oct" (symmetric)
 * keys are refused. NULL with *why on failure. */
EVP_PKEY *jwk_to_pkey(const json_t *jwk, enum jwk_kind *kind, const char **why);
/* A JWK Set: {"keys":[...]}, at most JWKS_MAX_KEYS. Keys with "use" other
 * than "sig", key_ops without "verify", an unsupported "alg", kty or curve
 * are an error under JWKS_STRICT and skipped otherwise. Returns a set with
 * one reference, or NULL with *why. */
struct jwks *jwks_parse(const json_t *set, int flags, const char **why);
struct jwks *jwks_parse_text(const char *text, size_t len, int flags, const char **why);
struct jwks *jwks_ref(struct jwks *ks);
void jwks_release(struct jwks *ks);
/* true when some key of the set has this kid */
bool jwks_has_kid(const struct jwks *ks, const char *kid);

/* ---- signature ---- */
enum jwt_verdict {
    JWT_VALID = 0,
    JWT_INVALID = -1,          /* bad signature, or key unfit for alg */
    JWT_NO_KEY = -2,           /* no key of the set is selected by the token */
};
/* Selects the key (by kid; when the token names no kid, the only key of the
 * set that fits the token's alg) and verifies the signature. *why is set
 * unless JWT_VALID. */
enum jwt_verdict jwt_verify(const struct jwt *j, const struct jwks *ks, const char **why);
/* Verifies with one given key (its kind and alg must fit the token's alg). */
enum jwt_verdict jwt_verify_key(const struct jwt *j, const struct jwk *k, const char **why);

/* ---- claims ---- */
/* The string claim, or NULL when absent or not a string. */
const char *jwt_claim_str(const json_t *claims, const char *name);
/* A NumericDate claim (RFC 7519 §2: integer or finite number, floored).
 * 1 present and valid, 0 absent, -1 present but not a NumericDate. */
int jwt_claim_date(const json_t *claims, const char *name, int64_t *out);
/* aud (RFC 7519 §4.1.3): a string equal to want, or an array of strings one
 * of which equals want. An array holding anything but strings is refused. */
bool jwt_aud_has(const json_t *claims, const char *want);

struct jwt_time_rules {
    int64_t now;
    int64_t leeway;            /* seconds of clock skew allowed */
    bool require_exp;
    bool require_iat;
    int64_t max_exp_ahead;     /* > 0: exp <= now + max_exp_ahead + leeway */
    int64_t max_age;           /* > 0: iat required and now - iat <= max_age */
};
/* exp, nbf and iat under the rules (RFC 7519 §4.1.4, §4.1.5, §4.1.6).
 * false with *why on the first failed rule. */
bool jwt_check_times(const json_t *claims, const struct jwt_time_rules *rules, const char **why);

#endif
