/*
 * token.c: the token endpoint (RFC 6749 §3.2). Checks the request's shape,
 * parses the form strictly, authenticates the client, and hands the request
 * to its grant. Every error is an RFC 6749 §5.2 JSON body with
 * Cache-Control: no-store.
 */
#include "oauth/oauth.h"
#include "http/routes.h"
#include "cache.h"
#include "storage/db.h"
#include "http/ratelimit.h"
#include "config.h"
#include "oauth/ciba.h"

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

bool oauth_form(struct req *r, struct form *f)
{
    if (!is_form(r)) {
        resp_oauth_error(r, 400, "invalid_request",
                         "the body must be application/x-www-form-urlencoded");
        return false;
    }
    const char *why;
    if (form_parse(r->arena, r->body, r->body_len, f, &why) < 0) {
        resp_oauth_error(r, 400, "invalid_request", why);
        return false;
    }
    return true;
}

/* Whether the request carries any client authentication (RFC 6749 §2.3:
 * Basic, client_id with or without a secret, RFC 7523 client assertion). */
static bool has_client_auth(const struct req *r, const struct form *f)
{
    return req_header(r, "authorization") || form_present(f, "client_id") ||
           form_present(f, "client_secret") || form_present(f, "client_assertion") ||
           form_present(f, "client_assertion_type");
}

enum hres h_token(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    struct form f;
    if (!oauth_form(r, &f))
        return H_DONE;
    const char *gt = form_get(&f, "grant_type");
    if (!gt) {
        resp_oauth_error(r, 400, "invalid_request", "grant_type is required");
        return H_DONE;
    }
    enum hres (*grant)(struct req *, const struct form *) = NULL;
    if (!strcmp(gt, "client_credentials"))
        grant = grant_client_credentials;
    else if (!strcmp(gt, "authorization_code"))
        grant = grant_authorization_code;
    else if (!strcmp(gt, "refresh_token"))
        grant = grant_refresh_token;
    else if (!strcmp(gt, CIBA_GRANT))
        grant = grant_ciba;
    else if (!strcmp(gt, "urn:ietf:params:oauth:grant-type:token-exchange"))
        grant = grant_token_exchange;
    else if (!strcmp(gt, GT_JWT_BEARER))
        grant = grant_jwt_bearer;
    if (!grant) {
        /* RFC 6749 §5.2: unsupported_grant_type for a grant this server does
         * not support at all */
        resp_oauth_error(r, 400, "unsupported_grant_type", "this grant type is not supported");
        return H_DONE;
    }
    /* SPEC §11: a workload identity needs no client authentication at the
     * JWT bearer grant: its trust policy names the client */
    if (grant == grant_jwt_bearer && !has_client_auth(r, &f)) {
        if (jwt_bearer_workload_client(r, &f) == H_BLOCK)
            return H_BLOCK;
    } else if (client_authenticate(r, &f) == H_BLOCK) {
        return H_BLOCK;
    }
    if (!r->client)
        return H_DONE;
    r->log_client = arena_strdup(r->arena, r->client->client_id);
    /* per-client rate limit (token_rate_limit requests per second) */
    int retry = 0;
    if (!r->rate_counted &&
        !ratelimit_take(r->tenant->id, r->client->client_id, g_config->token_rate_limit, &retry)) {
        resp_oauth_error(r, 429, "temporarily_unavailable",
                         "too many token requests from this client; retry later");
        resp_header(r, "Retry-After", arena_sprintf(r->arena, "%d", retry));
        return H_DONE;
    }
    r->rate_counted = true; /* a re-run on a database worker is the same request */
    /* RFC 6749 §5.2 unauthorized_client: "The authenticated client is not
     * authorized to use this authorization grant type." */
    if (!strlist_has(&r->client->grant_types, gt)) {
        resp_oauth_error(r, 400, "unauthorized_client", "this client may not use this grant type");
        struct audit_event *e = audit_add(r, "token.issued", false);
        e->reason = "unauthorized_client";
        struct strbuf d;
        sb_init(&d);
        sb_puts(&d, "{\"grant_type\":");
        sb_json_str(&d, gt);
        sb_putc(&d, '}');
        e->details = arena_strdup(r->arena, d.buf);
        sb_free(&d);
        return H_DONE;
    }
    return grant(r, &f);
}
