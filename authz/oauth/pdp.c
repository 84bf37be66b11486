/*
 * pdp.c: the AuthZEN 1.0 policy decision point of each tenant (SPEC §12):
 * MCP servers ask, before each tool call, whether the agent's token may call
 * that tool on that server.
 *
 *   GET  /.well-known/authzen-configuration/t/{t}   discovery (also under
 *   GET  {ISSUER}/.well-known/authzen-configuration  the issuer)
 *   POST {ISSUER}/access/v1/evaluation              one decision (AuthZEN §6)
 *   POST {ISSUER}/access/v1/evaluations             a batch (AuthZEN §7)
 *
 * The caller is a confidential client authenticated as at the
 * introspection endpoint (client_authenticate, with HTTP Basic: the body is
 * JSON), and may ask only about resources in its `introspects` (else 403,
 * nothing written). The decision itself is policy/tool.c's pure function;
 * this file gathers its facts from cached state on the event loop (the
 * verified-token cache and revocation set of access_token_active, the
 * tenant snapshot's tool catalog, the drift baseline of baseline.h) and
 * writes only the audit rows, group-committed before the answer, whose ids
 * the answer carries. A decision that changes the baseline (a new pair, a
 * last use to record, a drift alert to raise) runs on a database worker
 * instead: the pair's row is locked there, so two authzd deciding the same
 * new pair raise one alert between them.
 */
#include "oauth/oauth.h"
#include "oauth/register.h"
#include "http/routes.h"
#include "policy/tool.h"
#include "policy/delegation.h"
#include "storage/tools.h"
#include "storage/outbox.h"
#include "storage/db.h"
#include "baseline.h"
#include "cache.h"
#include "util/limits.h"
#include "util/text.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A last use older than this is written again (the baseline's last_used is
 * kept to within it; the window is counted in days). */
#define BASELINE_TOUCH_SECS 3600

/* ---- discovery ---- */

enum hres h_authzen_metadata(struct req *r)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    /* AuthZEN 1.0 §9 (PDP metadata) */
    const char *iss = r->tenant->issuer;
    json_t *doc = json_pack("{s:s, s:s, s:s}", "policy_decision_point", iss,
                            "access_evaluation_endpoint",
                            arena_sprintf(r->arena, "%s/access/v1/evaluation", iss),
                            "access_evaluations_endpoint",
                            arena_sprintf(r->arena, "%s/access/v1/evaluations", iss));
    resp_json(r, 200, json_dumps(doc, JSON_COMPACT));
    json_decref(doc);
    resp_header(r, "Cache-Control", "public, max-age=60");
    resp_header(r, "Access-Control-Allow-Origin", "*");
    return H_DONE;
}

/* ---- one evaluation ---- */

struct eval {
    /* the request */
    const char *token, *action, *tool, *server;
    char args_sha256[65];       /* "" when there are no arguments */
    /* the facts and the decision */
    const char *agent, *subject, *sid, *scope;
    const char **chain;
    int nchain;
    bool active;
    struct tool_decision d;
    bool db;                    /* the decision changes the baseline: on a worker */
    struct audit_event *row;
};

struct pdp {
    struct eval *ev;
    int n;
    bool batch;                 /* answer {"evaluations":[...]} */
};

/* AuthZEN §7.1 options.evaluations_semantic */
enum semantic { SEM_ALL, SEM_DENY_FIRST, SEM_PERMIT_FIRST };

