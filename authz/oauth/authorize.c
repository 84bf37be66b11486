/*
 * authorize.c: the authorization endpoint, {ISSUER}/oauth2/authorize
 * (RFC 6749 §3.1 and §4.1, OAuth 2.1 §4.1, SPEC §4.1).
 *
 * GET carries an authorization request; POST carries the consent form's
 * decision together with the same request, which is validated again, check
 * for check, exactly as on GET. The order of the checks follows RFC 6749
 * §4.1.2.1: a bad client_id or redirect_uri is told to the person on an
 * error page and never redirected; every later error is redirected to the
 * (now trusted) redirect URI with error, error_description, state and iss
 * (RFC 9207). Then the person signs in (login.c), and consents unless a
 * stored consent already covers the request; the code is issued with the
 * consent and both audit rows in one transaction, and the browser returns
 * to the client with code, state and iss.
 *
 * Task details (RFC 9396 authorization_details of type mcp_tools, SPEC
 * §12) are checked by policy/details.c; their locations join the request's
 * resources, the consent page lists them, the consent keeps their union and
 * the code's grant holds them for the tokens.
 *
 * The whole request is checked on the event loop from cached tenant and
 * client snapshots; only the session, consent and code need the database,
 * and only then does the handler move to a database worker (H_BLOCK).
 */
#include "http/routes.h"
#include "storage/grants.h"
#include "policy/redirect.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "web/web.h"
#include "http/form.h"
#include "oauth/cimd.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "util/limits.h"
#include "policy/details.h"
#include "oauth/oauth.h"

#include <string.h>

/* An authorization request (and, on POST, the consent form's fields).
 * Parameters sent with an empty value count as absent (RFC 6749 §3.1). */
struct authz_req {
    const char *client_id, *redirect_uri, *response_type, *code_challenge,
        *code_challenge_method, *scope, *state, *authorization_details;
    const char **resources;      /* RFC 8707: may repeat; duplicates dropped */
    int nresources;
    bool resource_empty;         /* resource sent without a value */
    bool too_many_resources;
    const char *dup;             /* a parameter sent twice, or NULL */
    bool dup_state;
    const char *decision, *csrf_token;   /* POST only */
};

/* ---- parsing ---- */

/* Parses an urlencoded query or body. -1 on a bad encoding or more than
 * AUTHZ_AUTHORIZE_PARAMS_MAX parameters. */
static int parse_request(struct req *r, const char *s, size_t len, bool post, struct authz_req *q)
{
    memset(q, 0, sizeof *q);
    struct {
        const char *name;
        const char **slot;
        bool post_only;
        bool seen;
    } fields[] = {
        {"client_id", &q->client_id, false, false},
        {"redirect_uri", &q->redirect_uri, false, false},
        {"response_type", &q->response_type, false, false},
        {"code_challenge", &q->code_challenge, false, false},
        {"code_challenge_method", &q->code_challenge_method, false, false},
        {"scope", &q->scope, false, false},
        {"state", &q->state, false, false},
        {"authorization_details", &q->authorization_details, false, false},
        {"decision", &q->decision, true, false},
        {"csrf_token", &q->csrf_token, true, false},
    };
    const size_t nfields = sizeof fields / sizeof fields[0];
    q->resources = arena_alloc(r->arena, sizeof(char *) * (AUTHZ_AUTHORIZE_RESOURCES_MAX + 1));
    int nparams = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *seg = s + pos;
        const char *amp = memchr(seg, '&', len - pos);
        size_t sl = amp ? (size_t)(amp - seg) : len - pos;
        pos += sl + 1;
        if (sl == 0)
            continue;
        if (++nparams > AUTHZ_AUTHORIZE_PARAMS_MAX)
            return -1;
        const char *eq = memchr(seg, '=', sl);
        size_t nl = eq ? (size_t)(eq - seg) : sl;
        char *name = form_decode(r->arena, seg, nl);
        char *value = eq ? form_decode(r->arena, eq + 1, sl - nl - 1) : arena_strdup(r->arena, "");
        if (!name || !value || !*name)
            return -1;
        if (strcmp(name, "resource") == 0) {
            if (!*value) {
                q->resource_empty = true;
                continue;
            }
            bool have = false;
            for (int i = 0; i < q->nresources; i++)
                if (strcmp(q->resources[i], value) == 0)
                    have = true;
            if (have)
                continue;
            if (q->nresources == AUTHZ_AUTHORIZE_RESOURCES_MAX) {
                q->too_many_resources = true;
                continue;
            }
            q->resources[q->nresources++] = value;
            continue;
        }
        for (size_t i = 0; i < nfields; i++) {
            if (strcmp(name, fields[i].name) != 0 || (fields[i].post_only && !post))
                continue;
            if (fields[i].seen) {
                /* RFC 6749 §3.1: "Request and response parameters MUST NOT
                 * be included more than once." Which value counts is
                 * unknowable, so none does: a repeated client_id or
                 * redirect_uri is a missing one (error page), any other
                 * is invalid_request. */
                if (!q->dup)
                    q->dup = fields[i].name;
                if (fields[i].slot == &q->state)
                    q->dup_state = true;
                *fields[i].slot = NULL;
            } else {
                fields[i].seen = true;
                *fields[i].slot = *value ? value : NULL;
            }
            break;
        }
        /* RFC 6749 §3.1: "The authorization server MUST ignore
         * unrecognized request parameters." */
    }
    return 0;
}

