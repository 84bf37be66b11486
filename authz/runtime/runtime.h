/*
 * runtime.h: threads and queues. authzd answers what it can on its event
 * loops; work that needs the database is a `struct job` handed to this
 * layer, which owns every thread that holds a connection:
 *  - the worker pool (db_pool_size threads) runs jobs with blocking libpq
 *    calls, off the event loops (pool.c);
 *  - the committer group-commits the audit rows of jobs answered on the
 *    loops: many jobs share one COPY, each handed back after its commit
 *    (committer.c);
 *  - the rotation thread group-commits refresh token rotations
 *    (rotation.c, with storage/rotate.c);
 *  - the listener LISTENs for the NOTIFY channels in its table and calls
 *    their handlers (listener.c);
 *  - the outbox thread delivers webhooks and pings (notify/outbox.c);
 *  - the fetch threads run jobs that must wait on the network first (a
 *    client ID metadata document, a JWK Set), without a database
 *    connection, so that a slow or hostile server holds neither an event
 *    loop nor a database worker (fetchers.c).
 * A connection is made, checked and replaced in one place (conn.c).
 *
 * The runtime knows no HTTP: the http layer embeds a job in each request
 * and gives it its operations (run the handler, forget a run, answer 503,
 * hand the request back to its loop).
 */
#ifndef AUTHZ_RUNTIME_H
#define AUTHZ_RUNTIME_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

struct config;
struct dbtx;
struct rotation;
struct job;

struct job_ops {
    /* On a worker, with job->tx->conn set (NULL: unreachable, tx->down). */
    void (*run)(struct job *j);
    /* Forget what a run left (its answer) so that it can run again. */
    void (*reset)(struct job *j);
    /* The database failed: replace the answer by a 503. */
    void (*unavailable)(struct job *j);
    /* Hand the finished job back (any thread). */
    void (*done)(struct job *j);
    /* On a fetch thread, without a connection: run it where outbound
     * fetches may block, then hand it on (to a database worker, the
     * committer or its loop). */
    void (*fetch)(struct job *j);
};

struct job {
    struct job *next;               /* queue link */
    const struct job_ops *ops;
    struct dbtx *tx;                /* its unit of work */
    /* set by a run: a refresh token rotation to group-commit before the
     * answer leaves (rotation.c) */
    struct rotation *rotation;
};

/* A queue of jobs handed between threads: pushed by one, taken in batches
 * by another. */
struct job_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    int len;
    bool stop;
};
#define JOB_QUEUE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, false}
void job_queue_push(struct job_queue *q, struct job *j);
/* Waits for a job, then takes it and those after it while their summed
 * weight (1 each when weight is NULL) stays within max: a NULL-terminated
 * list through j->next. NULL once the queue is stopped and empty. */
struct job *job_queue_take(struct job_queue *q, int (*weight)(const struct job *), int max);
/* Wakes every taker; they drain what is queued, then get NULL. */
void job_queue_stop(struct job_queue *q);

/* For the threads that own connections: signals go to the main thread. */
void runtime_block_signals(void);

/* ---- connections (conn.c) ---- */
/* The connection a thread that keeps one should use now: c while it is
 * alive and of the current generation, else a new one (NULL when the
 * database cannot be reached: the reason in err). *fresh: just made. */
PGconn *conn_ensure(PGconn *c, const char *app, unsigned *gen, bool *fresh, char *err,
                    size_t errlen);
/* The database went away (a restart, a failover): every kept connection
 * is replaced at its next use, however healthy its socket looks. */
void conn_lost_all(void);

/* ---- the threads ---- */
/* Runs a job on a database worker, then hands it back (pool.c). */
void pool_submit(struct job *j);
/* Group-commits the job's audit rows, then hands it back (503 when the
 * commit fails) (committer.c). */
void committer_submit(struct job *j);
/* Group-commits the job's rotation, then hands it back (rotation.c). */
void rotation_submit(struct job *j);
/* Runs the job's fetch operation on a fetch thread (fetchers.c). */
void fetch_submit(struct job *j);

/* Starts every thread above (and the outbox's); stops them in order,
 * draining what is queued. */
int runtime_start(const struct config *cfg);
void runtime_shutdown(void);
const struct config *runtime_config(void);

#endif
