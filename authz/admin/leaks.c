/*
 * leaks.c: POST /admin/v1/leaks (SPEC §13). Whoever finds a credential
 * where it should not be (a secret scanner, a person) reports it, and authz
 * revokes it at once:
 *
 *   [{"token":"…","url":"where it was found","source":"who found it"}, …]
 *   -> 200 [{"token_type":"client_secret"|"refresh_token"|"root_token"|
 *            "access_token"|"initial_access_token"|"unknown",
 *            "label":"revoked"|"unknown"}, …] in the same order
 *
 * - a client secret: that secret stops working (its row is deleted) and the
 *   client's tokens issued until now end (a standing revocation of the
 *   client: authz does not record which secret a token was issued with, so
 *   every token the client holds ends, which covers those issued with it);
 * - a refresh token: its whole family (grant) is revoked;
 * - a root token: revoked (root callers only: it belongs to no tenant);
 * - an access token of a tenant: its jti is revoked until its exp;
 * - anything else, and anything outside the caller's tenant, is "unknown"
 *   and changes nothing.
 * Who may report: the operator (any tenant), a tenant administrator, or a
 * client acting as itself with scope leaks:report (its own tenant only).
 * Each item is a credential.leaked audit row with the url and source (and
 * never the credential). Recognised by prefix and checksum (crypto/cred.h)
 * or, for credentials made before those, by their keyed hash alone.
 */
#include "admin/admin.h"
#include "crypto/cred.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "oauth/oauth.h"
#include "storage/db.h"
#include "storage/grants.h"
#include "storage/lifecycle.h"
#include "storage/store.h"
#include "cache.h"
#include "revset.h"
#include "util/limits.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LEAK_TEXT_MAX 2000

static void json_release(void *p)
{
    json_decref(p);
}

struct item {
    const char *token, *url, *source;
};

/* The body: a JSON array of 1..AUTHZ_LEAK_ITEMS_MAX objects with a string
 * token and optional printable url and source; nothing else. */
static int read_items(struct req *r, struct item **out)
{
    json_error_t je;
    json_t *b = r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!b) {
        admin_problem(r, 400, "the body must be a JSON array of {\"token\",\"url\",\"source\"}");
        return -1;
    }
    arena_defer(r->arena, json_release, b);
    if (json_is_object(b) && json_object_size(b)) {
        /* SPEC §9: name the member that is not one (the body is an array) */
        const char *k = json_object_iter_key(json_object_iter(b));
        admin_problem(r, 400, arena_sprintf(r->arena, "unknown member \"%s\": the body must be a "
                                                      "JSON array of {\"token\",\"url\",\"source\"}",
                                            text_printable(k, 100) ? k : "(unprintable)"));
        return -1;
    }
    size_t n = json_array_size(b);
    if (!json_is_array(b) || n == 0 || n > AUTHZ_LEAK_ITEMS_MAX) {
        admin_problem(r, 400, "the body must be a JSON array of 1 to 100 {\"token\",\"url\",\"source\"}");
        return -1;
    }
    *out = arena_alloc(r->arena, n * sizeof **out);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(b, i);
        if (!json_is_object(o)) {
            admin_problem(r, 400, arena_sprintf(r->arena, "[%zu] must be an object", i));
            return -1;
        }
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
        {
            if (strcmp(k, "token") && strcmp(k, "url") && strcmp(k, "source")) {
                admin_problem(r, 400, arena_sprintf(r->arena, "[%zu]: unknown member \"%s\"", i,
                                                    text_printable(k, 100) ? k : "(unprintable)"));
                return -1;
            }
            const char *s = json_string_value(v);
            size_t max = strcmp(k, "token") ? LEAK_TEXT_MAX : AUTHZ_TOKEN_MAX;
            if (!s || !*s || !text_printable(s, max)) {
                admin_problem(r, 400, arena_sprintf(r->arena, "[%zu].%s must be a printable string "
                                                              "of at most %zu bytes", i, k, max));
                return -1;
            }
        }
        (*out)[i].token = json_string_value(json_object_get(o, "token"));
        (*out)[i].url = json_string_value(json_object_get(o, "url"));
        (*out)[i].source = json_string_value(json_object_get(o, "source"));
        if (!(*out)[i].token) {
            admin_problem(r, 400, arena_sprintf(r->arena, "[%zu].token is required", i));
            return -1;
        }
    }
    return (int)n;
}

