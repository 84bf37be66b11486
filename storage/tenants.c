/*
 * tenants.c: tenants and the snapshot the cache keeps of each: settings, its
 * published signing keys (unsealed and parsed once), the JWKS and discovery
 * documents rendered once, and its resources. Also clients' snapshots and
 * operator root tokens.
 */
#include "cache.h"
#include "storage/db.h"
#include "storage/store.h"
#include "crypto/crypto.h"
#include "crypto/cred.h"
#include "log.h"
#include "storage/pgarray.h"
#include "util/arena.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dupv(PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return strdup(PQgetvalue(res, row, col));
}

static void free_list(struct strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

void tenant_free(struct tenant *t)
{
    if (!t)
        return;
    free(t->id);
    free(t->slug);
    free(t->display_name);
    free(t->issuer);
    free(t->registration_policy);
    free(t->approval_webhook_url);
    free(t->signing_alg);
    free(t->drift_webhook_url);
    free(t->cimd_policy);
    free_list(&t->cimd_hosts);
    free(t->created_at);
    free(t->updated_at);
    for (int i = 0; i < t->nkeys; i++)
        signing_key_free(t->keys[i]);
    free(t->keys);
    free(t->jwks_json);
    free(t->metadata_json);
    free(t->token_endpoint);
    for (int i = 0; i < t->nresources; i++) {
        free(t->resources[i].uri);
        free_list(&t->resources[i].scopes);
        for (int k = 0; k < t->resources[i].ntools; k++) {
            struct tool_entry *e = &t->resources[i].tools[k];
            free(e->name);
            for (int j = 0; j < e->nscopes; j++)
                free(e->scopes[j]);
            free(e->scopes);
        }
        free(t->resources[i].tools);
        free_list(&t->resources[i].desc_scopes);
        free_list(&t->resources[i].desc_texts);
    }
    free(t->resources);
    free(t);
}

static void json_str_array(struct strbuf *sb, const char *const *v, int n)
{
    sb_putc(sb, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            sb_putc(sb, ',');
        sb_json_str(sb, v[i]);
    }
    sb_putc(sb, ']');
}

/* RFC 8414 metadata: what this tenant's issuer offers. */
static char *render_metadata(const struct tenant *t)
{
    struct strbuf sb;
    sb_init(&sb);
    const char *is = t->issuer;
    sb_puts(&sb, "{\"issuer\":");
    sb_json_str(&sb, is);
#define EP(name, path)                                                                             \
    do {                                                                                           \
        sb_puts(&sb, ",\"" name "\":");                                                           \
        char *u_ = NULL;                                                                           \
        size_t l_ = strlen(is) + strlen(path) + 1;                                                \
        u_ = malloc(l_);                                                                           \
        snprintf(u_, l_, "%s%s", is, path);                                                        \
        sb_json_str(&sb, u_);                                                                      \
        free(u_);                                                                                  \
    } while (0)
    EP("authorization_endpoint", "/oauth2/authorize");
    EP("token_endpoint", "/oauth2/token");
    EP("jwks_uri", "/oauth2/jwks");
    EP("introspection_endpoint", "/oauth2/introspect");
    EP("revocation_endpoint", "/oauth2/revoke");
    EP("backchannel_authentication_endpoint", "/oauth2/bc-authorize");
    EP("registration_endpoint", "/oauth2/register");
#undef EP
    static const char *grants[] = {"authorization_code", "refresh_token", "client_credentials",
                                   "urn:ietf:params:oauth:grant-type:token-exchange",
                                   "urn:openid:params:grant-type:ciba",
                                   "urn:ietf:params:oauth:grant-type:jwt-bearer"};
    sb_puts(&sb, ",\"grant_types_supported\":");
    json_str_array(&sb, grants, 6);
    /* draft-ietf-oauth-identity-assertion-authz-grant: the JWT bearer grant
     * takes identity assertion authorization grants (SPEC §11) */
    sb_puts(&sb, ",\"authorization_grant_profiles_supported\":"
                 "[\"urn:ietf:params:oauth:grant-profile:id-jag\"]");
    /* draft-ietf-oauth-client-id-metadata-document: URL client_ids, unless
     * the tenant turned them off (cimd_policy) */
    sb_printf(&sb, ",\"client_id_metadata_document_supported\":%s",
              t->cimd_policy && !strcmp(t->cimd_policy, "off") ? "false" : "true");
    sb_puts(&sb, ",\"backchannel_token_delivery_modes_supported\":[\"poll\",\"ping\"]");
    sb_puts(&sb, ",\"backchannel_user_code_parameter_supported\":false");
    /* the token, introspection and revocation endpoints share one client
     * authentication (oauth/client_auth.c); introspection refuses public
     * clients */
    static const char *token_auth[] = {"client_secret_basic", "client_secret_post",
                                       "private_key_jwt", "none"};
    sb_puts(&sb, ",\"token_endpoint_auth_methods_supported\":");
    json_str_array(&sb, token_auth, 4);
    /* RFC 8414 §2: the algorithms private_key_jwt assertions may use
     * (crypto/jwt.c verifies exactly these) */
    sb_puts(&sb, ",\"token_endpoint_auth_signing_alg_values_supported\":"
                 "[\"ES256\",\"ES384\",\"RS256\",\"PS256\",\"EdDSA\"]");
    sb_puts(&sb, ",\"introspection_endpoint_auth_methods_supported\":");
    json_str_array(&sb, token_auth, 3);
    sb_puts(&sb, ",\"revocation_endpoint_auth_methods_supported\":");
    json_str_array(&sb, token_auth, 4);
    sb_puts(&sb, ",\"response_types_supported\":[\"code\"]");
    sb_puts(&sb, ",\"code_challenge_methods_supported\":[\"S256\"]");
    sb_puts(&sb, ",\"authorization_response_iss_parameter_supported\":true");
    /* RFC 9396 §10: the authorization details types authz accepts (SPEC §12) */
    sb_puts(&sb, ",\"authorization_details_types_supported\":[\"mcp_tools\"]");
    /* scopes: the built-in ones and every scope of the tenant's resources */
    const char **sc = malloc(sizeof(char *) * 64);
    int nsc = 0, cap = 64;
    sc[nsc++] = "admin";
    sc[nsc++] = "approvals:decide";
    /* SPEC §11: offline_access is accepted (a refresh token goes to every
     * client with the refresh_token grant, asked for or not) */
    sc[nsc++] = "offline_access";
    for (int i = 0; i < t->nresources; i++)
        for (int k = 0; k < t->resources[i].scopes.n; k++) {
            const char *s = t->resources[i].scopes.v[k];
            bool dup = false;
            for (int j = 0; j < nsc; j++)
                if (strcmp(sc[j], s) == 0)
                    dup = true;
            if (dup)
                continue;
            if (nsc == cap) {
                cap *= 2;
                sc = realloc(sc, sizeof(char *) * (size_t)cap);
            }
            sc[nsc++] = s;
        }
    sb_puts(&sb, ",\"scopes_supported\":");
    json_str_array(&sb, sc, nsc);
    free(sc);
    sb_puts(&sb, ",\"service_documentation\":\"https://www.rfc-editor.org/rfc/rfc8414\"}");
    return sb_steal(&sb, NULL);
}

/* A resource's scope_descriptions (a JSON object of strings, as the admin
 * API stored it) into its two parallel lists. */
static void descriptions_parse(const char *text, struct resource *res)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    size_t n = json_is_object(o) ? json_object_size(o) : 0;
    res->desc_scopes.v = calloc(n + 1, sizeof(char *));
    res->desc_texts.v = calloc(n + 1, sizeof(char *));
    const char *k;
    json_t *v;
    if (n && res->desc_scopes.v && res->desc_texts.v)
        json_object_foreach(o, k, v)
        {
            if (!json_is_string(v))
                continue;
            res->desc_scopes.v[res->desc_scopes.n++] = strdup(k);
            res->desc_texts.v[res->desc_texts.n++] = strdup(json_string_value(v));
        }
    json_decref(o);
}