static const char *str_member(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The hex SHA-256 of the arguments, serialised canonically (sorted members,
 * no white space), so that an incident can be matched to a call without the
 * audit trail holding what the arguments said. */
static void args_hash(const json_t *args, char out[65])
{
    out[0] = '\0';
    if (!args)
        return;
    char *s = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s)
        return;
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_Digest(s, strlen(s), md, &ml, EVP_sha256(), NULL);
    free(s);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

/* Reads one evaluation (the members already merged with the batch's
 * defaults). NULL when it is well-formed, else what is wrong. */
static const char *parse_eval(const json_t *subject, const json_t *action, const json_t *resource,
                              const json_t *context, struct eval *e)
{
    memset(e, 0, sizeof *e);
    /* AuthZEN §5.1: subject {type, id}; SPEC §12: type agent_token, id the
     * access token the MCP server received */
    if (!json_is_object(subject))
        return "subject must be an object";
    const char *type = str_member(subject, "type");
    if (!type || strcmp(type, "agent_token") != 0)
        return "subject.type must be agent_token";
    e->token = str_member(subject, "id");
    if (!e->token || !*e->token || strlen(e->token) > AUTHZ_TOKEN_MAX)
        return "subject.id must be the access token";
    /* AuthZEN §5.3: action {name} */
    if (!json_is_object(action))
        return "action must be an object";
    e->action = str_member(action, "name");
    if (!e->action || !text_printable_chars(e->action, 200))
        return "action.name must be a string";
    /* AuthZEN §5.2: resource {type, id, properties}; SPEC §12: type
     * mcp_tool, id the tool's name, properties.server the resource URI */
    if (!json_is_object(resource))
        return "resource must be an object";
    type = str_member(resource, "type");
    if (!type || strcmp(type, "mcp_tool") != 0)
        return "resource.type must be mcp_tool";
    e->tool = str_member(resource, "id");
    if (!tool_name_valid(e->tool))
        return "resource.id must be a tool name (1 to 128 of A-Z a-z 0-9 _ - .)";
    json_t *props = json_object_get(resource, "properties");
    e->server = json_is_object(props) ? str_member(props, "server") : NULL;
    if (!e->server || !resource_uri_valid(e->server) || strlen(e->server) > AUTHZ_URI_MAX)
        return "resource.properties.server must be the server's resource URI";
    /* AuthZEN §5.4: context, an object; SPEC §12: context.arguments */
    json_t *args = NULL;
    if (context && !json_is_null(context)) {
        if (!json_is_object(context))
            return "context must be an object";
        args = json_object_get(context, "arguments");
        if (args && !json_is_object(args))
            return "context.arguments must be an object";
    }
    args_hash(args, e->args_sha256);
    return NULL;
}

/* ---- the request ---- */

static void bad_request(struct req *r, const char *why)
{
    resp_oauth_error(r, 400, "invalid_request", why);
}

/* Copies the strings parse_eval borrowed from the JSON into the arena. A
 * string an evaluation shares with the one before (a batch's default
 * subject, action or server: the same JSON string) is copied once, and
 * the evaluations then share the copy, which evaluate() relies on to
 * verify a batch's token once. */
static void own_strings(struct req *r, struct pdp *p)
{
    const char *prev[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < p->n; i++) {
        struct eval *e = &p->ev[i];
        const char **f[4] = {&e->token, &e->action, &e->tool, &e->server};
        for (int k = 0; k < 4; k++) {
            const char *orig = *f[k];
            if (i > 0 && orig == prev[k]) {
                const struct eval *b = &p->ev[i - 1];
                const char *const g[4] = {b->token, b->action, b->tool, b->server};
                *f[k] = g[k];
            } else {
                *f[k] = arena_strdup(r->arena, orig);
            }
            prev[k] = orig;
        }
    }
}

/* Parses the body into p. false with the 400 answer set. */
static bool parse_request(struct req *r, bool batch, struct pdp *p, enum semantic *sem)
{
    *sem = SEM_ALL;
    if (!register_content_type_ok(req_header(r, "content-type"))) {
        bad_request(r, "the body must be application/json");
        return false;
    }
    const char *desc = NULL;
    json_t *b = register_parse_body(r->body, r->body_len, &desc);
    if (!b) {
        bad_request(r, "the body must be a JSON object (well-formed, UTF-8, no repeated member)");
        return false;
    }
    const char *why = NULL;
    json_t *evs = batch ? json_object_get(b, "evaluations") : NULL;
    json_t *subject = json_object_get(b, "subject"), *action = json_object_get(b, "action"),
           *resource = json_object_get(b, "resource"), *context = json_object_get(b, "context");
    if (batch) {
        json_t *opts = json_object_get(b, "options");
        if (opts && !json_is_object(opts))
            why = "options must be an object";
        json_t *s = opts ? json_object_get(opts, "evaluations_semantic") : NULL;
        if (!why && s) {
            const char *v = json_string_value(s);
            if (v && !strcmp(v, "execute_all"))
                *sem = SEM_ALL;
            else if (v && !strcmp(v, "deny_on_first_deny"))
                *sem = SEM_DENY_FIRST;
            else if (v && !strcmp(v, "permit_on_first_permit"))
                *sem = SEM_PERMIT_FIRST;
            else
                why = "options.evaluations_semantic must be execute_all, deny_on_first_deny or "
                      "permit_on_first_permit";
        }
    }
    if (!why && evs) {
        /* AuthZEN §7.1: each evaluation's subject, action, resource and
         * context, when present, replace the request's defaults */
        size_t n = json_is_array(evs) ? json_array_size(evs) : 0;
        if (!json_is_array(evs) || n < 1 || n > AUTHZ_PDP_BATCH_MAX) {
            why = "evaluations must be an array of 1 to " AUTHZ_STR(AUTHZ_PDP_BATCH_MAX)
                  " evaluations";
        } else {
            p->batch = true;
            p->n = (int)n;
            p->ev = arena_alloc(r->arena, sizeof(struct eval) * n);
            for (size_t i = 0; i < n && !why; i++) {
                json_t *it = json_array_get(evs, i);
                if (!json_is_object(it)) {
                    why = "each evaluation must be an object";
                    break;
                }
                json_t *s = json_object_get(it, "subject"), *a = json_object_get(it, "action"),
                       *rs = json_object_get(it, "resource"), *c = json_object_get(it, "context");
                why = parse_eval(s ? s : subject, a ? a : action, rs ? rs : resource,
                                 c ? c : context, &p->ev[i]);
                if (why)
                    why = arena_sprintf(r->arena, "evaluations[%zu]: %s", i, why);
            }
        }
    } else if (!why) {
        /* AuthZEN §7.1: without evaluations the request is one evaluation,
         * answered as at the single endpoint */
        p->batch = false;
        p->n = 1;
        p->ev = arena_alloc(r->arena, sizeof(struct eval));
        why = parse_eval(subject, action, resource, context, &p->ev[0]);
    }
    if (!why)
        own_strings(r, p);
    json_decref(b);
    if (why) {
        bad_request(r, why);
        return false;
    }
    return true;
}

/* The token's facts for the audit row, copied into the arena. */
static void token_facts(struct req *r, struct eval *e, const json_t *claims)
{
    e->active = claims != NULL;
    if (!claims)
        return;
    const char *v;
    if ((v = str_member(claims, "client_id")))
        e->agent = arena_strdup(r->arena, v);
    if ((v = str_member(claims, "sub")))
        e->subject = arena_strdup(r->arena, v);
    if ((v = str_member(claims, "sid")))
        e->sid = arena_strdup(r->arena, v);
    if ((v = str_member(claims, "scope")))
        e->scope = arena_strdup(r->arena, v);
    e->nchain = act_chain(r->arena, json_object_get(claims, "act"), &e->chain);
}

/* Decides e with in_baseline (and whether the pair's alert was raised)
 * as given; sets e->db when the decision must change the baseline. */
static void decide(const struct tenant *t, const json_t *claims, struct eval *e, bool in_baseline,
                   bool alerted, bool stale)
{
    const struct resource *res = tenant_resource(t, e->server);
    struct tool_facts f = {
        .claims = claims,
        .action = e->action,
        .server = e->server,
        .tool = e->tool,
        .server_known = res != NULL,
        .entry = res ? resource_tool(res, e->tool) : NULL,
        .unknown_tools_allow = res && res->unknown_tools_allow,
        .drift = (enum drift_mode)t->drift_mode,
        .in_baseline = in_baseline,
    };
    tool_decide(&f, &e->d);
    e->db = (e->d.learn && (!in_baseline || stale)) || (e->d.drift && !alerted);
}

/* The audit row of a decision (SPEC §12). */
static void add_row(struct req *r, struct eval *e)
{
    struct audit_event *a = audit_add(r, e->d.allowed ? "tool.allowed" : "tool.denied", e->d.allowed);
    a->client_id = e->agent;
    a->subject = e->subject;
    a->actor_chain = e->chain;
    a->nactors = e->nchain;
    a->session_id = e->sid;
    a->scope = e->scope;
    a->resources = arena_alloc(r->arena, sizeof(char *));
    a->resources[0] = e->server;
    a->nresources = 1;
    a->reason = e->d.reason;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"tool\":");
    sb_json_str(&sb, e->tool);
    sb_puts(&sb, ",\"arguments_sha256\":");
    if (e->args_sha256[0])
        sb_json_str(&sb, e->args_sha256);
    else
        sb_puts(&sb, "null");
    sb_puts(&sb, ",\"policy\":");
    sb_json_str(&sb, e->d.policy);
    sb_puts(&sb, ",\"action\":");
    sb_json_str(&sb, e->action);
    sb_puts(&sb, ",\"pep\":");
    sb_json_str(&sb, client_id_of(r->client));
    sb_putc(&sb, '}');
    a->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
    a->want_id = true;
    e->row = a;
}

