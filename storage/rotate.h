/*
 * rotate.h: refresh token rotations, group-committed by one thread
 * (authz/runtime/rotation.c) with the statement of this file.
 *
 * A refresh handler (on a database worker) looks its token up, mints the
 * answer, and leaves the rotation itself to this thread: many requests'
 * rotations are then written by one statement and one commit. Each answer
 * leaves only after its rotation committed; a token that was no longer
 * current when its batch ran is handed back to the handler's `lost`
 * callback (with a database connection), which treats it as reuse.
 */
#ifndef AUTHZ_ROTATE_H
#define AUTHZ_ROTATE_H

#include "crypto/crypto.h"

#include <stdint.h>

struct audit_event;

struct rotation {
    const char *tenant_id;
    char old_hash[CRYPTO_SECRET_HASH_HEX + 1]; /* keyed hashes, as stored */
    char new_hash[CRYPTO_SECRET_HASH_HEX + 1];
    const char *client_id;
    const char *scopes_pg, *resources_pg;      /* text[] literals of the successor */
    int64_t expires_at;                        /* of the successor */
    struct audit_event *audit;                 /* written with the rotation (may be NULL) */
    /* Called on the rotation thread when the old token was not current any
     * more, with its owner (the job whose rotation this is; its dbtx has a
     * connection): it sets the owner's answer. */
    void (*lost)(void *owner, void *ctx);
    void *ctx;
    /* SPEC §11 refresh_retry_window: the successor, sealed
     * (crypto_seal_text), kept for retry_window seconds beside the old
     * token so that its client presenting it again gets the same successor
     * (NULL, 0: not kept) */
    const char *successor_sealed;
    int retry_window;
    int outcome;                               /* 1 rotated, 0 lost, -1 database failure */
};

/* Fills the hashes of a rotation of the token stored as old_hash (its
 * keyed hash, as refresh_take found it) into new_token. */
void rotation_init(struct rotation *rot, const char *tenant_id, const char *old_hash,
                   const char *new_token);

#define ROT_MAX 256 /* rotations per statement */

/* Runs one batch (n ≤ ROT_MAX rotations) in one transaction: sets each
 * rotation's outcome to 1 or 0. Returns 0 on success, -1 when the
 * connection is gone, -2 when the batch failed otherwise (rolled back), -3
 * when the connection was found dead before anything was sent (safe to run
 * again on a new one). *prepared: this connection has the statement. */
#include <libpq-fe.h>
#include <stdbool.h>
int rotate_batch(PGconn *c, bool *prepared, struct rotation **rots, int n);

#endif