struct tenant *tenant_load(PGconn *c, const char *slug, bool *db_failed)
{
    *db_failed = false;
    const char *v[1] = {slug};
    PGresult *res = PQexecParams(
        c,
        "SELECT id, slug, display_name, registration_policy, access_token_ttl, max_session_ttl, "
        "approval_webhook_url, approval_webhook_secret IS NOT NULL, signing_alg, " SQL_TS("created_at") ", "
        SQL_TS("updated_at") ", drift_mode, drift_window_days, drift_webhook_url, "
        "cimd_policy, cimd_hosts, refresh_retry_window "
        /* SPEC §13: a disabled tenant (authzctl tenants disable) is as unknown */
        "FROM tenants WHERE slug = $1 AND status = 'active'",
        1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *db_failed = true;
        PQclear(res);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return NULL;
    }
    struct tenant *t = calloc(1, sizeof(*t));
    t->id = dupv(res, 0, 0);
    t->slug = dupv(res, 0, 1);
    t->display_name = dupv(res, 0, 2);
    t->registration_policy = dupv(res, 0, 3);
    t->access_token_ttl = atoi(PQgetvalue(res, 0, 4));
    t->max_session_ttl = atoi(PQgetvalue(res, 0, 5));
    t->approval_webhook_url = dupv(res, 0, 6);
    t->webhook_secret_set = PQgetvalue(res, 0, 7)[0] == 't';
    t->signing_alg = dupv(res, 0, 8);
    t->created_at = dupv(res, 0, 9);
    t->updated_at = dupv(res, 0, 10);
    t->drift_mode = drift_mode_parse(PQgetvalue(res, 0, 11));
    if (t->drift_mode < 0)
        t->drift_mode = DRIFT_ALERT;
    t->drift_window_days = atoi(PQgetvalue(res, 0, 12));
    t->drift_webhook_url = dupv(res, 0, 13);
    t->cimd_policy = dupv(res, 0, 14);
    t->cimd_hosts.n = pgarray_parse_heap(PQgetvalue(res, 0, 15), &t->cimd_hosts.v);
    t->refresh_retry_window = atoi(PQgetvalue(res, 0, 16));
    PQclear(res);
    size_t il = strlen(g_public_url) + strlen(t->slug) + 4;
    t->issuer = malloc(il);
    snprintf(t->issuer, il, "%s/t/%s", g_public_url, t->slug);
    size_t tl = il + 16;
    t->token_endpoint = malloc(tl);
    snprintf(t->token_endpoint, tl, "%s/oauth2/token", t->issuer);

