/*
 * client_metadata.c: the client metadata check of client_metadata.h, as two
 * tables. FIELDS names every member either caller may send, with its kind
 * of value, its bounds, its default, the RFC 7591 §3.2.2 error a bad value
 * gets, and the profiles that take it (or refuse it). RULES holds what
 * relates one field to another (a public client's grants, the redirect URIs
 * the code grant needs, ...), each a small named check under the sentence
 * of the RFC or of SPEC §3 it enforces, with the profiles it applies to.
 *
 * A document is read field by field in table order, then the rules run in
 * table order: the first failure is the answer. Nothing here allocates
 * outside the caller's arena.
 */
#include "policy/client_metadata.h"
#include "policy/scope.h"
#include "policy/uri.h"
#include "util/arena.h"
#include "util/limits.h"
#include "util/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CM_BOTH (CM_ADMIN | CM_REGISTER)
#define META CM_INVALID_CLIENT_METADATA

/* Self-registering clients send "" for what they do not have (a client_uri
 * they lack, ...): for them an empty string in a string-valued field counts
 * as absent (an array or object field given as "" is still the wrong type).
 * An operator's "" means what it says (and most fields refuse it). */
static const unsigned EMPTY_STRING_IS_ABSENT = CM_REGISTER;

/* ---------------------------------------------------------------- */
/* the values and entries fields take                                */

/* A value of an enumerated field, and who may use it. */
struct cm_value {
    const char *name;
    unsigned profiles;
};

/* SPEC §3: client_secret_basic, client_secret_post, private_key_jwt; none
 * for public clients */
static const struct cm_value AUTH_METHODS[] = {
    {"client_secret_basic", CM_BOTH},
    {"client_secret_post", CM_BOTH},
    {"private_key_jwt", CM_BOTH},
    {"none", CM_BOTH},
    {NULL, 0},
};

/* SPEC §3: "A dynamically registered client may use only the authorization
 * code and refresh grants" */
static const struct cm_value GRANT_TYPES[] = {
    {"authorization_code", CM_BOTH},
    {"refresh_token", CM_BOTH},
    {"client_credentials", CM_ADMIN},
    {"urn:ietf:params:oauth:grant-type:token-exchange", CM_ADMIN},
    {"urn:openid:params:grant-type:ciba", CM_ADMIN},
    /* RFC 7523 §2.1 (SPEC §11): ID-JAG and workload identity assertions */
    {"urn:ietf:params:oauth:grant-type:jwt-bearer", CM_ADMIN},
    {NULL, 0},
};

/* SPEC §4.1: "response_type=code only" */
static const struct cm_value RESPONSE_TYPES[] = {
    {"code", CM_BOTH},
    {NULL, 0},
};

/* OpenID CIBA Core §4: backchannel_token_delivery_mode (push is not offered) */
static const struct cm_value DELIVERY_MODES[] = {
    {"poll", CM_ADMIN},
    {"ping", CM_ADMIN},
    {NULL, 0},
};

static bool endpoint_ok(const char *s) { return uri_endpoint_ok(s); }
static bool resource_ok(const char *s) { return resource_uri_valid(s); }
static bool act_for_ok(const char *s) { return text_printable_chars(s, AUTHZ_USERNAME_MAX); }
static bool contact_ok(const char *s) { return text_printable(s, AUTHZ_CLIENT_CONTACT_MAX); }

const struct cm_entry_rule CM_SCOPE_TOKEN = {scope_token_valid, AUTHZ_SCOPE_TOKEN_MAX,
                                             "a scope token (RFC 6749 §3.3)"};
/* RFC 8252, RFC 9700 §2.1, SPEC §3: "Redirect URIs: https, or http on
 * loopback only; no fragments" (policy/uri.h) */
static const struct cm_entry_rule REDIRECT_URI = {
    endpoint_ok, AUTHZ_URI_MAX,
    "an absolute https URI, or http on 127.0.0.1, [::1] or localhost, without a fragment"};
/* RFC 8707 §2 */
static const struct cm_entry_rule RESOURCE_URI = {resource_ok, AUTHZ_URI_MAX,
                                                  "an absolute URI without a fragment"};
/* SPEC §4.4: usernames (counted in characters, as everywhere) or "*" */
static const struct cm_entry_rule USERNAME_OR_ANY = {
    act_for_ok, 4 * AUTHZ_USERNAME_MAX, "a username of 1 to 200 printable characters, or *"};
