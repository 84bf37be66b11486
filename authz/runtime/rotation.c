/*
 * rotation.c: the rotation committer's thread. A refresh job (run on a
 * worker) mints its answer and leaves its rotation here; this thread writes
 * the rotations of many jobs with one statement and one commit
 * (storage/rotate.c) and hands each job back after it. A job whose token
 * was no longer current gets its handler's `lost` callback (with a
 * connection) to set its answer; a batch that fails for another reason is
 * retried one rotation at a time, so one bad row cannot fail its neighbours.
 */
#include "runtime/runtime.h"
#include "storage/db.h"
#include "storage/rotate.h"
#include "log.h"
#include "metrics.h"

#include <stdlib.h>

static struct job_queue rot_q = JOB_QUEUE_INIT;
static bool started;
static pthread_t rot_thread;

void rotation_submit(struct job *j)
{
    job_queue_push(&rot_q, j);
}

/* Hands j back: as minted when rotated, from its handler's `lost` callback
 * when not, 503 when the database failed. */
static void finish(struct job *j, PGconn *c)
{
    struct rotation *rot = j->rotation;
    struct dbtx *tx = j->tx;
    j->rotation = NULL;
    if (rot->outcome == 0) {
        j->ops->reset(j);
        tx->conn = c;
        if (!c)
            tx->down = true;
        else
            rot->lost(j, rot->ctx);
        db_rollback(tx);
        if (!tx->down && tx->naudit && db_audit_flush(tx) < 0)
            tx->down = true;
        dbtx_end(tx);
        tx->conn = NULL;
    } else if (rot->outcome < 0) {
        tx->down = true;
    }
    if (tx->down)
        j->ops->unavailable(j);
    j->ops->done(j);
}

/* Runs the batch, retrying once on a connection that had died idle, and
 * one rotation at a time when the batch as a whole failed. */
static void run(PGconn **conn, bool *prepared, struct rotation **rots, int n)
{
    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*conn && PQstatus(*conn) != CONNECTION_OK) {
            PQfinish(*conn);
            *conn = NULL;
        }
        if (!*conn) {
            char err[512];
            unsigned gen = 0;
            bool fresh;
            *conn = conn_ensure(NULL, "authzd-rotation", &gen, &fresh, err, sizeof err);
            *prepared = false;
            if (!*conn) {
                log_msg(LOG_WARN, "rotation: database unreachable: %s", err);
                break;
            }
        }
        rc = rotate_batch(*conn, prepared, rots, n);
        if (rc != -3)
            break;
        /* the connection had died while idle (a restarted server, a
         * terminated backend): nothing was sent, so once more on a new one */
        PQfinish(*conn);
        *conn = NULL;
        rc = -1;
    }
    if (rc == -2 && n > 1) {
        /* one rotation at a time, each in its own transaction */
        for (int i = 0; i < n; i++)
            if (rotate_batch(*conn, prepared, &rots[i], 1) < -2 || PQstatus(*conn) != CONNECTION_OK) {
                for (int k = i + 1; k < n; k++)
                    rots[k]->outcome = -1;
                break;
            }
    }
    if (rc != 0)
        metrics_db_error();
    if (*conn && PQstatus(*conn) != CONNECTION_OK) {
        PQfinish(*conn);
        *conn = NULL;
    }
}

static void *rotation_main(void *arg)
{
    (void)arg;
    runtime_block_signals();
    PGconn *conn = NULL;
    bool prepared = false;
    struct rotation *rots[ROT_MAX];
    for (;;) {
        struct job *batch = job_queue_take(&rot_q, NULL, ROT_MAX);
        if (!batch)
            break;
        int n = 0;
        for (struct job *j = batch; j; j = j->next)
            rots[n++] = j->rotation;
        run(&conn, &prepared, rots, n);
        struct job *j = batch;
        while (j) {
            struct job *next = j->next;
            finish(j, conn);
            j = next;
        }
    }
    PQfinish(conn);
    db_thread_done();
    return NULL;
}

int rotation_start(void);
int rotation_start(void)
{
    if (pthread_create(&rot_thread, NULL, rotation_main, NULL) != 0)
        return -1;
    started = true;
    return 0;
}

void rotation_shutdown(void);
void rotation_shutdown(void)
{
    if (!started)
        return;
    job_queue_stop(&rot_q);
    pthread_join(rot_thread, NULL);
    started = false;
}
