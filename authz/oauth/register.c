/*
 * register.c: RFC 7591 dynamic client registration at
 * {ISSUER}/oauth2/register (SPEC §3). The tenant's registration_policy
 * decides who may register: `open` (anyone, as MCP clients do), `token` (an
 * initial access token: an access token of this tenant for authz itself,
 * with scope `register` or `admin`) or `closed`. A dynamic client gets the
 * authorization code and refresh grants only, and none of the fields an
 * administrator sets (allowed_scopes, can_act_for, introspects,
 * may_impersonate): what it obtains is bounded by the person's scopes and
 * consent.
 *
 * The policy, the token and the metadata are checked on the event loop;
 * only a request that passes them moves to a database worker (H_BLOCK),
 * where the client row and its admin.changed audit row commit together.
 */
#include "oauth/register.h"
#include "oauth/oauth.h"
#include "http/routes.h"
#include "policy/scope.h"
#include "policy/uri.h"
#include "storage/clients.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "util/text.h"
#include "crypto/crypto.h"
#include "cache.h"
#include "util/limits.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- */
/* request checks (pure)                                             */

bool register_content_type_ok(const char *ct)
{
    /* RFC 7591 §3: "The client sends an HTTP POST to the client registration
     * endpoint with a content type of "application/json"." */
    static const char want[] = "application/json";
    size_t l = sizeof want - 1;
    if (!ct || strncasecmp(ct, want, l) != 0)
        return false;
    return ct[l] == '\0' || ct[l] == ';' || ct[l] == ' ' || ct[l] == '\t';
}

json_t *register_parse_body(const char *body, size_t len, const char **desc)
{
    if (!body || len == 0) {
        *desc = "the body must be a JSON object of client metadata";
        return NULL;
    }
    /* jansson refuses invalid UTF-8 and \u0000 in strings by default */
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        *desc = "the body is not well-formed JSON (or not UTF-8, or repeats a member)";
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *desc = "the body must be a JSON object of client metadata";
        return NULL;
    }
    return j;
}

static int bad(const char **error, const char **desc, const char *e, const char *d)
{
    *error = e;
    *desc = d;
    return -1;
}

/* A member, or NULL when absent or null. */
static json_t *member(json_t *b, const char *k)
{
    json_t *v = json_object_get(b, k);
    return json_is_null(v) ? NULL : v;
}

/* An optional string member, copied into the arena (the body is freed
 * before the registration is stored); "" counts as absent. 0, or -1 when
 * present with the wrong type or over max bytes. */
static int opt_string(struct arena *a, json_t *b, const char *k, size_t max, const char **out)
{
    *out = NULL;
    json_t *v = member(b, k);
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    if (!*s)
        return 0;
    if (strlen(s) > max)
        return -1;
    *out = arena_strdup(a, s);
    return 0;
}

/* An array of strings with no duplicates, at most max entries: their
 * count, or -1 (wrong type, an element not a non-empty string, a repeat). */
static int string_array(json_t *v, size_t max, const char ***out, struct arena *a)
{
    if (!json_is_array(v) || json_array_size(v) > max)
        return -1;
    size_t n = json_array_size(v);
    const char **l = arena_alloc(a, sizeof(char *) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || !*s)
            return -1;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(l[k], s))
                return -1;
        l[i] = arena_strdup(a, s);
    }
    *out = l;
    return (int)n;
}

static json_t *json_strings(const char *const *v, int n)
{
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_string(v[i]));
    return arr;
}

/* A JWK Set of public keys: no private or symmetric key material may be
 * sent to, or kept by, the server. */
static bool jwks_ok(json_t *v)
{
    json_t *keys = json_object_get(v, "keys");
    if (!json_is_object(v) || !json_is_array(keys) || json_array_size(keys) == 0 ||
        json_array_size(keys) > AUTHZ_CLIENT_JWKS_KEYS_MAX)
        return false;
    static const char *private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        if (!json_is_object(k) || !kty ||
            (strcmp(kty, "EC") && strcmp(kty, "RSA") && strcmp(kty, "OKP")))
            return false;
        for (size_t m = 0; m < sizeof private_members / sizeof private_members[0]; m++)
            if (json_object_get(k, private_members[m]))
                return false;
    }
    return true;
}

static const char *const GRANTS_ALLOWED[] = {"authorization_code", "refresh_token"};

