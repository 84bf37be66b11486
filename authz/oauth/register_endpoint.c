/*
 * register_endpoint.c: RFC 7591 dynamic client registration at
 * {ISSUER}/oauth2/register (SPEC §3), the endpoint and who may use it. The
 * tenant's registration_policy decides: `open` (anyone, as MCP clients do),
 * `token` (an initial access token: an access token of this tenant for
 * authz itself, with scope `register` or `admin`) or `closed`. What a
 * registration may ask for is checked by oauth/register.c (register.h).
 *
 * The policy, the token and the metadata are checked on the event loop;
 * only a request that passes them moves to a database worker (H_BLOCK),
 * where the client row and its admin.changed audit row commit together.
 */
#include "oauth/register.h"
#include "oauth/oauth.h"
#include "http/routes.h"
#include "policy/scope.h"
#include "storage/clients.h"
#include "storage/db.h"
#include "util/text.h"
#include "crypto/crypto.h"
#include "cache.h"
#include "util/limits.h"

#include <string.h>
#include <strings.h>

/* Browser-based MCP clients register from another origin; nothing here
 * relies on ambient credentials (a Bearer token is sent explicitly). */
static void cors(struct req *r)
{
    resp_header(r, "Access-Control-Allow-Origin", "*");
}

static void reg_error(struct req *r, int status, const char *error, const char *desc)
{
    resp_oauth_error(r, status, error, desc);
    cors(r);
}

static void audit_refusal(struct req *r, const char *reason)
{
    struct audit_event *e = audit_add(r, "admin.changed", false);
    e->reason = reason;
    e->details = arena_sprintf(r->arena,
                               "{\"action\":\"client.register\",\"dynamic\":true,\"policy\":%s}",
                               !strcmp(r->tenant->registration_policy, "token") ? "\"token\""
                                                                                : "\"closed\"");
}

/* RFC 6750 §3: the WWW-Authenticate challenge of a refused initial access
 * token. */
static void bearer_challenge(struct req *r, int status, const char *error, const char *desc,
                             const char *reason)
{
    reg_error(r, status, error, desc);
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "Bearer realm=");
    sb_json_str(&sb, r->tenant->issuer);
    if (status == 401 && strcmp(reason, "no initial access token") == 0) {
        /* RFC 6750 §3.1: "If the request lacks any authentication
         * information ..., the resource server SHOULD NOT include an error
         * code or other error information." */
    } else if (status == 401) {
        sb_puts(&sb, ", error=\"invalid_token\"");
    } else {
        sb_puts(&sb, ", error=\"insufficient_scope\", scope=\"register\"");
    }
    resp_header(r, "WWW-Authenticate", sb.buf);
    sb_free(&sb);
    audit_refusal(r, reason);
}

static bool aud_is(json_t *aud, const char *issuer)
{
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), issuer);
    if (json_is_array(aud) && json_array_size(aud) == 1)
        return json_is_string(json_array_get(aud, 0)) &&
               !strcmp(json_string_value(json_array_get(aud, 0)), issuer);
    return false;
}

/* The `token` policy: RFC 7591 §3 lets the registration endpoint be an
 * OAuth 2.0 protected resource accepting an initial access token. Here
 * that is an access token of this tenant for authz itself (aud = the
 * issuer, SPEC §4.3) holding scope `register` or `admin`. On success *by is
 * the client the token was issued to. */
static bool initial_access_token_ok(struct req *r, const char **by)
{
    struct tenant *t = r->tenant;
    const char *h = req_header(r, "authorization");
    if (!h) {
        bearer_challenge(r, 401, "invalid_token",
                         "this tenant requires an initial access token to register a client",
                         "no initial access token");
        return false;
    }
    /* RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token */
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        bearer_challenge(r, 401, "invalid_token", "use Authorization: Bearer <initial access token>",
                         "no initial access token");
        return false;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    /* signed by this tenant, not expired, and neither the token, its grant
     * nor its session revoked */
    json_t *claims = *tok && strlen(tok) <= AUTHZ_TOKEN_MAX ? access_token_active(t, tok) : NULL;
    if (!claims) {
        bearer_challenge(r, 401, "invalid_token", "the initial access token is not valid",
                         "initial access token: invalid, expired or revoked");
        return false;
    }
    const char *isub = json_string_value(json_object_get(claims, "sub"));
    const char *icid = json_string_value(json_object_get(claims, "client_id"));
    /* an initial access token is a client acting as itself (client
     * credentials), never a person's token */
    if (!aud_is(json_object_get(claims, "aud"), t->issuer) || !isub || !icid ||
        strcmp(isub, icid) != 0 || json_object_get(claims, "act")) {
        json_decref(claims);
        bearer_challenge(r, 401, "invalid_token", "the initial access token is not valid",
                         "initial access token: audience is not the issuer");
        return false;
    }
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    struct scopeset ss;
    if (!scope || scope_parse(r->arena, scope, &ss) < 0 ||
        !(scope_has(&ss, "register") || scope_has(&ss, "admin"))) {
        json_decref(claims);
        /* RFC 6750 §3.1 insufficient_scope: "The resource server SHOULD
         * respond with the HTTP 403 (Forbidden) status code" */
        bearer_challenge(r, 403, "insufficient_scope",
                         "the initial access token needs scope register (or admin)",
                         "initial access token: insufficient scope");
        return false;
    }
    const char *cid = json_string_value(json_object_get(claims, "client_id"));
    *by = arena_strdup(r->arena, cid ? cid : "");
    json_decref(claims);
    return true;
}