    /* keys: the active one first, then those still published */
    const char *kv[1] = {t->id};
    res = PQexecParams(c,
                       "SELECT kid, alg, sealed_private, active FROM signing_keys "
                       "WHERE tenant_id = $1 AND (active OR publish_until > now()) "
                       "ORDER BY active DESC, created_at DESC",
                       1, NULL, kv, NULL, NULL, 1 /* binary: sealed bytes */);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *db_failed = true;
        PQclear(res);
        tenant_free(t);
        return NULL;
    }
    int nk = PQntuples(res);
    t->keys = calloc((size_t)nk + 1, sizeof(struct signing_key *));
    struct strbuf jwks;
    sb_init(&jwks);
    sb_puts(&jwks, "{\"keys\":[");
    for (int i = 0; i < nk; i++) {
        char kid[64], alg[16];
        snprintf(kid, sizeof kid, "%.*s", PQgetlength(res, i, 0), PQgetvalue(res, i, 0));
        snprintf(alg, sizeof alg, "%.*s", PQgetlength(res, i, 1), PQgetvalue(res, i, 1));
        bool active = PQgetvalue(res, i, 3)[0] == 1;
        uint8_t *der = NULL;
        size_t derlen = 0;
        if (crypto_open(g_master_key, t->id, kid, (const uint8_t *)PQgetvalue(res, i, 2),
                        (size_t)PQgetlength(res, i, 2), &der, &derlen) < 0) {
            log_msg(LOG_ERROR, "tenant %s: signing key %s cannot be unsealed with this master key",
                    t->slug, kid);
            continue;
        }
        struct signing_key *k = signing_key_from_der(sig_alg_parse(alg), kid, der, derlen);
        OPENSSL_cleanse(der, derlen);
        free(der);
        if (!k)
            continue;
        if (active && !t->active)
            t->active = k;
        char *jwk = signing_key_public_jwk(k);
        if (t->nkeys)
            sb_putc(&jwks, ',');
        sb_puts(&jwks, jwk);
        free(jwk);
        t->keys[t->nkeys++] = k;
    }
    PQclear(res);
    sb_puts(&jwks, "]}");
    t->jwks_json = sb_steal(&jwks, NULL);

    res = PQexecParams(c,
                       "SELECT uri, scopes, unknown_tools = 'allow', scope_descriptions::text "
                       "FROM resources WHERE tenant_id = $1 ORDER BY uri",
                       1, NULL, kv, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *db_failed = true;
        PQclear(res);
        tenant_free(t);
        return NULL;
    }
    t->nresources = PQntuples(res);
    t->resources = calloc((size_t)t->nresources + 1, sizeof(struct resource));
    for (int i = 0; i < t->nresources; i++) {
        t->resources[i].uri = dupv(res, i, 0);
        t->resources[i].scopes.n = pgarray_parse_heap(PQgetvalue(res, i, 1), &t->resources[i].scopes.v);
        t->resources[i].unknown_tools_allow = PQgetvalue(res, i, 2)[0] == 't';
        descriptions_parse(PQgetvalue(res, i, 3), &t->resources[i]);
    }
    PQclear(res);
    /* SPEC §12: each resource's tool catalog, sorted by name (resource_tool
     * searches it) */
    res = PQexecParams(c,
                       "SELECT resource, name, scopes, risk, approval = 'session' FROM resource_tools "
                       "WHERE tenant_id = $1 ORDER BY resource, name COLLATE \"C\"",
                       1, NULL, kv, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *db_failed = true;
        PQclear(res);
        tenant_free(t);
        return NULL;
    }
    /* rows come grouped by resource: each group is one catalog */
    for (int i = 0, n = PQntuples(res); i < n;) {
        int j = i;
        while (j < n && !strcmp(PQgetvalue(res, j, 0), PQgetvalue(res, i, 0)))
            j++;
        struct resource *rs = NULL;
        for (int k = 0; k < t->nresources; k++)
            if (!strcmp(t->resources[k].uri, PQgetvalue(res, i, 0)))
                rs = &t->resources[k];
        if (rs)
            rs->tools = calloc((size_t)(j - i), sizeof(struct tool_entry));
        for (; i < j; i++) {
            if (!rs)
                continue;
            struct tool_entry *e = &rs->tools[rs->ntools++];
            e->name = dupv(res, i, 1);
            e->nscopes = pgarray_parse_heap(PQgetvalue(res, i, 2), &e->scopes);
            int risk = tool_risk_parse(PQgetvalue(res, i, 3));
            e->risk = risk < 0 ? TOOL_DESTRUCTIVE : (enum tool_risk)risk;
            e->approval_session = PQgetvalue(res, i, 4)[0] == 't';
        }
    }
    PQclear(res);
    t->metadata_json = render_metadata(t);
    return t;
}

