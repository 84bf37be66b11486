/*
 * trust.h: storage of trust policies (storage/trust.c) and of the client
 * assertion ids seen (RFC 7523 jti single use). Every statement is
 * parameterized; handlers call these and never write SQL.
 */
#ifndef AUTHZ_STORE_TRUST_H
#define AUTHZ_STORE_TRUST_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct dbtx;
struct trust_set;

/* A validated policy document, as statement parameters. */
struct trust_policy_doc {
    const char *tenant_id;
    const char *name;
    const char *issuer;
    const char *jwks;             /* JSON text, or NULL */
    const char *jwks_uri;         /* or NULL */
    const char *audience;
    const char *subject_pattern;  /* or NULL */
    const char *required_claims;  /* JSON object text */
    const char *max_token_age;    /* decimal, or NULL */
    const char *use;              /* PostgreSQL text[] literal */
    const char *maps_to_client;   /* or NULL */
    const char *user_claim;       /* or NULL */
};

/* Creates or replaces the policy on tx->conn (inside the caller's transaction).
 * 1 created, 0 replaced, -1 failure (tx->down when the database is gone). */
int store_trust_put(struct dbtx *tx, const struct trust_policy_doc *d);
/* The policy as its admin JSON text (arena). 1 found, 0 none, -1 failure. */
int store_trust_get(struct dbtx *tx, const char *tenant_id, const char *name, const char **json);
/* {"trust_policies":[...]} ordered by name (arena). 0, or -1 on failure. */
int store_trust_list(struct dbtx *tx, const char *tenant_id, const char **json);
/* 1 deleted, 0 none, -1 failure. */
int store_trust_delete(struct dbtx *tx, const char *tenant_id, const char *name);
/* 1 when client_id is a client of the tenant (its row locked against
 * deletion until the transaction ends), 0 when not, -1 on failure. */
int store_trust_client_exists(struct dbtx *tx, const char *tenant_id, const char *client_id);

/* Every policy of a tenant, parsed (inline JWK Sets included), for the
 * cache. NULL with *db_failed set on database failure; a set with n == 0
 * when the tenant has none. Rows that no longer parse are skipped (logged). */
struct trust_set *trust_set_load(PGconn *c, const char *tenant_id, bool *db_failed);

/* RFC 7523 §3 item 7: records a client assertion's jti for the tenant and
 * client until expires_at (seconds since the epoch). 1 first use, 0 replay,
 * -1 failure (tx->down when the database is gone). Prunes expired ids now
 * and then. */
int store_assertion_jti_use(struct dbtx *tx, const char *tenant_id, const char *client_id,
                            const char *jti, int64_t expires_at);

/* RFC 7523 §3 item 7 for the JWT bearer grant (SPEC §11): records an
 * ID-JAG's jti for the tenant and its issuer until expires_at, across every
 * authzd sharing the database. 1 first use, 0 replay, -1 failure. */
int store_grant_jti_use(struct dbtx *tx, const char *tenant_id, const char *issuer,
                        const char *jti, int64_t expires_at);

#endif
