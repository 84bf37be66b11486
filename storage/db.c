/*
 * db.c: the database worker pool, the audit group-committer and the
 * LISTEN/NOTIFY cache listener. Connection loss anywhere is answered 503 with
 * Retry-After (by the router) and healed by reconnecting on the next use, so
 * service comes back by itself when the database does.
 *
 * A pooled connection can die while it sits idle (PostgreSQL restarted, its
 * backend was terminated). That is no outage and fails no request: before
 * each use a connection is checked without a round trip (the server's
 * goodbye is waiting on its socket), every connection is replaced after the
 * cache listener has lost the database, and a request whose first statement
 * finds its connection gone, having changed nothing, runs again once on a
 * new connection (db_rerun_safe).
 */
#include "storage/db.h"
#include "storage/rotate.h"
#include "storage/pgarray.h"
#include "config.h"
#include "log.h"
#include "http/http.h"
#include "http/metrics.h"
#include "cache.h"
#include "oauth/grants.h"
#include <time.h>
#include "util/arena.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct config *g_cfg;

static struct req_queue pool_q = REQ_QUEUE_INIT;
static struct req_queue commit_q = REQ_QUEUE_INIT;
static pthread_t *workers;
static int nworkers;
#define COMMITTERS 1 /* batches in flight at once: one fsyncs while the next fills */
static pthread_t committer_threads[COMMITTERS], listener_thread;
static atomic_bool listener_stop;

void req_queue_push(struct req_queue *q, struct req *r)
{
    r->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->len++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

struct req *req_queue_take(struct req_queue *q, int (*weight)(const struct req *), int max)
{
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->stop)
        pthread_cond_wait(&q->cv, &q->mu);
    struct req *first = q->head, *last = first;
    if (first) {
        int w = weight ? weight(first) : 1, n = 1;
        while (last->next && w + (weight ? weight(last->next) : 1) <= max) {
            last = last->next;
            w += weight ? weight(last) : 1;
            n++;
        }
        q->head = last->next;
        if (!q->head)
            q->tail = NULL;
        last->next = NULL;
        q->len -= n;
    }
    pthread_mutex_unlock(&q->mu);
    return first;
}