/* The request's own parameters, in the order they are passed on: to the
 * sign-in page (return_to) and to the consent form (hidden fields). */
#define REQUEST_FIELDS 8
static const char *const REQUEST_FIELD_NAMES[REQUEST_FIELDS] = {
    "client_id", "redirect_uri", "response_type", "code_challenge", "code_challenge_method",
    "scope", "state", "authorization_details",
};

static void request_values(const struct authz_req *q, const char *v[REQUEST_FIELDS])
{
    v[0] = q->client_id;
    v[1] = q->redirect_uri;
    v[2] = q->response_type;
    v[3] = q->code_challenge;
    v[4] = q->code_challenge_method;
    v[5] = q->scope;
    v[6] = q->state;
    v[7] = q->authorization_details;
}

/* The request as a query string (no decision, no CSRF token): what the
 * sign-in page returns to. */
static char *request_query(struct req *r, const struct authz_req *q)
{
    const char *values[REQUEST_FIELDS];
    request_values(q, values);
    struct strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < REQUEST_FIELDS; i++) {
        if (!values[i])
            continue;
        if (sb.len)
            sb_putc(&sb, '&');
        sb_printf(&sb, "%s=", REQUEST_FIELD_NAMES[i]);
        uri_encode_component(&sb, values[i]);
    }
    for (int i = 0; i < q->nresources; i++) {
        if (sb.len)
            sb_putc(&sb, '&');
        sb_puts(&sb, "resource=");
        uri_encode_component(&sb, q->resources[i]);
    }
    char *out = arena_strdup(r->arena, sb.buf ? sb.buf : "");
    sb_free(&sb);
    return out;
}

/* ---- answers ---- */

static void error_page(struct req *r, const char *message)
{
    web_message(r, 400, "This request cannot be completed", message);
}

/* RFC 6749 §4.1.2.1: the error response, redirected to the client with
 * state and (RFC 9207 §2) iss. */
static void redirect_error(struct req *r, const struct authz_req *q, const char *error,
                           const char *description)
{
    const char *names[] = {"error", "error_description", "state", "iss"};
    const char *values[] = {error, description, q->dup_state ? NULL : q->state,
                            r->tenant->issuer};
    web_redirect(r, redirect_uri_append(r->arena, q->redirect_uri, names, values, 4));
}

static void forbidden(struct req *r)
{
    web_message(r, 403, "Forbidden",
                "This form has expired or did not come from your signed-in session. Go back to "
                "the application and start again.");
}

static void login_page(struct req *r, const struct authz_req *q)
{
    web_login_page(r, 200,
                   arena_sprintf(r->arena, "/oauth2/authorize?%s", request_query(r, q)), NULL,
                   NULL);
}

/* ---- checks ---- */

