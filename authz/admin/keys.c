/*
 * keys.c: POST /admin/v1/tenants/{t}/keys/rotate (SPEC §7): a new signing
 * key of the tenant's algorithm becomes active; the one before stays
 * published until the tokens it signed have expired (storage/keys.c).
 * The call takes no body.
 */
#include "admin/admin.h"
#include "http/http.h"
#include "storage/db.h"
#include "storage/store.h"
#include "cache.h"

#include <string.h>

void admin_keys_rotate(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    char kid[64], err[256];
    if (db_begin(&r->tx) < 0)
        return;
    if (store_key_rotate(r->tx.conn, t->id, t->signing_alg, kid, err, sizeof err) < 0) {
        db_rollback(&r->tx);
        if (PQstatus(r->tx.conn) != CONNECTION_OK)
            r->tx.down = true;
        else
            admin_problem(r, 500, "key rotation failed");
        return;
    }
    admin_audit_change(r, t->id, who, "keys.rotate", kid);
    if (!admin_tx_commit(r, t->id))
        return;
    admin_answer_json(r, 201, json_pack("{s:s, s:s}", "kid", kid, "alg", t->signing_alg));
}

