/*
 * db.h: PostgreSQL access. Three kinds of threads own connections:
 *  - database workers (db_pool_size of them) run handlers that need the
 *    database, with blocking libpq calls, off the event loops;
 *  - the committer group-commits audit rows produced on the loops: many
 *    requests share one INSERT, each answered after its commit;
 *  - the listener LISTENs on authz_cache and drops cached tenants/clients
 *    when another authzd (or this one) changes them.
 * Handlers never build SQL: they call the storage functions in this folder.
 */
#ifndef AUTHZ_DB_H
#define AUTHZ_DB_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct config;
struct req;
struct arena;

struct audit_event {
    struct audit_event *next;
    const char *tenant_id;
    const char *event;
    bool success;
    const char *client_id;
    const char *subject;
    const char **actor_chain;
    int nactors;
    const char *session_id;
    const char **resources;   /* NULL = none */
    int nresources;
    const char *scope;
    const char *reason;
    const char *request_id;
    const char *source;
    const char *details;      /* JSON object text; NULL = {} */
};

/* A queue of requests handed between threads (the worker pool, the
 * committers): pushed by one thread, taken in batches by another. */
struct req_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct req *head, *tail;
    int len;
    bool stop;
};
#define REQ_QUEUE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, false}
void req_queue_push(struct req_queue *q, struct req *r);
/* Waits for a request, then takes it and those after it while their summed
 * weight (1 each when weight is NULL) stays within max: a NULL-terminated
 * list through r->next. NULL once the queue is stopped and empty. */
struct req *req_queue_take(struct req_queue *q, int (*weight)(const struct req *), int max);
/* Wakes every taker; they drain what is queued, then get NULL. */
void req_queue_stop(struct req_queue *q);
/* For the threads that own connections: signals go to the main thread. */
void db_thread_block_signals(void);

int db_init(const struct config *cfg);
/* The outbox thread (storage/outbox.c): deliveries and the expiry sweeper. */
void outbox_start(const struct config *cfg);
void outbox_shutdown(void);
void outbox_wake(void);
void db_shutdown(void);
/* Frees what db_q keeps per thread (its prepared statements' names); for
 * threads that ran db_q, before they end. */
void db_thread_done(void);
/* Runs r's handler on a database worker, then completes it. */
void db_submit(struct req *r);
/* Group-commits r's audit rows, then completes it (503 if the commit fails). */
void committer_submit(struct req *r);

/* A new blocking connection (for authzctl and workers). NULL on failure with
 * the reason in err. */
PGconn *db_connect(const char *conninfo, char *err, size_t errlen);
/* The same, with its own application_name (seen in pg_stat_activity). */
PGconn *db_connect_as(const char *conninfo, const char *app, char *err, size_t errlen);

/* Runs a parameterized statement on r->db. Returns the result when its status
 * is OK/TUPLES_OK; otherwise NULL, and sets r->db_down when the connection is
 * gone. The result is freed when the request ends. */
PGresult *db_q(struct req *r, const char *sql, int n, const char *const *vals);
/* The SQLSTATE of the last failed db_q on r, or "" */
const char *db_last_sqlstate(struct req *r);
/* What PostgreSQL said of the last failed db_q on r, beyond its message
 * (which is for the log only): each "" when it did not say. The strings
 * live until the next db_q on r. */
struct db_failure {
    const char *sqlstate, *table, *constraint, *column;
};
void db_last_failure(struct req *r, struct db_failure *out);
/* BEGIN / COMMIT / ROLLBACK on r->db. 0 on success. A rollback also drops
 * the audit rows added since: add failure rows after rolling back. */
int db_begin(struct req *r);
int db_commit(struct req *r);
void db_rollback(struct req *r);
/* Writes r's pending audit rows on r->db (inside the caller's transaction
 * when one is open) and clears them. 0 on success. */
int db_audit_flush(struct req *r);

/* Appends an audit event to r, prefilled with tenant, request id, source
 * and the authenticated client. */
struct audit_event *audit_add(struct req *r, const char *event, bool success);
/* Takes e off r's pending rows (to be written by someone else). */
void audit_remove(struct req *r, struct audit_event *e);

/* The columns an audit row is written with, and one VALUES tuple of an
 * event as parameters $base+1 .. $base+13 (for statements that write an
 * audit row together with the change it records). */
#define AUDIT_COLUMNS                                                                              \
    "tenant_id, event, outcome, client_id, subject, actor_chain, session_id, resources, scope, "   \
    "reason, request_id, source, details"
struct strbuf;
void audit_values(struct req *r, const struct audit_event *e, int base, struct strbuf *sql,
                  const char **vals);

/* Writes the first n events of a list with one COPY (inside the caller's
 * transaction when one is open). 0 on success; -2 when the connection was
 * found gone before anything was sent (safe to try again on a new one), -1
 * on any other failure. */
int audit_copy(PGconn *c, struct audit_event *head, int n);
/* INSERTs the rows of a list of events in one statement. 0 on success. */
int audit_insert(PGconn *c, struct audit_event *head, int n);

/* Standalone statement helper for authzctl and loaders: NULL on failure with
 * a message in err (when err is not NULL). */
PGresult *pq_exec(PGconn *c, const char *sql, int n, const char *const *vals, char *err,
                  size_t errlen);

#endif