/* RFC 7636 §4.2: with S256, code_challenge = BASE64URL(SHA256(verifier)),
 * 32 bytes, which is 43 base64url characters without padding. */
static bool s256_challenge_shaped(const char *c)
{
    size_t n = 0;
    for (; c[n]; n++)
        if (!((c[n] >= 'A' && c[n] <= 'Z') || (c[n] >= 'a' && c[n] <= 'z') ||
              (c[n] >= '0' && c[n] <= '9') || c[n] == '-' || c[n] == '_'))
            return false;
    return n == 43;
}

/* RFC 8707 §2: every resource is an absolute URI without a fragment, and
 * one the tenant knows (and, for a client an administrator limited to some
 * resources, one of those). Also gives the scopes those resources define:
 * without a resource, those of every resource the client may reach. */
static bool check_resources(struct req *r, const struct authz_req *q, struct scopeset *defined,
                            const char **why)
{
    const struct tenant *t = r->tenant;
    const struct client *c = r->client;
    defined->n = 0;
    int cap = 0;
    for (int i = 0; i < t->nresources; i++)
        cap += t->resources[i].scopes.n;
    defined->v = arena_alloc(r->arena, sizeof(char *) * (size_t)(cap + 1));
    if (q->resource_empty || q->too_many_resources) {
        *why = q->resource_empty ? "resource must be an absolute URI"
                                 : "too many resources in one request";
        return false;
    }
    for (int i = 0; i < q->nresources; i++) {
        if (!resource_uri_valid(q->resources[i])) {
            *why = "resource must be an absolute URI without a fragment";
            return false;
        }
        if (!tenant_resource(t, q->resources[i]) ||
            (c->allowed_resources.n > 0 && !strlist_has(&c->allowed_resources, q->resources[i]))) {
            *why = "unknown resource, or not one this client may use";
            return false;
        }
    }
    for (int i = 0; i < t->nresources; i++) {
        const struct resource *res = &t->resources[i];
        bool use;
        if (q->nresources > 0) {
            use = false;
            for (int k = 0; k < q->nresources; k++)
                if (strcmp(q->resources[k], res->uri) == 0)
                    use = true;
        } else {
            use = c->allowed_resources.n == 0 || strlist_has(&c->allowed_resources, res->uri);
        }
        if (!use)
            continue;
        for (int k = 0; k < res->scopes.n; k++)
            if (!scope_has(defined, res->scopes.v[k]))
                defined->v[defined->n++] = res->scopes.v[k];
    }
    return true;
}

/* RFC 6749 §3.3: the requested scope (default: every scope the resources
 * define), each a scope of those resources, within the client's
 * allowed_scopes when an administrator set any. `openid` (SPEC §2: no ID
 * tokens here) and `offline_access` (SPEC §11: refresh tokens go to every
 * client with the refresh_token grant) are accepted and dropped. */
static bool check_scope(struct req *r, const struct authz_req *q, const struct scopeset *defined,
                        struct scopeset *want, const char **why)
{
    struct scopeset asked;
    if (scope_parse(r->arena, q->scope, &asked) < 0) {
        *why = "malformed scope";
        return false;
    }
    scope_drop_unissued(&asked);
    if (asked.n == 0) {
        *want = *defined;
    } else {
        for (int i = 0; i < asked.n; i++)
            if (!scope_has(defined, asked.v[i])) {
                *why = arena_sprintf(r->arena, "unknown scope %s for the requested resources",
                                     asked.v[i]);
                return false;
            }
        *want = asked;
    }
    const struct client *c = r->client;
    if (c->allowed_scopes.n > 0) {
        struct scopeset allowed = scope_from_list(c->allowed_scopes.v, c->allowed_scopes.n);
        *want = scope_intersect(r->arena, want, &allowed);
    }
    if (want->n == 0) {
        *why = "none of the requested scopes is available to this client";
        return false;
    }
    return true;
}

/* ---- outcomes ---- */

/* RFC 6749 §4.1.2: issues the code (with the consent, when the person just
 * gave it) in one transaction with its audit rows, and sends the browser
 * back to the client with code, state and iss. */