int register_validate(struct arena *a, json_t *b, struct reg_meta *out, const char **error,
                      const char **desc)
{
    const char *E_META = REG_INVALID_CLIENT_METADATA, *E_URI = REG_INVALID_REDIRECT_URI;
    memset(out, 0, sizeof *out);
    if (!json_is_object(b))
        return bad(error, desc, E_META, "the body must be a JSON object of client metadata");
    json_t *v;

    /* RFC 7591 §2 token_endpoint_auth_method: "If unspecified or omitted,
     * the default is "client_secret_basic"". SPEC §3: public clients use
     * none; private_key_jwt signs with a key from the client's jwks. */
    const char *method;
    if (opt_string(a, b, "token_endpoint_auth_method", 64, &method) < 0)
        return bad(error, desc, E_META, "token_endpoint_auth_method must be a string");
    if (!method)
        method = "client_secret_basic";
    if (strcmp(method, "none") && strcmp(method, "client_secret_basic") &&
        strcmp(method, "client_secret_post") && strcmp(method, "private_key_jwt"))
        return bad(error, desc, E_META,
                   "token_endpoint_auth_method must be none, client_secret_basic, "
                   "client_secret_post or private_key_jwt");

    /* RFC 7591 §2 grant_types: "If omitted, the default behavior is that
     * the client will use only the "authorization_code" Grant Type." SPEC
     * §3: "A dynamically registered client may use only the authorization
     * code and refresh grants". */
    const char **grants;
    int ngrants;
    static const char *default_grants[] = {"authorization_code"};
    if ((v = member(b, "grant_types"))) {
        ngrants = string_array(v, 10, &grants, a);
        if (ngrants < 0)
            return bad(error, desc, E_META,
                       "grant_types must be an array of distinct strings");
        bool code = false;
        for (int i = 0; i < ngrants; i++) {
            bool known = false;
            for (size_t k = 0; k < sizeof GRANTS_ALLOWED / sizeof GRANTS_ALLOWED[0]; k++)
                if (!strcmp(grants[i], GRANTS_ALLOWED[k]))
                    known = true;
            if (!known)
                return bad(error, desc, E_META,
                           "a dynamically registered client may use only the "
                           "authorization_code and refresh_token grants");
            if (!strcmp(grants[i], "authorization_code"))
                code = true;
        }
        /* refresh_token alone could never obtain a first token */
        if (!code)
            return bad(error, desc, E_META, "grant_types must include authorization_code");
    } else {
        grants = default_grants;
        ngrants = 1;
    }

    /* RFC 7591 §2 response_types: "If omitted, the default is that the
     * client will use only the "code" response type." §2.1: the
     * authorization_code grant goes with the code response type; SPEC
     * §4.1: "response_type=code only". */
    const char **rtypes;
    int nrtypes;
    static const char *default_rtypes[] = {"code"};
    if ((v = member(b, "response_types"))) {
        nrtypes = string_array(v, 10, &rtypes, a);
        if (nrtypes < 0)
            return bad(error, desc, E_META,
                       "response_types must be an array of distinct strings");
        if (nrtypes != 1 || strcmp(rtypes[0], "code") != 0)
            return bad(error, desc, E_META, "response_types must be [\"code\"]");
    } else {
        rtypes = default_rtypes;
        nrtypes = 1;
    }

    /* RFC 7591 §2 redirect_uris: "Array of redirection URI strings for use
     * in redirect-based flows such as the authorization code and implicit
     * flows." The code grant cannot work without one. */
    const char **ru = NULL;
    int nru = 0;
    if ((v = member(b, "redirect_uris"))) {
        if (!json_is_array(v))
            return bad(error, desc, E_META, "redirect_uris must be an array of strings");
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!json_is_string(json_array_get(v, i)))
                return bad(error, desc, E_META, "redirect_uris must be an array of strings");
        if (json_array_size(v) > AUTHZ_CLIENT_REDIRECT_URIS_MAX)
            return bad(error, desc, E_URI, "too many redirect_uris");
        nru = string_array(v, AUTHZ_CLIENT_REDIRECT_URIS_MAX, &ru, a);
        if (nru < 0)
            return bad(error, desc, E_URI, "redirect_uris has an empty or repeated entry");
        for (int k = 0; k < nru; k++)
            if (!uri_endpoint_ok(ru[k]))
                return bad(error, desc, E_URI,
                           arena_sprintf(a,
                                         "redirect_uris[%d] must be an absolute https URI, or "
                                         "http on 127.0.0.1, [::1] or localhost, without a "
                                         "fragment",
                                         k));
    }
    if (nru == 0)
        return bad(error, desc, E_URI,
                   "redirect_uris is required for the authorization_code grant");

    /* human-readable metadata, shown on the consent page as plain text */
    const char *client_name;
    if (opt_string(a, b, "client_name", AUTHZ_CLIENT_TEXT_MAX, &client_name) < 0 ||
        (client_name && !text_printable(client_name, AUTHZ_CLIENT_TEXT_MAX)))
        return bad(error, desc, E_META,
                   "client_name must be a string of at most 200 bytes without control "
                   "characters");

    /* RFC 7591 §2: client_uri, logo_uri, tos_uri, policy_uri are URLs */
    static const char *web_uris[] = {"client_uri", "logo_uri", "tos_uri", "policy_uri"};
    const char *web[4];
    for (size_t i = 0; i < 4; i++)
        if (opt_string(a, b, web_uris[i], AUTHZ_URI_MAX, &web[i]) < 0 ||
            (web[i] && !uri_web_ok(web[i])))
            return bad(error, desc, E_META,
                       arena_sprintf(a, "%s must be an absolute http or https URL", web_uris[i]));

    /* RFC 7591 §2 scope: "String containing a space-separated list of scope
     * values (as described in Section 3.3 of OAuth 2.0 [RFC6749]) that the
     * client can use when requesting access tokens." */
    const char *scope_in, *scope = NULL;
    if (opt_string(a, b, "scope", AUTHZ_CLIENT_SCOPE_MAX, &scope_in) < 0)
        return bad(error, desc, E_META, "scope must be a space-separated string of scopes");
    if (scope_in) {
        struct scopeset ss;
        if (scope_parse(a, scope_in, &ss) < 0)
            return bad(error, desc, E_META, "scope must be a space-separated string of scopes");
        scope = scope_join(a, &ss);
    }

    /* RFC 7591 §2 contacts: "Array of strings representing ways to contact
     * people responsible for this client, typically email addresses." */
    const char **contacts = NULL;
    int ncontacts = 0;
    if ((v = member(b, "contacts"))) {
        ncontacts = string_array(v, AUTHZ_CLIENT_CONTACTS_MAX, &contacts, a);
        bool ok = ncontacts >= 0;
        for (int i = 0; ok && i < ncontacts; i++)
            ok = text_printable(contacts[i], AUTHZ_CLIENT_CONTACT_MAX);
        if (!ok)
            return bad(error, desc, E_META,
                       "contacts must be an array of at most 10 distinct strings");
    }

    const char *software_id, *software_version;
    if (opt_string(a, b, "software_id", AUTHZ_CLIENT_TEXT_MAX, &software_id) < 0 ||
        (software_id && !text_printable(software_id, AUTHZ_CLIENT_TEXT_MAX)))
        return bad(error, desc, E_META, "software_id must be a string of at most 200 bytes");
    if (opt_string(a, b, "software_version", AUTHZ_CLIENT_TEXT_MAX, &software_version) < 0 ||
        (software_version && !text_printable(software_version, AUTHZ_CLIENT_TEXT_MAX)))
        return bad(error, desc, E_META, "software_version must be a string of at most 200 bytes");

    /* RFC 7591 §2 jwks_uri / jwks: "The "jwks_uri" and "jwks" parameters
     * MUST NOT both be present in the same request or response." */
    const char *jwks_uri;
    if (opt_string(a, b, "jwks_uri", AUTHZ_URI_MAX, &jwks_uri) < 0 ||
        (jwks_uri && !uri_endpoint_ok(jwks_uri)))
        return bad(error, desc, E_META,
                   "jwks_uri must be an https URL (or http on a loopback host) without a fragment");
    json_t *jwks = member(b, "jwks");
    char *jwks_text = NULL;
    if (jwks) {
        if (!jwks_ok(jwks))
            return bad(error, desc, E_META,
                       "jwks must be a JWK Set of 1 to 20 public EC, RSA or OKP keys");
        char *s = json_dumps(jwks, JSON_COMPACT);
        if (!s || strlen(s) > AUTHZ_CLIENT_JWKS_BYTES_MAX) {
            free(s);
            return bad(error, desc, E_META, "jwks is too large");
        }
        jwks_text = arena_strdup(a, s);
        free(s);
    }
    if (jwks && jwks_uri)
        return bad(error, desc, E_META, "jwks and jwks_uri must not both be present");
    /* anyone may register under an open policy: a jwks_uri would let them
     * make authzd fetch URLs of their choosing (server-side request
     * forgery), so self-registered clients give their keys inline */
    if (jwks_uri)
        return bad(error, desc, E_META,
                   "dynamically registered clients give their keys inline (jwks), not by jwks_uri");
    /* RFC 7523 §2.2: the assertion is checked with a key of the client */
    if (!strcmp(method, "private_key_jwt") && !jwks && !jwks_uri)
        return bad(error, desc, E_META, "private_key_jwt needs jwks or jwks_uri");

    /* ---- accepted: what is stored, and the document echoed back ---- */
    out->method = method;
    out->client_name = client_name;
    out->grant_types_pg = pgarray_build(a, grants, ngrants);
    out->response_types_pg = pgarray_build(a, rtypes, nrtypes);
    out->redirect_uris_pg = pgarray_build(a, ru, nru);
    out->jwks = jwks_text;
    out->jwks_uri = jwks_uri;
    out->secret = !strcmp(method, "client_secret_basic") || !strcmp(method, "client_secret_post");

    json_t *extra = json_object();
    for (size_t i = 0; i < 4; i++)
        if (web[i])
            json_object_set_new(extra, web_uris[i], json_string(web[i]));
    if (scope)
        json_object_set_new(extra, "scope", json_string(scope));
    if (contacts)
        json_object_set_new(extra, "contacts", json_strings(contacts, ncontacts));
    if (software_id)
        json_object_set_new(extra, "software_id", json_string(software_id));
    if (software_version)
        json_object_set_new(extra, "software_version", json_string(software_version));
    char *m = json_dumps(extra, JSON_COMPACT);
    out->metadata = arena_strdup(a, m);
    free(m);

    json_t *doc = json_object();
    if (client_name)
        json_object_set_new(doc, "client_name", json_string(client_name));
    json_object_set_new(doc, "redirect_uris", json_strings(ru, nru));
    json_object_set_new(doc, "grant_types", json_strings(grants, ngrants));
    json_object_set_new(doc, "response_types", json_strings(rtypes, nrtypes));
    json_object_set_new(doc, "token_endpoint_auth_method", json_string(method));
    if (jwks)
        json_object_set(doc, "jwks", jwks);
    if (jwks_uri)
        json_object_set_new(doc, "jwks_uri", json_string(jwks_uri));
    json_object_update(doc, extra);
    json_decref(extra);
    out->doc = doc;
    return 0;
}

