/*
 * admin.c: the tenant admin API (SPEC §7) under /admin/v1. JSON in, JSON
 * out, RFC 9457 problem details for errors. A caller is either the operator
 * (root token from `authzctl root-token`) or holds an access token of tenant
 * T with scope admin, which reaches tenant T only: anything else answers 404,
 * so a tenant admin cannot even learn which other tenants exist. Every change
 * writes its admin.changed audit row in the same transaction.
 *
 * Each call that takes a body names its members in a table (admin/body.h)
 * next to its handler; anything else in the body is refused before a row is
 * touched, and so is any body on a call that takes none.
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "admin/mcp_settings.h"
#include "oauth/register.h"
#include "http/routes.h"
#include "oauth/oauth.h"
#include "policy/scope.h"
#include "policy/uri.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "util/text.h"
#include "storage/grants.h"
#include "web/web.h"
#include "storage/store.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "cache.h"
#include "config.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* ---------------------------------------------------------------- */
/* small helpers                                                     */

void admin_problem(struct req *r, int status, const char *detail)
{
    resp_problem(r, status, NULL, detail);
}

void admin_answer_json(struct req *r, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    resp_json(r, status, s);
    resp_header(r, "Cache-Control", "no-store");
}

/* A JSON array of strings, each checked by ok(), as a PostgreSQL text[]
 * literal in the arena. NULL (with a 400 set) when invalid. */
static const char *pg_str_array(struct req *r, json_t *v, const char *field,
                                bool (*ok)(const char *), size_t maxlen)
{
    if (!json_is_array(v)) {
        admin_problem(r, 400, arena_sprintf(r->arena, "%s must be an array of strings", field));
        return NULL;
    }
    if (json_array_size(v) > AUTHZ_ADMIN_ARRAY_MAX) {
        admin_problem(r, 400, arena_sprintf(r->arena, "%s has too many entries", field));
        return NULL;
    }
    struct strbuf sb;
    sb_init(&sb);
    sb_putc(&sb, '{');
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (!s || !*s || strlen(s) > maxlen || (ok && !ok(s))) {
            sb_free(&sb);
            admin_problem(r, 400, arena_sprintf(r->arena, "%s[%zu] is not valid", field, i));
            return NULL;
        }
        if (i)
            sb_putc(&sb, ',');
        pgarray_append_elem(&sb, s);
    }
    sb_putc(&sb, '}');
    char *out = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
    return out;
}

static bool ok_resource(const char *s) { return resource_uri_valid(s); }

static bool str_array_has(const json_t *arr, const char *s);

/* can_act_for: usernames, counted in characters as everywhere, or "*" */
static bool ok_act_for(const char *s) { return text_printable_chars(s, AUTHZ_USERNAME_MAX); }

/* RFC 8252 / RFC 9700 §2.1: https, or http on a loopback host (policy/uri.h) */
static bool ok_redirect(const char *s) { return uri_endpoint_ok(s); }

static bool ok_grant(const char *s)
{
    static const char *g[] = {"authorization_code", "refresh_token", "client_credentials",
                              "urn:ietf:params:oauth:grant-type:token-exchange",
                              "urn:openid:params:grant-type:ciba",
                              "urn:ietf:params:oauth:grant-type:jwt-bearer"};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        if (!strcmp(s, g[i]))
            return true;
    return false;
}

static bool ok_response_type(const char *s) { return !strcmp(s, "code"); }

void admin_audit_change(struct req *r, const char *tenant_id, const struct caller *who,
                         const char *action, const char *target)
{
    struct audit_event *e = audit_add(r, "admin.changed", true);
    e->tenant_id = tenant_id;
    e->client_id = who->root ? NULL : who->who;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"action\":");
    sb_json_str(&sb, action);
    sb_puts(&sb, ",\"by\":");
    sb_json_str(&sb, who->root ? "root" : who->who);
    if (target) {
        sb_puts(&sb, ",\"target\":");
        sb_json_str(&sb, target);
    }
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
}

/* Writes the audit rows and commits the open transaction; drops the
 * tenant's cached data on this node at once (NOTIFY does the others). */
bool admin_tx_commit(struct req *r, const char *tenant_id)
{
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx); /* drops the audit rows of the change that did not happen */
        if (!r->tx.down)
            admin_problem(r, 500, "the change could not be committed");
        return false;
    }
    if (tenant_id)
        cache_invalidate_tenant(tenant_id);
    return true;
}

/* ---------------------------------------------------------------- */
/* authentication of the caller                                      */

