/*
 * db.h: PostgreSQL access for storage/. The unit of work is a `struct dbtx`:
 * a connection, the arena its results and strings live in, whether the
 * database failed, and the audit rows to write with it. Every storage
 * function takes one; storage knows nothing of HTTP (the http layer embeds
 * a dbtx in each request, authzctl and the background threads make their
 * own). Threads and queues live in authz/runtime/.
 * Handlers never build SQL: they call the storage functions in this folder.
 */
#ifndef AUTHZ_DB_H
#define AUTHZ_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct strbuf;

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
    /* want_id: whoever added the row needs its id once written (the PDP
     * answers it); audit_insert and audit_copy then set id */
    bool want_id;
    int64_t id;
};

struct dbtx_state;

/* A unit of work: what one request (or one background step) does with the
 * database. conn is NULL while no connection is given (on an event loop, or
 * when the database is unreachable). */
struct dbtx {
    PGconn *conn;
    struct arena *arena;       /* results' strings and the audit rows live here */
    bool down;                 /* the database failed during this unit */
    struct audit_event *audit_head, *audit_tail;
    int naudit;                /* audit rows to write with it */
    struct dbtx_state *st;     /* statement bookkeeping (storage/db.c) */
};

/* A new blocking connection (for authzctl and the runtime's threads). NULL
 * on failure with the reason in err. */
PGconn *db_connect(const char *conninfo, char *err, size_t errlen);
/* The same, with its own application_name (seen in pg_stat_activity). */
PGconn *db_connect_as(const char *conninfo, const char *app, char *err, size_t errlen);

/* Runs a parameterized statement on tx->conn (prepared once per connection
 * and thread, run by name afterwards). Returns the result when its status
 * is OK/TUPLES_OK; otherwise NULL, and sets tx->down when the connection is
 * gone. The result is freed by dbtx_end(). */
PGresult *db_q(struct dbtx *tx, const char *sql, int n, const char *const *vals);
/* The SQLSTATE of the last failed db_q on tx, or "" */
const char *db_last_sqlstate(struct dbtx *tx);
/* What PostgreSQL said of the last failed db_q on tx, beyond its message
 * (which is for the log only): each "" when it did not say. The strings
 * live until the next db_q on tx. */
struct db_failure {
    const char *sqlstate, *table, *constraint, *column;
};
void db_last_failure(struct dbtx *tx, struct db_failure *out);
/* BEGIN / COMMIT / ROLLBACK on tx->conn. 0 on success. A rollback also
 * drops the audit rows added since: add failure rows after rolling back. */
int db_begin(struct dbtx *tx);
int db_commit(struct dbtx *tx);
void db_rollback(struct dbtx *tx);
/* Writes tx's pending audit rows on its connection (inside the open
 * transaction when there is one) and clears them. 0 on success. */
int db_audit_flush(struct dbtx *tx);

/* Frees the results of tx's statements (the end of a unit of work). */
void dbtx_end(struct dbtx *tx);
/* Forgets what a unit did so far (results, failures, down) so that it can
 * run again from the start on another connection. */
void dbtx_forget(struct dbtx *tx);
/* Whether a unit that failed because its connection did may run again on a
 * new one: none of its statements succeeded and none that failed may have
 * changed rows. */
bool dbtx_rerun_safe(const struct dbtx *tx);
/* Frees what db_q keeps per thread (its prepared statements' names); for
 * threads that ran db_q, before they end. */
void db_thread_done(void);

/* Appends e to tx's pending audit rows / takes it off them. */
void audit_append(struct dbtx *tx, struct audit_event *e);
void audit_unlink(struct dbtx *tx, struct audit_event *e);

/* The columns an audit row is written with, and one VALUES tuple of an
 * event as parameters $base+1 .. $base+13 (for statements that write an
 * audit row together with the change it records). */
#define AUDIT_COLUMNS                                                                              \
    "tenant_id, event, outcome, client_id, subject, actor_chain, session_id, resources, scope, "   \
    "reason, request_id, source, details"
void audit_values(struct dbtx *tx, const struct audit_event *e, int base, struct strbuf *sql,
                  const char **vals);

/* Writes the first n events of a list with one COPY (inside the caller's
 * transaction when one is open). 0 on success; -2 when the connection was
 * found gone before anything was sent (safe to try again on a new one), -1
 * on any other failure. */
int audit_copy(PGconn *c, struct audit_event *head, int n);
/* INSERTs the rows of a list of events in one statement. 0 on success. */
int audit_insert(PGconn *c, struct audit_event *head, int n);

/* LISTEN on a NOTIFY channel. 0 or -1. */
int store_listen(PGconn *c, const char *channel);
/* Every revocation still in force: tenant_id, kind, value, expires_at and
 * created_at (epoch seconds). NULL on failure. */
PGresult *store_revocations_live(PGconn *c);

/* Standalone statement helper for authzctl and loaders: NULL on failure with
 * a message in err (when err is not NULL). */
PGresult *pq_exec(PGconn *c, const char *sql, int n, const char *const *vals, char *err,
                  size_t errlen);

#endif