void req_queue_stop(struct req_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void db_thread_block_signals(void)
{
    sigset_t set;
    sigfillset(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

PGconn *db_connect(const char *conninfo, char *err, size_t errlen)
{
    return db_connect_as(conninfo, "authzd", err, errlen);
}

PGconn *db_connect_as(const char *conninfo, const char *app, char *err, size_t errlen)
{
    /* connect_timeout first, so that the operator's conninfo can override it */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"3", app, conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        if (err) {
            const char *m = c ? PQerrorMessage(c) : "out of memory";
            snprintf(err, errlen, "%s", m);
            size_t l = strlen(err);
            while (l && (err[l - 1] == '\n' || err[l - 1] == ' '))
                err[--l] = '\0';
        }
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    return c;
}

PGresult *pq_exec(PGconn *c, const char *sql, int n, const char *const *vals, char *err,
                  size_t errlen)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    if (err)
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return NULL;
}

/* ---- per-request statements ---- */

struct result_list {
    PGresult *res;
    struct result_list *next;
};

struct req_db {
    struct result_list *results;
    char sqlstate[6];
    char table[64], constraint[64], column[64]; /* NAMEDATALEN */
    int succeeded;        /* statements that succeeded in this request */
    bool maybe_wrote;     /* a statement that can change rows failed without knowing whether it did */
};

static struct req_db *rdb(struct req *r)
{
    /* lives in the arena; freed results are tracked for the request's end */
    if (!r->hstate_db)
        r->hstate_db = arena_alloc(r->arena, sizeof(struct req_db));
    return r->hstate_db;
}

/* ---- prepared statements ----
 * A worker's connection prepares each statement the first time the worker
 * runs it and executes it by name afterwards: PostgreSQL then neither parses
 * nor (once it settles on a generic plan) plans it again. Without this, the
 * parser and planner were most of PostgreSQL's CPU on the refresh path.
 * Each worker thread owns one connection at a time; its table is emptied
 * when that connection is replaced. Names come from one process-wide counter
 * and are never reused. */
#define STMT_SLOTS 256 /* open addressing; at most STMT_MAX live entries */
#define STMT_MAX 192

struct stmt {
    uint64_t hash;
    char *sql;     /* NULL = empty slot */
    char name[24];
};

struct stmt_table {
    PGconn *conn;
    int backend_pid;
    int n;
    struct stmt slot[STMT_SLOTS];
};

static _Thread_local struct stmt_table *t_stmts;
static atomic_ulong stmt_names;

static uint64_t sql_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void stmt_table_clear(struct stmt_table *t)
{
    for (int i = 0; i < STMT_SLOTS; i++) {
        free(t->slot[i].sql);
        t->slot[i].sql = NULL;
    }
    t->n = 0;
}

void db_thread_done(void)
{
    if (t_stmts) {
        stmt_table_clear(t_stmts);
        free(t_stmts);
        t_stmts = NULL;
    }
}

/* The statement's name on c, preparing it first when needed. NULL when it
 * is not kept (table full): run it unnamed. On a failed prepare, *err holds
 * the failure (the caller reports it as the statement's). */
static const char *stmt_name(PGconn *c, const char *sql, int n, PGresult **err)
{
    *err = NULL;
    struct stmt_table *t = t_stmts;
    if (!t) {
        t = t_stmts = calloc(1, sizeof *t);
        if (!t)
            return NULL;
    }
    int pid = PQbackendPID(c);
    if (t->conn != c || t->backend_pid != pid) {
        stmt_table_clear(t);
        t->conn = c;
        t->backend_pid = pid;
    }
    uint64_t h = sql_hash(sql);
    unsigned i = (unsigned)(h % STMT_SLOTS);
    for (; t->slot[i].sql; i = (i + 1) % STMT_SLOTS)
        if (t->slot[i].hash == h && !strcmp(t->slot[i].sql, sql))
            return t->slot[i].name;
    if (t->n >= STMT_MAX)
        return NULL;
    struct stmt *e = &t->slot[i];
    snprintf(e->name, sizeof e->name, "az%lu", (unsigned long)atomic_fetch_add(&stmt_names, 1));
    PGresult *res = PQprepare(c, e->name, sql, n, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *err = res;
        return NULL;
    }
    PQclear(res);
    e->sql = strdup(sql);
    if (!e->sql)
        return NULL; /* prepared but not remembered: harmless */
    e->hash = h;
    t->n++;
    return e->name;
}

/* Copies one field of an error result ("" when PostgreSQL did not say). */
static void keep_diag(const PGresult *res, int field, char *dst, size_t len)
{
    const char *v = PQresultErrorField(res, field);
    snprintf(dst, len, "%s", v ? v : "");
}

/* Whether a statement that failed with its connection lost certainly
 * changed nothing: it only reads or opens a transaction, or the server
 * reports it ended the session (57P01-57P03: a shutdown or a terminated
 * backend; a statement interrupted so does not commit, and one that had
 * committed would have said so first). Otherwise (an INSERT in autocommit,
 * a COMMIT) it may have been applied before the connection broke. */
static bool stmt_leaves_no_doubt(const char *sql, const char *sqlstate)
{
    if (sqlstate && strncmp(sqlstate, "57P", 3) == 0)
        return true;
    return strncmp(sql, "SELECT ", 7) == 0 || strcmp(sql, "BEGIN") == 0;
}

/* Whether a request that failed because its connection did may run again on
 * a new one: no statement of it succeeded (so no transaction of it
 * committed) and none that failed may have changed rows. The storage
 * functions that take a PGconn rather than a request (tenant, client and
 * trust snapshots) only read; those that write (tenant creation, key
 * rotation) run after an authentication or BEGIN through db_q has
 * succeeded, which rules a re-run out. */
static bool db_rerun_safe(struct req *r)
{
    const struct req_db *d = r->hstate_db;
    return !d || (d->succeeded == 0 && !d->maybe_wrote);
}

PGresult *db_q(struct req *r, const char *sql, int n, const char *const *vals)
{
    struct req_db *d = rdb(r);
    d->sqlstate[0] = d->table[0] = d->constraint[0] = d->column[0] = '\0';
    if (!r->db) {
        r->db_down = true;
        return NULL;
    }
    PGresult *res = NULL;
    const char *name = stmt_name(r->db, sql, n, &res);
    if (!res)
        res = name ? PQexecPrepared(r->db, name, n, vals, NULL, NULL, 0)
                   : PQexecParams(r->db, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        struct result_list *l = arena_alloc(r->arena, sizeof(*l));
        l->res = res;
        l->next = d->results;
        d->results = l;
        d->succeeded++;
        return res;
    }
    const char *ss = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (ss)
        snprintf(d->sqlstate, sizeof d->sqlstate, "%s", ss);
    keep_diag(res, PG_DIAG_TABLE_NAME, d->table, sizeof d->table);
    keep_diag(res, PG_DIAG_CONSTRAINT_NAME, d->constraint, sizeof d->constraint);
    keep_diag(res, PG_DIAG_COLUMN_NAME, d->column, sizeof d->column);
    if (ss && !strcmp(ss, "26000") && t_stmts)
        stmt_table_clear(t_stmts); /* our statements are gone: prepare again */
    if (PQstatus(r->db) != CONNECTION_OK || !ss || strncmp(ss, "08", 2) == 0 ||
        strncmp(ss, "57P", 3) == 0) {
        if (!stmt_leaves_no_doubt(sql, ss))
            d->maybe_wrote = true;
        r->db_down = true;
        metrics_db_error();
        log_msg(LOG_WARN, "database: %s", PQerrorMessage(r->db));
    } else if (strncmp(ss, "23", 2) != 0 && strncmp(ss, "22", 2) != 0) {
        /* not a constraint or data error the handler expects: log it */
        metrics_db_error();
        log_msg(LOG_ERROR, "database statement failed (%s): %s", ss, PQresultErrorMessage(res));
    }
    PQclear(res);
    return NULL;
}

const char *db_last_sqlstate(struct req *r)
{
    return rdb(r)->sqlstate;
}

void db_last_failure(struct req *r, struct db_failure *out)
{
    struct req_db *d = rdb(r);
    out->sqlstate = d->sqlstate;
    out->table = d->table;
    out->constraint = d->constraint;
    out->column = d->column;
}

int db_begin(struct req *r)
{
    return db_q(r, "BEGIN", 0, NULL) ? 0 : -1;
}

int db_commit(struct req *r)
{
    return db_q(r, "COMMIT", 0, NULL) ? 0 : -1;
}

void db_rollback(struct req *r)
{
    if (r->db && PQtransactionStatus(r->db) != PQTRANS_IDLE) {
        PGresult *res = PQexec(r->db, "ROLLBACK");
        PQclear(res);
        /* audit rows describe what the transaction did: none of it happened */
        r->audit_head = r->audit_tail = NULL;
        r->naudit = 0;
    }
}

void db_req_cleanup(struct req *r);
void db_req_cleanup(struct req *r)
{
    struct req_db *d = r->hstate_db;
    if (!d)
        return;
    for (struct result_list *l = d->results; l; l = l->next)
        PQclear(l->res);
    d->results = NULL;
}

/* ---- audit ---- */

struct audit_event *audit_add(struct req *r, const char *event, bool success)
{
    struct audit_event *e = arena_alloc(r->arena, sizeof(*e));
    e->event = event;
    e->success = success;
    e->tenant_id = r->tenant ? tenant_id_of(r->tenant) : NULL;
    e->client_id = r->client ? client_id_of(r->client) : NULL;
    e->request_id = r->request_id;
    e->source = r->remote_ip;
    if (r->audit_tail)
        r->audit_tail->next = e;
    else
        r->audit_head = e;
    r->audit_tail = e;
    r->naudit++;
    return e;
}

void audit_remove(struct req *r, struct audit_event *e)
{
    struct audit_event *prev = NULL;
    for (struct audit_event *x = r->audit_head; x; prev = x, x = x->next) {
        if (x != e)
            continue;
        if (prev)
            prev->next = x->next;
        else
            r->audit_head = x->next;
        if (r->audit_tail == x)
            r->audit_tail = prev;
        r->naudit--;
        x->next = NULL;
        return;
    }
}

#define AUDIT_COLS 13 /* parameters per row; `at` is computed */
int audit_insert(PGconn *c, struct audit_event *head, int n)
{
    if (n == 0)
        return 0;
    struct strbuf sql;
    sb_init(&sql);
    sb_puts(&sql, "INSERT INTO audit (tenant_id, event, outcome, client_id, subject, actor_chain, "
                  "session_id, resources, scope, reason, request_id, source, details, at) VALUES ");
    const char **vals = calloc((size_t)n * AUDIT_COLS, sizeof(char *));
    char **owned = calloc((size_t)n * 2, sizeof(char *));
    int no = 0, i = 0;
    for (struct audit_event *e = head; e && i < n; e = e->next, i++) {
        int b = i * AUDIT_COLS;
        sb_printf(&sql, "%s($%d::uuid,$%d,$%d,$%d,$%d,$%d::text[],$%d,$%d::text[],$%d,$%d,$%d,$%d,"
                        "$%d::jsonb,clock_timestamp())",
                  i ? "," : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9,
                  b + 10, b + 11, b + 12, b + 13);
        vals[b + 0] = e->tenant_id;
        vals[b + 1] = e->event;
        vals[b + 2] = e->success ? "success" : "failure";
        vals[b + 3] = e->client_id;
        vals[b + 4] = e->subject;
        vals[b + 5] = owned[no++] = pgarray_build_heap(e->actor_chain, e->nactors);
        vals[b + 6] = e->session_id;
        vals[b + 7] = e->resources ? (owned[no++] = pgarray_build_heap(e->resources, e->nresources)) : NULL;
        vals[b + 8] = e->scope;
        vals[b + 9] = e->reason;
        vals[b + 10] = e->request_id;
        vals[b + 11] = e->source;
        vals[b + 12] = e->details ? e->details : "{}";
    }
    PGresult *res = PQexecParams(c, sql.buf, n * AUDIT_COLS, NULL, vals, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        log_msg(LOG_WARN, "audit insert failed: %s", PQresultErrorMessage(res));
    PQclear(res);
    for (int k = 0; k < no; k++)
        free(owned[k]);
    free(owned);
    free(vals);
    sb_free(&sql);
    return ok ? 0 : -1;
}


/* COPY text format: backslash escapes for the characters it treats specially */
static void copy_field(struct strbuf *sb, const char *v)
{
    if (!v) {
        sb_append(sb, "\\N", 2);
        return;
    }
    for (const char *p = v; *p; p++) {
        switch (*p) {
        case '\\': sb_append(sb, "\\\\", 2); break;
        case '\t': sb_append(sb, "\\t", 2); break;
        case '\n': sb_append(sb, "\\n", 2); break;
        case '\r': sb_append(sb, "\\r", 2); break;
        default: sb_putc(sb, *p);
        }
    }
}

/* Writes a batch of audit rows with one COPY (the cheapest bulk insert
 * PostgreSQL offers: no statement to parse or plan per row). */
int audit_copy(PGconn *c, struct audit_event *head, int n)
{
    PGresult *res = PQexec(c, "COPY audit (tenant_id, event, outcome, client_id, subject, "
                              "actor_chain, session_id, resources, scope, reason, request_id, "
                              "source, details) FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        log_msg(LOG_WARN, "audit copy failed: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PQstatus(c) != CONNECTION_OK ? -2 : -1; /* -2: nothing was sent */
    }
    PQclear(res);
    struct strbuf sb;
    sb_init(&sb);
    int i = 0;
    for (struct audit_event *e = head; e && i < n; e = e->next, i++) {
        char *actors = pgarray_build_heap(e->actor_chain, e->nactors);
        char *resources = e->resources ? pgarray_build_heap(e->resources, e->nresources) : NULL;
        const char *f[13] = {e->tenant_id, e->event, e->success ? "success" : "failure",
                             e->client_id, e->subject, actors, e->session_id, resources, e->scope,
                             e->reason, e->request_id, e->source, e->details ? e->details : "{}"};
        for (int k = 0; k < 13; k++) {
            if (k)
                sb_putc(&sb, '\t');
            copy_field(&sb, f[k]);
        }
        sb_putc(&sb, '\n');
        free(actors);
        free(resources);
    }
    int ok = PQputCopyData(c, sb.buf, (int)sb.len) == 1 && PQputCopyEnd(c, NULL) == 1;
    sb_free(&sb);
    while ((res = PQgetResult(c)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            ok = 0;
            log_msg(LOG_WARN, "audit copy failed: %s", PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    return ok ? 0 : -1;
}

void audit_values(struct req *r, const struct audit_event *e, int base, struct strbuf *sql,
                  const char **vals)
{
    sb_printf(sql, "($%d::uuid,$%d,$%d,$%d,$%d,$%d::text[],$%d,$%d::text[],$%d,$%d,$%d,$%d,$%d::jsonb)",
              base + 1, base + 2, base + 3, base + 4, base + 5, base + 6, base + 7, base + 8,
              base + 9, base + 10, base + 11, base + 12, base + 13);
    char *actors = pgarray_build_heap(e->actor_chain, e->nactors);
    char *resources = e->resources ? pgarray_build_heap(e->resources, e->nresources) : NULL;
    vals[base + 0] = e->tenant_id;
    vals[base + 1] = e->event;
    vals[base + 2] = e->success ? "success" : "failure";
    vals[base + 3] = e->client_id;
    vals[base + 4] = e->subject;
    vals[base + 5] = arena_strdup(r->arena, actors);
    vals[base + 6] = e->session_id;
    vals[base + 7] = resources ? arena_strdup(r->arena, resources) : NULL;
    vals[base + 8] = e->scope;
    vals[base + 9] = e->reason;
    vals[base + 10] = e->request_id;
    vals[base + 11] = e->source;
    vals[base + 12] = e->details ? e->details : "{}";
    free(actors);
    free(resources);
}

int db_audit_flush(struct req *r)
{
    if (r->naudit == 0)
        return 0;
    if (!r->db || audit_insert(r->db, r->audit_head, r->naudit) < 0) {
        if (!r->db || PQstatus(r->db) != CONNECTION_OK)
            r->db_down = true;
        return -1;
    }
    r->audit_head = r->audit_tail = NULL;
    r->naudit = 0;
    return 0;
}

/* ---- connections that died while idle ---- */

/* Bumped when the cache listener loses the database (a restart, a
 * failover): every pooled connection made before is replaced at its next
 * use, however healthy its socket looks. */
static atomic_uint db_generation;

/* Whether c still has its server. One the server closed while it sat idle
 * has the server's goodbye (an error and the end of the stream) waiting on
 * its socket: reading it marks c bad. A poll that does not wait, no round
 * trip: a healthy idle connection has nothing to read. */
static bool db_conn_alive(PGconn *c)
{
    if (!c || PQstatus(c) != CONNECTION_OK)
        return false;
    struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
    if (poll(&pfd, 1, 0) > 0 && (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK))
        return false;
    return true;
}

/* The connection a thread that keeps one should use now: c while it is
 * alive and of the current generation, else a new one (NULL when the
 * database cannot be reached: the reason in err). *fresh: just made. */
static PGconn *db_conn_ensure(PGconn *c, const char *app, unsigned *gen, bool *fresh, char *err,
                              size_t errlen)
{
    unsigned g = atomic_load(&db_generation);
    *fresh = false;
    if (c && (*gen != g || !db_conn_alive(c))) {
        PQfinish(c);
        c = NULL;
    }
    if (!c) {
        c = db_connect_as(g_cfg->database_url, app, err, errlen);
        *gen = g;
        *fresh = c != NULL;
    }
    return c;
}

/* ---- workers ---- */

/* Runs r's handler on conn (NULL: the database is unreachable). */
static void worker_run(struct req *r, PGconn *conn)
{
    r->db = conn;
    r->can_block = true;
    if (!conn)
        r->db_down = true;
    http_run_handler(r);
    db_rollback(r); /* a handler that returned mid-transaction changes nothing */
}

/* Forgets what a run of r's handler left (its answer, its statements'
 * results and bookkeeping) so that it can run again from the start. */
static void worker_forget_run(struct req *r)
{
    db_req_cleanup(r);
    struct req_db *d = r->hstate_db;
    if (d)
        memset(d, 0, sizeof *d);
    resp_reset(r);
    r->db_down = false;
}

static void *worker_main(void *arg)
{
    (void)arg;
    db_thread_block_signals();
    PGconn *conn = NULL;
    unsigned gen = 0;
    for (;;) {
        struct req *r = req_queue_take(&pool_q, NULL, 1);
        if (!r)
            break;

        metrics_db_pool(1);
        char err[512];
        bool fresh;
        conn = db_conn_ensure(conn, "authzd", &gen, &fresh, err, sizeof err);
        if (!conn) {
            metrics_db_error();
            log_msg(LOG_WARN, "database unreachable: %s", err);
        }
        worker_run(r, conn);
        if (r->db_down && conn && !fresh && PQstatus(conn) != CONNECTION_OK && db_rerun_safe(r)) {
            /* the connection was gone before this request could change
             * anything (it died in a restart the checks above did not see
             * yet): once more on a new one, instead of a 503 */
            log_msg(LOG_INFO, "database connection lost before use; running the request again "
                              "on a new connection");
            PQfinish(conn);
            conn = NULL;
            worker_forget_run(r);
            conn = db_conn_ensure(NULL, "authzd", &gen, &fresh, err, sizeof err);
            if (!conn) {
                metrics_db_error();
                log_msg(LOG_WARN, "database unreachable: %s", err);
            }
            worker_run(r, conn);
        }
        if (!r->db_down && r->naudit && db_audit_flush(r) < 0) {
            r->db_down = true;
            http_db_unavailable(r);
        }
        if (r->db_down && conn && PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = NULL;
        }
        db_req_cleanup(r);
        r->db = NULL;
        metrics_db_pool(-1);
        if (r->rotation && !r->db_down)
            rotation_submit(r); /* answered after its rotation commits */
        else
            http_complete(r);
    }
    PQfinish(conn);
    db_thread_done();
    return NULL;
}

void db_submit(struct req *r)
{
    req_queue_push(&pool_q, r);
}

/* ---- committer ---- */

#define COMMIT_MAX_ROWS 2000

static int audit_rows(const struct req *r)
{
    return r->naudit;
}

static void *committer_main(void *arg)
{
    (void)arg;
    db_thread_block_signals();
    PGconn *conn = NULL;
    unsigned gen = 0;
    for (;;) {
        /* take as many requests as fit in one statement */
        struct req *batch = req_queue_take(&commit_q, audit_rows, COMMIT_MAX_ROWS);
        if (!batch)
            break;
        int rows = 0;
        for (struct req *r = batch; r; r = r->next)
            rows += r->naudit;

        /* chain the events of every request into one list */
        struct audit_event *head = NULL, *tail = NULL;
        for (struct req *r = batch; r; r = r->next) {
            if (!r->audit_head)
                continue;
            if (tail)
                tail->next = r->audit_head;
            else
                head = r->audit_head;
            tail = r->audit_tail;
        }
        int ok = 0;
        for (int attempt = 0; attempt < 2 && !ok; attempt++) {
            char err[512];
            bool fresh;
            conn = db_conn_ensure(conn, "authzd", &gen, &fresh, err, sizeof err);
            if (!conn) {
                log_msg(LOG_WARN, "committer: database unreachable: %s", err);
                break;
            }
            int rc = audit_copy(conn, head, rows);
            if (rc == 0) {
                ok = 1;
                metrics_commit_batch(rows);
            } else if (rc != -2 || fresh) {
                break;
            }
            /* -2 on a connection kept from before: it had died while idle
             * and nothing was sent, so once more on a new one */
        }
        if (!ok)
            metrics_db_error();
        struct req *r = batch;
        while (r) {
            struct req *n = r->next;
            /* unchain the events again: each belongs to its own request */
            if (r->audit_tail)
                r->audit_tail->next = NULL;
            if (!ok) {
                r->db_down = true;
                http_db_unavailable(r);
            }
            r->audit_head = r->audit_tail = NULL;
            r->naudit = 0;
            http_complete(r);
            r = n;
        }
    }
    PQfinish(conn);
    return NULL;
}

void committer_submit(struct req *r)
{
    req_queue_push(&commit_q, r);
}

/* ---- listener ---- */

static void *listener_main(void *arg)
{
    (void)arg;
    db_thread_block_signals();
    PGconn *conn = NULL;
    time_t last_prune = time(NULL);
    while (!atomic_load(&listener_stop)) {
        if (!conn) {
            conn = db_connect(g_cfg->database_url, NULL, 0);
            if (conn) {
                PGresult *res = PQexec(conn, "LISTEN authz_cache; LISTEN authz_revoke; LISTEN authz_outbox; LISTEN authz_consent");
                int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
                PQclear(res);
                /* revocations made while we were not listening */
                if (ok && revset_reload(conn) < 0)
                    ok = 0;
                if (!ok) {
                    PQfinish(conn);
                    conn = NULL;
                } else {
                    /* notifications may have been missed while we were away */
                    cache_invalidate_all();
                }
            }
            if (!conn) {
                cache_invalidate_all();
                sleep(1);
                continue;
            }
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        int pr = poll(&pfd, 1, 250);
        if (pr < 0 && errno != EINTR) {
            PQfinish(conn);
            conn = NULL;
            atomic_fetch_add(&db_generation, 1);
            continue;
        }
        if (pr > 0 && !PQconsumeInput(conn)) {
            log_msg(LOG_WARN, "cache listener lost the database; reconnecting");
            PQfinish(conn);
            conn = NULL;
            /* the pool's connections went with it (a restart, a failover):
             * each is replaced at its next use instead of failing it */
            atomic_fetch_add(&db_generation, 1);
            cache_invalidate_all();
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(conn)) != NULL) {
            if (!strcmp(n->relname, "authz_revoke"))
                revset_notify(n->extra);
            else if (!strcmp(n->relname, "authz_outbox"))
                outbox_wake();
            else if (!strcmp(n->relname, "authz_consent"))
                cache_invalidate_consents(n->extra);
            else
                cache_invalidate_tenant(n->extra);
            PQfreemem(n);
        }
        time_t now = time(NULL);
        if (now - last_prune >= 60) {
            revset_prune((int64_t)now);
            last_prune = now;
        }
        if (PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = NULL;
            atomic_fetch_add(&db_generation, 1);
            cache_invalidate_all();
        }
    }
    PQfinish(conn);
    return NULL;
}

int db_init(const struct config *cfg)
{
    g_cfg = cfg;
    nworkers = cfg->db_pool_size;
    metrics_db_pool_size(nworkers);
    workers = calloc((size_t)nworkers, sizeof(pthread_t));
    for (int i = 0; i < nworkers; i++)
        pthread_create(&workers[i], NULL, worker_main, NULL);
    for (int i = 0; i < COMMITTERS; i++)
        pthread_create(&committer_threads[i], NULL, committer_main, NULL);
    pthread_create(&listener_thread, NULL, listener_main, NULL);
    rotation_start(cfg);
    outbox_start(cfg);
    return 0;
}

void db_shutdown(void)
{
    req_queue_stop(&pool_q);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    rotation_shutdown(); /* after the workers: they hand rotations to it */
    req_queue_stop(&commit_q);
    for (int i = 0; i < COMMITTERS; i++)
        pthread_join(committer_threads[i], NULL);
    atomic_store(&listener_stop, true);
    pthread_join(listener_thread, NULL);
    outbox_shutdown();
    free(workers);
}
