/*
 * introspect.c: RFC 7662 token introspection. A client learns about tokens
 * issued to itself and about tokens whose aud is a resource it serves
 * (its `introspects` list); anything else is {"active": false}. authz's own
 * JWT access tokens are answered from memory: a verified token's claims are
 * kept in a bounded cache (keyed by the whole token), and every answer
 * consults the revocation set, so a revocation anywhere shows at once.
 * Refresh tokens (opaque) are looked up in the database, for their own
 * client only.
 */
#include "oauth/oauth.h"
#include "http/routes.h"
#include "storage/grants.h"
#include "storage/db.h"
#include "crypto/crypto.h"
#include "cache.h"
#include "util/hash.h"
#include "util/limits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- verified-token cache ---- */

#define TC_BUCKETS 4096

struct tok_entry {
    struct tok_entry *next;
    char *token;
    char *tenant_id;
    json_t *claims;      /* verified; immutable once cached */
    int64_t exp;
};

static pthread_mutex_t tc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tok_entry *tc[TC_BUCKETS];
static int tc_n;

/* seeded: the client chooses the token it sends (util/hash.h) */
static unsigned tok_hash(const char *s)
{
    return (unsigned)(hash_str(s) % TC_BUCKETS);
}

static void tc_evict_expired(int64_t now)
{
    for (int b = 0; b < TC_BUCKETS; b++) {
        struct tok_entry **pp = &tc[b];
        while (*pp) {
            struct tok_entry *e = *pp;
            if (e->exp <= now) {
                *pp = e->next;
                free(e->token);
                free(e->tenant_id);
                json_decref(e->claims);
                free(e);
                tc_n--;
            } else {
                pp = &e->next;
            }
        }
    }
}

/* Returns the verified claims of token for tenant t (a new reference), from
 * the cache or by verifying it. NULL when not a valid token of t. */
static json_t *verified_claims(const struct tenant *t, const char *token)
{
    unsigned b = tok_hash(token);
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&tc_mu);
    for (struct tok_entry *e = tc[b]; e; e = e->next)
        if (!strcmp(e->token, token) && !strcmp(e->tenant_id, t->id)) {
            json_t *c = e->exp > now ? json_incref(e->claims) : NULL;
            pthread_mutex_unlock(&tc_mu);
            return c;
        }
    pthread_mutex_unlock(&tc_mu);
    const char *why;
    json_t *claims = access_token_verify(t, token, &why);
    if (!claims)
        return NULL;
    int64_t exp = (int64_t)json_integer_value(json_object_get(claims, "exp"));
    pthread_mutex_lock(&tc_mu);
    if (tc_n >= AUTHZ_CACHE_TOKENS_MAX)
        tc_evict_expired(now);
    if (tc_n < AUTHZ_CACHE_TOKENS_MAX) {
        struct tok_entry *e = malloc(sizeof(*e));
        e->token = strdup(token);
        e->tenant_id = strdup(t->id);
        e->claims = json_incref(claims);
        e->exp = exp;
        e->next = tc[b];
        tc[b] = e;
        tc_n++;
    }
    pthread_mutex_unlock(&tc_mu);
    return claims;
}

/* Active means: valid signature of this tenant, not expired, and nothing it
 * rests on revoked: the token, its grant, its session, its person, its
 * client, any agent of its act chain, any key of its lineage (SPEC §4.4
 * "Lineage", §5). Returns the claims or NULL. */
json_t *access_token_active(const struct tenant *t, const char *token)
{
    json_t *claims = verified_claims(t, token);
    if (!claims)
        return NULL;
    if ((int64_t)json_integer_value(json_object_get(claims, "exp")) <= (int64_t)time(NULL) ||
        revset_token_revoked(t->id, claims)) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}

static void inactive(struct req *r)
{
    resp_json(r, 200, strdup("{\"active\":false}"));
    resp_header(r, "Cache-Control", "no-store");
}