/* ---------------------------------------------------------------- */
/* the endpoint                                                      */

/* Browser-based MCP clients register from another origin; nothing here
 * relies on ambient credentials (a Bearer token is sent explicitly). */
static void cors(struct req *r)
{
    resp_header(r, "Access-Control-Allow-Origin", "*");
}

static void reg_error(struct req *r, int status, const char *error, const char *desc)
{
    resp_oauth_error(r, status, error, desc);
    cors(r);
}

static void audit_refusal(struct req *r, const char *reason)
{
    struct audit_event *e = audit_add(r, "admin.changed", false);
    e->reason = reason;
    e->details = arena_sprintf(r->arena,
                               "{\"action\":\"client.register\",\"dynamic\":true,\"policy\":%s}",
                               !strcmp(r->tenant->registration_policy, "token") ? "\"token\""
                                                                                : "\"closed\"");
}

/* RFC 6750 §3: the WWW-Authenticate challenge of a refused initial access
 * token. */
static void bearer_challenge(struct req *r, int status, const char *error, const char *desc,
                             const char *reason)
{
    reg_error(r, status, error, desc);
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "Bearer realm=");
    sb_json_str(&sb, r->tenant->issuer);
    if (status == 401 && strcmp(reason, "no initial access token") == 0) {
        /* RFC 6750 §3.1: "If the request lacks any authentication
         * information ..., the resource server SHOULD NOT include an error
         * code or other error information." */
    } else if (status == 401) {
        sb_puts(&sb, ", error=\"invalid_token\"");
    } else {
        sb_puts(&sb, ", error=\"insufficient_scope\", scope=\"register\"");
    }
    resp_header(r, "WWW-Authenticate", sb.buf);
    sb_free(&sb);
    audit_refusal(r, reason);
}