static void issue_code(struct req *r, const struct authz_req *q, const struct web_session *s,
                       const struct scopeset *granted, const struct details *details,
                       bool record_consent)
{
    const struct tenant *t = r->tenant;
    const struct client *c = r->client;
    char *scope = scope_join(r->arena, granted);
    char *scopes_pg = pgarray_build(r->arena, granted->v, granted->n);
    char *resources_pg = pgarray_build(r->arena, q->resources, q->nresources);
    if (db_begin(&r->tx) < 0) {
        web_storage_failed(r);
        return;
    }
    if (record_consent) {
        if (store_consent_merge(&r->tx, t->id, s->user_id, c->client_id, scopes_pg, resources_pg) < 0) {
            web_storage_failed(r);
            return;
        }
        /* SPEC §12: task details are stored with the consent, which
         * keeps the union of what the person approved (as for scopes) */
        if (details->n > 0) {
            const char *old_json;
            struct details old, both;
            if (store_consent_details_get(&r->tx, t->id, s->user_id, c->client_id, &old_json) < 0) {
                web_storage_failed(r);
                return;
            }
            if (details_read(r->arena, old_json, &old) < 0)
                old.n = 0;
            details_union(r->arena, &old, details, &both);
            if (store_consent_details_set(&r->tx, t->id, s->user_id, c->client_id,
                                          details_json(r->arena, &both)) < 0) {
                web_storage_failed(r);
                return;
            }
        }
        struct audit_event *e = audit_add(r, "consent.granted", true);
        e->subject = s->user_id;
        e->scope = scope;
        e->resources = q->nresources ? q->resources : NULL;
        e->nresources = q->nresources;
        if (details->n > 0)
            e->details = arena_sprintf(r->arena, "{\"authorization_details\":%s}",
                                       details_json(r->arena, details));
    }
    char code[64];
    if (code_issue(&r->tx, t->id, c->client_id, s->user_id, q->redirect_uri, q->code_challenge,
                   scopes_pg, resources_pg, details_json(r->arena, details), s->auth_time,
                   code) < 0) {
        web_storage_failed(r);
        return;
    }
    struct audit_event *e = audit_add(r, "code.issued", true);
    e->subject = s->user_id;
    e->scope = scope;
    e->resources = q->nresources ? q->resources : NULL;
    e->nresources = q->nresources;
    e->details = "{\"grant_type\":\"authorization_code\"}";
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        web_storage_failed(r);
        return;
    }
    const char *names[] = {"code", "state", "iss"};
    const char *values[] = {code, q->state, t->issuer};
    web_redirect(r, redirect_uri_append(r->arena, q->redirect_uri, names, values, 3));
}

/* The consent page. SPEC §11 step-up: with a stored consent (cs, cr), the
 * person is asked only for what is new; what they allowed before is listed
 * apart, and approving stores the union (issue_code). */
