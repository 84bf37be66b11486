/*
 * resources.c: the tenant's resources (RFC 8707 resource indicators, SPEC
 * §2): POST /admin/v1/tenants/{t}/resources registers one with its scopes,
 * GET lists them, DELETE ?uri= removes one. Clients' allowed_resources and
 * introspects must name resources of their tenant.
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "http/http.h"
#include "policy/scope.h"
#include "policy/uri.h"
#include "storage/admin.h"
#include "storage/db.h"
#include "util/limits.h"
#include "cache.h"

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
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec RESOURCE_BODY = BODY_SPEC(RESOURCE_MEMBERS);

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
    if (db_begin(&r->tx) < 0) {
        json_decref(b);
        return;
    }
    const char *created = NULL;
    int rc = store_resource_create(&r->tx, c->t->id, uri, scopes, &created);
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
    if (admin_tx_commit(r, c->t->id)) {
        json_t *out = json_pack("{s:s, s:o, s:s}", "uri", uri, "scopes",
                                sc ? json_incref(sc) : json_array(), "created_at", created);
        admin_answer_json(r, 201, out);
    }
    json_decref(b);
}

void admin_resource_list(struct req *r, const struct admin_call *c)
{
    const char *json;
    if (store_resource_list(&r->tx, c->t->id, &json) < 0)
        return;
    admin_answer_text(r, 200, arena_sprintf(r->arena, "{\"resources\":%s}", json));
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
