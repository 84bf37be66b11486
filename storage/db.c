/*
 * db.c: the storage side of PostgreSQL: connections, the unit of work
 * (struct dbtx: statements prepared once per connection and run by name,
 * their results freed at the unit's end, failures classified), and audit
 * rows written by INSERT or COPY. The threads that own connections (the
 * worker pool, the committer, the listener) are in authz/runtime/.
 */
#include "storage/db.h"
#include "storage/pgarray.h"
#include "metrics.h"
#include "log.h"
#include "util/arena.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool pq_command(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

bool pq_begin(PGconn *c)
{
    return pq_command(c, "BEGIN");
}

bool pq_commit(PGconn *c)
{
    return pq_command(c, "COMMIT");
}

void pq_rollback(PGconn *c)
{
    pq_command(c, "ROLLBACK");
}

/* ---- per-request statements ---- */

struct result_list {
    PGresult *res;
    struct result_list *next;
};

struct dbtx_state {
    struct result_list *results;
    char sqlstate[6];
    char table[64], constraint[64], column[64]; /* NAMEDATALEN */
    int succeeded;        /* statements that succeeded in this request */
    bool maybe_wrote;     /* a statement that can change rows failed without knowing whether it did */
};

static struct dbtx_state *st_of(struct dbtx *tx)
{
    /* lives in the arena; results are tracked for the unit's end */
    if (!tx->st)
        tx->st = arena_alloc(tx->arena, sizeof(struct dbtx_state));
    return tx->st;
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
bool dbtx_rerun_safe(const struct dbtx *tx)
{
    const struct dbtx_state *d = tx->st;
    return !d || (d->succeeded == 0 && !d->maybe_wrote);
}

PGresult *db_q(struct dbtx *tx, const char *sql, int n, const char *const *vals)
{
    struct dbtx_state *d = st_of(tx);
    d->sqlstate[0] = d->table[0] = d->constraint[0] = d->column[0] = '\0';
    if (!tx->conn) {
        tx->down = true;
        return NULL;
    }
    PGresult *res = NULL;
    const char *name = stmt_name(tx->conn, sql, n, &res);
    if (!res)
        res = name ? PQexecPrepared(tx->conn, name, n, vals, NULL, NULL, 0)
                   : PQexecParams(tx->conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        struct result_list *l = arena_alloc(tx->arena, sizeof(*l));
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
    if (PQstatus(tx->conn) != CONNECTION_OK || !ss || strncmp(ss, "08", 2) == 0 ||
        strncmp(ss, "57P", 3) == 0) {
        if (!stmt_leaves_no_doubt(sql, ss))
            d->maybe_wrote = true;
        tx->down = true;
        metrics_db_error();
        log_msg(LOG_WARN, "database: %s", PQerrorMessage(tx->conn));
    } else if (strncmp(ss, "23", 2) != 0 && strncmp(ss, "22", 2) != 0) {
        /* not a constraint or data error the handler expects: log it */
        metrics_db_error();
        log_msg(LOG_ERROR, "database statement failed (%s): %s", ss, PQresultErrorMessage(res));
    }
    PQclear(res);
    return NULL;
}

const char *db_last_sqlstate(struct dbtx *tx)
{
    return st_of(tx)->sqlstate;
}

void db_last_failure(struct dbtx *tx, struct db_failure *out)
{
    struct dbtx_state *d = st_of(tx);
    out->sqlstate = d->sqlstate;
    out->table = d->table;
    out->constraint = d->constraint;
    out->column = d->column;
}

int db_begin(struct dbtx *tx)
{
    return db_q(tx, "BEGIN", 0, NULL) ? 0 : -1;
}

int db_commit(struct dbtx *tx)
{
    return db_q(tx, "COMMIT", 0, NULL) ? 0 : -1;
}

void db_rollback(struct dbtx *tx)
{
    if (tx->conn && PQtransactionStatus(tx->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(tx->conn, "ROLLBACK");
        PQclear(res);
        /* audit rows describe what the transaction did: none of it happened */
        tx->audit_head = tx->audit_tail = NULL;
        tx->naudit = 0;
    }
}

void dbtx_end(struct dbtx *tx)
{
    struct dbtx_state *d = tx->st;
    if (!d)
        return;
    for (struct result_list *l = d->results; l; l = l->next)
        PQclear(l->res);
    d->results = NULL;
}

void dbtx_forget(struct dbtx *tx)
{
    dbtx_end(tx);
    if (tx->st)
        memset(tx->st, 0, sizeof *tx->st);
    tx->down = false;
}

/* ---- audit ---- */

void audit_append(struct dbtx *tx, struct audit_event *e)
{
    e->next = NULL;
    if (tx->audit_tail)
        tx->audit_tail->next = e;
    else
        tx->audit_head = e;
    tx->audit_tail = e;
    tx->naudit++;
}

void audit_unlink(struct dbtx *tx, struct audit_event *e)
{
    struct audit_event *prev = NULL;
    for (struct audit_event *x = tx->audit_head; x; prev = x, x = x->next) {
        if (x != e)
            continue;
        if (prev)
            prev->next = x->next;
        else
            tx->audit_head = x->next;
        if (tx->audit_tail == x)
            tx->audit_tail = prev;
        tx->naudit--;
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
    bool want = false;
    i = 0;
    for (struct audit_event *e = head; e && i < n; e = e->next, i++)
        want = want || e->want_id;
    if (want)
        sb_puts(&sql, " RETURNING id");
    PGresult *res = PQexecParams(c, sql.buf, n * AUDIT_COLS, NULL, vals, NULL, NULL, 0);
    int ok = PQresultStatus(res) == (want ? PGRES_TUPLES_OK : PGRES_COMMAND_OK);
    if (!ok)
        log_msg(LOG_WARN, "audit insert failed: %s", PQresultErrorMessage(res));
    /* INSERT ... VALUES returns its rows in the order of the VALUES list */
    if (ok && want && PQntuples(res) == n) {
        i = 0;
        for (struct audit_event *e = head; e && i < n; e = e->next, i++)
            e->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    }
    PQclear(res);
    for (int k = 0; k < no; k++)
        free(owned[k]);
    free(owned);
    free(vals);
    sb_free(&sql);
    return ok ? 0 : -1;
}


/* COPY's binary format (PostgreSQL's "COPY ... (FORMAT binary)"): each
 * field its length (-1: NULL) and its bytes in the type's binary form, so
 * that the server parses no text, escapes nothing and converts nothing but
 * the text fields' encoding. */
static void bin_u16(struct strbuf *sb, uint16_t v)
{
    char b[2] = {(char)(v >> 8), (char)v};
    sb_append(sb, b, 2);
}

static void bin_u32(struct strbuf *sb, uint32_t v)
{
    char b[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    sb_append(sb, b, 4);
}

static void bin_null(struct strbuf *sb)
{
    bin_u32(sb, UINT32_MAX);
}

static void bin_text(struct strbuf *sb, const char *v)
{
    if (!v) {
        bin_null(sb);
        return;
    }
    size_t l = strlen(v);
    bin_u32(sb, (uint32_t)l);
    sb_append(sb, v, l);
}

static void bin_int8(struct strbuf *sb, int64_t v)
{
    bin_u32(sb, 8);
    bin_u32(sb, (uint32_t)((uint64_t)v >> 32));
    bin_u32(sb, (uint32_t)v);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* false when v is not a uuid's text (nothing written) */
static bool bin_uuid(struct strbuf *sb, const char *v)
{
    if (!v) {
        bin_null(sb);
        return true;
    }
    char b[16];
    int k = 0;
    for (const char *p = v; *p; p++) {
        if (*p == '-')
            continue;
        int h = hexval(p[0]), l = p[1] ? hexval(p[1]) : -1;
        if (k == 16 || h < 0 || l < 0)
            return false;
        b[k++] = (char)(h << 4 | l);
        p++;
    }
    if (k != 16)
        return false;
    bin_u32(sb, 16);
    sb_append(sb, b, 16);
    return true;
}

/* text[]: dimensions, has-nulls flag, the element type (text, OID 25), the
 * length and lower bound of the one dimension, then each element */
static void bin_text_array(struct strbuf *sb, const char *const *v, int n)
{
    size_t size = 12 + (n ? 8 : 0);
    for (int i = 0; i < n; i++)
        size += 4 + strlen(v[i]);
    bin_u32(sb, (uint32_t)size);
    bin_u32(sb, n ? 1 : 0);
    bin_u32(sb, 0);
    bin_u32(sb, 25);
    if (n) {
        bin_u32(sb, (uint32_t)n);
        bin_u32(sb, 1);
    }
    for (int i = 0; i < n; i++)
        bin_text(sb, v[i]);
}

/* jsonb: its format version (1), then the JSON text */
static void bin_jsonb(struct strbuf *sb, const char *v)
{
    size_t l = strlen(v);
    bin_u32(sb, (uint32_t)l + 1);
    sb_putc(sb, 1);
    sb_append(sb, v, l);
}

/* One audit row; false when it cannot be written (a tenant id that is not
 * a uuid: no row authzd makes has one). */
static bool bin_row(struct strbuf *sb, const struct audit_event *e, bool with_id)
{
    bin_u16(sb, with_id ? 14 : 13);
    if (with_id)
        bin_int8(sb, e->id);
    if (!bin_uuid(sb, e->tenant_id))
        return false;
    bin_text(sb, e->event);
    bin_text(sb, e->success ? "success" : "failure");
    bin_text(sb, e->client_id);
    bin_text(sb, e->subject);
    bin_text_array(sb, e->actor_chain, e->nactors);
    bin_text(sb, e->session_id);
    if (e->resources)
        bin_text_array(sb, e->resources, e->nresources);
    else
        bin_null(sb);
    bin_text(sb, e->scope);
    bin_text(sb, e->reason);
    bin_text(sb, e->request_id);
    bin_text(sb, e->source);
    bin_jsonb(sb, e->details ? e->details : "{}");
    return true;
}

/* Writes a batch of audit rows with one COPY (the cheapest bulk insert
 * PostgreSQL offers: no statement to parse or plan per row). */
/* Ids for the rows of a batch, when a row of it wants its id (the PDP
 * answers it): COPY returns none. Ids are drawn from the audit table's
 * sequence AUDIT_ID_BLOCK at a time and handed out from this process's
 * pool, so that most batches cost no extra round trip (an id drawn and
 * not used is a gap, as with any sequence). 1 ids set, 0 none wanted, -2
 * the connection is gone (nothing sent), -1 failure. */
#define AUDIT_ID_BLOCK 4096
#define COPY_CHUNK 65536
static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t *id_pool;
static int id_n, id_next;

static int audit_ids(PGconn *c, struct audit_event *head, int n)
{
    bool want = false;
    int i = 0;
    for (struct audit_event *e = head; e && i < n; e = e->next, i++)
        want = want || e->want_id;
    if (!want)
        return 0;
    pthread_mutex_lock(&id_mu);
    if (id_n - id_next < n) {
        int fetch = n > AUDIT_ID_BLOCK ? n : AUDIT_ID_BLOCK;
        char ns[16];
        snprintf(ns, sizeof ns, "%d", fetch);
        const char *v[1] = {ns};
        PGresult *res = PQexecParams(c, "SELECT nextval('audit_id_seq') FROM generate_series(1, $1::int)",
                                     1, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != fetch) {
            log_msg(LOG_WARN, "audit ids failed: %s", PQresultErrorMessage(res));
            PQclear(res);
            pthread_mutex_unlock(&id_mu);
            return PQstatus(c) != CONNECTION_OK ? -2 : -1;
        }
        int64_t *pool = malloc(sizeof(int64_t) * (size_t)fetch);
        for (int k = 0; k < fetch; k++)
            pool[k] = strtoll(PQgetvalue(res, k, 0), NULL, 10);
        PQclear(res);
        free(id_pool);
        id_pool = pool;
        id_n = fetch;
        id_next = 0;
    }
    i = 0;
    for (struct audit_event *e = head; e && i < n; e = e->next, i++)
        e->id = id_pool[id_next++];
    pthread_mutex_unlock(&id_mu);
    return 1;
}

int audit_copy(PGconn *c, struct audit_event *head, int n)
{
    int ids = audit_ids(c, head, n);
    if (ids < 0)
        return ids;
    PGresult *res = PQexec(c, ids ? "COPY audit (id, " AUDIT_COLUMNS ") FROM STDIN (FORMAT binary)"
                                  : "COPY audit (" AUDIT_COLUMNS ") FROM STDIN (FORMAT binary)");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        log_msg(LOG_WARN, "audit copy failed: %s", PQresultErrorMessage(res));
        PQclear(res);
        return PQstatus(c) != CONNECTION_OK ? -2 : -1; /* -2: nothing was sent */
    }
    PQclear(res);
    /* the rows go to the server in pieces of about COPY_CHUNK bytes as they
     * are written, so that it inserts the first while the rest are still
     * being written */
    struct strbuf sb;
    sb_init(&sb);
    sb_append(&sb, "PGCOPY\n\377\r\n\0", 11); /* the signature */
    bin_u32(&sb, 0);                              /* flags */
    bin_u32(&sb, 0);                              /* no header extension */
    int ok = 1, i = 0;
    for (struct audit_event *e = head; ok && e && i < n; e = e->next, i++) {
        if (!bin_row(&sb, e, ids)) {
            log_msg(LOG_WARN, "audit copy: a row's tenant id is not a uuid");
            ok = 0;
            break;
        }
        if (sb.len >= COPY_CHUNK) {
            ok = PQputCopyData(c, sb.buf, (int)sb.len) == 1;
            sb.len = 0;
        }
    }
    bin_u16(&sb, UINT16_MAX); /* the end of the rows */
    if (ok)
        ok = PQputCopyData(c, sb.buf, (int)sb.len) == 1;
    /* a piece that could not be sent (or a row that could not be written)
     * ends the COPY as failed: nothing of it is kept */
    if (PQputCopyEnd(c, ok ? NULL : "audit rows not sent") != 1)
        ok = 0;
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

void audit_values(struct dbtx *tx, const struct audit_event *e, int base, struct strbuf *sql,
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
    vals[base + 5] = arena_strdup(tx->arena, actors);
    vals[base + 6] = e->session_id;
    vals[base + 7] = resources ? arena_strdup(tx->arena, resources) : NULL;
    vals[base + 8] = e->scope;
    vals[base + 9] = e->reason;
    vals[base + 10] = e->request_id;
    vals[base + 11] = e->source;
    vals[base + 12] = e->details ? e->details : "{}";
    free(actors);
    free(resources);
}

int db_audit_flush(struct dbtx *tx)
{
    if (tx->naudit == 0)
        return 0;
    if (!tx->conn || audit_insert(tx->conn, tx->audit_head, tx->naudit) < 0) {
        if (!tx->conn || PQstatus(tx->conn) != CONNECTION_OK)
            tx->down = true;
        return -1;
    }
    tx->audit_head = tx->audit_tail = NULL;
    tx->naudit = 0;
    return 0;
}

int store_listen(PGconn *c, const char *channel)
{
    char *id = PQescapeIdentifier(c, channel, strlen(channel));
    if (!id)
        return -1;
    struct strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "LISTEN %s", id);
    PQfreemem(id);
    PGresult *res = PQexec(c, sb.buf);
    sb_free(&sb);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : -1;
}

PGresult *store_revocations_live(PGconn *c)
{
    return pq_exec(c,
                   "SELECT tenant_id, kind, value, extract(epoch from expires_at)::bigint, "
                   "extract(epoch from created_at)::bigint FROM revocations WHERE expires_at > now()",
                   0, NULL, NULL, 0);
}
