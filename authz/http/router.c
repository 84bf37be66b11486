/*
 * router.c: maps a request to its handler and runs it in the right place.
 * Routes marked blocking (the admin API, /readyz) always run on a database
 * worker; the others run on the loop and move to a worker only when they
 * return H_BLOCK (something they need is not cached). The outcome is then
 * sent at once, or after the group commit of its audit rows.
 */
#include "http/conn.h"
#include "http/http.h"
#include "http/routes.h"
#include "storage/db.h"
#include "cache.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

struct route {
    const char *name;
    enum method method;       /* M_OTHER = any */
    enum route_kind kind;
    bool blocking;
    enum hres (*handler)(struct req *);
};

static const struct route R_HEALTHZ = {"healthz", M_GET, RK_OPS, false, h_healthz};
static const struct route R_READYZ = {"readyz", M_GET, RK_OPS, true, h_readyz};
static const struct route R_METRICS = {"metrics", M_GET, RK_OPS, false, h_metrics};
static const struct route R_METADATA = {"metadata", M_GET, RK_OAUTH, false, h_metadata};
static const struct route R_JWKS = {"jwks", M_GET, RK_OAUTH, false, h_jwks};
static const struct route R_TOKEN = {"token", M_POST, RK_OAUTH, false, h_token};
static const struct route R_ADMIN = {"admin", M_OTHER, RK_ADMIN, true, h_admin};
/* person-facing pages: GET and POST, checked by the handlers */
static const struct route R_AUTHORIZE = {"authorize", M_OTHER, RK_WEB, false, h_authorize};
static const struct route R_LOGIN = {"login", M_OTHER, RK_WEB, false, h_login};
static const struct route R_INTROSPECT = {"introspect", M_POST, RK_OAUTH, false, h_introspect};
static const struct route R_REVOKE = {"revoke", M_POST, RK_OAUTH, false, h_revoke};
static const struct route R_BC_AUTHORIZE = {"bc_authorize", M_POST, RK_OAUTH, false, h_bc_authorize};
static const struct route R_DECISION = {"approval_decision", M_POST, RK_OAUTH, true, h_approval_decision};
/* the approval pages (HTML): GET/HEAD and POST, checked by the handlers */
static const struct route R_APPROVALS = {"approvals", M_OTHER, RK_WEB, false, h_approvals};
static const struct route R_APPROVAL = {"approval", M_OTHER, RK_WEB, false, h_approval};
static const struct route R_APPROVAL_REVOKE = {"approval_revoke", M_OTHER, RK_WEB, false,
                                               h_approval_revoke};
static const struct route R_APPROVAL_WITHDRAW = {"approval_withdraw", M_OTHER, RK_WEB, false,
                                                 h_approval_withdraw};
/* the operator console (web/console.c): every page looks up its sign-in */
static const struct route R_CONSOLE = {"console", M_OTHER, RK_WEB, true, h_console};
static const struct route R_CONSOLE_SIGNIN = {"console_signin", M_OTHER, RK_WEB, true,
                                              h_console_signin};
/* any method: the handler answers POST, the CORS preflight (OPTIONS) and 405 */
/* SPEC §12: the AuthZEN PDP */
static const struct route R_AUTHZEN_META = {"authzen_metadata", M_GET, RK_OAUTH, false,
                                            h_authzen_metadata};
static const struct route R_EVALUATION = {"access_evaluation", M_POST, RK_OAUTH, false,
                                          h_authzen_evaluation};
static const struct route R_EVALUATIONS = {"access_evaluations", M_POST, RK_OAUTH, false,
                                           h_authzen_evaluations};
static const struct route R_REGISTER = {"register", M_OTHER, RK_OAUTH, false, h_register};

void req_release_refs(struct req *r)
{
    if (r->client) {
        client_release(r->client);
        r->client = NULL;
    }
    if (r->tenant) {
        tenant_release(r->tenant);
        r->tenant = NULL;
    }
}

const char *http_restart_violation(const struct req *r)
{
    if (r->status != 0)
        return "it set an answer status";
    if (r->resp_body || r->resp_len)
        return "it set an answer body";
    if (r->nresp_headers)
        return "it set answer headers";
    if (r->tx.naudit || r->tx.audit_head)
        return "it added audit rows";
    if (r->job.rotation)
        return "it set a refresh token rotation";
    if (r->tx.conn)
        return "it holds a database connection";
    return NULL;
}

/* Runs r's handler: the one place a handler is called, on the loop
 * (router_dispatch) or on a database worker (http_run_handler), and so the
 * one place its restart contract (routes.h) is checked. A handler that
 * returns H_BLOCK is run again from the top on a worker, after resp_reset:
 * whatever it did before would be done twice, or dropped. The check costs
 * a few comparisons per H_BLOCK. A breach is logged naming the route; in
 * the sanitizer and fuzzing builds (AUTHZ_CHECKED) it also aborts, so that
 * the test suites run against them prove that no handler breaks it. */