static bool aud_is(json_t *aud, const char *issuer)
{
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), issuer);
    if (json_is_array(aud) && json_array_size(aud) == 1)
        return json_is_string(json_array_get(aud, 0)) &&
               !strcmp(json_string_value(json_array_get(aud, 0)), issuer);
    return false;
}

/* The `token` policy: RFC 7591 §3 lets the registration endpoint be an
 * OAuth 2.0 protected resource accepting an initial access token. Here
 * that is an access token of this tenant for authz itself (aud = the
 * issuer, SPEC §4.3) holding scope `register` or `admin`. On success *by is
 * the client the token was issued to. */
static bool initial_access_token_ok(struct req *r, const char **by)
{
    struct tenant *t = r->tenant;
    const char *h = req_header(r, "authorization");
    if (!h) {
        bearer_challenge(r, 401, "invalid_token",
                         "this tenant requires an initial access token to register a client",
                         "no initial access token");
        return false;
    }
    /* RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token */
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        bearer_challenge(r, 401, "invalid_token", "use Authorization: Bearer <initial access token>",
                         "no initial access token");
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    /* signed by this tenant, not expired, and neither the token, its grant
     * nor its session revoked */
    json_t *claims = *tok && strlen(tok) <= AUTHZ_TOKEN_MAX ? access_token_active(t, tok) : NULL;
    if (!claims) {
        bearer_challenge(r, 401, "invalid_token", "the initial access token is not valid",
                         "initial access token: invalid, expired or revoked");
        return false;
    }
    const char *isub = json_string_value(json_object_get(claims, "sub"));
    const char *icid = json_string_value(json_object_get(claims, "client_id"));
    /* an initial access token is a client acting as itself (client
     * credentials), never a person's token */
    if (!aud_is(json_object_get(claims, "aud"), t->issuer) || !isub || !icid ||
        strcmp(isub, icid) != 0 || json_object_get(claims, "act")) {
        json_decref(claims);
        bearer_challenge(r, 401, "invalid_token", "the initial access token is not valid",
                         "initial access token: audience is not the issuer");
        return false;
    }
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    struct scopeset ss;
    if (!scope || scope_parse(r->arena, scope, &ss) < 0 ||
        !(scope_has(&ss, "register") || scope_has(&ss, "admin"))) {
        json_decref(claims);
        /* RFC 6750 §3.1 insufficient_scope: "The resource server SHOULD
         * respond with the HTTP 403 (Forbidden) status code" */
        bearer_challenge(r, 403, "insufficient_scope",
                         "the initial access token needs scope register (or admin)",
                         "initial access token: insufficient scope");
        return false;
    }
    const char *cid = json_string_value(json_object_get(claims, "client_id"));
    *by = arena_strdup(r->arena, cid ? cid : "");
    json_decref(claims);
    return true;
}

