/*
 * rotate.h: refresh token rotations, group-committed by one thread.
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

struct req;
struct audit_event;
struct config;

struct rotation {
    const char *tenant_id;
    char old_hash[CRYPTO_SECRET_HASH_HEX + 1]; /* keyed hashes, as stored */
    char new_hash[CRYPTO_SECRET_HASH_HEX + 1];
    const char *client_id;
    const char *scopes_pg, *resources_pg;      /* text[] literals of the successor */
    int64_t expires_at;                        /* of the successor */
    struct audit_event *audit;                 /* written with the rotation (may be NULL) */
    /* Called on the rotation thread, with r->db set and r->can_block true,
     * when the old token was not current any more: it sets r's answer. */
    void (*lost)(struct req *r, void *ctx);
    void *ctx;
    int outcome;                               /* 1 rotated, 0 lost, -1 database failure */
};

/* Fills the hashes of a rotation of the token stored as old_hash (its
 * keyed hash, as refresh_take found it) into new_token. */
void rotation_init(struct rotation *rot, const char *tenant_id, const char *old_hash,
                   const char *new_token);

/* Queues r (whose handler set r->rotation and its answer) for the next
 * batch; the rotation thread completes r. */
void rotation_submit(struct req *r);

int rotation_start(const struct config *cfg);
/* Drains the queue and stops the thread (after the workers stopped). */
void rotation_shutdown(void);

#endif
