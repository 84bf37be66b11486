/*
 * http.h: the transport. authzd speaks HTTP/1.1 itself on libevent
 * bufferevents (one event_base per worker thread, SO_REUSEPORT listeners), so
 * that every answer, including "body too large" and "malformed request",
 * carries an RFC 6749 / RFC 9457 body, and so that every limit is explicit.
 *
 * A request is parsed on its loop thread into struct req (which owns an arena),
 * routed, and handed to its handler. Handlers run on the loop when they can
 * answer from memory; one that needs the database returns H_BLOCK and is run
 * again from the start on a database worker thread (storage/db.c); one that
 * must fetch something from the network first (wants_fetch) is run again on
 * a fetch thread (runtime/fetchers.c), and from there on a worker when it
 * then needs the database. Audit rows
 * produced on the loop are group-committed (the committer in storage/db.c) and the
 * answer leaves only after their commit.
 */
#ifndef AUTHZ_HTTP_H
#define AUTHZ_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "storage/db.h"
#include "runtime/runtime.h"

struct config;
struct loop;
struct conn;
struct audit_event;
struct tenant;
struct client;

enum method { M_OTHER = 0, M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS };

/* Which error format a route speaks. */
enum route_kind { RK_OPS, RK_OAUTH, RK_ADMIN, RK_WEB };

enum hres { H_DONE = 0, H_BLOCK = 1 };

struct header {
    const char *name;   /* lower case */
    const char *value;
};

struct req {
    struct arena *arena;
    struct conn *conn;
    struct loop *loop;
    struct req *next;            /* queue link (pool, committer, completion) */

    /* the request */
    enum method method;
    const char *method_str;
    bool head;                   /* HEAD answered as GET without its body */
    const char *target;          /* raw request-target */
    const char *path;            /* percent-decoded-free raw path (no query) */
    const char *query;           /* raw query or NULL */
    struct header *headers;
    int nheaders;
    const char *body;
    size_t body_len;
    const char *remote_ip;
    bool tls;
    char request_id[24];
    uint64_t start_ns;

    /* routing */
    const char *route_name;      /* for metrics and logs */
    enum route_kind kind;
    enum hres (*handler)(struct req *);
    const char *params[4];       /* path parameters (tenant slug first) */
    int nparams;

    /* handler context */
    bool can_block;              /* running on a database worker */
    /* running on a fetch thread (runtime/fetchers.c): outbound fetches may
     * wait here, the database may not (a handler that needs it returns
     * H_BLOCK and moves on to a worker) */
    bool can_fetch;
    /* set by a lookup that returns H_BLOCK because it must fetch something
     * from the network first: the router hands the request to a fetch
     * thread instead of a database worker */
    bool wants_fetch;
    /* its unit of work: tx.conn set when can_block, tx.down when the
     * database failed during this request, tx's audit rows committed before
     * the answer leaves (storage/db.h) */
    struct dbtx tx;
    /* how the runtime runs it (authz/runtime): job.rotation is set by a
     * handler on a worker: a refresh token rotation to group-commit before
     * the answer leaves */
    struct job job;
    bool rate_counted;           /* taken from its client's rate limit already */
    struct tenant *tenant;       /* referenced; released at the end */
    struct client *client;       /* referenced; released at the end */
    void *hstate;

    /* the answer */
    int status;
    struct header *resp_headers;
    int nresp_headers, cap_resp_headers;
    char *resp_body;             /* malloc'd */
    size_t resp_len;
    const char *log_client;      /* client_id for the access log */
    const char *log_tenant;
    const char *log_error;       /* error code of a 4xx/5xx answer, for the access log */
    /* set by a handler whose answer needs its audit rows written first (it
     * names their ids): called once they are, unless that failed (503) */
    void (*after_commit)(struct req *r);

};

/* ---- request helpers ---- */
const char *req_header(const struct req *r, const char *lname);
/* Query parameter by name from the raw query (first occurrence), decoded into
 * the arena; NULL when absent or malformed. */
const char *req_query_param(struct req *r, const char *name);
/* true when the query names the parameter at all (even empty/malformed) */
bool req_query_has(const struct req *r, const char *name);
/* Cookie value by name, NULL when absent. */
const char *req_cookie(struct req *r, const char *name);

/* The request a runtime job belongs to (its `job` member). */
struct req *req_of_job(void *job);

/* ---- audit (http/audit.c) ---- */
/* Appends an audit event to r's unit of work, prefilled with tenant,
 * request id, source and the authenticated client. */
struct audit_event *audit_add(struct req *r, const char *event, bool success);
/* Takes e off r's pending rows (to be written by someone else). */
void audit_remove(struct req *r, struct audit_event *e);

/* ---- answer helpers ---- */
void resp_header(struct req *r, const char *name, const char *value);
/* Takes ownership of body (malloc'd). */
void resp_set(struct req *r, int status, const char *content_type, char *body, size_t len);
void resp_json(struct req *r, int status, char *json); /* takes ownership */
void resp_text(struct req *r, int status, const char *content_type, const char *text);
/* RFC 6749 §5.2 error (also used by RFC 7009/7662/8693/CIBA endpoints). */
void resp_oauth_error(struct req *r, int status, const char *error, const char *description);
/* RFC 9457 problem details. */
void resp_problem(struct req *r, int status, const char *title, const char *detail);
/* Error in the route's own format (OAuth JSON, problem+json, or HTML). */
void resp_error(struct req *r, int status, const char *code, const char *detail);
/* Drops whatever answer and audit rows were set (before a re-run). */
void resp_reset(struct req *r);
/* The error code the access log shows for this answer (the resp_* error
 * helpers note theirs; an answer without one is logged with its status's
 * name). A code, never a description: descriptions can quote the request.
 * Anything but a short token is logged as "unlisted". */
void resp_note_error(struct req *r, const char *code);
/* An error answer without a code of its own is logged with its status's
 * name: "Content Too Large" -> content_too_large (conn.c, as it sends). */
void resp_note_status_error(struct req *r);
/* RFC 9110 §15's reason phrase of a status ("Status" for one not listed). */
const char *http_reason_phrase(int status);

/* ---- server ---- */
/* Binds the listeners (nothing is accepted until http_server_start): -1 with
 * the reason in err when the address is malformed, or in use by another
 * process (SPEC §9: authzd refuses to share it). */
int http_server_bind(const struct config *cfg, char *err, size_t errlen);
/* Binds (unless done) and starts the loops. */
int http_server_start(const struct config *cfg);
/* Stops accepting, lets requests in flight finish, returns when all loops have
 * ended. */
void http_server_drain(void);
/* Hands a finished request back to its loop (any thread). */
void http_complete(struct req *r);
/* The access log line of a finished request (http/access_log.c). */
void log_request(const struct req *r, uint64_t dur_ns);
/* Runs the request's handler; used by database workers. */
void http_run_handler(struct req *r);

/* router.c */
void router_dispatch(struct req *r);
/* The error format of the endpoint r->path names (for answers the transport
 * gives before routing: 408, 413, 431 ...). */
enum route_kind router_kind(struct req *r);
/* Replaces the answer with 503 + Retry-After in the route's format
 * (response.c, beside the error mapper). */
void http_db_unavailable(struct req *r);
/* Drops the tenant/client references a request holds (loop or worker). */
void req_release_refs(struct req *r);

uint64_t now_ns(void);

#endif