/* RFC 7662 §2.2 answer for an active access token */
static void answer_access(struct req *r, json_t *claims)
{
    json_t *out = json_object();
    json_object_set_new(out, "active", json_true());
    static const char *copy[] = {"iss", "sub", "client_id", "scope", "aud", "exp", "iat",
                                 "jti", "act", "sid", "auth_time",
                                 /* RFC 9396 §9.2 */ "authorization_details"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        json_t *v = json_object_get(claims, copy[i]);
        if (v)
            json_object_set(out, copy[i], v);
    }
    json_object_set_new(out, "token_type", json_string("Bearer"));
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    resp_json(r, 200, s);
    resp_header(r, "Cache-Control", "no-store");
}

enum hres h_introspect(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    struct form f;
    if (!oauth_form(r, &f))
        return H_DONE;
    if (client_authenticate(r, &f) == H_BLOCK)
        return H_BLOCK;
    if (!r->client)
        return H_DONE;
    r->log_client = arena_strdup(r->arena, r->client->client_id);
    struct client *c = r->client;
    /* RFC 7662 §2.1: the endpoint is for protected clients; public clients
     * (no credentials) are not given token metadata */
    if (!strcmp(c->auth_method, "none")) {
        resp_oauth_error(r, 401, "invalid_client", "introspection needs an authenticated client");
        return H_DONE;
    }
    const char *token = form_get(&f, "token");
    if (!token) {
        resp_oauth_error(r, 400, "invalid_request", "token is required");
        return H_DONE;
    }
    if (strlen(token) > AUTHZ_TOKEN_MAX) {
        inactive(r);
        return H_DONE;
    }
    if (strchr(token, '.')) {
        json_t *claims = access_token_active(r->tenant, token);
        if (!claims) {
            inactive(r);
            return H_DONE;
        }
        /* SPEC §5: tokens issued to the caller, or whose aud it serves */
        const char *cid = json_string_value(json_object_get(claims, "client_id"));
        const char *aud = json_string_value(json_object_get(claims, "aud"));
        bool allowed = (cid && !strcmp(cid, c->client_id)) ||
                       (aud && strlist_has(&c->introspects, aud));
        if (allowed)
            answer_access(r, claims);
        else
            inactive(r);
        json_decref(claims);
        return H_DONE;
    }
    /* an opaque token: a refresh token of the caller */
    if (!r->can_block)
        return H_BLOCK;
    if (strncmp(token, "azrt_", 5) != 0) {
        inactive(r);
        return H_DONE;
    }
    struct grant_row g;
    int found = refresh_take(&r->tx, r->tenant->id, token, false, &g);
    db_rollback(&r->tx);
    if (found < 0)
        return H_DONE;
    if (found == 0 || g.used || g.revoked || g.expired || strcmp(g.client_id, c->client_id) != 0 ||
        revset_has(r->tenant->id, REV_GRANT, g.grant_id) ||
        (g.sid && revset_has(r->tenant->id, REV_SESSION, g.sid))) {
        inactive(r);
        return H_DONE;
    }
    json_t *out = json_pack("{s:b, s:s, s:s, s:s, s:s}", "active", 1, "iss", r->tenant->issuer,
                            "client_id", g.client_id, "scope", "", "token_type", "refresh_token");
    struct strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < g.nscopes; i++) {
        if (i)
            sb_putc(&sb, ' ');
        sb_puts(&sb, g.scopes[i]);
    }
    json_object_set_new(out, "scope", json_string(sb.buf ? sb.buf : ""));
    sb_free(&sb);
    if (g.user_id)
        json_object_set_new(out, "sub", json_string(g.user_id));
    if (g.sid)
        json_object_set_new(out, "sid", json_string(g.sid));
    /* RFC 9396 §9.2: the task details the refresh token's grant holds */
    json_t *details = g.details_json ? json_loads(g.details_json, 0, NULL) : NULL;
    if (details)
        json_object_set_new(out, "authorization_details", details);
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    resp_json(r, 200, s);
    resp_header(r, "Cache-Control", "no-store");
    return H_DONE;
}
