/*
 * mint.c: RFC 9068 JWT access tokens. The payload is written directly
 * (every string JSON-escaped) and signed with OpenSSL on the tenant's key,
 * parsed once; the header {"alg","kid","typ":"at+jwt"} is precomputed per
 * key. Also: verification of authz's own tokens, and the token response.
 */
#include "oauth/oauth.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "util/arena.h"
#include "policy/delegation.h"
#include "revset.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mint_access_token(struct req *r, const struct tenant *t, const struct token_claims *c,
                      struct minted *out)
{
    if (!t->active)
        return -1;
    /* a token is never issued at or before a standing revocation of what it
     * rests on (a person or client disabled and enabled again in the same
     * second): its iat is one past it (revset.h) */
    long now = (long)time(NULL);
    int64_t floor = revset_floor(t->id, c->sub, c->client_id, c->lineage, c->nlineage);
    if (floor > now)
        now = (long)floor;
    long exp = now + t->access_token_ttl;
    if (c->exp_cap && exp > c->exp_cap)
        exp = c->exp_cap;
    if (c->jti)
        snprintf(out->jti, sizeof out->jti, "%s", c->jti);
    else
        crypto_random_id(out->jti, 16);
    out->iat = now;
    out->exp = exp;
    struct strbuf sb;
    sb_init(&sb);
    sb_reserve(&sb, 512);
    sb_puts(&sb, "{\"iss\":");
    sb_json_str(&sb, t->issuer);
    sb_puts(&sb, ",\"sub\":");
    sb_json_str(&sb, c->sub);
    sb_puts(&sb, ",\"aud\":");
    sb_json_str(&sb, c->aud);
    sb_printf(&sb, ",\"exp\":%ld,\"iat\":%ld,\"jti\":\"%s\",\"client_id\":", exp, now, out->jti);
    sb_json_str(&sb, c->client_id);
    if (c->scope && c->scope[0]) {
        sb_puts(&sb, ",\"scope\":");
        sb_json_str(&sb, c->scope);
    }
    if (c->sid) {
        sb_puts(&sb, ",\"sid\":");
        sb_json_str(&sb, c->sid);
    }
    if (c->auth_time)
        sb_printf(&sb, ",\"auth_time\":%ld", c->auth_time);
    if (c->act_json) {
        sb_puts(&sb, ",\"act\":");
        sb_puts(&sb, c->act_json);
    }
    if (c->details_json) {
        /* RFC 9396 §9.1: "the authorization_details claim ... in JWT access tokens" */
        sb_puts(&sb, ",\"authorization_details\":");
        sb_puts(&sb, c->details_json);
    }
    if (c->nlineage || c->has_ceiling) {
        struct scopeset ceil = {(const char **)c->ceiling, c->nceiling};
        sb_puts(&sb, ",\"lineage\":");
        sb_puts(&sb, lineage_claim_json(r->arena, c->lineage, c->nlineage, &ceil, c->has_ceiling));
    }
    sb_putc(&sb, '}');
    size_t cap = t->active->jws_header_len + 2 + (sb.len * 4 / 3 + 4) + 1024;
    char *tok = arena_alloc(r->arena, cap);
    ssize_t n = jws_sign_into(t->active, sb.buf, sb.len, tok, cap);
    sb_free(&sb);
    if (n < 0)
        return -1;
    out->token = tok;
    return 0;
}

void token_response(struct req *r, const struct minted *m, const char *scope,
                    const char *refresh_token, const char *extra)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_reserve(&sb, strlen(m->token) + 256);
    sb_puts(&sb, "{\"access_token\":\"");
    sb_puts(&sb, m->token); /* base64url and dots only */
    sb_printf(&sb, "\",\"token_type\":\"Bearer\",\"expires_in\":%ld", m->exp - m->iat);
    if (scope && scope[0]) {
        sb_puts(&sb, ",\"scope\":");
        sb_json_str(&sb, scope);
    }
    if (refresh_token) {
        sb_puts(&sb, ",\"refresh_token\":");
        sb_json_str(&sb, refresh_token);
    }
    if (extra)
        sb_puts(&sb, extra);
    sb_putc(&sb, '}');
    size_t len;
    char *body = sb_steal(&sb, &len);
    resp_set(r, 200, "application/json", body, len);
    resp_header(r, "Cache-Control", "no-store");
    resp_header(r, "Pragma", "no-cache");
}

static json_t *decode_part(const char *s, size_t n)
{
    if (n == 0 || n > AUTHZ_TOKEN_MAX)
        return NULL;
    unsigned char buf[12288];
    ssize_t l = b64url_decode(s, n, buf, sizeof buf);
    if (l <= 0)
        return NULL;
    json_error_t je;
    return json_loadb((const char *)buf, (size_t)l, JSON_REJECT_DUPLICATES, &je);
}

char *access_token_tenant_slug(struct req *r, const char *token)
{
    const char *d1 = strchr(token, '.');
    if (!d1)
        return NULL;
    const char *d2 = strchr(d1 + 1, '.');
    if (!d2)
        return NULL;
    json_t *claims = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!claims)
        return NULL;
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    char *slug = NULL;
    size_t pl = strlen(g_public_url);
    if (iss && strncmp(iss, g_public_url, pl) == 0 && strncmp(iss + pl, "/t/", 3) == 0 &&
        !strchr(iss + pl + 3, '/'))
        slug = arena_strdup(r->arena, iss + pl + 3);
    json_decref(claims);
    return slug;
}

json_t *access_token_verify(const struct tenant *t, const char *token, const char **why)
{
    size_t len = strlen(token);
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.') || len > AUTHZ_TOKEN_MAX) {
        *why = "not a JWS compact serialisation";
        return NULL;
    }
    json_t *hdr = decode_part(token, (size_t)(d1 - token));
    if (!hdr) {
        *why = "malformed header";
        return NULL;
    }
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const char *typ = json_string_value(json_object_get(hdr, "typ"));
    const struct signing_key *k = kid ? tenant_key(t, kid) : NULL;
    bool ok = k && alg && strcmp(alg, sig_alg_name(k->alg)) == 0 && typ &&
              strcmp(typ, "at+jwt") == 0;
    json_decref(hdr);
    if (!ok) {
        *why = "unknown key, algorithm or type";
        return NULL;
    }
    if (jws_verify(k->pkey, k->alg, token, len) != 1) {
        *why = "bad signature";
        return NULL;
    }
    json_t *claims = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!claims || !json_is_object(claims)) {
        json_decref(claims);
        *why = "malformed claims";
        return NULL;
    }
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    json_t *exp = json_object_get(claims, "exp");
    if (!iss || strcmp(iss, t->issuer) != 0) {
        *why = "issued by another tenant";
        json_decref(claims);
        return NULL;
    }
    if (!json_is_integer(exp) || json_integer_value(exp) <= (json_int_t)time(NULL)) {
        *why = "expired";
        json_decref(claims);
        return NULL;
    }
    return claims;
}