/* SPEC §12 Drift: the agent.drift row and the signed alert through the
 * outbox, in the open transaction (worker). 0 or -1. */
static int raise_drift(struct req *r, const struct tenant *t, const struct eval *e)
{
    struct audit_event *a = audit_add(r, "agent.drift", true);
    a->client_id = e->agent;
    a->subject = e->subject;
    a->actor_chain = e->chain;
    a->nactors = e->nchain;
    a->session_id = e->sid;
    a->resources = arena_alloc(r->arena, sizeof(char *));
    a->resources[0] = e->server;
    a->nresources = 1;
    a->reason = "a tool outside the agent's baseline";
    json_t *det = json_pack("{s:s, s:s, s:s, s:i}", "tool", e->tool, "server", e->server,
                            "drift_mode", drift_mode_name((enum drift_mode)t->drift_mode),
                            "window_days", t->drift_window_days);
    json_object_set_new(det, "decision", json_boolean(e->d.allowed));
    char *ds = json_dumps(det, JSON_COMPACT);
    a->details = arena_strdup(r->arena, ds);
    free(ds);
    if (!t->drift_webhook_url) {
        json_decref(det);
        return 0;
    }
    /* the webhook's body: what happened, whom it concerns */
    json_object_set_new(det, "event", json_string("agent.drift"));
    json_object_set_new(det, "tenant", json_string(t->slug));
    json_object_set_new(det, "client_id", e->agent ? json_string(e->agent) : json_null());
    json_object_set_new(det, "subject", e->subject ? json_string(e->subject) : json_null());
    json_object_set_new(det, "at", json_integer((json_int_t)time(NULL)));
    char *body = json_dumps(det, JSON_COMPACT);
    json_decref(det);
    struct outbox_message m = {.tenant_id = t->id, .kind = "drift", .url = t->drift_webhook_url,
                               .body = arena_strdup(r->arena, body), .client_id = e->agent};
    free(body);
    return outbox_enqueue(&r->tx, &m);
}

