/*
 * revset.h: the revocation set every authzd keeps in memory, in step with
 * the `revocations` table through NOTIFY authz_revoke (authz/revset.c).
 *
 * Two sorts of entries:
 *  - identity revocations (a token's jti, a grant, a session, a consent):
 *    the thing revoked never comes back, so any token naming it is dead;
 *  - standing revocations (a person, a client, an agent's can_act_for entry
 *    or may_impersonate, a trust policy): the thing may be allowed again later, so an entry
 *    holds the moment it was revoked (`at`) and kills the tokens issued at or
 *    before it (iat <= at); tokens minted afterwards are issued with an iat
 *    past it (revset_floor).
 * Every entry is kept until the last token it can kill has expired.
 */
#ifndef AUTHZ_REVSET_H
#define AUTHZ_REVSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

enum rev_kind {
    REV_JTI = 0,
    REV_GRANT,
    REV_SESSION,
    REV_CONSENT,
    REV_USER,        /* standing: a person (by sub) */
    REV_CLIENT,      /* standing: a client (by client_id) */
    REV_ACT_FOR,     /* standing: "<agent> <username or *>" */
    REV_IMPERSONATE, /* standing: "<agent>" */
    REV_TRUST,       /* standing: "<trust policy name>" (deleted or replaced) */
    REV_NKINDS
};

const char *rev_kind_name(enum rev_kind k);
/* -1 when the name is not a kind */
int rev_kind_parse(const char *name, size_t len);
/* true for the kinds whose entries compare a token's iat */
bool rev_kind_standing(enum rev_kind k);

/* Adds (or extends) an entry; at is when it was revoked (seconds). */
void revset_add(const char *tenant_id, enum rev_kind kind, const char *value, int64_t expires_at,
                int64_t at);
/* Is there an entry at all (identity kinds) */
bool revset_has(const char *tenant_id, enum rev_kind kind, const char *value);
/* The moment of a standing revocation, or 0 */
int64_t revset_at(const char *tenant_id, enum rev_kind kind, const char *value);

/* Is the token with these verified claims revoked: its jti, grant, session,
 * person, client, every agent of its act chain, and every key of its
 * lineage claim. One read lock for all of it. */
bool revset_token_revoked(const char *tenant_id, const json_t *claims);
/* The earliest iat a new token for these may carry: one past the latest
 * standing revocation of its person, client or lineage keys (0: none). */
int64_t revset_floor(const char *tenant_id, const char *sub, const char *client_id,
                     const char *const *lineage, int nlineage);

/* Replaces the whole set with what the database holds (at start and after a
 * lost LISTEN connection). 0 or -1. */
int revset_reload(PGconn *c);
/* Applies one authz_revoke notification payload. */
void revset_notify(const char *payload);
/* Drops entries whose tokens have all expired. */
void revset_prune(int64_t now);

#endif