static void consent_page(struct req *r, const struct authz_req *q, const struct web_session *s,
                         const struct scopeset *granted, const struct scopeset *cs,
                         const struct scopeset *cr, const struct details *details)
{
    const struct client *c = r->client;
    struct scopeset none = {NULL, 0};
    struct scopeset fresh = scope_minus(r->arena, granted, cs ? cs : &none);
    struct scopeset before = scope_intersect(r->arena, granted, cs ? cs : &none);
    struct strbuf sb;

    sb_init(&sb);
    for (int i = 0; i < fresh.n; i++)
        web_scope_item(r, &sb, "scope", fresh.v[i], q->resources, q->nresources);
    if (fresh.n == 0)
        sb_puts(&sb, "<li id=\"no-new-scope\">No permission beyond those you allowed "
                     "before</li>\n");
    const char *scopes_html = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);

    sb_init(&sb);
    if (before.n > 0) {
        sb_puts(&sb, "<h2>Allowed before</h2>\n<ul id=\"already-allowed\">\n");
        for (int i = 0; i < before.n; i++)
            web_scope_item(r, &sb, "scope-before", before.v[i], q->resources, q->nresources);
        sb_puts(&sb, "</ul>\n");
    }
    const char *before_html = arena_strdup(r->arena, sb.buf ? sb.buf : "");
    sb_free(&sb);

    sb_init(&sb);
    for (int i = 0; i < q->nresources; i++) {
        bool old = cr && scope_has(cr, q->resources[i]);
        sb_printf(&sb, "<li class=\"resource%s\"><code>", old ? " resource-before" : "");
        web_escape_into(&sb, q->resources[i]);
        sb_puts(&sb, "</code></li>\n");
    }
    if (q->nresources == 0)
        sb_puts(&sb, "<li id=\"no-resource\">Any service of this organization that accepts "
                     "these permissions</li>\n");
    const char *resources_html = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);

    /* the request again, to be validated again when the form comes back */
    sb_init(&sb);
    const char *values[REQUEST_FIELDS];
    request_values(q, values);
    for (int i = 0; i < REQUEST_FIELDS; i++)
        if (values[i])
            web_hidden_input(&sb, REQUEST_FIELD_NAMES[i], values[i]);
    for (int i = 0; i < q->nresources; i++)
        web_hidden_input(&sb, "resource", q->resources[i]);
    web_hidden_input(&sb, "csrf_token", s->csrf_token);
    const char *hidden_html = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);

    const struct page_var v[] = {
        {"tenant", r->tenant->display_name},
        {"client", c->client_name && *c->client_name ? c->client_name : c->client_id},
        {"client_id", c->client_id},
        {"client_notice", web_client_notice(r, c, q->redirect_uri)},
        {"heading_more", cs ? " more" : ""},
        {"username", s->username},
        {"redirect_uri", q->redirect_uri},
        {"action", arena_sprintf(r->arena, "%s/oauth2/authorize", r->tenant->issuer)},
        {"scopes", scopes_html},
        {"before", before_html},
        {"resources", resources_html},
        {"hidden", hidden_html},
        {"details", web_details_html(r, details)},
    };
    web_page(r, 200, "consent", v, (int)(sizeof v / sizeof v[0]));
}

/* true when the stored consent covers every scope, resource and task
 * detail asked */
static bool consent_covers(const struct scopeset *cs, const struct scopeset *cr,
                           const struct details *cd, const struct scopeset *granted,
                           const struct authz_req *q, const struct details *details)
{
    if (!scope_subset(granted, cs) || !details_subset(details, cd))
        return false;
    for (int i = 0; i < q->nresources; i++)
        if (!scope_has(cr, q->resources[i]))
            return false;
    return true;
}

/* ---- the handler ---- */

