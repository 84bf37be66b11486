/*
 * tools.c: the tool catalog and the drift baselines in the tenant admin API
 * (SPEC §12):
 *
 *   PUT    /admin/v1/tenants/{t}/resources/tools/{name}?resource=<uri>  201 / 200
 *   GET    /admin/v1/tenants/{t}/resources/tools/{name}?resource=<uri>
 *   DELETE /admin/v1/tenants/{t}/resources/tools/{name}?resource=<uri>  204
 *   GET    /admin/v1/tenants/{t}/resources/tools?resource=<uri>         the catalog
 *   PATCH  /admin/v1/tenants/{t}/resources?uri=<uri>                    {"unknown_tools"}
 *   GET    /admin/v1/tenants/{t}/clients/{client_id}/baseline           the agent's pairs
 *
 * A tool is {"scopes":[…],"risk":"read"|"write"|"destructive",
 * "approval":"none"|"session"}. Bodies are read with their member tables
 * (admin/body.h), every value checked before anything is written; each
 * change writes its admin.changed row in the same transaction, and the
 * tables' triggers tell every authzd to drop the tenant's snapshot (which
 * carries the catalog). The drift settings of the tenant itself are members
 * of PATCH /admin/v1/tenants/{t} (admin_drift_member, below).
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "http/http.h"
#include "policy/scope.h"
#include "policy/tool.h"
#include "policy/uri.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "storage/tools.h"
#include "cache.h"
#include "util/limits.h"

#include <stdlib.h>
#include <string.h>

static const char *check_scopes(json_t *v)
{
    if (json_array_size(v) > 100)
        return "must hold at most 100 scopes";
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        const char *x = json_string_value(s);
        if (!x || strlen(x) > AUTHZ_SCOPE_TOKEN_MAX || !scope_token_valid(x))
            return "must be an array of scope-tokens (RFC 6749 §3.3)";
    }
    return NULL;
}

static const char *check_risk(json_t *v)
{
    return tool_risk_parse(json_string_value(v)) >= 0 ? NULL
                                                      : "must be read, write or destructive";
}

static const char *check_approval(json_t *v)
{
    const char *s = json_string_value(v);
    return !strcmp(s, "none") || !strcmp(s, "session") ? NULL : "must be none or session";
}

/* PUT .../resources/tools/{name}; a document read with GET may be PUT back */
static const struct body_member TOOL_MEMBERS[] = {
    {"scopes", BT_ARRAY, 0, check_scopes, "scope"},
    {"risk", BT_STRING, 0, check_risk, NULL},
    {"approval", BT_STRING, 0, check_approval, "approve"},
    {"name", BT_STRING, 0, NULL, NULL},
    {"resource", BT_STRING, 0, NULL, "server uri"},
    {"created_at", BT_ANY, 0, NULL, NULL},
    {"updated_at", BT_ANY, 0, NULL, NULL},
};
static const struct body_spec TOOL_BODY = BODY_SPEC(TOOL_MEMBERS);


/* The resource named by ?resource= (or ?uri=), which must be one of the
 * tenant's; NULL with the answer set. */
static const char *resource_param(struct req *r, struct tenant *t, const char *param)
{
    const char *uri = req_query_param(r, param);
    if (!uri || !resource_uri_valid(uri)) {
        admin_problem(r, 400,
                      arena_sprintf(r->arena, "the %s query parameter names the resource", param));
        return NULL;
    }
    if (!tenant_resource(t, uri)) {
        admin_problem(r, 404, "no such resource");
        return NULL;
    }
    return uri;
}

static void answer_tool(struct req *r, struct tenant *t, const char *resource, const char *name,
                        int status)
{
    const char *json = NULL;
    int rc = store_tool_get(&r->tx, t->id, resource, name, &json);
    if (rc < 0) {
        if (!r->tx.down)
            admin_problem(r, 500, "the tool could not be read");
        return;
    }
    if (rc == 0) {
        admin_problem(r, 404, "no such tool");
        return;
    }
    resp_json(r, status, strdup(json));
    resp_header(r, "Cache-Control", "no-store");
}

