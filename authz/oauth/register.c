/*
 * register.c: the metadata of an RFC 7591 dynamic client registration
 * (SPEC §3), checked by pure functions (register.h) so that the unit tests
 * and the fuzzer can run them without a server or a database: the content
 * type, the JSON body, and each metadata member, into what is stored and
 * the document echoed back. A dynamic client gets the authorization code
 * and refresh grants only, and none of the fields an administrator sets
 * (allowed_scopes, can_act_for, introspects, may_impersonate): what it
 * obtains is bounded by the person's scopes and consent.
 *
 * The endpoint, who may register (the tenant's registration_policy and
 * initial access tokens) and the storing are oauth/register_endpoint.c's.
 */
#include "oauth/register.h"
#include "util/arena.h"
#include "policy/scope.h"
#include "policy/uri.h"
#include "storage/pgarray.h"
#include "util/text.h"
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