enum hres h_authorize(struct req *r)
{
    /* RFC 6749 §3.1: "The authorization server MUST support the use of the
     * HTTP GET method"; POST is the consent form (and, without a decision,
     * an authorization request sent as a form). */
    if (r->method != M_GET && r->method != M_POST) {
        web_message(r, 405, "Method not allowed", "Use GET or POST here.");
        resp_header(r, "Allow", "GET, POST");
        return H_DONE;
    }
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant) {
        web_headers(r);
        return H_DONE;
    }
    const struct tenant *t = r->tenant;
    bool post = r->method == M_POST;
    if (post && !web_is_form(r)) {
        error_page(r, "The form must be sent as application/x-www-form-urlencoded.");
        return H_DONE;
    }
    struct authz_req q;
    const char *src = post ? r->body : (r->query ? r->query : "");
    size_t len = post ? r->body_len : strlen(src);
    if (parse_request(r, src, len, post, &q) < 0) {
        error_page(r, "The authorization request is malformed (a bad percent-encoding, invalid "
                      "UTF-8 or too many parameters).");
        return H_DONE;
    }

    /* RFC 6749 §4.1.2.1: "If the request fails due to a missing, invalid,
     * or mismatching redirection URI, or if the client identifier is
     * missing or invalid, the authorization server SHOULD inform the
     * resource owner of the error and MUST NOT automatically redirect the
     * user-agent to the invalid redirection URI." */
    if (!q.client_id || strlen(q.client_id) > AUTHZ_CLIENT_ID_MAX) {
        error_page(r, "The application's request names no valid client_id.");
        return H_DONE;
    }
    if (!r->client) {
        struct client *c = NULL;
        const char *why = NULL;
        if (client_find(r, q.client_id, &c, &why) == H_BLOCK)
            return H_BLOCK;
        if (r->tx.down)
            return H_DONE;
        if (!c && why) {
            /* SPEC §11: a client ID metadata document that is refused is
             * invalid_client, with what was wrong with it; not redirected
             * (RFC 6749 §4.1.2.1: the client is not known to be valid) */
            r->log_client = arena_strdup(r->arena, q.client_id);
            resp_note_error(r, "invalid_client");
            web_message(r, 400, "This request cannot be completed",
                        arena_sprintf(r->arena, "invalid_client: %s", why));
            return H_DONE;
        }
        r->client = c;
    }
    if (!r->client || strcmp(r->client->client_id, q.client_id) != 0) {
        error_page(r, "The application is not registered here (unknown client_id).");
        return H_DONE;
    }
    const struct client *c = r->client;
    /* the access log is written after the client reference is dropped */
    r->log_client = arena_strdup(r->arena, c->client_id);
    /* OAuth 2.1 §4.1.1: redirect_uri is required here (authz always asks
     * for it); RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: exact match, with
     * RFC 8252 §7.3's loopback port exception (policy/redirect.c) */
    if (!q.redirect_uri) {
        error_page(r, "The application's request has no redirect_uri.");
        return H_DONE;
    }
    if (redirect_uri_find(c->redirect_uris.v, c->redirect_uris.n, q.redirect_uri) < 0) {
        error_page(r, "The application's redirect_uri is not registered for it, so its request "
                      "is refused.");
        return H_DONE;
    }

    /* From here on, errors go back to the client. RFC 6749 §3.1: "Request
     * and response parameters MUST NOT be included more than once." */
    if (q.dup) {
        redirect_error(r, &q, "invalid_request",
                       arena_sprintf(r->arena, "%s was sent more than once", q.dup));
        return H_DONE;
    }
    /* RFC 6749 §4.1.1: response_type REQUIRED, "Value MUST be set to
     * "code"." (OAuth 2.1: the only one.) */
    if (!q.response_type) {
        redirect_error(r, &q, "invalid_request", "response_type is required");
        return H_DONE;
    }
    if (strcmp(q.response_type, "code") != 0) {
        redirect_error(r, &q, "unsupported_response_type", "only response_type=code is supported");
        return H_DONE;
    }
    /* RFC 7636 §4.4.1: a server that requires PKCE answers a request
     * without code_challenge with invalid_request; OAuth 2.1 §4.1.1 and
     * RFC 9700 §2.1.1: required, and S256 (an absent method means plain,
     * RFC 7636 §4.3, which is refused). */
    if (!q.code_challenge) {
        redirect_error(r, &q, "invalid_request", "code_challenge is required (PKCE with S256)");
        return H_DONE;
    }
    if (!q.code_challenge_method || strcmp(q.code_challenge_method, "S256") != 0) {
        redirect_error(r, &q, "invalid_request",
                       "code_challenge_method must be S256 (plain is not supported)");
        return H_DONE;
    }
    if (!s256_challenge_shaped(q.code_challenge)) {
        redirect_error(r, &q, "invalid_request",
                       "code_challenge must be the base64url SHA-256 of the code_verifier "
                       "(43 characters)");
        return H_DONE;
    }
    /* RFC 6749 §4.1.2.1 unauthorized_client: "The client is not authorized
     * to request an authorization code using this method." */
    if (!strlist_has(&c->grant_types, "authorization_code") ||
        (c->response_types.n > 0 && !strlist_has(&c->response_types, "code"))) {
        redirect_error(r, &q, "unauthorized_client",
                       "this client may not use the authorization code grant");
        return H_DONE;
    }
    /* RFC 8707 §2: "invalid_target" for a resource that is unknown,
     * malformed or not allowed */
    /* RFC 9396 §5: authorization_details the AS cannot accept are
     * refused with invalid_authorization_details (policy/details.c: only
     * mcp_tools, locations of the tenant the client may use). Their
     * locations are resources of the request (RFC 9396 §3: what the token
     * is for) */
    struct details details = {0};
    const char *why;
    if (q.authorization_details) {
        struct details_ctx dctx;
        oauth_details_ctx(r, &dctx);
        if (details_parse(r->arena, q.authorization_details, &dctx, &details, &why) < 0) {
            redirect_error(r, &q, "invalid_authorization_details", why);
            return H_DONE;
        }
        for (int i = 0; i < details.n; i++) {
            bool have = false;
            for (int k = 0; k < q.nresources; k++)
                if (strcmp(q.resources[k], details.v[i].location) == 0)
                    have = true;
            if (have)
                continue;
            if (q.nresources == AUTHZ_AUTHORIZE_RESOURCES_MAX) {
                q.too_many_resources = true;
                break;
            }
            q.resources[q.nresources++] = details.v[i].location;
        }
    }
    struct scopeset defined, want;
    if (!check_resources(r, &q, &defined, &why)) {
        redirect_error(r, &q, "invalid_target", why);
        return H_DONE;
    }
    /* RFC 6749 §4.1.2.1 invalid_scope: "The requested scope is invalid,
     * unknown, or malformed." */
    if (!check_scope(r, &q, &defined, &want, &why)) {
        redirect_error(r, &q, "invalid_scope", why);
        return H_DONE;
    }

    /* RFC 6749 §4.1.1: "the authorization server authenticates the
     * resource owner" (login.c). A consent form is only ever the signed-in
     * person's own: without their session it is refused, not answered
     * with a sign-in that would then act on it. */
    bool consent_form = post && (q.decision || q.csrf_token);
    struct web_session s;
    int found = 0;
    if (web_session_cookie(r)) {
        if (!r->can_block)
            return H_BLOCK;
        found = web_session_get(r, &s);
        if (found < 0) {
            web_storage_failed(r);
            return H_DONE;
        }
    }
    if (found == 0) {
        if (consent_form)
            forbidden(r);
        else
            login_page(r, &q);
        return H_DONE;
    }

    /* the consent form: its CSRF token is the session's, or nothing
     * happens */
    if (consent_form && (!q.csrf_token || ct_streq(q.csrf_token, s.csrf_token) != 1)) {
        forbidden(r);
        return H_DONE;
    }
    bool decided = post && q.decision;

    /* SPEC §4.1: "The scopes a person can grant are bounded by the person's
     * own scopes" */
    struct scopeset granted = scope_intersect(r->arena, &want, &s.scopes);
    if (granted.n == 0) {
        redirect_error(r, &q, "invalid_scope",
                       "none of the requested scopes is available to this person");
        return H_DONE;
    }

    if (decided) {
        if (strcmp(q.decision, "approve") == 0) {
            issue_code(r, &q, &s, &granted, &details, true);
        } else if (strcmp(q.decision, "deny") == 0) {
            /* RFC 6749 §4.1.2.1 access_denied: "The resource owner or
             * authorization server denied the request." */
            redirect_error(r, &q, "access_denied", "the person denied the request");
        } else {
            error_page(r, "The decision must be approve or deny.");
        }
        return H_DONE;
    }

    /* SPEC §4.1: consent "is not asked again for a subset of it" */
    struct scopeset cs, cr;
    int have = store_consent_get(&r->tx, t->id, s.user_id, c->client_id, &cs, &cr);
    if (have < 0) {
        web_storage_failed(r);
        return H_DONE;
    }
    struct details cd = {0};
    if (have == 1 && details.n > 0) {
        const char *cdj;
        if (store_consent_details_get(&r->tx, t->id, s.user_id, c->client_id, &cdj) < 0) {
            web_storage_failed(r);
            return H_DONE;
        }
        if (details_read(r->arena, cdj, &cd) < 0)
            cd.n = 0;
    }
    if (have == 1 && consent_covers(&cs, &cr, &cd, &granted, &q, &details)) {
        issue_code(r, &q, &s, &granted, &details, false);
        return H_DONE;
    }
    consent_page(r, &q, &s, &granted, have == 1 ? &cs : NULL, have == 1 ? &cr : NULL, &details);
    return H_DONE;
}
