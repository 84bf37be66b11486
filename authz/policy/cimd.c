/*
 * cimd.c: the pure rules of client ID metadata documents (see cimd.h).
 * Each rule of draft-ietf-oauth-client-id-metadata-document and SPEC §11 is
 * a small check with its text quoted above it; every refusal says what was
 * wrong with the URL or the document.
 */
#include "policy/cimd.h"
#include "policy/trust.h"
#include "policy/uri.h"
#include "crypto/jwt.h"
#include "util/arena.h"
#include "util/text.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cimd_client_id_is_url(const char *id)
{
    return id && (!strncmp(id, "https://", 8) || !strncmp(id, "http://", 7));
}

/* "." or ".." as a whole segment of path (n bytes) */
static bool has_dot_segment(const char *path, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t len = j - i;
        if ((len == 1 && path[i] == '.') || (len == 2 && path[i] == '.' && path[i + 1] == '.'))
            return true;
        i = j + 1;
    }
    return false;
}

int cimd_url_check(const char *url, bool allow_http_loopback, char host_out[256], const char **why)
{
    host_out[0] = '\0';
    if (!url || strlen(url) > AUTHZ_CLIENT_ID_MAX) {
        *why = "a client_id URL is at most 255 characters";
        return -1;
    }
    /* draft §3: "Client identifier URLs MUST have an "https" scheme, MUST
     * contain a path component, MUST NOT contain single-dot or double-dot
     * path segments, ... MUST NOT contain a fragment component and MUST NOT
     * contain a username or password." uri_endpoint_check refuses userinfo
     * and fragments, and plain http off loopback. */
    struct uri u;
    const char *uwhy;
    if (uri_endpoint_check(url, &u, &uwhy) < 0) {
        *why = "the client_id is not a valid https URL (no user information, no fragment)";
        return -1;
    }
    bool tls = u.scheme.n == 5;
    /* SPEC §11: http only on a loopback host, and only while authzd's own
     * public_url is on loopback (development and tests) */
    if (!tls && !allow_http_loopback) {
        *why = "a client_id URL must be https";
        return -1;
    }
    if (u.path.n <= 1) {
        *why = "a client_id URL must have a path (not just \"/\")";
        return -1;
    }
    if (has_dot_segment(u.path.p, u.path.n)) {
        *why = "a client_id URL must not have \".\" or \"..\" path segments";
        return -1;
    }
    size_t hn = u.host.n < 255 ? u.host.n : 255;
    for (size_t i = 0; i < hn; i++)
        host_out[i] = (char)tolower((unsigned char)u.host.p[i]);
    host_out[hn] = '\0';
    return 0;
}

bool cimd_host_allowed(const char *policy, char *const *hosts, int nhosts, const char *host,
                       const char **why)
{
    /* SPEC §11: cimd_policy open (default), allowlist (cimd_hosts) or off */
    if (!policy || !strcmp(policy, "open"))
        return true;
    if (!strcmp(policy, "off")) {
        *why = "this tenant does not accept client ID metadata documents; register the client";
        return false;
    }
    for (int i = 0; i < nhosts; i++) {
        char glob[AUTHZ_CIMD_HOST_GLOB_MAX + 1];
        size_t n = strlen(hosts[i]);
        if (n > AUTHZ_CIMD_HOST_GLOB_MAX)
            continue;
        for (size_t k = 0; k <= n; k++)
            glob[k] = (char)tolower((unsigned char)hosts[i][k]);
        if (trust_glob_match(glob, host))
            return true;
    }
    *why = "the client_id's host is not one this tenant accepts client metadata documents from";
    return false;
}

/* The value of directive name ("max-age") in a Cache-Control value, or -1. */
static long directive_seconds(const char *cc, const char *name)
{
    size_t nl = strlen(name);
    const char *p = cc;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        if ((size_t)(end - p) > nl && !strncasecmp(p, name, nl) && p[nl] == '=') {
            const char *v = p + nl + 1;
            if (*v == '"')
                v++;
            if (*v < '0' || *v > '9')
                return -1;
            errno = 0;
            long s = strtol(v, NULL, 10);
            return errno == ERANGE || s < 0 ? 2147483647L : s;
        }
        p = end;
    }
    return -1;
}

/* A directive without a value ("no-store") in a Cache-Control value. */
static bool directive_present(const char *cc, const char *name)
{
    size_t nl = strlen(name);
    const char *p = cc;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ' && *end != '\t' && *end != '=')
            end++;
        if ((size_t)(end - p) == nl && !strncasecmp(p, name, nl))
            return true;
        while (*end && *end != ',')
            end++;
        p = end;
    }
    return false;
}