/* RFC 7591 §2 contacts: "typically email addresses" */
static const struct cm_entry_rule CONTACT = {contact_ok, AUTHZ_CLIENT_CONTACT_MAX,
                                             "printable text of at most 320 bytes"};

/* ---------------------------------------------------------------- */
/* the fields                                                        */

enum cm_kind {
    K_TEXT,     /* printable text (no control characters) of at most max bytes */
    K_ONE_OF,   /* one of values */
    K_LIST,     /* an array of at most max distinct strings: of values, or each following entry */
    K_BOOL,     /* true or false */
    K_JWKS,     /* a JWK Set of public keys, at most max bytes serialised */
    K_ENDPOINT, /* a URL the server sends to or fetches from: https, or http on loopback */
    K_WEB,      /* a web page for people: http or https (RFC 7591 §2 client_uri, ...) */
    K_SCOPE,    /* an OAuth scope string (RFC 6749 §3.3), at most max bytes */
};

struct cm_field {
    const char *name;
    enum cm_kind kind;
    unsigned takes;        /* profiles that set it; the others ignore it ... */
    unsigned refuses;      /* ... unless they refuse it, saying refusal */
    const char *refusal;
    size_t at;             /* offset of the value in struct client_metadata */
    const char *code;      /* the error of a bad value (NULL: invalid_client_metadata) */
    size_t max;            /* bytes of a string, entries of a list */
    const struct cm_value *values;      /* K_ONE_OF, and K_LIST of values */
    const struct cm_entry_rule *entry;  /* K_LIST of other strings */
    const char *dflt;      /* K_ONE_OF: the value when absent; K_LIST: its one entry */
};

#define AT(member) offsetof(struct client_metadata, member)