static void answer_registered(struct req *r, const struct reg_meta *m, const char *client_id,
                              long long issued_at, const char *secret)
{
    /* RFC 7591 §3.2.1: "the authorization server MUST return all
     * registered metadata about the client, including any fields
     * provisioned by the authorization server itself." */
    json_t *j = json_object();
    json_object_set_new(j, "client_id", json_string(client_id));
    json_object_set_new(j, "client_id_issued_at", json_integer(issued_at));
    if (secret) {
        /* "client_secret_expires_at REQUIRED if "client_secret" is issued.
         * ... 0 if it will not expire." */
        json_object_set_new(j, "client_secret", json_string(secret));
        json_object_set_new(j, "client_secret_expires_at", json_integer(0));
    }
    json_object_update(j, m->doc);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    resp_json(r, 201, s);
    resp_header(r, "Cache-Control", "no-store");
    resp_header(r, "Pragma", "no-cache");
    cors(r);
}

enum hres h_register(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    struct tenant *t = r->tenant;

    if (r->method == M_OPTIONS) {
        /* CORS preflight of a cross-origin JSON POST */
        resp_set(r, 204, NULL, NULL, 0);
        cors(r);
        resp_header(r, "Access-Control-Allow-Methods", "POST, OPTIONS");
        resp_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        resp_header(r, "Access-Control-Max-Age", "600");
        return H_DONE;
    }
    if (r->method != M_POST) {
        reg_error(r, 405, "invalid_request", "method not allowed on this endpoint");
        resp_header(r, "Allow", "POST, OPTIONS");
        return H_DONE;
    }

    /* SPEC §3: per tenant policy open, token or closed */
    const char *policy = t->registration_policy ? t->registration_policy : "closed";
    const char *by = NULL;
    if (!strcmp(policy, "token")) {
        if (!initial_access_token_ok(r, &by))
            return H_DONE;
    } else if (strcmp(policy, "open") != 0) {
        reg_error(r, 403, "access_denied", "registration is closed for this tenant");
        audit_refusal(r, "registration is closed");
        return H_DONE;
    }

    /* RFC 7591 §3.2.2: errors are 400 with invalid_redirect_uri or
     * invalid_client_metadata */
    if (!register_content_type_ok(req_header(r, "content-type"))) {
        reg_error(r, 400, REG_INVALID_CLIENT_METADATA, "the body must be application/json");
        return H_DONE;
    }
    const char *desc = NULL, *error = NULL;
    json_t *body = register_parse_body(r->body, r->body_len, &desc);
    if (!body) {
        reg_error(r, 400, REG_INVALID_CLIENT_METADATA, desc);
        return H_DONE;
    }
    struct reg_meta m;
    int rc = register_validate(r->arena, body, &m, &error, &desc);
    json_decref(body);
    if (rc < 0) {
        reg_error(r, 400, error, desc);
        return H_DONE;
    }
    if (!r->can_block) {
        json_decref(m.doc);
        return H_BLOCK;
    }

    /* SPEC §3: "Secrets are generated by the server, shown once, and stored
     * only as a one-way hash." */
    char client_id[32], secret[48], hash[CRYPTO_SECRET_HASH_HEX + 1];
    if (m.secret) {
        crypto_random_id(secret, 32);
        crypto_secret_hash(g_secret_pepper, secret, strlen(secret), hash);
    }
    struct client_registration cr = {
        .tenant_id = t->id,
        .secret_hash = m.secret ? hash : NULL,
        .client_name = m.client_name,
        .method = m.method,
        .grant_types = m.grant_types_pg,
        .response_types = m.response_types_pg,
        .redirect_uris = m.redirect_uris_pg,
        .jwks = m.jwks,
        .jwks_uri = m.jwks_uri,
        .metadata = m.metadata,
    };
    long long issued_at = 0;
    int st = 1;
    /* a client_id collision (16 random bytes) is not expected; retry anyway */
    for (int attempt = 0; attempt < 3 && st == 1; attempt++) {
        crypto_random_id(client_id, 16);
        cr.client_id = client_id;
        if (db_begin(&r->tx) < 0) {
            json_decref(m.doc);
            return H_DONE;
        }
        st = store_client_register(&r->tx, &cr, &issued_at);
        if (st != 0)
            db_rollback(&r->tx);
    }
    if (st != 0) {
        json_decref(m.doc);
        if (!r->tx.down) {
            const char *ss = db_last_sqlstate(&r->tx);
            if (st < 0 && (!strncmp(ss, "22", 2) || !strncmp(ss, "23", 2)))
                reg_error(r, 400, REG_INVALID_CLIENT_METADATA, "the client metadata was refused");
            else
                reg_error(r, 500, "server_error", "the client could not be registered");
        }
        return H_DONE;
    }

    /* SPEC §8: every decision leaves an audit row, committed before the
     * answer; registration is recorded as an admin change */
    struct audit_event *e = audit_add(r, "admin.changed", true);
    e->client_id = arena_strdup(r->arena, client_id);
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"action\":\"client.register\",\"dynamic\":true,\"target\":");
    sb_json_str(&sb, client_id);
    sb_puts(&sb, ",\"policy\":");
    sb_json_str(&sb, policy);
    if (by) {
        sb_puts(&sb, ",\"by\":");
        sb_json_str(&sb, by);
    }
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        /* the row of a change that did not happen must not be written later */
        r->tx.audit_head = r->tx.audit_tail = NULL;
        r->tx.naudit = 0;
        json_decref(m.doc);
        if (!r->tx.down)
            reg_error(r, 500, "server_error", "the client could not be registered");
        return H_DONE;
    }
    /* this node forgets the tenant's cached clients at once (NOTIFY
     * authz_cache does it for the others) */
    cache_invalidate_tenant(t->id);
    r->log_client = arena_strdup(r->arena, client_id);
    answer_registered(r, &m, client_id, issued_at, m.secret ? secret : NULL);
    json_decref(m.doc);
    return H_DONE;
}