int cimd_cache_ttl(const char *cc)
{
    long ttl = 0;
    /* RFC 9111 §5.2.2: s-maxage, for a shared cache (authzd is one: every
     * tenant and thread uses the same copy), wins over max-age; no-store and
     * no-cache mean not to reuse it, which SPEC §11's minimum overrides */
    if (cc && !directive_present(cc, "no-store") && !directive_present(cc, "no-cache")) {
        long s = directive_seconds(cc, "s-maxage");
        if (s < 0)
            s = directive_seconds(cc, "max-age");
        if (s > 0)
            ttl = s;
    }
    if (ttl < AUTHZ_CIMD_TTL_MIN)
        ttl = AUTHZ_CIMD_TTL_MIN;
    if (ttl > AUTHZ_CIMD_TTL_MAX)
        ttl = AUTHZ_CIMD_TTL_MAX;
    return (int)ttl;
}

static int bad(const char **why, const char *what)
{
    *why = what;
    return -1;
}

/* A member, or NULL when absent or null. */
static json_t *member(json_t *doc, const char *k)
{
    json_t *v = json_object_get(doc, k);
    return json_is_null(v) ? NULL : v;
}

/* An array of distinct non-empty strings of at most max entries: the count,
 * or -1. */
static int strings(struct arena *a, json_t *v, int max, const char ***out)
{
    if (!json_is_array(v) || json_array_size(v) > (size_t)max)
        return -1;
    int n = (int)json_array_size(v);
    const char **l = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, (size_t)i));
        if (!s || !*s)
            return -1;
        for (int k = 0; k < i; k++)
            if (!strcmp(l[k], s))
                return -1;
        l[i] = arena_strdup(a, s);
    }
    *out = l;
    return n;
}

static bool loopback_uri(const char *s)
{
    struct uri u;
    const char *why;
    return uri_endpoint_check(s, &u, &why) == 0 && uri_host_loopback(u.host.p, u.host.n);
}

static const char *const GRANTS_ALLOWED[] = {"authorization_code", "refresh_token"};

int cimd_parse(struct arena *a, const char *url, const char *body, size_t len,
               struct cimd_doc *out, const char **why)
{
    memset(out, 0, sizeof *out);
    /* SPEC §11: "≤ 16 KiB, JSON" (the fetcher stops at the size) */
    if (len > AUTHZ_CIMD_MAX_BYTES)
        return bad(why, "the client metadata document is larger than 16 KiB");
    json_error_t je;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return bad(why, "the client metadata document is not JSON (or not UTF-8, or repeats a "
                        "member)");
    int rc = -1;
    json_t *v;
    if (!json_is_object(doc)) {
        *why = "the client metadata document is not a JSON object";
        goto out;
    }
    /* draft §4.1: "the client_id property ... MUST match the URL of the
     * document"; SPEC §11: "client_id equal to that URL" (byte for byte) */
    const char *cid = json_string_value(json_object_get(doc, "client_id"));
    if (!cid) {
        *why = "the client metadata document has no client_id";
        goto out;
    }
    if (strcmp(cid, url) != 0) {
        *why = "the client metadata document's client_id is not the URL it was fetched from";
        goto out;
    }
    /* draft §4.1: "client_secret and client_secret_expires_at MUST NOT be
     * used": a public document holds no shared secret */
    if (json_object_get(doc, "client_secret") || json_object_get(doc, "client_secret_expires_at")) {
        *why = "a client metadata document must not carry a client_secret";
        goto out;
    }
    /* SPEC §11: client_name is required; it is shown to people as text */
    v = member(doc, "client_name");
    const char *name = json_string_value(v);
    if (!v) {
        *why = "the client metadata document has no client_name";
        goto out;
    }
    if (!name || !*name || !text_printable(name, AUTHZ_CLIENT_TEXT_MAX)) {
        *why = "the client metadata document's client_name must be a string of 1 to 200 bytes "
               "without control characters";
        goto out;
    }
    out->client_name = arena_strdup(a, name);