static const struct cm_field FIELDS[] = {
    /* RFC 7591 §2 token_endpoint_auth_method: "If unspecified or omitted,
     * the default is "client_secret_basic"" */
    {.name = "token_endpoint_auth_method", .kind = K_ONE_OF, .takes = CM_BOTH,
     .at = AT(token_endpoint_auth_method), .values = AUTH_METHODS, .dflt = "client_secret_basic"},
    /* RFC 7591 §2 grant_types: "If omitted, the default behavior is that
     * the client will use only the "authorization_code" Grant Type." */
    {.name = "grant_types", .kind = K_LIST, .takes = CM_BOTH, .at = AT(grant_types), .max = 10,
     .values = GRANT_TYPES, .dflt = "authorization_code"},
    /* RFC 7591 §2 response_types: "If omitted, the default is that the
     * client will use only the "code" response type." (for a client of
     * the code grant: response_types_default below) */
    {.name = "response_types", .kind = K_LIST, .takes = CM_BOTH, .at = AT(response_types),
     .max = 10, .values = RESPONSE_TYPES},
    /* RFC 7591 §2 redirect_uris; RFC 7591 §3.2.2 invalid_redirect_uri:
     * "The value of one or more redirection URIs is invalid." */
    {.name = "redirect_uris", .kind = K_LIST, .takes = CM_BOTH, .at = AT(redirect_uris),
     .code = CM_INVALID_REDIRECT_URI, .max = AUTHZ_CLIENT_REDIRECT_URIS_MAX, .entry = &REDIRECT_URI},
    /* shown on the consent page as plain text */
    {.name = "client_name", .kind = K_TEXT, .takes = CM_BOTH, .at = AT(client_name),
     .max = AUTHZ_CLIENT_TEXT_MAX},
    /* RFC 7591 §2 jwks: "Client's JSON Web Key Set [RFC7517] document
     * value, which contains the client's public keys." */
    {.name = "jwks", .kind = K_JWKS, .takes = CM_BOTH, .at = AT(jwks),
     .max = AUTHZ_CLIENT_JWKS_BYTES_MAX},
    /* anyone may register under an open policy: a jwks_uri would let them
     * make authzd fetch URLs of their choosing (server-side request
     * forgery), so self-registered clients give their keys inline */
    {.name = "jwks_uri", .kind = K_ENDPOINT, .takes = CM_ADMIN, .refuses = CM_REGISTER,
     .refusal = "dynamically registered clients give their keys inline (jwks), not by jwks_uri",
     .at = AT(jwks_uri)},

    /* SPEC §3: "Admin-created clients carry, besides RFC 7591 metadata:
     * allowed_scopes (ceiling of what the client may hold),
     * allowed_resources, can_act_for (§4.4), introspects (resource URIs
     * this client serves as a resource server, §5) and may_impersonate
     * (boolean, default false)." */
    {.name = "allowed_scopes", .kind = K_LIST, .takes = CM_ADMIN, .at = AT(allowed_scopes),
     .max = AUTHZ_ADMIN_ARRAY_MAX, .entry = &CM_SCOPE_TOKEN},
    {.name = "allowed_resources", .kind = K_LIST, .takes = CM_ADMIN, .at = AT(allowed_resources),
     .max = AUTHZ_ADMIN_ARRAY_MAX, .entry = &RESOURCE_URI},
    {.name = "can_act_for", .kind = K_LIST, .takes = CM_ADMIN, .at = AT(can_act_for),
     .max = AUTHZ_ADMIN_ARRAY_MAX, .entry = &USERNAME_OR_ANY},
    {.name = "introspects", .kind = K_LIST, .takes = CM_ADMIN, .at = AT(introspects),
     .max = AUTHZ_ADMIN_ARRAY_MAX, .entry = &RESOURCE_URI},
    {.name = "may_impersonate", .kind = K_BOOL, .takes = CM_ADMIN, .at = AT(may_impersonate)},
    /* OpenID CIBA Core §4: "backchannel_token_delivery_mode REQUIRED. One
     * of the following values: poll, ping, or push." (poll when absent) */
    {.name = "backchannel_token_delivery_mode", .kind = K_ONE_OF, .takes = CM_ADMIN,
     .at = AT(backchannel_token_delivery_mode), .values = DELIVERY_MODES, .dflt = "poll"},
    {.name = "backchannel_client_notification_endpoint", .kind = K_ENDPOINT, .takes = CM_ADMIN,
     .at = AT(backchannel_client_notification_endpoint)},

    /* RFC 7591 §2: "client_uri URL string of a web page providing
     * information about the client", and so logo_uri, tos_uri, policy_uri */
    {.name = "client_uri", .kind = K_WEB, .takes = CM_REGISTER, .at = AT(client_uri)},
    {.name = "logo_uri", .kind = K_WEB, .takes = CM_REGISTER, .at = AT(logo_uri)},
    {.name = "tos_uri", .kind = K_WEB, .takes = CM_REGISTER, .at = AT(tos_uri)},
    {.name = "policy_uri", .kind = K_WEB, .takes = CM_REGISTER, .at = AT(policy_uri)},
    /* RFC 7591 §2 scope: "String containing a space-separated list of
     * scope values (as described in Section 3.3 of OAuth 2.0 [RFC6749])" */
    {.name = "scope", .kind = K_SCOPE, .takes = CM_REGISTER, .at = AT(scope),
     .max = AUTHZ_CLIENT_SCOPE_MAX},
    /* RFC 7591 §2 contacts: "Array of strings representing ways to contact
     * people responsible for this client, typically email addresses." */
    {.name = "contacts", .kind = K_LIST, .takes = CM_REGISTER, .at = AT(contacts),
     .max = AUTHZ_CLIENT_CONTACTS_MAX, .entry = &CONTACT},
    {.name = "software_id", .kind = K_TEXT, .takes = CM_REGISTER, .at = AT(software_id),
     .max = AUTHZ_CLIENT_TEXT_MAX},
    {.name = "software_version", .kind = K_TEXT, .takes = CM_REGISTER, .at = AT(software_version),
     .max = AUTHZ_CLIENT_TEXT_MAX},
};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* ---------------------------------------------------------------- */
/* reading one field                                                 */

struct run {
    struct arena *a;
    const struct cm_caller *who;
    struct client_metadata *m;
    struct cm_error *err;
    bool given[NFIELDS]; /* FIELDS[i] was in the document */
};

static int fail(struct run *c, const char *code, const char *field, const char *desc)
{
    c->err->code = code;
    c->err->field = field;
    c->err->desc = desc;
    return -1;
}

static const char **slot_str(struct run *c, const struct cm_field *f)
{
    return (const char **)(void *)((char *)c->m + f->at);
}

static struct cm_list *slot_list(struct run *c, const struct cm_field *f)
{
    return (struct cm_list *)(void *)((char *)c->m + f->at);
}

static bool value_allowed(const struct cm_value *v, const char *s, unsigned profile)
{
    for (; v->name; v++)
        if (!strcmp(v->name, s))
            return (v->profiles & profile) != 0;
    return false;
}

