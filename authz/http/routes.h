/*
 * routes.h: every handler the router knows. Handlers return H_DONE with the
 * answer set on the request, or H_BLOCK (loop only) to be run again on a
 * database worker.
 *
 * The restart contract: a run that returns H_BLOCK is run again from the
 * top on a database worker, so before it returns H_BLOCK a handler has made
 * no side effect: no answer (status, body, headers), no audit row, no
 * rotation, nothing written, no database connection. What it may keep:
 * references it took (r->tenant, r->client, released at the end) and
 * r->rate_counted, which say so to the next run. router.c checks what a
 * struct req shows of it after every H_BLOCK (http_restart_violation);
 * what it cannot see (a cache, a counter) is still the handler's care.
 */
#ifndef AUTHZ_ROUTES_H
#define AUTHZ_ROUTES_H

#include "http/http.h"

enum hres h_healthz(struct req *r);
enum hres h_readyz(struct req *r);
enum hres h_metrics(struct req *r);
enum hres h_metadata(struct req *r);
enum hres h_jwks(struct req *r);
enum hres h_token(struct req *r);
enum hres h_admin(struct req *r);
/* the authorization endpoint and the sign-in page (HTML, GET and POST) */
enum hres h_authorize(struct req *r);
enum hres h_login(struct req *r);
enum hres h_introspect(struct req *r);
enum hres h_revoke(struct req *r);
enum hres h_bc_authorize(struct req *r);
enum hres h_approval_decision(struct req *r);
/* the approval pages (web/approvals.c, HTML): the list, one request (GET,
 * and POST for the decision), and revoking a session */
enum hres h_approvals(struct req *r);
enum hres h_approval(struct req *r);
enum hres h_approval_revoke(struct req *r);
/* RFC 7591 dynamic client registration (oauth/register.c) */
enum hres h_register(struct req *r);

/* Loads r->tenant from params[0]; when it is unknown sets 404 (or the
 * database failure) and leaves r->tenant NULL. */
enum hres req_tenant(struct req *r);

/* What a handler run that returned H_BLOCK did that breaks the restart
 * contract (above), as a phrase for the log ("it added audit rows"), or
 * NULL when the request shows none. */
const char *http_restart_violation(const struct req *r);

#endif