void client_free(struct client *c)
{
    if (!c)
        return;
    free(c->tenant_id);
    free(c->client_id);
    free(c->secret_hash);
    free(c->auth_method);
    free(c->client_name);
    free(c->cimd_host);
    free_list(&c->grant_types);
    free_list(&c->response_types);
    free_list(&c->redirect_uris);
    free_list(&c->allowed_scopes);
    free_list(&c->allowed_resources);
    free_list(&c->can_act_for);
    free_list(&c->introspects);
    free(c->jwks);
    free(c->jwks_uri);
    free(c->bc_delivery);
    free(c->bc_endpoint);
    free(c->owner);
    free(c->secrets);
    free(c);
}

struct client *client_load(PGconn *conn, const char *tenant_id, const char *client_id,
                           bool *db_failed)
{
    *db_failed = false;
    const char *v[2] = {tenant_id, client_id};
    PGresult *res = PQexecParams(
        conn,
        "SELECT client_id, secret_hash, token_endpoint_auth_method, client_name, grant_types, "
        "response_types, redirect_uris, allowed_scopes, allowed_resources, can_act_for, "
        "introspects, may_impersonate, dynamic, jwks::text, jwks_uri, "
        "backchannel_token_delivery_mode, backchannel_client_notification_endpoint, owner, "
        /* SPEC §13: the secrets that still work, newest first */
        "(SELECT coalesce(string_agg(s.id || ' ' || s.hash || ' ' || "
        "coalesce((extract(epoch FROM s.expires_at) * 1000000)::bigint, 0), ',' "
        "ORDER BY s.created_at DESC), '') "
        "FROM client_secrets s WHERE s.client_id = clients.client_id AND "
        "(s.expires_at IS NULL OR s.expires_at > now())) "
        /* SPEC §13: "A disabled client gets invalid_client": it is as unknown */
        "FROM clients WHERE tenant_id = $1 AND client_id = $2 AND status = 'active'",
        2, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *db_failed = true;
        PQclear(res);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return NULL;
    }
    struct client *c = calloc(1, sizeof(*c));
    c->tenant_id = strdup(tenant_id);
    c->client_id = dupv(res, 0, 0);
    c->secret_hash = dupv(res, 0, 1);
    c->auth_method = dupv(res, 0, 2);
    c->client_name = dupv(res, 0, 3);
    c->grant_types.n = pgarray_parse_heap(PQgetvalue(res, 0, 4), &c->grant_types.v);
    c->response_types.n = pgarray_parse_heap(PQgetvalue(res, 0, 5), &c->response_types.v);
    c->redirect_uris.n = pgarray_parse_heap(PQgetvalue(res, 0, 6), &c->redirect_uris.v);
    c->allowed_scopes.n = pgarray_parse_heap(PQgetvalue(res, 0, 7), &c->allowed_scopes.v);
    c->allowed_resources.n = pgarray_parse_heap(PQgetvalue(res, 0, 8), &c->allowed_resources.v);
    c->can_act_for.n = pgarray_parse_heap(PQgetvalue(res, 0, 9), &c->can_act_for.v);
    c->introspects.n = pgarray_parse_heap(PQgetvalue(res, 0, 10), &c->introspects.v);
    c->may_impersonate = PQgetvalue(res, 0, 11)[0] == 't';
    c->dynamic = PQgetvalue(res, 0, 12)[0] == 't';
    c->jwks = dupv(res, 0, 13);
    c->jwks_uri = dupv(res, 0, 14);
    c->bc_delivery = dupv(res, 0, 15);
    c->bc_endpoint = dupv(res, 0, 16);
    c->owner = dupv(res, 0, 17);
    /* "<id> <hash> <expires>,..." */
    const char *s = PQgetvalue(res, 0, 18);
    int n = *s ? 1 : 0;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    c->secrets = n ? calloc((size_t)n, sizeof *c->secrets) : NULL;
    for (const char *p = s; *p && c->nsecrets < n;) {
        struct client_secret *cs = &c->secrets[c->nsecrets];
        long long ex = 0;
        if (sscanf(p, "%39s %64s %lld", cs->id, cs->hash, &ex) == 3) {
            cs->expires_at = ex;
            c->nsecrets++;
        }
        const char *comma = strchr(p, ',');
        if (!comma)
            break;
        p = comma + 1;
    }
    PQclear(res);
    return c;
}

