/*
 * grants.h: token families and their state (storage/grants.c), and the
 * in-memory revocation set every authzd keeps in step through NOTIFY
 * authz_revoke (authz/revset.c).
 *
 * A grant is one authorization by a person (a code flow, later a session
 * grant); every token issued under it belongs to its family. Access tokens
 * carry the grant in their jti as "<grant id>.<random>", so that revoking
 * the grant (code replay, refresh reuse, consent withdrawn, session revoked)
 * makes each of them inactive without a list of tokens.
 */
#ifndef AUTHZ_STORAGE_GRANTS_H
#define AUTHZ_STORAGE_GRANTS_H

#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "revset.h"

struct dbtx;
struct tenant;
struct client;

/* The longest an access token can live (tenants' access_token_ttl is at
 * most this): a revocation whose tokens' own exp is unknown is kept this
 * long (SPEC §5: "A revocation holds until the revoked token's own exp,
 * whatever the tenant's access_token_ttl later becomes"). */
#define ACCESS_TOKEN_TTL_MAX 86400

/* ---- storage (storage/grants.c); all on r->tx.conn, inside the caller's
 * transaction when one is open ---- */

/* Creates a grant with the id in id_out, or (id_out empty) a new one that
 * id_out gets (23 bytes). 0 or -1. scopes and
 * resources are PostgreSQL text[] literals; details_json the grant's task
 * details (policy/details.h JSON form) or NULL. */
int grant_create(struct dbtx *tx, const char *tenant_id, const char *client_id, const char *user_id,
                 const char *kind, const char *scopes_pg, const char *resources_pg,
                 const char *details_json, int64_t auth_time, int64_t expires_at,
                 char id_out[32]);

/* Records a revocation for every authzd (kept until expires_at) and adds it
 * to the local set. 0 or -1. */
int revocation_record(struct dbtx *tx, const char *tenant_id, enum rev_kind kind, const char *value,
                      int64_t expires_at);
/* now + the longest access token lifetime + leeway: how long a revocation
 * must be kept when the exp of what it kills is not known */
int64_t revocation_horizon(void);

/* Revokes a grant and its refresh tokens, records the revocation for every
 * authzd (kept until expires_at) and adds it to the local set. 0 or -1. */
int grant_revoke(struct dbtx *tx, const char *tenant_id, const char *grant_id, const char *reason,
                 int64_t expires_at);

/* Records the revocation of one access token (jti) until its exp. */
int jti_revoke(struct dbtx *tx, const char *tenant_id, const char *jti, int64_t exp);

/* Issues an authorization code (RFC 6749 §4.1.2, ≤ 60 s, single use) for a
 * new grant. code_out gets the code (44 bytes). 0 or -1. */
int code_issue(struct dbtx *tx, const char *tenant_id, const char *client_id, const char *user_id,
               const char *redirect_uri, const char *code_challenge, const char *scopes_pg,
               const char *resources_pg, const char *details_json, int64_t auth_time,
               char code_out[64]);

/* A redeemed authorization code or a presented refresh token, with the
 * state of its grant. Strings live in the request's arena. */
struct grant_row {
    const char *grant_id, *client_id, *user_id, *redirect_uri, *code_challenge;
    const char *scopes_pg, *resources_pg;     /* as stored (text[] literals) */
    const char **scopes, **resources, **user_scopes;
    int nscopes, nresources, nuser_scopes;
    int64_t auth_time, grant_expires_at;      /* 0 = none */
    bool used;            /* code already redeemed / refresh token already rotated */
    bool expired;
    bool revoked;         /* the token or its grant is revoked */
    const char *sid;      /* session id for session grants, else NULL */
    const char *token_hash; /* refresh_take: the token's keyed hash, as stored */
    const char *details_json; /* the grant's task details (RFC 9396), NULL when none */
};

/* Takes a code for redemption: locks its row (inside the caller's
 * transaction) and marks it used. 1 found, 0 no such code, -1 db failure. */
int code_take(struct dbtx *tx, const char *tenant_id, const char *code, struct grant_row *out);

#define REFRESH_TTL (30 * 24 * 3600)
/* A new refresh token value (opaque, 256 bits, "azrt_" prefixed). */
void refresh_token_new(char token_out[64]);
/* Issues a refresh token of a grant; token_out gets it (64 bytes). */
int refresh_issue(struct dbtx *tx, const char *tenant_id, const char *grant_id,
                  const char *client_id, const char *scopes_pg, const char *resources_pg,
                  int64_t expires_at, char token_out[64]);
/* Looks a refresh token up (locking it when lock is true, inside the
 * caller's transaction). 1 found, 0 not, -1 db failure. */
int refresh_take(struct dbtx *tx, const char *tenant_id, const char *token, bool lock,
                 struct grant_row *out);
/* SPEC §11 refresh_retry_window: the sealed successor of the rotated
 * refresh token stored as old_hash, while its window lasts (arena string).
 * 1 found, 0 none (never kept, or the window is over), -1 db failure. */
int refresh_successor_get(struct dbtx *tx, const char *tenant_id, const char *old_hash,
                          const char **sealed);
/* Records that a session ended (every authzd drops its tokens). */
int grant_record_session_revocation(struct dbtx *tx, const char *tenant_id, const char *sid,
                                    int64_t expires_at);

/* jti of an access token of a grant: "<grant id>.<random>" */
void grant_jti(const char *grant_id, char out[64]);
/* The grant id named in a jti, into out (or "" when the jti names none). */
void jti_grant(const char *jti, char out[32]);

#endif
