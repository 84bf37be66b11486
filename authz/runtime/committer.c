/*
 * committer.c: group commit of the audit rows of jobs answered on the event
 * loops. The committer takes as many jobs as fit in one COPY, writes their
 * rows at once, and hands each job back; when the commit fails every job of
 * the batch is answered 503, so no answer leaves without its row.
 */
#include "runtime/runtime.h"
#include "storage/db.h"
#include "log.h"
#include "metrics.h"

/* batches in flight at once: one fsyncs while the next fills. Overridable
 * at build time (-DCOMMITTERS=n) for bench/cc.sh's comparisons. */
#ifndef COMMITTERS
#define COMMITTERS 1
#endif
#define COMMIT_MAX_ROWS 2000

static struct job_queue commit_q = JOB_QUEUE_INIT;
static pthread_t committer_threads[COMMITTERS];

void committer_submit(struct job *j)
{
    job_queue_push(&commit_q, j);
}

static int audit_rows(const struct job *j)
{
    return j->tx->naudit;
}

/* Writes the chained events of a batch: 1 committed, 0 not. */
static int commit_rows(PGconn **conn, unsigned *gen, struct audit_event *head, int rows)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        char err[512];
        bool fresh;
        *conn = conn_ensure(*conn, "authzd", gen, &fresh, err, sizeof err);
        if (!*conn) {
            log_msg(LOG_WARN, "committer: database unreachable: %s", err);
            return 0;
        }
        int rc = audit_copy(*conn, head, rows);
        if (rc == 0) {
            metrics_commit_batch(rows);
            return 1;
        }
        if (rc != -2 || fresh)
            return 0;
        /* -2 on a connection kept from before: it had died while idle and
         * nothing was sent, so once more on a new one */
    }
    return 0;
}

static void *committer_main(void *arg)
{
    (void)arg;
    runtime_block_signals();
    PGconn *conn = NULL;
    unsigned gen = 0;
    for (;;) {
        struct job *batch = job_queue_take(&commit_q, audit_rows, COMMIT_MAX_ROWS);
        if (!batch)
            break;
        /* chain the events of every job into one list */
        int rows = 0;
        struct audit_event *head = NULL, *tail = NULL;
        for (struct job *j = batch; j; j = j->next) {
            rows += j->tx->naudit;
            if (!j->tx->audit_head)
                continue;
            if (tail)
                tail->next = j->tx->audit_head;
            else
                head = j->tx->audit_head;
            tail = j->tx->audit_tail;
        }
        int ok = commit_rows(&conn, &gen, head, rows);
        if (!ok)
            metrics_db_error();
        struct job *j = batch;
        while (j) {
            struct job *n = j->next;
            /* unchain the events again: each belongs to its own job */
            if (j->tx->audit_tail)
                j->tx->audit_tail->next = NULL;
            if (!ok) {
                j->tx->down = true;
                j->ops->unavailable(j);
            }
            j->tx->audit_head = j->tx->audit_tail = NULL;
            j->tx->naudit = 0;
            j->ops->done(j);
            j = n;
        }
    }
    PQfinish(conn);
    return NULL;
}

int committer_start(void);
int committer_start(void)
{
    for (int i = 0; i < COMMITTERS; i++)
        if (pthread_create(&committer_threads[i], NULL, committer_main, NULL) != 0)
            return -1;
    return 0;
}

void committer_shutdown(void);
void committer_shutdown(void)
{
    job_queue_stop(&commit_q);
    for (int i = 0; i < COMMITTERS; i++)
        pthread_join(committer_threads[i], NULL);
}