/* b: the body, read (the caller decrefs it) */
static void tool_put(struct req *r, const struct caller *who, struct tenant *t,
                     const char *resource, const char *name, json_t *b)
{
    const char *v;
    if ((v = json_string_value(json_object_get(b, "name"))) && strcmp(v, name) != 0) {
        admin_problem(r, 400, "name differs from the tool named in the path");
        return;
    }
    if ((v = json_string_value(json_object_get(b, "resource"))) && strcmp(v, resource) != 0) {
        admin_problem(r, 400, "resource differs from the resource query parameter");
        return;
    }
    json_t *sc = json_object_get(b, "scopes");
    int n = sc ? (int)json_array_size(sc) : 0;
    const char **sv = arena_alloc(r->arena, sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        sv[i] = arena_strdup(r->arena, json_string_value(json_array_get(sc, (size_t)i)));
    const char *scopes = pgarray_build(r->arena, sv, n);
    const char *risk = json_string_value(json_object_get(b, "risk"));
    const char *approval = json_string_value(json_object_get(b, "approval"));
    risk = arena_strdup(r->arena, risk ? risk : "read");
    approval = arena_strdup(r->arena, approval ? approval : "none");
    const struct resource *res = tenant_resource(t, resource);
    if (res && res->ntools >= AUTHZ_TOOLS_PER_RESOURCE_MAX && !resource_tool(res, name)) {
        admin_problem(r, 400, "this resource's catalog is full");
        return;
    }
    if (db_begin(&r->tx) < 0)
        return;
    int created = store_tool_put(&r->tx, t->id, resource, name, scopes, risk, approval);
    if (created < 0) {
        admin_tx_refused(r, &TOOL_BODY, "resource");
        return;
    }
    admin_audit_change(r, t->id, who, created ? "tool.create" : "tool.update",
                       arena_sprintf(r->arena, "%s %s", resource, name));
    if (!admin_tx_commit(r, t->id))
        return;
    answer_tool(r, t, resource, name, created ? 201 : 200);
}

static void tool_delete(struct req *r, const struct caller *who, struct tenant *t,
                        const char *resource, const char *name)
{
    if (db_begin(&r->tx) < 0)
        return;
    int rc = store_tool_delete(&r->tx, t->id, resource, name);
    if (rc <= 0) {
        db_rollback(&r->tx);
        if (rc == 0)
            admin_problem(r, 404, "no such tool");
        else if (!r->tx.down)
            admin_problem(r, 500, "the tool could not be deleted");
        return;
    }
    admin_audit_change(r, t->id, who, "tool.delete", arena_sprintf(r->arena, "%s %s", resource, name));
    if (admin_tx_commit(r, t->id))
        resp_set(r, 204, NULL, NULL, 0);
}

static void tool_list(struct req *r, struct tenant *t, const char *resource)
{
    const char *json = NULL;
    int rc = store_tool_list(&r->tx, t->id, resource, &json);
    if (rc <= 0) {
        if (rc == 0)
            admin_problem(r, 404, "no such resource");
        else if (!r->tx.down)
            admin_problem(r, 500, "the catalog could not be read");
        return;
    }
    resp_json(r, 200, strdup(json));
    resp_header(r, "Cache-Control", "no-store");
}

void admin_tools(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    const char *name = c->arg;
    enum method m = r->method;
    if (!name) {
        if (m != M_GET) {
            admin_problem(r, 405, "method not allowed here");
            resp_header(r, "Allow", "GET, HEAD");
            return;
        }
        if (!admin_no_body(r))
            return;
        const char *resource = resource_param(r, t, "resource");
        if (resource)
            tool_list(r, t, resource);
        return;
    }
    if (m != M_PUT && m != M_GET && m != M_DELETE) {
        admin_problem(r, 405, "method not allowed here");
        resp_header(r, "Allow", "GET, HEAD, PUT, DELETE");
        return;
    }
    /* the body first, so that an unknown member is named whatever else
     * is wrong (SPEC §9) */
    json_t *b = NULL;
    if (m == M_PUT ? !(b = admin_read_body(r, &TOOL_BODY)) : !admin_no_body(r))
        return;
    /* SPEC §12 / MCP: a tool's name is 1 to 128 of A-Z a-z 0-9 _ - . */
    const char *resource = NULL;
    if (!tool_name_valid(name))
        admin_problem(r, m == M_PUT ? 400 : 404,
                      "a tool name is 1 to 128 characters of A-Z a-z 0-9 _ - .");
    else if (!(resource = resource_param(r, t, "resource")))
        ;
    else if (m == M_PUT)
        tool_put(r, who, t, resource, name, b);
    else if (m == M_GET)
        answer_tool(r, t, resource, name, 200);
    else
        tool_delete(r, who, t, resource, name);
    json_decref(b);
}

void admin_baseline(struct req *r, const struct admin_call *call)
{
    struct tenant *t = call->t;
    const char *client_id = call->arg;
    if (r->method != M_GET) {
        admin_problem(r, 405, "method not allowed here");
        resp_header(r, "Allow", "GET, HEAD");
        return;
    }
    if (!admin_no_body(r))
        return;
    struct client *c = NULL;
    if (strlen(client_id) > AUTHZ_CLIENT_ID_MAX ||
        (cache_client(&r->tx, true, t, client_id, &c), !c)) {
        if (!r->tx.down)
            admin_problem(r, 404, "no such client");
        return;
    }
    client_release(c);
    const char *json = NULL;
    if (store_baseline_list(&r->tx, t->id, client_id, t->drift_window_days, &json) < 0) {
        if (!r->tx.down)
            admin_problem(r, 500, "the baseline could not be read");
        return;
    }
    resp_json(r, 200, strdup(json));
    resp_header(r, "Cache-Control", "no-store");
}

/* ---- the tenant's drift settings (members of PATCH /tenants/{t}) ---- */

const char *admin_check_drift_mode(json_t *v)
{
    return drift_mode_parse(json_string_value(v)) >= 0 ? NULL : "must be off, alert or deny";
}

const char *admin_check_drift_window(json_t *v)
{
    json_int_t n = json_integer_value(v);
    return n >= 1 && n <= 365 ? NULL : "must be 1 to 365 (days)";
}

const char *admin_check_drift_webhook(json_t *v)
{
    return uri_endpoint_ok(json_string_value(v))
               ? NULL
               : "must be https, or http on a loopback host, without a fragment";
}

int admin_drift_member(struct req *r, struct tenant *t, const char *key, const char *value)
{
    return store_tenant_drift_set(&r->tx, t->id, key, value);
}

void admin_drift_json(json_t *tenant_obj, const struct tenant *t)
{
    json_object_set_new(tenant_obj, "drift_mode",
                        json_string(drift_mode_name((enum drift_mode)t->drift_mode)));
    json_object_set_new(tenant_obj, "drift_window_days", json_integer(t->drift_window_days));
    json_object_set_new(tenant_obj, "drift_webhook_url",
                        t->drift_webhook_url ? json_string(t->drift_webhook_url) : json_null());
}