/* The answer, once the audit rows are committed (their ids are known):
 * {"decision":…,"context":{"reason":…,"id":…}}, or {"evaluations":[…]} of
 * them for a batch. */
static void answer(struct req *r)
{
    struct pdp *p = r->hstate;
    struct strbuf sb;
    sb_init(&sb);
    if (p->batch)
        sb_puts(&sb, "{\"evaluations\":[");
    for (int i = 0; i < p->n; i++) {
        struct eval *e = &p->ev[i];
        if (!e->row)
            break; /* not evaluated (AuthZEN §7.1 short-circuit) */
        if (i)
            sb_putc(&sb, ',');
        sb_puts(&sb, e->d.allowed ? "{\"decision\":true,\"context\":{\"reason\":"
                                  : "{\"decision\":false,\"context\":{\"reason\":");
        sb_json_str(&sb, e->d.reason ? e->d.reason : "");
        char id[32];
        snprintf(id, sizeof id, ",\"id\":\"%lld\"}}", (long long)e->row->id);
        sb_puts(&sb, id);
        if (!p->batch)
            break;
    }
    if (p->batch)
        sb_puts(&sb, "]}");
    resp_json(r, 200, sb_steal(&sb, NULL));
    resp_header(r, "Cache-Control", "no-store");
    r->after_commit = NULL;
}

