/*
 * resources.c: the tenant's resources (RFC 8707 resource indicators, SPEC
 * §2): POST /admin/v1/tenants/{t}/resources registers one with its scopes,
 * GET lists them, PATCH ?uri= changes its scope_descriptions (SPEC §11) or
 * unknown_tools (SPEC §12), DELETE ?uri= removes one. Clients'
 * allowed_resources and introspects must name resources of their tenant.
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "admin/mcp_settings.h"
#include "http/http.h"
#include "policy/scope.h"
#include "policy/uri.h"
#include "storage/admin.h"
#include "storage/db.h"
#include "util/limits.h"
#include "util/text.h"
#include "cache.h"

#include <stdlib.h>
#include <string.h>

static const char *check_resource_uri(json_t *v)
{
    return resource_uri_valid(json_string_value(v))
               ? NULL
               : "must be an absolute URI without a fragment, of at most 2000 characters";
}

/* POST /admin/v1/tenants/{t}/resources */
static const struct body_member RESOURCE_MEMBERS[] = {
    {"uri", BT_STRING, BM_REQUIRED, check_resource_uri, "url resource"},
    {"scopes", BT_ARRAY, 0, NULL, "scope"},
    {"scope_descriptions", BT_OBJECT, 0, check_scope_descriptions, "descriptions"},
    {"unknown_tools", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec RESOURCE_BODY = BODY_SPEC(RESOURCE_MEMBERS);

static const char *check_unknown_tools(json_t *v)
{
    const char *s = json_string_value(v);
    return !strcmp(s, "deny") || !strcmp(s, "allow") ? NULL : "must be deny or allow";
}

/* PATCH .../resources?uri=: what a tool outside the catalog gets (SPEC §12)
 * and the words the consent and approval pages show for each scope (SPEC
 * §11); uri, scopes and created_at are read-only */
static const struct body_member RESOURCE_PATCH_MEMBERS[] = {
    {"scope_descriptions", BT_OBJECT, 0, check_scope_descriptions, "descriptions"},
    {"unknown_tools", BT_STRING, 0, check_unknown_tools, "unknown"},
    {"uri", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"scopes", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec RESOURCE_PATCH_BODY = BODY_SPEC(RESOURCE_PATCH_MEMBERS);

/* scope_descriptions describe scopes of the resource: NULL when they do,
 * else the first that is not one of them */
static const char *undescribable(const json_t *descriptions, const json_t *scopes_json,
                                 const struct resource *res)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)descriptions, k, v)
    {
        if (res ? !strlist_has(&res->scopes, k) : !json_array_has_string(scopes_json, k))
            return k;
    }
    return NULL;
}

/* a JSON object as text in the arena ("{}" for NULL) */
static const char *json_text(struct req *r, const json_t *o)
{
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *out = t ? arena_strdup(r->arena, t) : "{}";
    free(t);
    return out;
}

void admin_resource_create(struct req *r, const struct admin_call *c)
{
    json_t *b = admin_read_body(r, &RESOURCE_BODY);
    if (!b)
        return;
    const char *uri = json_string_value(json_object_get(b, "uri"));
    json_t *sc = json_object_get(b, "scopes");
    const char *scopes = "{}";
    if (sc && !(scopes = admin_scope_list(r, sc, "scopes"))) {
        json_decref(b);
        return;
    }
    json_t *sd = json_object_get(b, "scope_descriptions");
    const char *bad = sd ? undescribable(sd, sc, NULL) : NULL;
    if (bad) {
        admin_problem(r, 400, arena_sprintf(r->arena, "scope_descriptions: %.200s is not one of "
                                                      "this resource's scopes", bad));
        json_decref(b);
        return;
    }
    const char *descriptions = json_text(r, sd);
    if (db_begin(&r->tx) < 0) {
        json_decref(b);
        return;
    }
    const char *created = NULL;
    int rc = store_resource_create(&r->tx, c->t->id, uri, scopes, descriptions, &created);
    if (rc < 0) {
        admin_tx_refused(r, &RESOURCE_BODY, "uri");
        json_decref(b);
        return;
    }
    if (rc == 1) {
        db_rollback(&r->tx);
        admin_problem(r, 409, "uri: this resource exists already");
        json_decref(b);
        return;
    }
    created = arena_strdup(r->arena, created);
    admin_audit_change(r, c->t->id, c->who, "resource.create", uri);
    if (admin_tx_commit(r, c->t->id))
        admin_answer_text(r, 201, created);
    json_decref(b);
}

void admin_resource_list(struct req *r, const struct admin_call *c)
{
    const char *json;
    if (store_resource_list(&r->tx, c->t->id, &json) < 0)
        return;
    admin_answer_text(r, 200, arena_sprintf(r->arena, "{\"resources\":%s}", json));
}

void admin_resource_patch(struct req *r, const struct admin_call *c)
{
    /* the body first: an unknown member is named whatever else is wrong
     * (SPEC §9) */
    json_t *b = admin_read_body(r, &RESOURCE_PATCH_BODY);
    if (!b)
        return;
    json_t *sd = json_object_get(b, "scope_descriptions");
    json_t *ut = json_object_get(b, "unknown_tools");
    const char *uri = req_query_param(r, "uri");
    const struct resource *res = uri ? tenant_resource(c->t, uri) : NULL;
    const char *bad = sd && res ? undescribable(sd, NULL, res) : NULL;
    bool ok = false;
    if (!sd && !ut)
        admin_problem(r, 400, "name what changes: scope_descriptions and/or unknown_tools");
    else if (!uri)
        admin_problem(r, 400, "the uri query parameter names the resource to change");
    else if (!res)
        admin_problem(r, 404, "no such resource");
    else if (bad)
        admin_problem(r, 400, arena_sprintf(r->arena, "scope_descriptions: %.200s is not a scope "
                                                      "of this resource", bad));
    else
        ok = true;
    if (!ok) {
        json_decref(b);
        return;
    }
    const char *descriptions = sd ? json_text(r, sd) : NULL;
    const char *unknown = ut ? arena_strdup(r->arena, json_string_value(ut)) : NULL;
    json_decref(b);
    if (db_begin(&r->tx) < 0)
        return;
    const char *out = NULL;
    int rc = store_resource_patch(&r->tx, c->t->id, uri, descriptions, unknown, &out);
    if (rc <= 0) {
        if (rc == 0) {
            db_rollback(&r->tx);
            admin_problem(r, 404, "no such resource");
        } else {
            admin_tx_refused(r, &RESOURCE_PATCH_BODY, sd ? "scope_descriptions" : "unknown_tools");
        }
        return;
    }
    out = arena_strdup(r->arena, out);
    admin_audit_change(r, c->t->id, c->who, "resource.update", uri);
    if (admin_tx_commit(r, c->t->id))
        admin_answer_text(r, 200, out);
}

void admin_resource_delete(struct req *r, const struct admin_call *c)
{
    const char *uri = req_query_param(r, "uri");
    if (!uri) {
        admin_problem(r, 400, "the uri query parameter names the resource to delete");
        return;
    }
    if (db_begin(&r->tx) < 0)
        return;
    int rc = store_resource_delete(&r->tx, c->t->id, uri);
    if (rc < 0) {
        db_rollback(&r->tx);
        return;
    }
    if (rc == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such resource");
        return;
    }
    admin_audit_change(r, c->t->id, c->who, "resource.delete", uri);
    if (admin_tx_commit(r, c->t->id))
        resp_set(r, 204, NULL, NULL, 0);
}
