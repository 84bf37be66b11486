/*
 * clients.c: the tenant's clients in the admin API (SPEC §3, §7): POST
 * /admin/v1/tenants/{t}/clients creates one (its secret shown once), GET
 * lists them; GET, PATCH and DELETE /clients/{client_id}. A PATCH is checked
 * as the whole document it makes; narrowing what a client may do ends the
 * tokens that did more (client_change_ends), and deleting a client ends all
 * of its tokens.
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "admin/lifecycle.h"
#include "crypto/cred.h"
#include "http/http.h"
#include "oauth/oauth.h"
#include "policy/client_metadata.h"
#include "policy/scope.h"
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/grants.h"
#include "storage/pgarray.h"
#include "storage/store.h"
#include "crypto/crypto.h"
#include "util/text.h"
#include "cache.h"
#include "config.h"
#include "util/limits.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* POST .../clients and PATCH .../clients/{client_id}: RFC 7591 metadata
 * that authz keeps, plus the fields of SPEC §3. client_validate() checks the
 * values (on the merged document for a PATCH); the rest of a client answer
 * is read-only. */
static const struct body_member CLIENT_MEMBERS[] = {
    {"client_name", BT_STRING | BT_NULL, 0, NULL, "name"},
    {"token_endpoint_auth_method", BT_STRING, 0, NULL, "auth_method"},
    {"grant_types", BT_ARRAY, 0, NULL, "grant_type grants"},
    {"response_types", BT_ARRAY, 0, NULL, "response_type"},
    {"redirect_uris", BT_ARRAY, 0, NULL, "redirect_uri"},
    {"allowed_scopes", BT_ARRAY, 0, NULL, "scope scopes"},
    {"allowed_resources", BT_ARRAY, 0, NULL, "resource resources"},
    {"can_act_for", BT_ARRAY, 0, NULL, "act_for"},
    {"introspects", BT_ARRAY, 0, NULL, "introspect"},
    {"may_impersonate", BT_BOOLEAN, 0, NULL, "impersonate"},
    {"jwks", BT_OBJECT | BT_NULL, 0, NULL, NULL},
    {"jwks_uri", BT_STRING | BT_NULL, 0, NULL, NULL},
    {"backchannel_token_delivery_mode", BT_STRING | BT_NULL, 0, NULL, "delivery_mode"},
    {"backchannel_client_notification_endpoint", BT_STRING | BT_NULL, 0, NULL,
     "notification_endpoint"},
    /* SPEC §13 (admin/lifecycle.c) */
    {"status", BT_STRING, 0, lifecycle_check_status, "state disabled enabled"},
    {"owner", BT_STRING | BT_NULL, 0, lifecycle_check_owner, "owned_by owner_sub"},
    {"last_used_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"client_id", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"client_secret", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"client_secret_expires_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"client_id_issued_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"dynamic", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"updated_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec CLIENT_BODY = BODY_SPEC(CLIENT_MEMBERS);

/* Validated client metadata, as statement parameters. */
struct client_fields {
    const char *client_name, *method, *grant_types, *response_types, *redirect_uris,
        *allowed_scopes, *allowed_resources, *can_act_for, *introspects, *may_impersonate, *jwks,
        *jwks_uri, *bc_delivery, *bc_endpoint;
};

/* SPEC §3, §5: allowed_resources and introspects name resources of the
 * client's tenant */
static bool resource_of_tenant(const void *ctx, const char *uri)
{
    return tenant_resource(ctx, uri) != NULL;
}

static const char *pg_list(struct req *r, const struct cm_list *l)
{
    return pgarray_build(r->arena, l->v, l->n);
}

/* Checks a whole client document (RFC 7591 metadata + SPEC §3's fields)
 * with the table it shares with dynamic registration
 * (policy/client_metadata.c, profile CM_ADMIN), into statement parameters.
 * false with a 400 answer "<RFC 7591 §3.2.2 error>: <what is wrong>". */
static bool client_validate(struct req *r, struct tenant *t, json_t *b, struct client_fields *f)
{
    memset(f, 0, sizeof *f);
    const struct cm_caller admin = {.profile = CM_ADMIN, .resource_known = resource_of_tenant,
                                    .ctx = t};
    struct client_metadata m;
    struct cm_error e;
    if (client_metadata_check(r->arena, &admin, b, &m, &e) < 0) {
        admin_problem(r, 400, arena_sprintf(r->arena, "%s: %s", e.code, e.desc));
        return false;
    }
    f->client_name = m.client_name;
    f->method = m.token_endpoint_auth_method;
    f->grant_types = pg_list(r, &m.grant_types);
    f->response_types = pg_list(r, &m.response_types);
    f->redirect_uris = pg_list(r, &m.redirect_uris);
    f->allowed_scopes = pg_list(r, &m.allowed_scopes);
    f->allowed_resources = pg_list(r, &m.allowed_resources);
    f->can_act_for = pg_list(r, &m.can_act_for);
    f->introspects = pg_list(r, &m.introspects);
    f->may_impersonate = m.may_impersonate ? "true" : "false";
    f->jwks = m.jwks;
    f->jwks_uri = m.jwks_uri;
    f->bc_delivery = m.backchannel_token_delivery_mode;
    f->bc_endpoint = m.backchannel_client_notification_endpoint;
    return true;
}

static bool secret_method(const char *m)
{
    return client_method_has_secret(m);
}

static struct client_admin client_row(const char *tenant_id, const char *client_id,
                                      const char *secret_hash, const struct client_fields *f)
{
    return (struct client_admin){
        .tenant_id = tenant_id, .client_id = client_id, .secret_hash = secret_hash,
        .client_name = f->client_name, .method = f->method, .grant_types = f->grant_types,
        .response_types = f->response_types, .redirect_uris = f->redirect_uris,
        .allowed_scopes = f->allowed_scopes, .allowed_resources = f->allowed_resources,
        .can_act_for = f->can_act_for, .introspects = f->introspects,
        .may_impersonate = f->may_impersonate, .jwks = f->jwks, .jwks_uri = f->jwks_uri,
        .bc_delivery = f->bc_delivery, .bc_endpoint = f->bc_endpoint,
    };
}

static void client_answer(struct req *r, struct tenant *t, const char *client_id, int status,
                          const char *secret)
{
    const char *json;
    int rc = store_client_json(&r->tx, t->id, client_id, &json);
    if (rc < 0)
        return;
    if (rc == 0) {
        admin_problem(r, 404, "no such client");
        return;
    }
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    if (!j) {
        admin_problem(r, 500, "client could not be rendered");
        return;
    }
    if (secret) {
        json_object_set_new(j, "client_secret", json_string(secret));
        json_object_set_new(j, "client_secret_expires_at", json_integer(0));
    }
    admin_answer_json(r, status, j);
}

void admin_client_get(struct req *r, const struct admin_call *c)
{
    client_answer(r, c->t, c->arg, 200, NULL);
}

void admin_client_create(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    json_t *b = admin_read_body(r, &CLIENT_BODY);
    if (!b)
        return;
    struct client_fields f;
    if (!client_validate(r, t, b, &f)) {
        json_decref(b);
        return;
    }
    char client_id[32], secret[CRED_MAX], hash[CRYPTO_SECRET_HASH_HEX + 1];
    crypto_random_id(client_id, 16);
    const char *hash_p = NULL;
    if (secret_method(f.method)) {
        cred_new(CRED_CLIENT_SECRET, secret);
        crypto_secret_hash(g_secret_pepper, secret, strlen(secret), hash);
        hash_p = hash;
    }
    if (db_begin(&r->tx) < 0) {
        json_decref(b);
        return;
    }
    struct client_admin row = client_row(t->id, client_id, hash_p, &f);
    if (store_client_insert(&r->tx, &row) < 0) {
        admin_tx_refused(r, &CLIENT_BODY, NULL);
        json_decref(b);
        return;
    }
    int lc = lifecycle_client_patch_tx(r, who, t, client_id, json_object_get(b, "status"),
                                       json_object_get(b, "owner"));
    if (lc != 0) {
        if (lc < 0)
            db_rollback(&r->tx);
        json_decref(b);
        return;
    }
    admin_audit_change(r, t->id, who, "client.create", client_id);
    json_decref(b);
    if (!admin_tx_commit(r, t->id))
        return;
    client_answer(r, t, client_id, 201, hash_p ? secret : NULL);
}

static void json_release(void *p)
{
    json_decref(p);
}

/* true when the ceiling `now` is narrower than `was` (an empty list is no
 * ceiling) */
static bool ceiling_narrowed(const json_t *was, const json_t *now)
{
    if (!json_is_array(now) || json_array_size(now) == 0)
        return false;
    if (!json_is_array(was) || json_array_size(was) == 0)
        return true;
    size_t i;
    const json_t *e;
    json_array_foreach(was, i, e) if (!json_array_has_string(now, json_string_value(e))) return true;
    return false;
}

/* What a change to a client ends (SPEC §4.4 "Lineage", §5): narrowing its
 * allowed_scopes (e.g. removing admin) or allowed_resources ends its tokens;
 * removing a can_act_for entry ends the tokens exchanged under that entry;
 * turning may_impersonate off ends its impersonation tokens. 0 or -1. */
static int client_change_ends(struct req *r, const char *tenant_id, const char *client_id,
                              const json_t *was, const json_t *now)
{
    int64_t until = revocation_horizon();
    if (ceiling_narrowed(json_object_get(was, "allowed_scopes"), json_object_get(now, "allowed_scopes")) ||
        ceiling_narrowed(json_object_get(was, "allowed_resources"),
                         json_object_get(now, "allowed_resources")))
        if (revocation_record(&r->tx, tenant_id, REV_CLIENT, client_id, until) < 0)
            return -1;
    size_t i;
    const json_t *e;
    const json_t *caf = json_object_get(was, "can_act_for");
    json_array_foreach(caf, i, e)
    {
        const char *entry = json_string_value(e);
        if (entry && !json_array_has_string(json_object_get(now, "can_act_for"), entry) &&
            revocation_record(&r->tx, tenant_id, REV_ACT_FOR,
                              arena_sprintf(r->arena, "%s %s", client_id, entry), until) < 0)
            return -1;
    }
    if (json_is_true(json_object_get(was, "may_impersonate")) &&
        !json_is_true(json_object_get(now, "may_impersonate")) &&
        revocation_record(&r->tx, tenant_id, REV_IMPERSONATE, client_id, until) < 0)
        return -1;
    return 0;
}

void admin_client_patch(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    const char *client_id = c->arg;
    json_t *b = admin_read_body(r, &CLIENT_BODY);
    if (!b)
        return;
    const char *json;
    int found = store_client_json(&r->tx, t->id, client_id, &json);
    if (found <= 0) {
        if (found == 0)
            admin_problem(r, 404, "no such client");
        json_decref(b);
        return;
    }
    json_error_t je;
    json_t *cur = json_loads(json, 0, &je);
    const char *old_method =
        arena_strdup(r->arena, json_string_value(json_object_get(cur, "token_endpoint_auth_method")));
    json_t *before = json_deep_copy(cur);
    arena_defer(r->arena, json_release, before);
    /* SPEC §13 owner and status: applied by admin/lifecycle.c */
    json_t *lc_status = json_object_get(b, "status"), *lc_owner = json_object_get(b, "owner");
    if (lc_status)
        arena_defer(r->arena, json_release, json_incref(lc_status));
    if (lc_owner)
        arena_defer(r->arena, json_release, json_incref(lc_owner));
    json_object_update(cur, b);
    json_decref(b);
    struct client_fields f;
    if (!client_validate(r, t, cur, &f)) {
        json_decref(cur);
        return;
    }
    char secret[CRED_MAX], hash[CRYPTO_SECRET_HASH_HEX + 1];
    bool new_secret = secret_method(f.method) && !secret_method(old_method);
    if (new_secret) {
        cred_new(CRED_CLIENT_SECRET, secret);
        crypto_secret_hash(g_secret_pepper, secret, strlen(secret), hash);
    }
    if (db_begin(&r->tx) < 0) {
        json_decref(cur);
        return;
    }
    struct client_admin row = client_row(t->id, client_id, new_secret ? hash : NULL, &f);
    if (store_client_update(&r->tx, &row, secret_method(f.method)) < 0) {
        admin_tx_refused(r, &CLIENT_BODY, NULL);
        json_decref(cur);
        return;
    }
    int ended = client_change_ends(r, t->id, client_id, before, cur);
    json_decref(cur);
    if (ended < 0) {
        db_rollback(&r->tx);
        return;
    }
    int lc = lifecycle_client_patch_tx(r, who, t, client_id, lc_status, lc_owner);
    if (lc != 0) {
        if (lc < 0)
            db_rollback(&r->tx);
        return;
    }
    admin_audit_change(r, t->id, who, "client.update", client_id);
    if (!admin_tx_commit(r, t->id))
        return;
    client_answer(r, t, client_id, 200, new_secret ? secret : NULL);
}

void admin_client_delete(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    const char *client_id = c->arg;
    if (db_begin(&r->tx) < 0)
        return;
    int rc = store_client_delete(&r->tx, t->id, client_id);
    if (rc < 0) {
        db_rollback(&r->tx);
        return;
    }
    if (rc == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such client");
        return;
    }
    /* SPEC §5: "Deleting a client ... ends its tokens at once (an admin token
     * of a deleted client is refused by the admin API)"; SPEC §13: and every
     * refresh token, session and right it holds (admin/lifecycle.c) */
    if (lifecycle_client_end_tx(r, who, t, client_id, NULL, "deleted") < 0) {
        db_rollback(&r->tx);
        return;
    }
    admin_audit_change(r, t->id, who, "client.delete", client_id);
    if (admin_tx_commit(r, t->id))
        resp_set(r, 204, NULL, NULL, 0);
}