static enum hres run_handler(struct req *r)
{
    enum hres res = r->handler(r);
    if (res == H_BLOCK) {
        const char *what = r->can_block
                               ? "it ran on a database worker, where nothing runs it again"
                               : http_restart_violation(r);
        if (what) {
            log_msg(LOG_ERROR, "handler restart contract broken: route %s returned H_BLOCK, but %s",
                    r->route_name ? r->route_name : "-", what);
#ifdef AUTHZ_CHECKED
            fprintf(stderr, "authz: handler restart contract broken: route %s returned H_BLOCK, but %s\n",
                    r->route_name ? r->route_name : "-", what);
            abort();
#endif
        }
    }
    return res;
}

/* ---- how the runtime runs a request (runtime/runtime.h) ---- */

struct req *req_of_job(void *job)
{
    return (struct req *)(void *)((char *)job - offsetof(struct req, job));
}

static struct req *req_of(struct job *j)
{
    return req_of_job(j);
}

static void job_run(struct job *j)
{
    struct req *r = req_of(j);
    r->can_block = true;
    http_run_handler(r);
}

static void job_reset(struct job *j)
{
    resp_reset(req_of(j));
}

static void job_unavailable(struct job *j)
{
    http_db_unavailable(req_of(j));
}

/* Committed: back to the request's loop, which builds an answer that
 * waited for the commit (after_commit, http/server.c's done_cb) there, so
 * that the one committer thread only commits. */
static void job_done(struct job *j)
{
    http_complete(req_of(j));
}

static void finish(struct req *r);

/* A request that had to fetch from the network first runs again from the
 * start here, on a fetch thread: what it fetched is cached now; when it
 * next needs the database it moves on to a worker (from the top again). */
static void job_fetch(struct job *j)
{
    struct req *r = req_of(j);
    r->wants_fetch = false;
    r->can_fetch = true;
    if (r->handler(r) == H_BLOCK) {
        r->can_fetch = false;
        r->wants_fetch = false;
        resp_reset(r);
        pool_submit(j);
        return;
    }
    finish(r); /* can_fetch: handed back to its loop, not finished here */
}

static const struct job_ops http_job_ops = {job_run, job_reset, job_unavailable, job_done,
                                            job_fetch};

void http_run_handler(struct req *r)
{
    run_handler(r);
    if (r->tx.down)
        http_db_unavailable(r);
}

