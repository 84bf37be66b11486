/*
 * tenants.c: the tenants of the admin API (SPEC §1, §7). POST /tenants
 * (operator only) creates one with its first signing key; GET
 * /tenants/{t} shows its settings, PATCH changes them (a new signing_alg
 * rotates the key at once). The webhook secret is sealed at rest and never
 * shown: approval_webhook_secret_set says whether there is one.
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "admin/mcp_settings.h"
#include "http/routes.h"
#include "policy/uri.h"
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/store.h"
#include "crypto/crypto.h"
#include "util/text.h"
#include "cache.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *tenant_json(const struct tenant *t)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:o, s:b, s:s, s:s, s:s}", "id", t->id,
                     "slug", t->slug, "display_name", t->display_name, "issuer", t->issuer,
                     "registration_policy", t->registration_policy, "access_token_ttl",
                     t->access_token_ttl, "max_session_ttl", t->max_session_ttl,
                     "approval_webhook_url",
                     t->approval_webhook_url ? json_string(t->approval_webhook_url) : json_null(),
                     "approval_webhook_secret_set", t->webhook_secret_set, "signing_alg",
                     t->signing_alg, "created_at", t->created_at, "updated_at", t->updated_at);
    if (j) {
        admin_drift_json(j, t);      /* SPEC §12 (admin/tools.c) */
        admin_tenant_mcp_json(t, j); /* SPEC §11 (admin/mcp_settings.c) */
    }
    return j;
}

/* The values of the tenant's members (SPEC §1, §7; the table's CHECKs say
 * the same, so nothing reaches them). */
static const char *check_slug(json_t *v)
{
    return store_tenant_slug_valid(json_string_value(v)) ? NULL : "must match " TENANT_SLUG_PATTERN;
}

static const char *check_display_name(json_t *v)
{
    return store_tenant_display_name_valid(json_string_value(v))
               ? NULL
               : "must be 1 to 200 printable characters";
}

static const char *check_registration_policy(json_t *v)
{
    const char *s = json_string_value(v);
    return !strcmp(s, "open") || !strcmp(s, "token") || !strcmp(s, "closed")
               ? NULL
               : "must be open, token or closed";
}

static const char *check_access_token_ttl(json_t *v)
{
    json_int_t n = json_integer_value(v);
    return n >= 5 && n <= 86400 ? NULL : "must be 5 to 86400 (seconds)";
}

static const char *check_max_session_ttl(json_t *v)
{
    json_int_t n = json_integer_value(v);
    return n >= 60 && n <= 2592000 ? NULL : "must be 60 to 2592000 (seconds)";
}

static const char *check_webhook_url(json_t *v)
{
    return uri_endpoint_ok(json_string_value(v))
               ? NULL
               : "must be https, or http on a loopback host, without a fragment";
}

static const char *check_webhook_secret(json_t *v)
{
    const char *s = json_string_value(v);
    return text_printable_chars(s, 512) && utf8_chars(s) >= 16 ? NULL
                                                       : "must be 16 to 512 printable characters";
}

static const char *check_signing_alg(json_t *v)
{
    return sig_alg_parse(json_string_value(v)) >= 0 ? NULL : "must be ES256, EdDSA or RS256";
}

/* POST /admin/v1/tenants */
static const struct body_member TENANT_CREATE_MEMBERS[] = {
    {"slug", BT_STRING, BM_REQUIRED, check_slug, "tenant tenant_id"},
    {"display_name", BT_STRING, 0, check_display_name, "name title"},
};
static const struct body_spec TENANT_CREATE_BODY = BODY_SPEC(TENANT_CREATE_MEMBERS);

/* PATCH /admin/v1/tenants/{t}: the settings; the rest of the tenant object
 * is read-only */