/* "a", "a or b", "a, b or c": the values profile may use */
static const char *values_text(struct arena *a, const struct cm_value *v, unsigned profile)
{
    size_t left = 0;
    for (const struct cm_value *p = v; p->name; p++)
        left += (p->profiles & profile) != 0;
    const char *out = "";
    for (; v->name; v++) {
        if (!(v->profiles & profile))
            continue;
        left--;
        out = arena_sprintf(a, "%s%s%s", out, v->name, left == 0 ? "" : left == 1 ? " or " : ", ");
    }
    return out;
}

/* The list rule: 0, -1 when v is not an array of strings (*why set), -2
 * when it is but an entry or their number is wrong (*why set). Entries are
 * values (for profile) when values is set, else follow rule. */
static int list_read(struct arena *a, json_t *v, const char *field, size_t max,
                     const struct cm_value *values, const struct cm_entry_rule *rule,
                     unsigned profile, struct cm_list *out, const char **why)
{
    size_t n = json_array_size(v);
    bool strings = json_is_array(v);
    for (size_t i = 0; strings && i < n; i++)
        strings = json_is_string(json_array_get(v, i));
    if (!strings) {
        *why = arena_sprintf(a, "%s must be an array of strings", field);
        return -1;
    }
    if (n > max) {
        *why = arena_sprintf(a, "%s has more than %zu entries", field, max);
        return -2;
    }
    out->v = arena_alloc(a, sizeof(char *) * (n + 1));
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        bool ok = *s != '\0';
        if (ok && values)
            ok = value_allowed(values, s, profile);
        else if (ok)
            ok = strlen(s) <= rule->max_bytes && (!rule->ok || rule->ok(s));
        if (!ok) {
            *why = arena_sprintf(a, "%s[%zu] must be %s", field, i,
                                 values ? arena_sprintf(a, "one of %s", values_text(a, values, profile))
                                        : rule->what);
            return -2;
        }
        for (int k = 0; k < out->n; k++)
            if (!strcmp(out->v[k], s)) {
                *why = arena_sprintf(a, "%s[%zu] repeats %s[%d]", field, i, field, k);
                return -2;
            }
        out->v[out->n++] = arena_strdup(a, s);
    }
    return 0;
}

int cm_string_list(struct arena *a, json_t *v, const char *field, const struct cm_entry_rule *rule,
                   size_t max, struct cm_list *out, const char **why)
{
    return list_read(a, v, field, max, NULL, rule, 0, out, why) == 0 ? 0 : -1;
}

/* A JWK Set of public keys: no private or symmetric key material may be
 * sent to, or kept by, the server (RFC 7517 §4, §6.2.2, §6.3.2, §6.4). */
static bool jwks_public(json_t *v)
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

/* Reads the value v (present, not null, not an absent "") of field f. */
static int field_read(struct run *c, const struct cm_field *f, json_t *v)
{
    struct arena *a = c->a;
    unsigned profile = c->who->profile;
    const char *code = f->code ? f->code : META;
    const char *s = json_string_value(v);
    switch (f->kind) {
    case K_TEXT:
        if (!s || !text_printable(s, f->max))
            return fail(c, META, f->name,
                        arena_sprintf(a, "%s must be a string of at most %zu bytes without control "
                                         "characters", f->name, f->max));
        *slot_str(c, f) = arena_strdup(a, s);
        return 0;
    case K_ONE_OF:
        if (!s || !value_allowed(f->values, s, profile))
            return fail(c, code, f->name,
                        arena_sprintf(a, "%s must be %s", f->name, values_text(a, f->values, profile)));
        *slot_str(c, f) = arena_strdup(a, s);
        return 0;
    case K_LIST: {
        const char *why = NULL;
        int rc = list_read(a, v, f->name, f->max, f->values, f->entry, profile, slot_list(c, f), &why);
        return rc == 0 ? 0 : fail(c, rc == -1 ? META : code, f->name, why);
    }
    case K_BOOL:
        if (!json_is_boolean(v))
            return fail(c, META, f->name, arena_sprintf(a, "%s must be true or false", f->name));
        *(bool *)(void *)((char *)c->m + f->at) = json_is_true(v);
        return 0;
    case K_JWKS: {
        if (!jwks_public(v))
            return fail(c, code, f->name,
                        arena_sprintf(a, "%s must be a JWK Set of 1 to %d public EC, RSA or OKP keys",
                                      f->name, AUTHZ_CLIENT_JWKS_KEYS_MAX));
        char *text = json_dumps(v, JSON_COMPACT);
        bool fits = text && strlen(text) <= f->max;
        if (fits)
            *slot_str(c, f) = arena_strdup(a, text);
        free(text);
        return fits ? 0 : fail(c, code, f->name, arena_sprintf(a, "%s is too large", f->name));
    }
    case K_ENDPOINT:
        if (!s || !uri_endpoint_ok(s))
            return fail(c, code, f->name,
                        arena_sprintf(a, "%s must be an https URL (or http on a loopback host) "
                                         "without a fragment", f->name));
        *slot_str(c, f) = arena_strdup(a, s);
        return 0;
    case K_WEB:
        if (!s || !uri_web_ok(s))
            return fail(c, code, f->name,
                        arena_sprintf(a, "%s must be an absolute http or https URL", f->name));
        *slot_str(c, f) = arena_strdup(a, s);
        return 0;
    case K_SCOPE: {
        struct scopeset ss;
        if (!s || strlen(s) > f->max || scope_parse(a, s, &ss) < 0)
            return fail(c, code, f->name,
                        arena_sprintf(a, "%s must be a space-separated string of scopes", f->name));
        *slot_str(c, f) = scope_join(a, &ss);
        return 0;
    }
    }
    return fail(c, META, f->name, "unknown kind of field");
}