bool store_tenant_slug_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

bool store_tenant_display_name_valid(const char *s)
{
    return text_printable_chars(s, 200);
}

int store_tenant_create(PGconn *c, const char *slug, const char *display_name, char *id_out,
                        char *err, size_t errlen)
{
    /* the table's CHECKs say the same; checked first so that nobody sees
     * PostgreSQL's message about them */
    if (!store_tenant_slug_valid(slug)) {
        snprintf(err, errlen, "the slug must match %s", TENANT_SLUG_PATTERN);
        return -1;
    }
    if (!store_tenant_display_name_valid(display_name)) {
        snprintf(err, errlen, "the display name must be 1 to 200 printable characters");
        return -1;
    }
    PGresult *res = PQexec(c, "BEGIN");
    PQclear(res);
    const char *v[2] = {slug, display_name};
    res = PQexecParams(c,
                       "INSERT INTO tenants (slug, display_name) VALUES ($1, $2) "
                       "ON CONFLICT (slug) DO NOTHING RETURNING id",
                       2, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
        PQclear(res);
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        PQclear(PQexec(c, "ROLLBACK"));
        snprintf(err, errlen, "tenant '%s' exists already", slug);
        return 1;
    }
    snprintf(id_out, 37, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    char kid[64];
    if (store_key_rotate(c, id_out, "ES256", kid, err, errlen) < 0) {
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    res = PQexec(c, "COMMIT");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

int store_root_token_create(PGconn *c, char *out, size_t outlen, char *err, size_t errlen)
{
    if (outlen < 64)
        return -1;
    /* SPEC §13: a recognisable credential (crypto/cred.h) */
    char tok[CRED_MAX];
    cred_new(CRED_ROOT, tok);
    snprintf(out, outlen, "%s", tok);
    char hash[CRYPTO_SECRET_HASH_HEX + 1];
    crypto_secret_hash(g_secret_pepper, out, strlen(out), hash);
    const char *v[1] = {hash};
    PGresult *res = pq_exec(c, "INSERT INTO root_tokens (token_hash) VALUES ($1)", 1, v, err, errlen);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int store_root_token_check(struct dbtx *tx, const char *token)
{
    char hash[CRYPTO_SECRET_HASH_HEX + 1];
    crypto_secret_hash(g_secret_pepper, token, strlen(token), hash);
    const char *v[1] = {hash};
    /* the lookup is by a keyed hash of the token: an index match on the
     * hash reveals nothing usable about the token through timing */
    PGresult *res = db_q(tx, "SELECT 1 FROM root_tokens WHERE token_hash = $1 AND revoked_at IS NULL", 1, v);
    if (!res)
        return -1;
    return PQntuples(res) == 1;
}
