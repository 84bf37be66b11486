/*
 * pool.c: the database workers. Each takes one job at a time, gives it its
 * connection (checked first: one the server closed while idle is replaced),
 * runs it, rolls back whatever it left open, writes its audit rows, and
 * hands it on: to the rotation thread when it left a rotation, else back to
 * its loop. A job whose connection turned out dead before it could change
 * anything runs once more on a new connection instead of failing.
 */
#include "runtime/runtime.h"
#include "storage/db.h"
#include "config.h"
#include "log.h"
#include "metrics.h"

#include <stdlib.h>

static struct job_queue pool_q = JOB_QUEUE_INIT;
static pthread_t *workers;
static int nworkers;

void pool_submit(struct job *j)
{
    job_queue_push(&pool_q, j);
}

/* Runs j on conn (NULL: the database is unreachable). */
static void run_on(struct job *j, PGconn *conn)
{
    j->tx->conn = conn;
    if (!conn)
        j->tx->down = true;
    j->ops->run(j);
    db_rollback(j->tx); /* a job that returned mid-transaction changes nothing */
}

static PGconn *connect_for(PGconn *conn, unsigned *gen, bool *fresh)
{
    char err[512];
    conn = conn_ensure(conn, "authzd", gen, fresh, err, sizeof err);
    if (!conn) {
        metrics_db_error();
        log_msg(LOG_WARN, "database unreachable: %s", err);
    }
    return conn;
}

static void *worker_main(void *arg)
{
    (void)arg;
    runtime_block_signals();
    PGconn *conn = NULL;
    unsigned gen = 0;
    for (;;) {
        struct job *j = job_queue_take(&pool_q, NULL, 1);
        if (!j)
            break;
        struct dbtx *tx = j->tx;
        metrics_db_pool(1);
        bool fresh;
        conn = connect_for(conn, &gen, &fresh);
        run_on(j, conn);
        if (tx->down && conn && !fresh && PQstatus(conn) != CONNECTION_OK && dbtx_rerun_safe(tx)) {
            /* the connection was gone before this job could change anything
             * (it died in a restart the check above did not see yet): once
             * more on a new one, instead of a 503 */
            log_msg(LOG_INFO, "database connection lost before use; running the request again "
                              "on a new connection");
            PQfinish(conn);
            dbtx_forget(tx);
            j->ops->reset(j);
            conn = connect_for(NULL, &gen, &fresh);
            run_on(j, conn);
        }
        if (!tx->down && tx->naudit && db_audit_flush(tx) < 0) {
            tx->down = true;
            j->ops->unavailable(j);
        }
        if (tx->down && conn && PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = NULL;
        }
        dbtx_end(tx);
        tx->conn = NULL;
        metrics_db_pool(-1);
        if (j->rotation && !tx->down)
            rotation_submit(j); /* handed back after its rotation commits */
        else
            j->ops->done(j);
    }
    PQfinish(conn);
    db_thread_done();
    return NULL;
}

int pool_start(const struct config *cfg);
int pool_start(const struct config *cfg)
{
    nworkers = cfg->db_pool_size;
    metrics_db_pool_size(nworkers);
    workers = calloc((size_t)nworkers, sizeof(pthread_t));
    if (!workers)
        return -1;
    for (int i = 0; i < nworkers; i++)
        if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0)
            return -1;
    return 0;
}

void pool_shutdown(void);
void pool_shutdown(void)
{
    job_queue_stop(&pool_q);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    free(workers);
    workers = NULL;
}