static bool valid_slug(const char *s, size_t n)
{
    if (n < 1 || n > 63)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* Matches /t/{slug}/rest and sets params[0]; returns rest or NULL. */
static const char *tenant_prefix(struct req *r, const char *p)
{
    if (strncmp(p, "/t/", 3) != 0)
        return NULL;
    const char *s = p + 3;
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    r->params[0] = arena_strndup(r->arena, s, n);
    r->nparams = 1;
    return slash ? slash : "";
}

static const struct route *match(struct req *r)
{
    const char *p = r->path;
    if (!strcmp(p, "/healthz"))
        return &R_HEALTHZ;
    if (!strcmp(p, "/readyz"))
        return &R_READYZ;
    if (!strcmp(p, "/metrics"))
        return &R_METRICS;
    if (!strncmp(p, "/admin/", 7) || !strcmp(p, "/admin"))
        return &R_ADMIN;
    if (!strncmp(p, "/console/", 9) || !strcmp(p, "/console"))
        return &R_CONSOLE;
    static const char *wk[] = {"/.well-known/oauth-authorization-server",
                               "/.well-known/openid-configuration",
                               "/.well-known/authzen-configuration"};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(wk[i]);
        if (!strncmp(p, wk[i], l) && p[l] == '/') {
            const char *rest = tenant_prefix(r, p + l);
            if (rest && *rest == '\0')
                return i == 2 ? &R_AUTHZEN_META : &R_METADATA;
            return NULL;
        }
    }
    const char *rest = tenant_prefix(r, p);
    if (!rest)
        return NULL;
    if (!strcmp(rest, "/.well-known/openid-configuration") ||
        !strcmp(rest, "/.well-known/oauth-authorization-server"))
        return &R_METADATA;
    if (!strcmp(rest, "/.well-known/authzen-configuration"))
        return &R_AUTHZEN_META;
    if (!strcmp(rest, "/access/v1/evaluation"))
        return &R_EVALUATION;
    if (!strcmp(rest, "/access/v1/evaluations"))
        return &R_EVALUATIONS;
    if (!strcmp(rest, "/oauth2/token"))
        return &R_TOKEN;
    if (!strcmp(rest, "/oauth2/jwks"))
        return &R_JWKS;
    if (!strcmp(rest, "/oauth2/authorize"))
        return &R_AUTHORIZE;
    if (!strcmp(rest, "/login"))
        return &R_LOGIN;
    if (!strcmp(rest, "/oauth2/introspect"))
        return &R_INTROSPECT;
    if (!strcmp(rest, "/oauth2/revoke"))
        return &R_REVOKE;
    if (!strcmp(rest, "/oauth2/bc-authorize"))
        return &R_BC_AUTHORIZE;
    if (!strcmp(rest, "/approvals"))
        return &R_APPROVALS;
    if (!strcmp(rest, "/console"))
        return &R_CONSOLE_SIGNIN;
    /* /approvals/{auth_req_id}/decision (JSON callback),
     * /approvals/sessions/{sid}/revoke, /approvals/consents/{client_id}/withdraw
     * and /approvals/{auth_req_id} (pages) */
    if (!strncmp(rest, "/approvals/", 11)) {
        const char *id = rest + 11;
        const char *slash = strchr(id, '/');
        if (slash && slash != id && !strcmp(slash, "/decision")) {
            r->params[1] = arena_strndup(r->arena, id, (size_t)(slash - id));
            r->nparams = 2;
            return &R_DECISION;
        }
        if (!strncmp(id, "consents/", 9)) {
            const char *cid = id + 9;
            const char *end = strchr(cid, '/');
            if (end && end != cid && !strcmp(end, "/withdraw")) {
                r->params[1] = arena_strndup(r->arena, cid, (size_t)(end - cid));
                r->nparams = 2;
                return &R_APPROVAL_WITHDRAW;
            }
        }
        if (!strncmp(id, "sessions/", 9)) {
            const char *sid = id + 9;
            const char *end = strchr(sid, '/');
            if (end && end != sid && !strcmp(end, "/revoke")) {
                r->params[1] = arena_strndup(r->arena, sid, (size_t)(end - sid));
                r->nparams = 2;
                return &R_APPROVAL_REVOKE;
            }
        }
        if (!slash && *id) {
            r->params[1] = arena_strdup(r->arena, id);
            r->nparams = 2;
            return &R_APPROVAL;
        }
    }
    if (!strcmp(rest, "/oauth2/register"))
        return &R_REGISTER;
    return NULL;
}

enum route_kind router_kind(struct req *r)
{
    const struct route *rt = match(r);
    if (rt)
        return rt->kind;
    return r->nparams ? RK_OAUTH : RK_OPS; /* as router_dispatch answers 404 */
}

/* The answer is set: after the group commit of its audit rows, or at once
 * (on the loop; from a fetch thread, handed back to the loop). */
static void finish(struct req *r)
{
    if (r->tx.down)
        http_db_unavailable(r);
    if (r->tx.naudit)
        committer_submit(&r->job);
    else if (r->can_fetch)
        http_complete(r);
    else
        http_finish_on_loop(r);
}

void router_dispatch(struct req *r)
{
    r->tx.arena = r->arena;
    r->job.ops = &http_job_ops;
    r->job.tx = &r->tx;
    const struct route *rt = match(r);
    if (!rt) {
        r->kind = r->nparams ? RK_OAUTH : RK_OPS;
        r->route_name = "not_found";
        resp_error(r, 404, "not_found", "no such endpoint");
        http_finish_on_loop(r);
        return;
    }
    r->route_name = rt->name;
    r->kind = rt->kind;
    r->handler = rt->handler;
    if (r->nparams && !valid_slug(r->params[0], strlen(r->params[0]))) {
        resp_error(r, 404, "not_found", "no such tenant");
        http_finish_on_loop(r);
        return;
    }
    if (r->nparams)
        r->log_tenant = r->params[0];
    if (rt->method != M_OTHER && r->method != rt->method &&
        !(rt->method == M_GET && r->method == M_HEAD)) {
        resp_error(r, 405, "invalid_request", "method not allowed on this endpoint");
        resp_header(r, "Allow", rt->method == M_GET ? "GET, HEAD" : "POST");
        http_finish_on_loop(r);
        return;
    }
    if (rt->kind == RK_ADMIN && r->method == M_HEAD) {
        /* RFC 9110 §9.3.2: HEAD is GET without the content; the admin API's
         * reads have no side effects, so its handlers simply see a GET */
        r->method = M_GET;
        r->head = true;
    }
    if (rt->blocking) {
        pool_submit(&r->job);
        return;
    }
    if (run_handler(r) == H_BLOCK) {
        resp_reset(r);
        if (r->wants_fetch)
            fetch_submit(&r->job);
        else
            pool_submit(&r->job);
        return;
    }
    finish(r);
}
