/*
 * routes.h: every handler the router knows. Handlers return H_DONE with the
 * answer set on the request, or H_BLOCK (loop only) to be run again on a
 * database worker.
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

#endif