static bool authenticate(struct req *r, struct caller *who)
{
    const char *h = req_header(r, "authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        admin_problem(r, 401, "a Bearer token is required");
        resp_header(r, "WWW-Authenticate", "Bearer realm=\"authz-admin\"");
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    memset(who, 0, sizeof *who);
    if (!strncmp(tok, "azr_", 4)) {
        int ok = store_root_token_check(&r->tx, tok);
        if (ok == 1) {
            who->root = true;
            return true;
        }
        if (ok < 0)
            return false;
    } else {
        char *slug = access_token_tenant_slug(r, tok);
        struct tenant *t = NULL;
        if (slug)
            cache_tenant(&r->tx, r->can_block, slug, &t);
        if (r->tx.down)
            return false;
        if (t) {
            const char *why = NULL;
            (void)why;
            /* active: signature, expiry, and not revoked */
            json_t *claims = access_token_active(t, tok);
            bool ok = false;
            if (claims) {
                const char *aud = json_string_value(json_object_get(claims, "aud"));
                const char *scope = json_string_value(json_object_get(claims, "scope"));
                const char *cid = json_string_value(json_object_get(claims, "client_id"));
                const char *sub = json_string_value(json_object_get(claims, "sub"));
                struct scopeset ss;
                /* an admin token is a client acting as itself (client
                 * credentials: sub = client_id, no actor) for the issuer */
                if (aud && !strcmp(aud, t->issuer) && scope &&
                    scope_parse(r->arena, scope, &ss) == 0 && scope_has(&ss, "admin") && cid &&
                    sub && !strcmp(sub, cid) && !json_object_get(claims, "act")) {
                    ok = true;
                    who->tenant_slug = arena_strdup(r->arena, t->slug);
                    who->who = arena_strdup(r->arena, cid);
                } else {
                    /* an active token of tenant T that is not an admin
                     * token: outside T the answer is 404 (nothing outside
                     * one's tenant is visible), inside T 403 */
                    who->tenant_slug = arena_strdup(r->arena, t->slug);
                    who->not_admin = true;
                    ok = true;
                }
                json_decref(claims);
            }
            tenant_release(t);
            if (ok)
                return true;
        }
    }
    admin_problem(r, 401, "the token is not valid for the admin API");
    resp_header(r, "WWW-Authenticate", "Bearer realm=\"authz-admin\", error=\"invalid_token\"");
    return false;
}

/* Loads the tenant named in the path if the caller may reach it. */
static struct tenant *reach_tenant(struct req *r, const struct caller *who, const char *slug)
{
    if (!who->root && strcmp(who->tenant_slug, slug) != 0) {
        admin_problem(r, 404, "no such tenant");
        return NULL;
    }
    if (who->not_admin) {
        admin_problem(r, 403, "the token does not carry the admin scope of a client acting as itself");
        resp_header(r, "WWW-Authenticate",
                    "Bearer realm=\"authz-admin\", error=\"insufficient_scope\", scope=\"admin\"");
        return NULL;
    }
    r->params[0] = slug;
    r->nparams = 1;
    r->log_tenant = slug;
    req_tenant(r);
    return r->tenant;
}

/* ---------------------------------------------------------------- */
/* tenants                                                           */

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
    if (j)
        admin_tenant_mcp_json(t, j);
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
    {"id", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"slug", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"issuer", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"approval_webhook_secret_set", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"updated_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec TENANT_PATCH_BODY = BODY_SPEC(TENANT_PATCH_MEMBERS);

static void tenant_create(struct req *r, const struct caller *who)
{
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

static void tenant_patch(struct req *r, const struct caller *who, struct tenant *t)
{
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
        const char *p[2] = {t->id, val};
        const char *sql = NULL;
        int mcp = admin_tenant_mcp_setting(r, t->id, key, v);
        if (mcp < 0) {
            admin_tx_refused(r, &TENANT_PATCH_BODY, key);
            json_decref(b);
            return;
        }
        if (mcp > 0)
            continue;
        if (!strcmp(key, "registration_policy"))
            sql = "UPDATE tenants SET registration_policy = $2, updated_at = now() WHERE id = $1";
        else if (!strcmp(key, "access_token_ttl"))
            sql = "UPDATE tenants SET access_token_ttl = $2::int, updated_at = now() WHERE id = $1";
        else if (!strcmp(key, "max_session_ttl"))
            sql = "UPDATE tenants SET max_session_ttl = $2::int, updated_at = now() WHERE id = $1";
        else if (!strcmp(key, "approval_webhook_url"))
            sql = "UPDATE tenants SET approval_webhook_url = $2, updated_at = now() WHERE id = $1";
        else if (!strcmp(key, "approval_webhook_secret")) {
            /* authz signs with it later, so it cannot be hashed: sealed
             * under the tenant's key, like the signing keys */
            if (val) {
                char *sealed = crypto_seal_text(g_master_key, t->id, "approval_webhook_secret", val);
                if (!sealed) {
                    db_rollback(&r->tx);
                    admin_problem(r, 500, "sealing the webhook secret failed");
                    json_decref(b);
                    return;
                }
                p[1] = arena_strdup(r->arena, sealed);
                free(sealed);
            }
            sql = "UPDATE tenants SET approval_webhook_secret = $2, updated_at = now() WHERE id = $1";
        }
        else if (!strcmp(key, "display_name"))
            sql = "UPDATE tenants SET display_name = $2, updated_at = now() WHERE id = $1";
        else if (!strcmp(key, "signing_alg")) {
            sql = "UPDATE tenants SET signing_alg = $2, updated_at = now() WHERE id = $1";
            rotate = strcmp(val, t->signing_alg) != 0;
        }
        if (!db_q(&r->tx, sql, 2, p)) {
            admin_tx_refused(r, &TENANT_PATCH_BODY, key);
            json_decref(b);
            return;
        }
        if (!strcmp(key, "access_token_ttl") &&
            !db_q(&r->tx,
                  "UPDATE signing_keys SET max_token_ttl = GREATEST(max_token_ttl, $2::int) "
                  "WHERE tenant_id = $1 AND active",
                  2, p)) {
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

static void keys_rotate(struct req *r, const struct caller *who, struct tenant *t)
{
    char kid[64], err[256];
    if (!admin_no_body(r) || db_begin(&r->tx) < 0)
        return;
    if (store_key_rotate(r->tx.conn, t->id, t->signing_alg, kid, err, sizeof err) < 0) {
        db_rollback(&r->tx);
        if (PQstatus(r->tx.conn) != CONNECTION_OK)
            r->tx.down = true;
        else
            admin_problem(r, 500, "key rotation failed");
        return;
    }
    admin_audit_change(r, t->id, who, "keys.rotate", kid);
    if (!admin_tx_commit(r, t->id))
        return;
    admin_answer_json(r, 201, json_pack("{s:s, s:s}", "kid", kid, "alg", t->signing_alg));
}

/* ---------------------------------------------------------------- */
/* resources                                                         */

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
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec RESOURCE_BODY = BODY_SPEC(RESOURCE_MEMBERS);

static void resource_create(struct req *r, const struct caller *who, struct tenant *t)
{
    json_t *b = admin_read_body(r, &RESOURCE_BODY);
    if (!b)
        return;
    const char *uri = json_string_value(json_object_get(b, "uri"));
    json_t *sc = json_object_get(b, "scopes");
    const char *scopes = "{}";
    if (sc && !(scopes = pg_str_array(r, sc, "scopes", scope_token_valid, AUTHZ_SCOPE_TOKEN_MAX))) {
        json_decref(b);
        return;
    }
    /* scope_descriptions describe scopes of this resource */
    json_t *sd = json_object_get(b, "scope_descriptions");
    const char *sdk;
    json_t *sdv;
    json_object_foreach(sd, sdk, sdv)
    {
        if (!str_array_has(sc, sdk)) {
            admin_problem(r, 400, arena_sprintf(r->arena, "scope_descriptions: %.200s is not one "
                                                          "of this resource's scopes", sdk));
            json_decref(b);
            return;
        }
    }
    char *sd_text = sd ? json_dumps(sd, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *descriptions = sd_text ? arena_strdup(r->arena, sd_text) : "{}";
    free(sd_text);
    if (db_begin(&r->tx) < 0) {
        json_decref(b);
        return;
    }
    const char *p[4] = {t->id, uri, scopes, descriptions};
    PGresult *res = db_q(&r->tx,
                         "INSERT INTO resources (tenant_id, uri, scopes, scope_descriptions) "
                         "VALUES ($1, $2, $3::text[], $4::jsonb) "
                         "ON CONFLICT (tenant_id, uri) DO NOTHING RETURNING " SQL_TS("created_at"),
                         4, p);
    if (!res) {
        admin_tx_refused(r, &RESOURCE_BODY, "uri");
        json_decref(b);
        return;
    }
    if (PQntuples(res) == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 409, "uri: this resource exists already");
        json_decref(b);
        return;
    }
    char *created = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
    admin_audit_change(r, t->id, who, "resource.create", uri);
    if (admin_tx_commit(r, t->id)) {
        json_t *out = json_pack("{s:s, s:o, s:o, s:s}", "uri", uri, "scopes",
                                sc ? json_incref(sc) : json_array(), "scope_descriptions",
                                sd ? json_incref(sd) : json_object(), "created_at", created);
        admin_answer_json(r, 201, out);
    }
    json_decref(b);
}

static void resource_list(struct req *r, struct tenant *t)
{
    const char *p[1] = {t->id};
    PGresult *res = db_q(&r->tx,
                         "SELECT coalesce(json_agg(json_build_object('uri', uri, 'scopes', scopes, "
                         "'scope_descriptions', scope_descriptions, "
                         "'created_at', " SQL_TS("created_at") ") ORDER BY uri), '[]')::text "
                         "FROM resources WHERE tenant_id = $1",
                         1, p);
    if (!res)
        return;
    resp_json(r, 200, arena_sprintf(r->arena, "{\"resources\":%s}", PQgetvalue(res, 0, 0)) ?
                          strdup(arena_sprintf(r->arena, "{\"resources\":%s}", PQgetvalue(res, 0, 0)))
                          : NULL);
}

static void resource_delete(struct req *r, const struct caller *who, struct tenant *t)
{
    const char *uri = req_query_param(r, "uri");
    if (!uri) {
        admin_problem(r, 400, "the uri query parameter names the resource to delete");
        return;
    }
    if (db_begin(&r->tx) < 0)
        return;
    const char *p[2] = {t->id, uri};
    PGresult *res = db_q(&r->tx, "DELETE FROM resources WHERE tenant_id = $1 AND uri = $2 RETURNING 1", 2, p);
    if (!res) {
        db_rollback(&r->tx);
        return;
    }
    if (PQntuples(res) == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such resource");
        return;
    }
    admin_audit_change(r, t->id, who, "resource.delete", uri);
    if (admin_tx_commit(r, t->id))
        resp_set(r, 204, NULL, NULL, 0);
}

/* ---------------------------------------------------------------- */
/* clients                                                           */

#define CLIENT_COLS                                                                                \
    "client_id, client_name, token_endpoint_auth_method, grant_types, response_types, "           \
    "redirect_uris, allowed_scopes, allowed_resources, can_act_for, introspects, "                \
    "may_impersonate, jwks, jwks_uri, dynamic, " SQL_TS("created_at") ", " SQL_TS("updated_at")

static const char *CLIENT_JSON_SQL =
    "SELECT json_build_object('client_id', client_id, 'client_name', client_name, "
    "'token_endpoint_auth_method', token_endpoint_auth_method, 'grant_types', grant_types, "
    "'response_types', response_types, 'redirect_uris', redirect_uris, 'allowed_scopes', "
    "allowed_scopes, 'allowed_resources', allowed_resources, 'can_act_for', can_act_for, "
    "'introspects', introspects, 'may_impersonate', may_impersonate, 'jwks', jwks, 'jwks_uri', "
    "jwks_uri, 'dynamic', dynamic, 'client_id_issued_at', extract(epoch from created_at)::bigint, "
    "'backchannel_token_delivery_mode', backchannel_token_delivery_mode, "
    "'backchannel_client_notification_endpoint', backchannel_client_notification_endpoint, "
    "'created_at', " SQL_TS("created_at") ", 'updated_at', " SQL_TS("updated_at") ")::text "
    "FROM clients WHERE tenant_id = $1 AND client_id = $2";

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

static bool has_elem(json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (json_is_string(e) && !strcmp(json_string_value(e), s)) return true;
    return false;
}

/* Checks a whole client document (RFC 7591 metadata + authz fields). */
static bool client_validate(struct req *r, struct tenant *t, json_t *b, struct client_fields *f)
{
    memset(f, 0, sizeof *f);
    json_t *v;
    if ((v = json_object_get(b, "client_name")) && !json_is_null(v)) {
        const char *s = json_string_value(v);
        if (!text_printable(s, AUTHZ_CLIENT_TEXT_MAX)) {
            admin_problem(r, 400, "invalid_client_metadata: client_name");
            return false;
        }
        f->client_name = s;
    }
    f->method = "client_secret_basic";
    if ((v = json_object_get(b, "token_endpoint_auth_method"))) {
        const char *s = json_string_value(v);
        if (!s || (strcmp(s, "client_secret_basic") && strcmp(s, "client_secret_post") &&
                   strcmp(s, "private_key_jwt") && strcmp(s, "none"))) {
            admin_problem(r, 400, "invalid_client_metadata: token_endpoint_auth_method");
            return false;
        }
        f->method = s;
    }
    json_t *gt = json_object_get(b, "grant_types");
    json_t *default_gt = NULL;
    if (!gt)
        gt = default_gt = json_pack("[s]", "authorization_code");
    if (!(f->grant_types = pg_str_array(r, gt, "grant_types", ok_grant, 100))) {
        json_decref(default_gt);
        return false;
    }
    bool code = has_elem(gt, "authorization_code");
    if (!strcmp(f->method, "none") &&
        (has_elem(gt, "client_credentials") ||
         has_elem(gt, "urn:ietf:params:oauth:grant-type:token-exchange") ||
         has_elem(gt, "urn:openid:params:grant-type:ciba") ||
         has_elem(gt, "urn:ietf:params:oauth:grant-type:jwt-bearer"))) {
        json_decref(default_gt);
        admin_problem(r, 400, "invalid_client_metadata: a public client may use only the "
                        "authorization_code and refresh_token grants");
        return false;
    }
    json_decref(default_gt);
    json_t *rt = json_object_get(b, "response_types");
    if (rt) {
        if (!(f->response_types = pg_str_array(r, rt, "response_types", ok_response_type, 10)))
            return false;
    } else {
        f->response_types = code ? "{code}" : "{}";
    }
    json_t *ru = json_object_get(b, "redirect_uris");
    if (ru) {
        if (!(f->redirect_uris = pg_str_array(r, ru, "redirect_uris", ok_redirect, AUTHZ_URI_MAX))) {
            resp_reset(r);
            admin_problem(r, 400, "invalid_redirect_uri: redirect URIs must be https, or http on a "
                            "loopback host, without a fragment");
            return false;
        }
    } else {
        f->redirect_uris = "{}";
    }
    if (code && (!ru || json_array_size(ru) == 0)) {
        admin_problem(r, 400, "invalid_redirect_uri: the authorization_code grant needs redirect_uris");
        return false;
    }
    struct {
        const char *name;
        const char **dst;
        bool (*ok)(const char *);
        size_t max;
    } lists[] = {
        {"allowed_scopes", &f->allowed_scopes, scope_token_valid, AUTHZ_SCOPE_TOKEN_MAX},
        {"allowed_resources", &f->allowed_resources, ok_resource, AUTHZ_URI_MAX},
        {"can_act_for", &f->can_act_for, ok_act_for, SIZE_MAX},
        {"introspects", &f->introspects, ok_resource, AUTHZ_URI_MAX},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        json_t *l = json_object_get(b, lists[i].name);
        if (!l) {
            *lists[i].dst = "{}";
            continue;
        }
        if (!(*lists[i].dst = pg_str_array(r, l, lists[i].name, lists[i].ok, lists[i].max)))
            return false;
        if (!strcmp(lists[i].name, "allowed_resources") || !strcmp(lists[i].name, "introspects")) {
            size_t k;
            json_t *e;
            json_array_foreach(l, k, e) if (!tenant_resource(t, json_string_value(e)))
            {
                admin_problem(r, 400, arena_sprintf(r->arena, "%s: %s is not a resource of this tenant",
                                              lists[i].name, json_string_value(e)));
                return false;
            }
        }
    }
    v = json_object_get(b, "may_impersonate");
    if (v && !json_is_boolean(v)) {
        admin_problem(r, 400, "may_impersonate must be a boolean");
        return false;
    }
    f->may_impersonate = json_is_true(v) ? "true" : "false";
    v = json_object_get(b, "jwks");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v) || !json_is_array(json_object_get(v, "keys"))) {
            admin_problem(r, 400, "invalid_client_metadata: jwks must be a JWK Set");
            return false;
        }
        char *s = json_dumps(v, JSON_COMPACT);
        f->jwks = arena_strdup(r->arena, s);
        free(s);
    }
    v = json_object_get(b, "jwks_uri");
    if (v && !json_is_null(v)) {
        const char *s = json_string_value(v);
        if (!s || !uri_endpoint_ok(s)) {
            admin_problem(r, 400, "invalid_client_metadata: jwks_uri must be https (or http on loopback)");
            return false;
        }
        f->jwks_uri = s;
    }
    if (f->jwks && f->jwks_uri) {
        admin_problem(r, 400, "invalid_client_metadata: jwks and jwks_uri are mutually exclusive");
        return false;
    }
    /* OpenID CIBA Core §4: token delivery mode and ping endpoint */
    f->bc_delivery = "poll";
    v = json_object_get(b, "backchannel_token_delivery_mode");
    if (v && !json_is_null(v)) {
        const char *s = json_string_value(v);
        if (!s || (strcmp(s, "poll") && strcmp(s, "ping"))) {
            admin_problem(r, 400, "invalid_client_metadata: backchannel_token_delivery_mode must be poll or ping");
            return false;
        }
        f->bc_delivery = s;
    }
    v = json_object_get(b, "backchannel_client_notification_endpoint");
    if (v && !json_is_null(v)) {
        const char *s = json_string_value(v);
        if (!s || !uri_endpoint_ok(s)) {
            admin_problem(r, 400, "invalid_client_metadata: backchannel_client_notification_endpoint "
                                  "must be https (or http on loopback)");
            return false;
        }
        f->bc_endpoint = s;
    }
    if (!strcmp(f->bc_delivery, "ping") && !f->bc_endpoint) {
        admin_problem(r, 400, "invalid_client_metadata: ping mode needs "
                              "backchannel_client_notification_endpoint");
        return false;
    }
    /* private_key_jwt without keys of its own: a secretless agent, which
     * authenticates only with workload identity JWTs that a trust policy
     * (use actor, maps_to_client) maps to it (SPEC §11) */
    return true;
}

static bool secret_method(const char *m)
{
    return !strcmp(m, "client_secret_basic") || !strcmp(m, "client_secret_post");
}

static void client_answer(struct req *r, struct tenant *t, const char *client_id, int status,
                          const char *secret)
{
    const char *p[2] = {t->id, client_id};
    PGresult *res = db_q(&r->tx, CLIENT_JSON_SQL, 2, p);
    if (!res)
        return;
    if (PQntuples(res) == 0) {
        admin_problem(r, 404, "no such client");
        return;
    }
    json_error_t je;
    json_t *j = json_loads(PQgetvalue(res, 0, 0), 0, &je);
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

static void client_create(struct req *r, const struct caller *who, struct tenant *t)
{
    json_t *b = admin_read_body(r, &CLIENT_BODY);
    if (!b)
        return;
    struct client_fields f;
    if (!client_validate(r, t, b, &f)) {
        json_decref(b);
        return;
    }
    char client_id[32], secret[48], hash[CRYPTO_SECRET_HASH_HEX + 1];
    crypto_random_id(client_id, 16);
    const char *hash_p = NULL;
    if (secret_method(f.method)) {
        crypto_random_id(secret, 32);
        crypto_secret_hash(g_secret_pepper, secret, strlen(secret), hash);
        hash_p = hash;
    }
    if (db_begin(&r->tx) < 0) {
        json_decref(b);
        return;
    }
    const char *p[17] = {t->id, client_id, hash_p, f.client_name, f.method, f.grant_types,
                         f.response_types, f.redirect_uris, f.allowed_scopes, f.allowed_resources,
                         f.can_act_for, f.introspects, f.may_impersonate, f.jwks, f.jwks_uri,
                         f.bc_delivery, f.bc_endpoint};
    if (!db_q(&r->tx,
              "INSERT INTO clients (tenant_id, client_id, secret_hash, client_name, "
              "token_endpoint_auth_method, grant_types, response_types, redirect_uris, "
              "allowed_scopes, allowed_resources, can_act_for, introspects, may_impersonate, jwks, "
              "jwks_uri, backchannel_token_delivery_mode, backchannel_client_notification_endpoint) "
              "VALUES ($1, $2, $3, $4, $5, $6::text[], $7::text[], $8::text[], "
              "$9::text[], $10::text[], $11::text[], $12::text[], $13::boolean, $14::jsonb, $15, "
              "$16, $17)",
              17, p)) {
        admin_tx_refused(r, &CLIENT_BODY, NULL);
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

static bool str_array_has(const json_t *arr, const char *s)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) if (json_is_string(e) && !strcmp(json_string_value(e), s)) return true;
    return false;
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
    json_array_foreach(was, i, e) if (!str_array_has(now, json_string_value(e))) return true;
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
        if (entry && !str_array_has(json_object_get(now, "can_act_for"), entry) &&
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

static void client_patch(struct req *r, const struct caller *who, struct tenant *t,
                         const char *client_id)
{
    json_t *b = admin_read_body(r, &CLIENT_BODY);
    if (!b)
        return;
    const char *p[2] = {t->id, client_id};
    PGresult *res = db_q(&r->tx, CLIENT_JSON_SQL, 2, p);
    if (!res) {
        json_decref(b);
        return;
    }
    if (PQntuples(res) == 0) {
        admin_problem(r, 404, "no such client");
        json_decref(b);
        return;
    }
    json_error_t je;
    json_t *cur = json_loads(PQgetvalue(res, 0, 0), 0, &je);
    const char *old_method =
        arena_strdup(r->arena, json_string_value(json_object_get(cur, "token_endpoint_auth_method")));
    json_t *before = json_deep_copy(cur);
    arena_defer(r->arena, json_release, before);
    json_object_update(cur, b);
    json_decref(b);
    struct client_fields f;
    if (!client_validate(r, t, cur, &f)) {
        json_decref(cur);
        return;
    }
    char secret[48], hash[CRYPTO_SECRET_HASH_HEX + 1];
    bool new_secret = secret_method(f.method) && !secret_method(old_method);
    if (new_secret) {
        crypto_random_id(secret, 32);
        crypto_secret_hash(g_secret_pepper, secret, strlen(secret), hash);
    }
    if (db_begin(&r->tx) < 0) {
        json_decref(cur);
        return;
    }
    const char *q[18] = {t->id, client_id, f.client_name, f.method, f.grant_types,
                         f.response_types, f.redirect_uris, f.allowed_scopes, f.allowed_resources,
                         f.can_act_for, f.introspects, f.may_impersonate, f.jwks, f.jwks_uri,
                         new_secret ? hash : NULL, secret_method(f.method) ? "keep" : "drop",
                         f.bc_delivery, f.bc_endpoint};
    if (!db_q(&r->tx,
              "UPDATE clients SET client_name = $3, token_endpoint_auth_method = $4, "
              "grant_types = $5::text[], response_types = $6::text[], redirect_uris = $7::text[], "
              "allowed_scopes = $8::text[], allowed_resources = $9::text[], "
              "can_act_for = $10::text[], introspects = $11::text[], may_impersonate = $12::boolean, "
              "jwks = $13::jsonb, jwks_uri = $14, "
              "secret_hash = CASE WHEN $16 = 'drop' THEN NULL ELSE coalesce($15, secret_hash) END, "
              "backchannel_token_delivery_mode = $17, backchannel_client_notification_endpoint = $18, "
              "updated_at = now() WHERE tenant_id = $1 AND client_id = $2",
              18, q)) {
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
    admin_audit_change(r, t->id, who, "client.update", client_id);
    if (!admin_tx_commit(r, t->id))
        return;
    client_answer(r, t, client_id, 200, new_secret ? secret : NULL);
}

static void client_delete(struct req *r, const struct caller *who, struct tenant *t,
                          const char *client_id)
{
    if (db_begin(&r->tx) < 0)
        return;
    const char *p[2] = {t->id, client_id};
    PGresult *res = db_q(&r->tx, "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2 RETURNING 1",
                         2, p);
    if (!res) {
        db_rollback(&r->tx);
        return;
    }
    if (PQntuples(res) == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such client");
        return;
    }
    /* SPEC §5: "Deleting a client ... ends its tokens at once (an admin token
     * of a deleted client is refused by the admin API)" */
    if (revocation_record(&r->tx, t->id, REV_CLIENT, client_id, revocation_horizon()) < 0) {
        db_rollback(&r->tx);
        return;
    }
    admin_audit_change(r, t->id, who, "client.delete", client_id);
    if (admin_tx_commit(r, t->id))
        resp_set(r, 204, NULL, NULL, 0);
}

static void client_list(struct req *r, struct tenant *t)
{
    const char *p[1] = {t->id};
    PGresult *res = db_q(&r->tx,
                         "SELECT coalesce(json_agg(json_build_object('client_id', client_id, "
                         "'client_name', client_name, 'token_endpoint_auth_method', "
                         "token_endpoint_auth_method, 'grant_types', grant_types, 'dynamic', "
                         "dynamic) ORDER BY created_at), '[]')::text FROM clients WHERE tenant_id = $1",
                         1, p);
    if (!res)
        return;
    resp_json(r, 200, strdup(arena_sprintf(r->arena, "{\"clients\":%s}", PQgetvalue(res, 0, 0))));
}

/* ---------------------------------------------------------------- */
/* users                                                             */

static const char *USER_JSON_SQL =
    "SELECT json_build_object('id', id, 'username', username, 'scopes', scopes, 'created_at', "
    SQL_TS("created_at") ", 'updated_at', " SQL_TS("updated_at") ")::text FROM users "
    "WHERE tenant_id = $1 AND username = $2";

/* The Argon2id hash of pw at the configured cost (crypto/password.c), in
 * the request's arena. */
static char *hash_password(struct req *r, const char *pw)
{
    struct password_cost cost = password_cost_configured();
    char *enc = password_hash(&cost, pw);
    arena_defer(r->arena, free, enc);
    return enc;
}

static void user_answer(struct req *r, struct tenant *t, const char *username, int status)
{
    const char *p[2] = {t->id, username};
    PGresult *res = db_q(&r->tx, USER_JSON_SQL, 2, p);
    if (!res)
        return;
    if (PQntuples(res) == 0) {
        admin_problem(r, 404, "no such user");
        return;
    }
    resp_json(r, status, strdup(PQgetvalue(res, 0, 0)));
    resp_header(r, "Cache-Control", "no-store");
}

static const char *check_username(json_t *v)
{
    const char *s = json_string_value(v);
    return text_printable_chars(s, AUTHZ_USERNAME_MAX) && !strchr(s, '/')
               ? NULL
               : "must be 1 to 200 printable characters without '/'";
}

static const char *check_password(json_t *v)
{
    size_t n = utf8_chars(json_string_value(v));
    return n >= 8 && n <= 1024 ? NULL : "must be 8 to 1024 characters";
}

/* POST .../users: a person (SPEC §7); scopes as in SPEC §3, an array */
static const struct body_member USER_CREATE_MEMBERS[] = {
    {"username", BT_STRING, BM_REQUIRED, check_username, "user name login"},
    {"password", BT_STRING, BM_REQUIRED, check_password, "pass passwd"},
    {"scopes", BT_ARRAY, 0, NULL, "scope"},
    {"id", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"updated_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec USER_CREATE_BODY = BODY_SPEC(USER_CREATE_MEMBERS);

/* PATCH .../users/{username}: the same members, each optional */
static const struct body_member USER_PATCH_MEMBERS[] = {
    {"username", BT_STRING, 0, check_username, "user name login"},
    {"password", BT_STRING, 0, check_password, "pass passwd"},
    {"scopes", BT_ARRAY, 0, NULL, "scope"},
    {"id", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"updated_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec USER_PATCH_BODY = BODY_SPEC(USER_PATCH_MEMBERS);

static void user_create(struct req *r, const struct caller *who, struct tenant *t)
{
    json_t *b = admin_read_body(r, &USER_CREATE_BODY);
    if (!b)
        return;
    const char *username = json_string_value(json_object_get(b, "username"));
    const char *pw = json_string_value(json_object_get(b, "password"));
    json_t *sc = json_object_get(b, "scopes");
    const char *scopes = "{}";
    if (sc && !(scopes = pg_str_array(r, sc, "scopes", scope_token_valid, AUTHZ_SCOPE_TOKEN_MAX))) {
        /* answered */
    } else {
        char *hash = hash_password(r, pw);
        if (!hash) {
            admin_problem(r, 500, "password hashing failed");
        } else if (db_begin(&r->tx) == 0) {
            const char *p[4] = {t->id, username, hash, scopes};
            PGresult *res = db_q(&r->tx,
                                 "INSERT INTO users (tenant_id, username, password_hash, scopes) "
                                 "VALUES ($1, $2, $3, $4::text[]) ON CONFLICT (tenant_id, username) "
                                 "DO NOTHING RETURNING id",
                                 4, p);
            if (!res) {
                admin_tx_refused(r, &USER_CREATE_BODY, "username");
            } else if (PQntuples(res) == 0) {
                db_rollback(&r->tx);
                admin_problem(r, 409, "username: a user with this username exists already");
            } else {
                admin_audit_change(r, t->id, who, "user.create", PQgetvalue(res, 0, 0));
                if (admin_tx_commit(r, t->id))
                    user_answer(r, t, username, 201);
            }
        }
    }
    json_decref(b);
}

/* What a change to a person ends: a new password ends their browser
 * sign-ins (SPEC §5); fewer scopes end the access tokens they hold now (a
 * person with read-only rights stays read-only, also in tokens already
 * issued: refresh and exchange issue the narrower scope from then on).
 * 0 or -1. */
static int person_change_ends(struct req *r, const char *tenant_id, const char *user_id,
                              bool new_password, const char *old_scopes_pg, const char *new_scopes_pg)
{
    if (new_password && store_sessions_end_for_user(&r->tx, tenant_id, user_id) < 0)
        return -1;
    if (new_scopes_pg) {
        const char **was, **now;
        int nwas = pgarray_parse(r->arena, old_scopes_pg, &was);
        int nnow = pgarray_parse(r->arena, new_scopes_pg, &now);
        struct scopeset a = {was, nwas}, b = {now, nnow};
        if (!scope_subset(&a, &b) &&
            revocation_record(&r->tx, tenant_id, REV_USER, user_id, revocation_horizon()) < 0)
            return -1;
    }
    return 0;
}

static void user_patch(struct req *r, const struct caller *who, struct tenant *t, const char *username)
{
    json_t *b = admin_read_body(r, &USER_PATCH_BODY);
    if (!b)
        return;
    json_t *v;
    const char *nu = json_string_value(json_object_get(b, "username"));
    const char *hash = NULL, *scopes = NULL;
    if ((v = json_object_get(b, "scopes")) &&
        !(scopes = pg_str_array(r, v, "scopes", scope_token_valid, AUTHZ_SCOPE_TOKEN_MAX))) {
        json_decref(b);
        return;
    }
    if ((v = json_object_get(b, "password")) && !(hash = hash_password(r, json_string_value(v)))) {
        admin_problem(r, 500, "password hashing failed");
        json_decref(b);
        return;
    }
    if (nu)
        nu = arena_strdup(r->arena, nu);
    json_decref(b);
    if (db_begin(&r->tx) < 0)
        return;
    const char *p[5] = {t->id, username, nu, hash, scopes};
    PGresult *res = db_q(&r->tx,
                         "WITH old AS (SELECT id, scopes FROM users WHERE tenant_id = $1 AND "
                         "username = $2 FOR UPDATE) "
                         "UPDATE users u SET username = coalesce($3, u.username), "
                         "password_hash = coalesce($4, u.password_hash), "
                         "scopes = coalesce($5::text[], u.scopes), updated_at = now() "
                         "FROM old WHERE u.id = old.id RETURNING u.id, old.scopes::text",
                         5, p);
    if (!res) {
        admin_tx_refused(r, &USER_PATCH_BODY, "username");
        return;
    }
    if (PQntuples(res) == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such user");
        return;
    }
    const char *uid = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
    const char *old_scopes = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
    if (person_change_ends(r, t->id, uid, hash != NULL, old_scopes, scopes) < 0) {
        db_rollback(&r->tx);
        return;
    }
    admin_audit_change(r, t->id, who, "user.update", uid);
    if (admin_tx_commit(r, t->id))
        user_answer(r, t, nu ? nu : username, 200);
}

static void user_delete(struct req *r, const struct caller *who, struct tenant *t, const char *username)
{
    if (db_begin(&r->tx) < 0)
        return;
    const char *p[2] = {t->id, username};
    PGresult *res = db_q(&r->tx, "DELETE FROM users WHERE tenant_id = $1 AND username = $2 RETURNING id", 2, p);
    if (!res) {
        db_rollback(&r->tx);
        return;
    }
    if (PQntuples(res) == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such user");
        return;
    }
    /* SPEC §5: "Deleting or disabling a person ends every token, refresh
     * token, session and browser sign-in of that person": the rows go with
     * the person (ON DELETE CASCADE); the access tokens, which live only in
     * their bearers' hands, through a revocation every authzd holds */
    if (revocation_record(&r->tx, t->id, REV_USER, PQgetvalue(res, 0, 0), revocation_horizon()) < 0) {
        db_rollback(&r->tx);
        return;
    }
    admin_audit_change(r, t->id, who, "user.delete", PQgetvalue(res, 0, 0));
    if (admin_tx_commit(r, t->id))
        resp_set(r, 204, NULL, NULL, 0);
}

/* ---------------------------------------------------------------- */
/* routing                                                           */

/* Splits the path after /admin/v1/ into decoded segments. */
static int segments(struct req *r, const char *path, char **seg, int max)
{
    int n = 0;
    const char *p = path;
    while (*p) {
        if (*p == '/') {
            p++;
            continue;
        }
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (n == max)
            return -1;
        seg[n] = form_decode(r->arena, p, l);
        if (!seg[n] || !*seg[n])
            return -1;
        /* '+' is literal in paths */
        for (size_t i = 0, k = 0; i < l; i++, k++)
            if (p[i] == '+')
                seg[n][k] = '+';
            else if (p[i] == '%')
                i += 2;
        n++;
        p += l;
    }
    return n;
}

static void method_not_allowed(struct req *r, const char *allow)
{
    admin_problem(r, 405, "method not allowed here");
    resp_header(r, "Allow", allow);
}

enum hres h_admin(struct req *r)
{
    const char *prefix = "/admin/v1/";
    if (strncmp(r->path, prefix, strlen(prefix)) != 0) {
        admin_problem(r, 404, "no such endpoint");
        return H_DONE;
    }
    char *seg[8];
    int n = segments(r, r->path + strlen(prefix), seg, 8);
    if (n < 1 || strcmp(seg[0], "tenants") != 0) {
        admin_problem(r, 404, "no such endpoint");
        return H_DONE;
    }
    struct caller who;
    if (!authenticate(r, &who))
        return H_DONE;
    enum method m = r->method;
    if (n == 1) {
        if (who.not_admin)
            admin_problem(r, 404, "no such endpoint");
        else if (m == M_POST)
            tenant_create(r, &who);
        else if (!who.root)
            admin_problem(r, 404, "no such endpoint");
        else
            method_not_allowed(r, "POST");
        return H_DONE;
    }
    struct tenant *t = reach_tenant(r, &who, seg[1]);
    if (!t)
        return H_DONE;
    /* GET and DELETE take no body here (admin_no_body); the calls with a
     * body read it with their member table */
    if (n == 2) {
        if (m == M_GET) {
            if (admin_no_body(r))
                admin_answer_json(r, 200, tenant_json(t));
        } else if (m == M_PATCH) {
            tenant_patch(r, &who, t);
        } else {
            method_not_allowed(r, "GET, HEAD, PATCH");
        }
        return H_DONE;
    }
    const char *coll = seg[2];
    if (!strcmp(coll, "keys") && n == 4 && !strcmp(seg[3], "rotate")) {
        if (m == M_POST)
            keys_rotate(r, &who, t);
        else
            method_not_allowed(r, "POST");
    } else if (!strcmp(coll, "resources") && n == 3) {
        if (m == M_POST)
            resource_create(r, &who, t);
        else if (m == M_PATCH)
            admin_resource_patch(r, &who, t);
        else if (m != M_GET && m != M_DELETE)
            method_not_allowed(r, "GET, HEAD, POST, PATCH, DELETE");
        else if (!admin_no_body(r))
            return H_DONE;
        else if (m == M_GET)
            resource_list(r, t);
        else
            resource_delete(r, &who, t);
    } else if (!strcmp(coll, "clients") && n == 3) {
        if (m == M_POST)
            client_create(r, &who, t);
        else if (m != M_GET)
            method_not_allowed(r, "GET, HEAD, POST");
        else if (admin_no_body(r))
            client_list(r, t);
    } else if (!strcmp(coll, "clients") && n == 4) {
        if (m == M_PATCH)
            client_patch(r, &who, t, seg[3]);
        else if (m != M_GET && m != M_DELETE)
            method_not_allowed(r, "GET, HEAD, PATCH, DELETE");
        else if (!admin_no_body(r))
            return H_DONE;
        else if (m == M_GET)
            client_answer(r, t, seg[3], 200, NULL);
        else
            client_delete(r, &who, t, seg[3]);
    } else if (!strcmp(coll, "sessions") && n >= 3 && n <= 5) {
        admin_sessions(r, &who, t, n >= 4 ? seg[3] : NULL, n == 5 ? seg[4] : NULL);
    } else if (!strcmp(coll, "audit") && n == 3) {
        admin_audit(r, &who, t);
    } else if (!strcmp(coll, "consents") && n == 3) {
        admin_consents(r, &who, t);
    } else if (!strcmp(coll, "trust-policies") && (n == 3 || n == 4)) {
        admin_trust_policies(r, &who, t, n == 4 ? seg[3] : NULL);
    } else if (!strcmp(coll, "users") && n == 3) {
        if (m == M_POST)
            user_create(r, &who, t);
        else
            method_not_allowed(r, "POST");
    } else if (!strcmp(coll, "users") && n == 4) {
        if (m == M_PATCH)
            user_patch(r, &who, t, seg[3]);
        else if (m != M_GET && m != M_DELETE)
            method_not_allowed(r, "GET, HEAD, PATCH, DELETE");
        else if (!admin_no_body(r))
            return H_DONE;
        else if (m == M_GET)
            user_answer(r, t, seg[3], 200);
        else
            user_delete(r, &who, t, seg[3]);
    } else {
        admin_problem(r, 404, "no such endpoint");
    }
    return H_DONE;
}