static const struct body_member TENANT_PATCH_MEMBERS[] = {
    {"registration_policy", BT_STRING, 0, check_registration_policy, "registration"},
    {"access_token_ttl", BT_INTEGER, 0, check_access_token_ttl, "ttl token_ttl"},
    {"max_session_ttl", BT_INTEGER, 0, check_max_session_ttl, "session_ttl"},
    {"approval_webhook_url", BT_STRING | BT_NULL, 0, check_webhook_url, "webhook webhook_url"},
    {"approval_webhook_secret", BT_STRING | BT_NULL, 0, check_webhook_secret, "webhook_secret"},
    {"signing_alg", BT_STRING, 0, check_signing_alg, "alg"},
    {"display_name", BT_STRING, 0, check_display_name, "name title"},
    /* SPEC §11 (admin/mcp_settings.c) */
    {"cimd_policy", BT_STRING, 0, check_cimd_policy, "cimd client_id_metadata_document"},
    {"cimd_hosts", BT_ARRAY, 0, check_cimd_hosts, "cimd_allowlist hosts"},
    {"refresh_retry_window", BT_INTEGER, 0, check_refresh_retry_window, "retry_window"},
    {"drift_mode", BT_STRING, 0, admin_check_drift_mode, "drift"},
    {"drift_window_days", BT_INTEGER, 0, admin_check_drift_window, "drift_window"},
    {"drift_webhook_url", BT_STRING | BT_NULL, 0, admin_check_drift_webhook, "drift_webhook"},
    {"id", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"slug", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"issuer", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"approval_webhook_secret_set", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"updated_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec TENANT_PATCH_BODY = BODY_SPEC(TENANT_PATCH_MEMBERS);

void admin_tenant_create(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    if (!who->root) {
        admin_problem(r, 404, "no such endpoint");
        return;
    }
    json_t *b = admin_read_body(r, &TENANT_CREATE_BODY);
    if (!b)
        return;
    const char *slug = json_string_value(json_object_get(b, "slug"));
    const char *dn = json_string_value(json_object_get(b, "display_name"));
    char id[40], err[512];
    int rc = store_tenant_create(r->tx.conn, slug, dn ? dn : slug, id, err, sizeof err);
    if (rc == 1) {
        admin_problem(r, 409, "slug: a tenant with this slug exists already");
    } else if (rc < 0) {
        if (PQstatus(r->tx.conn) != CONNECTION_OK)
            r->tx.down = true;
        else
            admin_problem(r, 500, "the tenant could not be created");
    } else {
        admin_audit_change(r, id, who, "tenant.create", slug);
        db_audit_flush(&r->tx);
        r->params[0] = arena_strdup(r->arena, slug);
        r->nparams = 1;
        req_tenant(r);
        if (r->tenant)
            admin_answer_json(r, 201, tenant_json(r->tenant));
    }
    json_decref(b);
}

void admin_tenant_get(struct req *r, const struct admin_call *c)
{
    admin_answer_json(r, 200, tenant_json(c->t));
}

void admin_tenant_patch(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    /* validate everything before changing anything */
    json_t *b = admin_read_body(r, &TENANT_PATCH_BODY);
    if (!b)
        return;
    const char *key;
    json_t *v;
    if (db_begin(&r->tx) < 0) {
        json_decref(b);
        return;
    }
    bool rotate = false;
    json_object_foreach(b, key, v)
    {
        char num[32];
        const char *val = NULL;
        if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            val = num;
        } else if (json_is_string(v)) {
            val = json_string_value(v);
        }
        const char *value = val;
        int mcp = admin_tenant_mcp_setting(r, t->id, key, v); /* SPEC §11 */
        if (mcp < 0) {
            admin_tx_refused(r, &TENANT_PATCH_BODY, key);
            json_decref(b);
            return;
        }
        if (mcp > 0)
            continue;
        if (!strncmp(key, "drift_", 6)) { /* SPEC §12 (admin/tools.c) */
            if (admin_drift_member(r, t, key, val) < 0) {
                admin_tx_refused(r, &TENANT_PATCH_BODY, key);
                json_decref(b);
                return;
            }
            continue;
        }
        if (!strcmp(key, "approval_webhook_secret") && val) {
            /* authz signs with it later, so it cannot be hashed: sealed
             * under the tenant's key, like the signing keys */
            char *sealed = crypto_seal_text(g_master_key, t->id, "approval_webhook_secret", val);
            if (!sealed) {
                db_rollback(&r->tx);
                admin_problem(r, 500, "sealing the webhook secret failed");
                json_decref(b);
                return;
            }
            value = arena_strdup(r->arena, sealed);
            free(sealed);
        } else if (!strcmp(key, "signing_alg")) {
            rotate = strcmp(val, t->signing_alg) != 0;
        }
        if (store_tenant_set(&r->tx, t->id, key, value) != 0) {
            admin_tx_refused(r, &TENANT_PATCH_BODY, key);
            json_decref(b);
            return;
        }
        if (!strcmp(key, "access_token_ttl") && store_tenant_key_ttl_at_least(&r->tx, t->id, val) < 0) {
            db_rollback(&r->tx);
            json_decref(b);
            return;
        }
    }
    if (rotate) {
        char kid[64], err[256];
        const char *alg = json_string_value(json_object_get(b, "signing_alg"));
        if (store_key_rotate(r->tx.conn, t->id, alg, kid, err, sizeof err) < 0) {
            db_rollback(&r->tx);
            admin_problem(r, 500, "key rotation failed");
            json_decref(b);
            return;
        }
    }
    admin_audit_change(r, t->id, who, "tenant.update", t->slug);
    json_decref(b);
    if (!admin_tx_commit(r, t->id))
        return;
    /* answer with the fresh settings */
    char *slug = arena_strdup(r->arena, t->slug);
    tenant_release(r->tenant);
    r->tenant = NULL;
    r->params[0] = slug;
    req_tenant(r);
    if (r->tenant)
        admin_answer_json(r, 200, tenant_json(r->tenant));
}

