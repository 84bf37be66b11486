/*
 * approvals_api.c: the approval callback (SPEC §4.5). An external approval
 * system (chat bot, ticketing, a custom web app) decides a pending session
 * request with POST {ISSUER}/approvals/{auth_req_id}/decision, JSON
 * {"decision":"approve"|"deny","approver":"<username>"}, authorised by an
 * access token of this tenant holding scope approvals:decide (RFC 6750
 * bearer usage). A second decision gets 409.
 */
#include "oauth/ciba.h"
#include "oauth/oauth.h"
#include "http/routes.h"
#include "policy/scope.h"
#include "cache.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void bearer_error(struct req *r, int status, const char *error, const char *desc)
{
    resp_oauth_error(r, status, error, desc);
    resp_header(r, "WWW-Authenticate",
                arena_sprintf(r->arena, "Bearer realm=\"%s\", error=\"%s\"", r->tenant->issuer, error));
}

enum hres h_approval_decision(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    struct tenant *t = r->tenant;
    const char *id = r->params[1];
    /* RFC 6750 §2.1: Authorization: Bearer */
    const char *h = req_header(r, "authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        resp_oauth_error(r, 401, "invalid_token", "a Bearer access token with approvals:decide is required");
        resp_header(r, "WWW-Authenticate", arena_sprintf(r->arena, "Bearer realm=\"%s\"", t->issuer));
        return H_DONE;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    json_t *claims = access_token_active(t, tok);
    if (!claims) {
        bearer_error(r, 401, "invalid_token", "the access token is not active for this tenant");
        return H_DONE;
    }
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    struct scopeset ss = {0};
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *cid = json_string_value(json_object_get(claims, "client_id"));
    /* the approval system is a client acting as itself for this issuer */
    bool ok = aud && !strcmp(aud, t->issuer) && scope && scope_parse(r->arena, scope, &ss) == 0 &&
              scope_has(&ss, "approvals:decide") && sub && cid && !strcmp(sub, cid) &&
              !json_object_get(claims, "act");
    r->log_client = arena_strdup(r->arena, json_string_value(json_object_get(claims, "client_id")));
    json_decref(claims);
    if (!ok) {
        /* RFC 6750 §3.1: insufficient_scope -> 403 */
        bearer_error(r, 403, "insufficient_scope", "the token needs scope approvals:decide for this issuer");
        return H_DONE;
    }
    json_error_t je;
    json_t *b = r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    const char *decision = b ? json_string_value(json_object_get(b, "decision")) : NULL;
    const char *approver = b ? json_string_value(json_object_get(b, "approver")) : NULL;
    if (!b || !json_is_object(b) || !decision || !approver ||
        (strcmp(decision, "approve") && strcmp(decision, "deny"))) {
        json_decref(b);
        resp_oauth_error(r, 400, "invalid_request",
                         "expected JSON {\"decision\":\"approve\"|\"deny\",\"approver\":\"<username>\"}");
        return H_DONE;
    }
    bool approve = !strcmp(decision, "approve");
    char *who = arena_strdup(r->arena, approver);
    json_decref(b);
    switch (ciba_decide(r, t, id, who, approve, "callback")) {
    case CIBA_DECIDED: {
        struct strbuf sb;
        sb_init(&sb);
        sb_puts(&sb, "{\"auth_req_id\":");
        sb_json_str(&sb, id);
        sb_printf(&sb, ",\"status\":\"%s\"}", approve ? "approved" : "denied");
        size_t len;
        char *body = sb_steal(&sb, &len);
        resp_set(r, 200, "application/json", body, len);
        resp_header(r, "Cache-Control", "no-store");
        break;
    }
    case CIBA_NOT_FOUND:
        resp_oauth_error(r, 404, "not_found", "no such session request");
        break;
    case CIBA_CONFLICT:
        resp_oauth_error(r, 409, "already_decided", "this request was decided already, or expired");
        break;
    case CIBA_FORBIDDEN:
        resp_oauth_error(r, 403, "access_denied", "only the person named by the request may decide it");
        break;
    case CIBA_NOTHING:
        resp_oauth_error(r, 409, "nothing_to_approve",
                         "the person holds none of the scopes asked for: the request can only be denied");
        break;
    case CIBA_FAILED:
        break;
    }
    return H_DONE;
}