/* The kinds whose value is a JSON string. */
static bool string_kind(enum cm_kind k)
{
    return k == K_TEXT || k == K_ONE_OF || k == K_ENDPOINT || k == K_WEB || k == K_SCOPE;
}

/* The value of field f when the document has none. */
static void field_default(struct run *c, const struct cm_field *f)
{
    if (f->kind == K_ONE_OF) {
        *slot_str(c, f) = f->dflt;
    } else if (f->kind == K_LIST && f->dflt) {
        struct cm_list *l = slot_list(c, f);
        l->v = arena_alloc(c->a, 2 * sizeof(char *));
        l->v[0] = f->dflt;
        l->n = 1;
    } else if (f->kind == K_LIST) {
        slot_list(c, f)->v = arena_alloc(c->a, sizeof(char *));
    }
}

/* ---------------------------------------------------------------- */
/* the rules between fields                                          */

static bool list_has(const struct cm_list *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return true;
    return false;
}

static bool given(const struct run *c, const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(FIELDS[i].name, name))
            return c->given[i];
    return false;
}

/* RFC 7591 §2 response_types: "If omitted, the default is that the client
 * will use only the "code" response type." A client without the code grant
 * has no use for it. */
static int response_types_default(struct run *c)
{
    if (!given(c, "response_types") && list_has(&c->m->grant_types, "authorization_code")) {
        c->m->response_types.v = arena_alloc(c->a, 2 * sizeof(char *));
        c->m->response_types.v[0] = "code";
        c->m->response_types.n = 1;
    }
    return 0;
}

/* SPEC §3: "Public clients (none): only with PKCE, only the authorization
 * code and refresh grants." */
static int public_client_grants(struct run *c)
{
    const struct client_metadata *m = c->m;
    if (strcmp(m->token_endpoint_auth_method, "none") != 0)
        return 0;
    for (int i = 0; i < m->grant_types.n; i++)
        if (strcmp(m->grant_types.v[i], "authorization_code") &&
            strcmp(m->grant_types.v[i], "refresh_token"))
            return fail(c, META, "grant_types",
                        "grant_types of a public client (token_endpoint_auth_method none) may "
                        "hold only authorization_code and refresh_token");
    return 0;
}

/* RFC 6749 §1.5: a refresh token is "issued to the client by the
 * authorization server ... used to obtain a new access token"; a dynamically
 * registered client, whose only other grant is the code grant, needs that
 * one to obtain a first token. */
static int first_token_grant(struct run *c)
{
    return list_has(&c->m->grant_types, "authorization_code")
               ? 0
               : fail(c, META, "grant_types", "grant_types must include authorization_code");
}

/* RFC 7591 §2.1: "authorization_code: The authorization code grant type
 * defined in OAuth 2.0, Section 4.1." goes with the response type "code" */
static int code_response_type(struct run *c)
{
    return !list_has(&c->m->grant_types, "authorization_code") ||
                   list_has(&c->m->response_types, "code")
               ? 0
               : fail(c, META, "response_types",
                      "response_types must be [\"code\"] for the authorization_code grant");
}