static void leaked_row(struct req *r, const struct caller *who, const char *tenant_id,
                       const struct item *it, const char *type, bool revoked,
                       const struct leak_site *site, const char *hash)
{
    struct audit_event *e = audit_add(r, "credential.leaked", revoked);
    e->tenant_id = tenant_id;
    e->client_id = site ? site->client_id : NULL;
    e->subject = site ? site->user_id : NULL;
    e->reason = revoked ? "revoked" : "unknown";
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"token_type\":");
    sb_json_str(&sb, type);
    sb_puts(&sb, ",\"label\":");
    sb_json_str(&sb, revoked ? "revoked" : "unknown");
    sb_puts(&sb, ",\"url\":");
    if (it->url)
        sb_json_str(&sb, it->url);
    else
        sb_puts(&sb, "null");
    sb_puts(&sb, ",\"source\":");
    if (it->source)
        sb_json_str(&sb, it->source);
    else
        sb_puts(&sb, "null");
    sb_puts(&sb, ",\"by\":");
    sb_json_str(&sb, who->root ? "root" : who->who);
    /* a fingerprint to match reports of one credential, never the credential */
    char fp[13];
    memcpy(fp, hash, 12);
    fp[12] = '\0';
    sb_puts(&sb, ",\"fingerprint\":");
    sb_json_str(&sb, fp);
    if (site && site->secret_id) {
        sb_puts(&sb, ",\"secret_id\":");
        sb_json_str(&sb, site->secret_id);
    }
    if (site && site->grant_id) {
        sb_puts(&sb, ",\"grant_id\":");
        sb_json_str(&sb, site->grant_id);
    }
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
}

/* One item, inside the open transaction: 1 revoked, 0 unknown, -1 database
 * failure. *type and *tenant_out (for the audit row) are set. */
static int handle(struct req *r, const struct caller *who, const char *only_tenant,
                  const struct item *it, const char **type, const char **tenant_out)
{
    const char *tok = it->token;
    char hash[CRYPTO_SECRET_HASH_HEX + 1];
    crypto_secret_hash(g_secret_pepper, tok, strlen(tok), hash);
    int kind = cred_prefix_kind(tok);
    struct leak_site site;
    *tenant_out = only_tenant;
    *type = kind >= 0 ? cred_type_name((enum cred_kind)kind) : "unknown";

    bool root_shaped = kind == CRED_ROOT || !strncmp(tok, "azr_", 4);
    if (root_shaped) {
        *type = "root_token";
        /* a root token belongs to no tenant: only the operator reaches it */
        if (!who->root)
            return 0;
        int rc = store_root_token_revoke(&r->tx, hash);
        if (rc == 1)
            leaked_row(r, who, NULL, it, *type, true, NULL, hash);
        return rc;
    }
    if (kind == CRED_CLIENT_SECRET || kind < 0) {
        int rc = store_leak_find_secret(&r->tx, hash, only_tenant, &site);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            *type = "client_secret";
            *tenant_out = site.tenant_id;
            /* the secret stops working, and the client's tokens end */
            if (store_secret_delete(&r->tx, site.tenant_id, site.client_id, site.secret_id) < 0 ||
                revocation_record(&r->tx, site.tenant_id, REV_CLIENT, site.client_id,
                                  revocation_horizon()) < 0)
                return -1;
            leaked_row(r, who, site.tenant_id, it, *type, true, &site, hash);
            return 1;
        }
    }
    if (kind == CRED_REFRESH || kind < 0) {
        int rc = store_leak_find_refresh(&r->tx, hash, only_tenant, &site);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            *type = "refresh_token";
            *tenant_out = site.tenant_id;
            /* SPEC §4.2: the whole family */
            if (grant_revoke(&r->tx, site.tenant_id, site.grant_id, "leaked",
                             revocation_horizon()) < 0)
                return -1;
            leaked_row(r, who, site.tenant_id, it, *type, true, &site, hash);
            return 1;
        }
    }
    if (kind < 0 && strchr(tok, '.')) {
        /* an access token (RFC 9068 JWT) of a tenant the caller reaches */
        char *slug = access_token_tenant_slug(r, tok);
        struct tenant *t = NULL;
        if (slug)
            cache_tenant(&r->tx, true, slug, &t);
        if (r->tx.down)
            return -1;
        if (t && (!only_tenant || !strcmp(t->id, only_tenant))) {
            json_t *claims = access_token_active(t, tok);
            const char *jti = json_string_value(json_object_get(claims, "jti"));
            json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
            if (jti) {
                *type = "access_token";
                *tenant_out = arena_strdup(r->arena, t->id);
                memset(&site, 0, sizeof site);
                site.client_id = arena_strdup(r->arena, json_string_value(json_object_get(claims, "client_id")));
                int rc = jti_revoke(&r->tx, t->id, jti, (int64_t)exp);
                json_decref(claims);
                tenant_release(t);
                if (rc < 0)
                    return -1;
                leaked_row(r, who, *tenant_out, it, *type, true, &site, hash);
                return 1;
            }
            json_decref(claims);
        }
        if (t)
            tenant_release(t);
    }
    return 0;
}