    /* SPEC §11: redirect_uris, "matched exactly, §3 rules": https, or http
     * on a loopback host, no fragment; at least one */
    v = member(doc, "redirect_uris");
    if (!v) {
        *why = "the client metadata document has no redirect_uris";
        goto out;
    }
    out->nredirect_uris = strings(a, v, AUTHZ_CLIENT_REDIRECT_URIS_MAX, &out->redirect_uris);
    if (out->nredirect_uris <= 0) {
        *why = "the client metadata document's redirect_uris must be an array of 1 to 50 "
               "distinct strings";
        goto out;
    }
    out->loopback_only = true;
    for (int i = 0; i < out->nredirect_uris; i++) {
        if (!uri_endpoint_ok(out->redirect_uris[i])) {
            *why = arena_sprintf(a,
                                 "the client metadata document's redirect_uris[%d] must be an "
                                 "absolute https URI, or http on 127.0.0.1, [::1] or localhost, "
                                 "without a fragment",
                                 i);
            goto out;
        }
        if (!loopback_uri(out->redirect_uris[i]))
            out->loopback_only = false;
    }

    /* SPEC §11: token_endpoint_auth_method none or private_key_jwt */
    v = member(doc, "token_endpoint_auth_method");
    const char *method = json_string_value(v);
    if (!v) {
        *why = "the client metadata document has no token_endpoint_auth_method";
        goto out;
    }
    if (!method || (strcmp(method, "none") && strcmp(method, "private_key_jwt"))) {
        *why = "the client metadata document's token_endpoint_auth_method must be none or "
               "private_key_jwt";
        goto out;
    }
    out->auth_method = !strcmp(method, "none") ? "none" : "private_key_jwt";

    /* SPEC §11: private_key_jwt "with jwks or jwks_uri"; RFC 7591 §2: "The
     * "jwks_uri" and "jwks" parameters MUST NOT both be present" */
    json_t *jwks = member(doc, "jwks");
    json_t *jwks_uri = member(doc, "jwks_uri");
    if (jwks && jwks_uri) {
        *why = "the client metadata document has both jwks and jwks_uri";
        goto out;
    }
    if (!strcmp(out->auth_method, "private_key_jwt") && !jwks && !jwks_uri) {
        *why = "the client metadata document uses private_key_jwt but has neither jwks nor "
               "jwks_uri";
        goto out;
    }
    if (jwks) {
        const char *kwhy = NULL;
        struct jwks *ks = jwks_parse(jwks, JWKS_STRICT | JWKS_NO_PRIVATE, &kwhy);
        if (!ks || ks->n > AUTHZ_CLIENT_JWKS_KEYS_MAX) {
            jwks_release(ks);
            *why = "the client metadata document's jwks must be a JWK Set of 1 to 20 public "
                   "signature keys";
            goto out;
        }
        jwks_release(ks);
        char *s = json_dumps(jwks, JSON_COMPACT);
        out->jwks = s ? arena_strdup(a, s) : NULL;
        free(s);
        if (!out->jwks) {
            *why = "the client metadata document's jwks cannot be read";
            goto out;
        }
    }
    if (jwks_uri) {
        const char *s = json_string_value(jwks_uri);
        if (!s || !uri_endpoint_ok(s)) {
            *why = "the client metadata document's jwks_uri must be an https URL (or http on a "
                   "loopback host) without a fragment";
            goto out;
        }
        out->jwks_uri = arena_strdup(a, s);
    }

    /* RFC 7591 §2 grant_types: "If omitted, the default behavior is that
     * the client will use only the "authorization_code" Grant Type." Like a
     * self-registered client (SPEC §3), only the code and refresh grants. */
    v = member(doc, "grant_types");
    if (v) {
        out->ngrant_types = strings(a, v, 10, &out->grant_types);
        if (out->ngrant_types < 0) {
            *why = "the client metadata document's grant_types must be an array of distinct "
                   "strings";
            goto out;
        }
        bool code = false;
        for (int i = 0; i < out->ngrant_types; i++) {
            bool known = false;
            for (size_t k = 0; k < sizeof GRANTS_ALLOWED / sizeof GRANTS_ALLOWED[0]; k++)
                if (!strcmp(out->grant_types[i], GRANTS_ALLOWED[k]))
                    known = true;
            if (!known) {
                *why = "a client metadata document may name only the authorization_code and "
                       "refresh_token grants";
                goto out;
            }
            if (!strcmp(out->grant_types[i], "authorization_code"))
                code = true;
        }
        if (!code) {
            *why = "the client metadata document's grant_types must include authorization_code";
            goto out;
        }
    } else {
        out->grant_types = arena_alloc(a, sizeof(char *) * 2);
        out->grant_types[0] = "authorization_code";
        out->ngrant_types = 1;
    }
    /* RFC 7591 §2 response_types: the code flow only (SPEC §4.1) */
    v = member(doc, "response_types");
    if (v) {
        const char **rt;
        if (strings(a, v, 10, &rt) != 1 || strcmp(rt[0], "code") != 0) {
            *why = "the client metadata document's response_types must be [\"code\"]";
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}