/* RFC 7591 §2 redirect_uris: "Array of redirection URI strings for use in
 * redirect-based flows such as the authorization code and implicit flows."
 * The code grant cannot work without one. */
static int code_redirect_uris(struct run *c)
{
    return !list_has(&c->m->grant_types, "authorization_code") || c->m->redirect_uris.n > 0
               ? 0
               : fail(c, CM_INVALID_REDIRECT_URI, "redirect_uris",
                      "redirect_uris is required for the authorization_code grant");
}

/* SPEC §3, §5: allowed_resources and introspects name resources of the
 * client's tenant */
static int known_resources(struct run *c)
{
    if (!c->who->resource_known)
        return 0;
    const struct {
        const char *name;
        const struct cm_list *l;
    } lists[] = {{"allowed_resources", &c->m->allowed_resources},
                 {"introspects", &c->m->introspects}};
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++)
        for (int i = 0; i < lists[k].l->n; i++)
            if (!c->who->resource_known(c->who->ctx, lists[k].l->v[i]))
                return fail(c, META, lists[k].name,
                            arena_sprintf(c->a, "%s: %s is not a resource of this tenant",
                                          lists[k].name, lists[k].l->v[i]));
    return 0;
}

/* RFC 7591 §2: "The "jwks_uri" and "jwks" parameters MUST NOT both be
 * present in the same request or response." */
static int one_key_source(struct run *c)
{
    return c->m->jwks && c->m->jwks_uri
               ? fail(c, META, "jwks", "jwks and jwks_uri must not both be present")
               : 0;
}

/* SPEC §3: private_key_jwt is "RFC 7523: client assertion signed with a key
 * from the client's jwks". Registration only: an operator may create a
 * secretless agent with no keys of its own, which authenticates only with
 * workload identity JWTs a trust policy (use actor, maps_to_client) maps to
 * it (SPEC §11). */
static int private_key_jwt_keys(struct run *c)
{
    return !strcmp(c->m->token_endpoint_auth_method, "private_key_jwt") && !c->m->jwks &&
                   !c->m->jwks_uri
               ? fail(c, META, "jwks", "private_key_jwt needs jwks or jwks_uri")
               : 0;
}

/* OpenID CIBA Core §4: backchannel_client_notification_endpoint "REQUIRED
 * if the token delivery mode is set to ping or push." */
static int ping_endpoint(struct run *c)
{
    return !strcmp(c->m->backchannel_token_delivery_mode, "ping") &&
                   !c->m->backchannel_client_notification_endpoint
               ? fail(c, META, "backchannel_client_notification_endpoint",
                      "ping mode needs backchannel_client_notification_endpoint")
               : 0;
}

static const struct {
    unsigned profiles;
    int (*check)(struct run *c);
} RULES[] = {
    {CM_BOTH, response_types_default},
    {CM_BOTH, public_client_grants},
    {CM_REGISTER, first_token_grant},
    {CM_BOTH, code_response_type},
    {CM_BOTH, code_redirect_uris},
    {CM_ADMIN, known_resources},
    {CM_BOTH, one_key_source},
    {CM_REGISTER, private_key_jwt_keys},
    {CM_ADMIN, ping_endpoint},
};

/* ---------------------------------------------------------------- */

bool client_method_has_secret(const char *method)
{
    return method && (!strcmp(method, "client_secret_basic") || !strcmp(method, "client_secret_post"));
}

int client_metadata_check(struct arena *a, const struct cm_caller *who, json_t *doc,
                          struct client_metadata *out, struct cm_error *err)
{
    memset(out, 0, sizeof *out);
    struct run c = {.a = a, .who = who, .m = out, .err = err};
    if (!json_is_object(doc))
        return fail(&c, META, NULL, "the client metadata must be a JSON object");
    unsigned profile = who->profile;
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct cm_field *f = &FIELDS[i];
        json_t *v = json_object_get(doc, f->name);
        if (json_is_null(v) || ((profile & EMPTY_STRING_IS_ABSENT) && string_kind(f->kind) &&
                                json_is_string(v) && !*json_string_value(v)))
            v = NULL;
        if (v && (f->refuses & profile))
            return fail(&c, META, f->name, f->refusal);
        if (!(f->takes & profile))
            continue;
        c.given[i] = v != NULL;
        if (!v)
            field_default(&c, f);
        else if (field_read(&c, f, v) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++)
        if ((RULES[i].profiles & profile) && RULES[i].check(&c) < 0)
            return -1;
    return 0;
}