void admin_leaks(struct req *r, const struct caller *who)
{
    if (r->method != M_POST) {
        admin_problem(r, 405, "method not allowed here");
        resp_header(r, "Allow", "POST");
        return;
    }
    /* SPEC §13: "root or tenant admin; a client with scope leaks:report
     * may report for its tenant" */
    if (who->not_admin && !who->leak_reporter) {
        admin_problem(r, 403, "the token carries neither admin nor leaks:report of a client acting as itself");
        resp_header(r, "WWW-Authenticate",
                    "Bearer realm=\"authz-admin\", error=\"insufficient_scope\", scope=\"leaks:report\"");
        return;
    }
    const char *only_tenant = NULL;
    if (!who->root) {
        struct tenant *t = NULL;
        cache_tenant(&r->tx, true, who->tenant_slug, &t);
        if (!t) {
            if (!r->tx.down)
                admin_problem(r, 404, "no such tenant");
            return;
        }
        only_tenant = arena_strdup(r->arena, t->id);
        tenant_release(t);
    }
    struct item *items;
    int n = read_items(r, &items);
    if (n < 0)
        return;
    if (db_begin(&r->tx) < 0)
        return;
    json_t *out = json_array();
    const char **touched = arena_alloc(r->arena, sizeof(char *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        const char *type, *tenant_id;
        int rc = handle(r, who, only_tenant, &items[i], &type, &tenant_id);
        if (rc < 0) {
            json_decref(out);
            db_rollback(&r->tx);
            if (!r->tx.down)
                admin_problem(r, 500, "the report could not be recorded");
            return;
        }
        if (rc == 0) {
            /* "unknown strings change nothing": only the report's row */
            char hash[CRYPTO_SECRET_HASH_HEX + 1];
            crypto_secret_hash(g_secret_pepper, items[i].token, strlen(items[i].token), hash);
            leaked_row(r, who, only_tenant, &items[i], type, false, NULL, hash);
        }
        touched[i] = rc == 1 ? tenant_id : NULL;
        json_array_append_new(out, json_pack("{s:s,s:s}", "token_type", type, "label",
                                             rc == 1 ? "revoked" : "unknown"));
    }
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        json_decref(out);
        if (!r->tx.down)
            admin_problem(r, 500, "the report could not be recorded");
        return;
    }
    for (int i = 0; i < n; i++)
        if (touched[i])
            cache_invalidate_tenant(touched[i]);
    admin_answer_json(r, 200, out);
}
