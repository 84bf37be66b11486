/*
 * cache.h: what the token hot path needs without a database read. A tenant
 * snapshot (settings, parsed signing keys, JWKS and discovery documents,
 * resources) and client snapshots are immutable and reference-counted; a
 * change anywhere (NOTIFY authz_cache, tenant id as payload) drops them, and
 * the next request loads fresh ones on a database worker.
 */
#ifndef AUTHZ_CACHE_H
#define AUTHZ_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "crypto/crypto.h"
#include "policy/tool.h"
#include "storage/db.h"

struct strlist {
    char **v;
    int n;
};

struct resource {
    char *uri;
    struct strlist scopes;
    /* SPEC §12: the tool catalog (sorted by name) and what a tool not in
     * it gets (unknown_tools "allow": true) */
    struct tool_entry *tools;
    int ntools;
    bool unknown_tools_allow;
    /* scope_descriptions: desc_scopes[i] is described by desc_texts[i] */
    struct strlist desc_scopes, desc_texts;
};

struct tenant {
    atomic_int refs;
    char *id, *slug, *display_name, *issuer;
    char *registration_policy;
    int access_token_ttl, max_session_ttl;
    char *approval_webhook_url;
    bool webhook_secret_set;
    char *signing_alg;
    /* SPEC §11: client ID metadata documents accepted (open, allowlist,
     * off) and from which hosts; seconds a rotated refresh token may be
     * presented again by its client (0: never) */
    char *cimd_policy;
    struct strlist cimd_hosts;
    int refresh_retry_window;
    char *created_at, *updated_at;
    /* SPEC §12 drift: drift_mode (enum drift_mode), the baseline's window,
     * where alerts are posted (NULL: nowhere) */
    int drift_mode, drift_window_days;
    char *drift_webhook_url;
    struct signing_key *active;       /* signs new tokens */
    struct signing_key **keys;        /* every published key, active first */
    int nkeys;
    char *jwks_json;
    char *metadata_json;
    char *token_endpoint;
    struct resource *resources;
    int nresources;
};

struct client {
    atomic_int refs;
    bool missing;                     /* negative entry: no such client */
    char *tenant_id, *client_id;
    char *secret_hash;                /* NULL for public / private_key_jwt */
    char *auth_method;
    char *client_name;
    struct strlist grant_types, response_types, redirect_uris, allowed_scopes,
        allowed_resources, can_act_for, introspects;
    bool may_impersonate;
    bool dynamic;
    /* a client ID metadata document (SPEC §11): client_id is its URL;
     * cimd_host is that URL's host, cimd_loopback_only says every redirect
     * URI is on a loopback host (oauth/cimd.c builds these snapshots) */
    bool cimd;
    char *cimd_host;
    bool cimd_loopback_only;
    char *jwks;                       /* JSON text or NULL */
    char *jwks_uri;
    char *bc_delivery;                /* CIBA: "poll" or "ping" */
    char *bc_endpoint;                /* CIBA ping notification endpoint */
    char *owner;                      /* SPEC §13: the owner's sub, or NULL */
    /* SPEC §13: every secret that still works (rotation overlap), newest
     * first; a disabled client is never loaded (it is as unknown) */
    struct client_secret *secrets;
    int nsecrets;
};

struct client_secret {
    char id[40];
    char hash[65];                    /* keyed hash (crypto_secret_hash) */
    int64_t expires_at;               /* µs since the epoch; 0: does not expire */
};

extern uint8_t g_master_key[32];
extern uint8_t g_secret_pepper[32];
extern const char *g_public_url;

/* Looks a tenant up by slug: true with *out set (NULL: no such tenant, or
 * the database failed: see tx->down), loading it on tx->conn when it is not
 * cached and may_load; false when it is not cached and may not be loaded
 * here (the caller moves to a database worker). *out is a new reference. */
bool cache_tenant(struct dbtx *tx, bool may_load, const char *slug, struct tenant **out);
bool cache_client(struct dbtx *tx, bool may_load, struct tenant *t, const char *client_id,
                  struct client **out);
/* Puts c, loaded when cache_epoch() was seen_epoch, in the client cache,
 * which takes a reference of its own; nothing when an invalidation came in
 * between. A negative entry (c->missing: no such client_id) counts apart
 * from real clients: at most AUTHZ_CACHE_UNKNOWN_CLIENTS_MAX of them, the
 * oldest forgotten first, so that guessed client_ids never keep real
 * clients (at most AUTHZ_CACHE_CLIENTS_MAX) out. */
void cache_client_put(unsigned long long seen_epoch, struct client *c);
void tenant_release(struct tenant *t);
void client_release(struct client *c);
void cache_invalidate_tenant(const char *tenant_id);
void cache_invalidate_all(void);

/* The tenant's JWKS or discovery document as last loaded (malloc'd), kept
 * after its snapshot is dropped, for answering while the database is down;
 * NULL when the tenant was never loaded (or was found gone). */
enum public_doc { PUBLIC_JWKS, PUBLIC_METADATA };
char *cache_public_doc(const char *slug, enum public_doc which);

const char *tenant_id_of(const struct tenant *t);
const char *client_id_of(const struct client *c);

struct arena;

/* Small keyed values (a person by id or username, a consent), serialised as
 * strings, tenant-scoped, dropped with their tenant; consents also through
 * NOTIFY authz_consent. A value read from the database is put only when no
 * invalidation happened since cache_epoch() was taken before the read. */
enum kv_kind { KV_PERSON_ID = 0, KV_PERSON_NAME = 1, KV_CONSENT = 2 };
unsigned long long cache_epoch(void);
/* 1 hit (*value in r's arena, NULL for a cached "does not exist"), 0 miss */
int cache_kv_get(struct arena *a, enum kv_kind kind, const char *tenant_id, const char *key,
                 const char **value);
void cache_kv_put(unsigned long long seen_epoch, enum kv_kind kind, const char *tenant_id,
                  const char *key, const char *value);
void cache_invalidate_consents(const char *tenant_id);

/* The tenant's trust policies (a reference: trust_set_release), as
 * cache_tenant: false when not cached and may not be loaded here; on
 * database failure true with *out NULL and tx->down set. */
struct trust_set;
bool cache_trust_set(struct dbtx *tx, bool may_load, const char *tenant_id, struct trust_set **out);

/* helpers on snapshots */
bool strlist_has(const struct strlist *l, const char *s);
const struct resource *tenant_resource(const struct tenant *t, const char *uri);
/* The catalog entry of a resource's tool, or NULL. */
const struct tool_entry *resource_tool(const struct resource *res, const char *name);
/* What a scope lets a client do, in words (resources' scope_descriptions):
 * the description given by the first of the resources uris[0..n) (every
 * resource of the tenant when n is 0) that describes it, or NULL. */
const char *tenant_scope_description(const struct tenant *t, const char *scope,
                                     const char *const *uris, int n);
const struct signing_key *tenant_key(const struct tenant *t, const char *kid);

/* Loads a tenant snapshot from the database (storage/tenants.c). NULL when
 * unknown (*db_failed false) or on database failure (*db_failed true). */
struct tenant *tenant_load(PGconn *c, const char *slug, bool *db_failed);
struct client *client_load(PGconn *c, const char *tenant_id, const char *client_id,
                           bool *db_failed);
void tenant_free(struct tenant *t);
void client_free(struct client *c);

#endif
