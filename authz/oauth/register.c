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
 * The metadata rules are those of the admin API, under the registration
 * profile (policy/client_metadata.c): one table decides for both.
 *
 * The endpoint, who may register (the tenant's registration_policy and
 * initial access tokens) and the storing are oauth/register_endpoint.c's.
 */
#include "oauth/register.h"
#include "util/arena.h"
#include "policy/client_metadata.h"
#include "storage/pgarray.h"
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

static json_t *json_strings(const struct cm_list *l)
{
    json_t *arr = json_array();
    for (int i = 0; i < l->n; i++)
        json_array_append_new(arr, json_string(l->v[i]));
    return arr;
}

/* What registration may set: RFC 7591 §2 metadata with the grants of SPEC
 * §3 ("A dynamically registered client may use only the authorization code
 * and refresh grants"), keys inline only; none of the fields an
 * administrator sets. The rules are policy/client_metadata.c's, the same
 * table the admin API checks clients with. */
static const struct cm_caller REGISTRATION = {.profile = CM_REGISTER};

int register_validate(struct arena *a, json_t *b, struct reg_meta *out, const char **error,
                      const char **desc)
{
    memset(out, 0, sizeof *out);
    struct client_metadata m;
    struct cm_error e;
    if (client_metadata_check(a, &REGISTRATION, b, &m, &e) < 0) {
        *error = e.code;
        *desc = e.desc;
        return -1;
    }

    /* ---- accepted: what is stored, and the document echoed back ---- */
    out->method = m.token_endpoint_auth_method;
    out->client_name = m.client_name;
    out->grant_types_pg = pgarray_build(a, m.grant_types.v, m.grant_types.n);
    out->response_types_pg = pgarray_build(a, m.response_types.v, m.response_types.n);
    out->redirect_uris_pg = pgarray_build(a, m.redirect_uris.v, m.redirect_uris.n);
    out->jwks = m.jwks;
    out->jwks_uri = m.jwks_uri;
    out->secret = client_method_has_secret(m.token_endpoint_auth_method);

    json_t *extra = json_object();
    const struct {
        const char *name, *value;
    } kept[] = {{"client_uri", m.client_uri},   {"logo_uri", m.logo_uri},
                {"tos_uri", m.tos_uri},         {"policy_uri", m.policy_uri},
                {"scope", m.scope},             {"software_id", m.software_id},
                {"software_version", m.software_version}};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        if (kept[i].value)
            json_object_set_new(extra, kept[i].name, json_string(kept[i].value));
    if (m.contacts.n)
        json_object_set_new(extra, "contacts", json_strings(&m.contacts));
    char *s = json_dumps(extra, JSON_COMPACT);
    out->metadata = arena_strdup(a, s);
    free(s);

    json_t *doc = json_object();
    if (m.client_name)
        json_object_set_new(doc, "client_name", json_string(m.client_name));
    json_object_set_new(doc, "redirect_uris", json_strings(&m.redirect_uris));
    json_object_set_new(doc, "grant_types", json_strings(&m.grant_types));
    json_object_set_new(doc, "response_types", json_strings(&m.response_types));
    json_object_set_new(doc, "token_endpoint_auth_method", json_string(m.token_endpoint_auth_method));
    if (m.jwks)
        json_object_set(doc, "jwks", json_object_get(b, "jwks"));
    if (m.jwks_uri)
        json_object_set_new(doc, "jwks_uri", json_string(m.jwks_uri));
    json_object_update(doc, extra);
    json_decref(extra);
    out->doc = doc;
    return 0;
}