static void answer_registered(struct req *r, const struct reg_meta *m, const char *client_id,
                              long long issued_at, const char *secret)
{
    /* RFC 7591 §3.2.1: "the authorization server MUST return all
     * registered metadata about the client, including any fields
     * provisioned by the authorization server itself." */
    json_t *j = json_object();
    json_object_set_new(j, "client_id", json_string(client_id));
    json_object_set_new(j, "client_id_issued_at", json_integer(issued_at));
    if (secret) {
        /* "client_secret_expires_at REQUIRED if "client_secret" is issued.
         * ... 0 if it will not expire." */
        json_object_set_new(j, "client_secret", json_string(secret));
        json_object_set_new(j, "client_secret_expires_at", json_integer(0));
    }
    json_object_update(j, m->doc);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    resp_json(r, 201, s);
    resp_header(r, "Cache-Control", "no-store");
    resp_header(r, "Pragma", "no-cache");
    cors(r);
}

enum hres h_register(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    struct tenant *t = r->tenant;

    if (r->method == M_OPTIONS) {
        /* CORS preflight of a cross-origin JSON POST */
        resp_set(r, 204, NULL, NULL, 0);
        cors(r);
        resp_header(r, "Access-Control-Allow-Methods", "POST, OPTIONS");
        resp_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        resp_header(r, "Access-Control-Max-Age", "600");
        return H_DONE;
    }
    if (r->method != M_POST) {
        reg_error(r, 405, "invalid_request", "method not allowed on this endpoint");
        resp_header(r, "Allow", "POST, OPTIONS");
        return H_DONE;
    }

    /* SPEC §3: per tenant policy open, token or closed */
    const char *policy = t->registration_policy ? t->registration_policy : "closed";
    const char *by = NULL;
    if (!strcmp(policy, "token")) {
        if (!initial_access_token_ok(r, &by))
            return H_DONE;
    } else if (strcmp(policy, "open") != 0) {
        reg_error(r, 403, "access_denied", "registration is closed for this tenant");
        audit_refusal(r, "registration is closed");
        return H_DONE;
    }

    /* RFC 7591 §3.2.2: errors are 400 with invalid_redirect_uri or
     * invalid_client_metadata */
    if (!register_content_type_ok(req_header(r, "content-type"))) {
        reg_error(r, 400, REG_INVALID_CLIENT_METADATA, "the body must be application/json");
        return H_DONE;
    }
    const char *desc = NULL, *error = NULL;
    json_t *body = register_parse_body(r->body, r->body_len, &desc);
    if (!body) {
        reg_error(r, 400, REG_INVALID_CLIENT_METADATA, desc);
        return H_DONE;
    }
    struct reg_meta m;
    int rc = register_validate(r->arena, body, &m, &error, &desc);
    json_decref(body);
    if (rc < 0) {
        reg_error(r, 400, error, desc);
        return H_DONE;
    }
    if (!r->can_block) {
        json_decref(m.doc);
        return H_BLOCK;
    }

    /* SPEC §3: "Secrets are generated by the server, shown once, and stored
     * only as a one-way hash." */
    char client_id[32], secret[48], hash[CRYPTO_SECRET_HASH_HEX + 1];
    if (m.secret) {
        crypto_random_id(secret, 32);
        crypto_secret_hash(g_secret_pepper, secret, strlen(secret), hash);
    }
    struct client_registration cr = {
        .tenant_id = t->id,
        .secret_hash = m.secret ? hash : NULL,
        .client_name = m.client_name,
        .method = m.method,
        .grant_types = m.grant_types_pg,
        .response_types = m.response_types_pg,
        .redirect_uris = m.redirect_uris_pg,
        .jwks = m.jwks,
        .jwks_uri = m.jwks_uri,
        .metadata = m.metadata,
    };
    long long issued_at = 0;
    int st = 1;
    /* a client_id collision (16 random bytes) is not expected; retry anyway */
    for (int attempt = 0; attempt < 3 && st == 1; attempt++) {
        crypto_random_id(client_id, 16);
        cr.client_id = client_id;
        if (db_begin(&r->tx) < 0) {
            json_decref(m.doc);
            return H_DONE;
        }
        st = store_client_register(&r->tx, &cr, &issued_at);
        if (st != 0)
            db_rollback(&r->tx);
    }
    if (st != 0) {
        json_decref(m.doc);
        if (!r->tx.down) {
            const char *ss = db_last_sqlstate(&r->tx);
            if (st < 0 && (!strncmp(ss, "22", 2) || !strncmp(ss, "23", 2)))
                reg_error(r, 400, REG_INVALID_CLIENT_METADATA, "the client metadata was refused");
            else
                reg_error(r, 500, "server_error", "the client could not be registered");
        }
        return H_DONE;
    }

    /* SPEC §8: every decision leaves an audit row, committed before the
     * answer; registration is recorded as an admin change */
    struct audit_event *e = audit_add(r, "admin.changed", true);
    e->client_id = arena_strdup(r->arena, client_id);
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"action\":\"client.register\",\"dynamic\":true,\"target\":");
    sb_json_str(&sb, client_id);
    sb_puts(&sb, ",\"policy\":");
    sb_json_str(&sb, policy);
    if (by) {
        sb_puts(&sb, ",\"by\":");
        sb_json_str(&sb, by);
    }
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        /* the row of a change that did not happen must not be written later */
        r->tx.audit_head = r->tx.audit_tail = NULL;
        r->tx.naudit = 0;
        json_decref(m.doc);
        if (!r->tx.down)
            reg_error(r, 500, "server_error", "the client could not be registered");
        return H_DONE;
    }
    /* this node forgets the tenant's cached clients at once (NOTIFY
     * authz_cache does it for the others) */
    cache_invalidate_tenant(t->id);
    r->log_client = arena_strdup(r->arena, client_id);
    answer_registered(r, &m, client_id, issued_at, m.secret ? secret : NULL);
    json_decref(m.doc);
    return H_DONE;
}