static enum hres evaluate(struct req *r, bool batch)
{
    if (req_tenant(r) == H_BLOCK)
        return H_BLOCK;
    if (!r->tenant)
        return H_DONE;
    /* SPEC §12: "The caller is a confidential client authenticated as at
     * the introspection endpoint": the body is JSON, so HTTP Basic
     * (client_secret_basic, RFC 6749 §2.3.1) */
    struct form none = {0};
    if (client_authenticate(r, &none) == H_BLOCK)
        return H_BLOCK;
    if (!r->client)
        return H_DONE;
    r->log_client = arena_strdup(r->arena, r->client->client_id);
    if (!strcmp(r->client->auth_method, "none")) {
        resp_oauth_error(r, 401, "invalid_client", "the PDP needs an authenticated client");
        return H_DONE;
    }
    struct pdp *p = arena_alloc(r->arena, sizeof *p);
    memset(p, 0, sizeof *p);
    enum semantic sem;
    if (!parse_request(r, batch, p, &sem))
        return H_DONE;
    /* SPEC §12: "may ask only about resources in its introspects; anything
     * else: 403" (the whole request, before anything is decided) */
    for (int i = 0; i < p->n; i++) {
        if (!strlist_has(&r->client->introspects, p->ev[i].server)) {
            resp_oauth_error(r, 403, "access_denied",
                             "this client may ask only about the resources it serves");
            return H_DONE;
        }
    }
    const struct tenant *t = r->tenant;
    int64_t now = (int64_t)time(NULL);
    int64_t window = (int64_t)t->drift_window_days * 86400;
    bool need_db = false;
    int upto = p->n;
    /* the claims of the token of the evaluation before: a batch's
     * evaluations share their token (own_strings), verified once */
    json_t *memo = NULL;
    for (int i = 0; i < upto; i++) {
        struct eval *e = &p->ev[i];
        json_t *claims;
        if (i > 0 && e->token == p->ev[i - 1].token) {
            const struct eval *b = &p->ev[i - 1];
            claims = json_incref(memo);
            e->active = b->active;
            e->agent = b->agent;
            e->subject = b->subject;
            e->sid = b->sid;
            e->scope = b->scope;
            e->chain = b->chain;
            e->nchain = b->nchain;
        } else {
            claims = access_token_active(t, e->token);
            /* every token authz mints names its client; one that does not
             * names no agent to decide for */
            if (claims && !str_member(claims, "client_id")) {
                json_decref(claims);
                claims = NULL;
            }
            token_facts(r, e, claims);
            json_decref(memo);
            memo = json_incref(claims);
        }
        int64_t last = 0, drift_at = 0;
        int bl = 0;
        if (claims && e->agent) {
            bl = baseline_get(t->id, e->agent, e->server, e->tool, &last, &drift_at);
            if (bl == -1 && !r->can_block) {
                json_decref(claims);
                json_decref(memo);
                return H_BLOCK; /* the tenant's baselines are loaded on a worker */
            }
            if (bl == -1 && baseline_load(&r->tx, t->id, t->drift_window_days) < 0) {
                json_decref(claims);
                json_decref(memo);
                r->tx.down = true;
                return H_DONE;
            }
            if (bl == -1)
                bl = baseline_get(t->id, e->agent, e->server, e->tool, &last, &drift_at);
        }
        bool in = bl == 1 && last > now - window;
        bool alerted = bl == 1 && drift_at > now - window;
        decide(t, claims, e, in, alerted, in && last <= now - BASELINE_TOUCH_SECS);
        /* a tenant too large to cache (bl < 0): the pair is read */
        if (bl < 0 && claims && e->agent)
            e->db = true;
        json_decref(claims);
        need_db = need_db || e->db;
        /* AuthZEN §7.1: the short-circuiting semantics stop at the first
         * deny / permit */
        if ((sem == SEM_DENY_FIRST && !e->d.allowed) || (sem == SEM_PERMIT_FIRST && e->d.allowed))
            upto = i + 1;
    }
    json_decref(memo);
    if (need_db && !r->can_block)
        return H_BLOCK;
    if (need_db) {
        /* on a worker: the pairs whose baseline changes are locked and
         * decided again on what the database holds */
        if (db_begin(&r->tx) < 0) {
            r->tx.down = true;
            return H_DONE;
        }
        for (int i = 0; i < upto; i++) {
            struct eval *e = &p->ev[i];
            if (!e->db)
                continue;
            bool in = false, alerted = false;
            if (store_baseline_lock(&r->tx, t->id, e->agent, e->server, e->tool,
                                    t->drift_window_days, &in, &alerted) < 0)
                goto failed;
            json_t *claims = access_token_active(t, e->token);
            if (!claims || !str_member(claims, "client_id")) {
                /* revoked since it was read: denied, nothing to record */
                json_decref(claims);
                claims = NULL;
            }
            decide(t, claims, e, in, alerted, false);
            json_decref(claims);
            bool used = e->d.allowed && e->d.learn;
            bool drift = e->d.drift && !alerted;
            if ((used || drift) && store_baseline_record(&r->tx, t->id, e->agent, e->server,
                                                         e->tool, t->drift_window_days, used,
                                                         drift) < 0)
                goto failed;
            if (drift && raise_drift(r, t, e) < 0)
                goto failed;
        }
    }
    for (int i = 0; i < upto; i++)
        add_row(r, &p->ev[i]);
    if (need_db && (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0))
        goto failed;
    r->hstate = p;
    if (need_db)
        answer(r); /* committed: the rows have their ids */
    else
        r->after_commit = answer; /* after the group commit */
    return H_DONE;
failed:
    db_rollback(&r->tx);
    r->tx.down = true; /* 503 with Retry-After: nothing was decided */
    return H_DONE;
}

enum hres h_authzen_evaluation(struct req *r)
{
    return evaluate(r, false);
}

enum hres h_authzen_evaluations(struct req *r)
{
    return evaluate(r, true);
}
