/*
 * token.c: the token endpoint (RFC 6749 §3.2). Checks the request's shape,
 * parses the form strictly, authenticates the client, and hands the request
 * to its grant. Every error is an RFC 6749 §5.2 JSON body with
 * Cache-Control: no-store.
 */
#include "oauth/oauth.h"
#include "http/routes.h"
#include "cache.h"

#include <string.h>
#include <strings.h>

/* RFC 6749 §3.2: "the client MUST use the HTTP POST method" with an
 * application/x-www-form-urlencoded body. */
static bool is_form(const struct req *r)
{
    const char *ct = req_header(r, "content-type");
    if (!ct)
        return false;
    size_t l = strlen("application/x-www-form-urlencoded");
    if (strncasecmp(ct, "application/x-www-form-urlencoded", l) != 0)
        return false;
    return ct[l] == '\0' || ct[l] == ';' || ct[l] == ' ';
}

enum hres h_token(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    if (!is_form(r)) {
        resp_oauth_error(r, 400, "invalid_request",
                         "the body must be application/x-www-form-urlencoded");
        return H_DONE;
    }
    struct form f;
    const char *why;
    if (form_parse(r->arena, r->body, r->body_len, &f, &why) < 0) {
        resp_oauth_error(r, 400, "invalid_request", why);
        return H_DONE;
    }
    const char *gt = form_get(&f, "grant_type");
    if (!gt) {
        resp_oauth_error(r, 400, "invalid_request", "grant_type is required");
        return H_DONE;
    }
    /* RFC 6749 §5.2: unsupported_grant_type is answered before client
     * authentication only for grants this server does not know at all */
    bool known = strcmp(gt, "client_credentials") == 0;
    if (!known) {
        resp_oauth_error(r, 400, "unsupported_grant_type", "this grant type is not supported");
        return H_DONE;
    }
    if (client_authenticate(r, &f) == H_BLOCK)
        return H_BLOCK;
    if (!r->client)
        return H_DONE;
    r->log_client = r->client->client_id;
    return grant_client_credentials(r, &f);
}
