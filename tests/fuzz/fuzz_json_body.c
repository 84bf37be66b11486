/*
 * fuzz_json_body.c: libFuzzer target for the JSON bodies (and query strings)
 * of the admin API and of dynamic client registration:
 * - register_parse_body + register_validate (authz/oauth/register.c): what
 *   anyone may POST to {ISSUER}/oauth2/register under an open policy;
 * - the admin handlers' own validation (authz/admin/tenants.c, clients.c,
 *   users.c, resources.c, trust.c, with
 *   the member tables of admin/body.c): tenant create and patch, client
 *   create (and the client document check that patch uses), user create and
 *   patch, resource create, trust-policy PUT, the body check of the calls
 *   that take none, the path segment decoder; and the query parsers of the
 *   audit, sessions, consents and resource-delete calls (admin/audit.c,
 *   sessions.c, consents.c).
 *
 * The handlers are called directly, as the operator (root) on a fake tenant
 * "acme", with no database: each runs its checks and then stops at its first
 * statement (r->tx.down), which is exactly the part that takes hostile input.
 * admin.c and clients.c are #included to reach their static functions
 * (build.sh leaves them out of this target's archive); the calls that take
 * no body are checked for one first, as the route table does.
 *
 * Input: "OP[ ARG]\nBODY". OP is one of the names in OPS below; ARG is the
 * user name, policy name, query string or path the call takes. An input whose
 * first line is no OP is a registration body as a whole.
 *
 * Invariants besides "no crash, no sanitizer report, no leak":
 * - a handler either stops at the database (no answer, db_down) or answers
 *   4xx with an RFC 9457 problem document whose status is the HTTP status;
 *   never 5xx;
 * - a call that takes no body accepts only white space or an empty object;
 * - an accepted registration is consistent: every redirect URI passes
 *   uri_endpoint_ok, grants are authorization_code (+ refresh),
 *   the method is one of the four, the answer document and the metadata are
 *   JSON objects.
 */
#include "fuzz_common.h"

/* the admin API's router and client handlers, statics included (the path
 * decoder, the client document check); the other handlers through
 * admin/admin.h */
#include "../../authz/admin/admin.c"
#include "../../authz/admin/clients.c"
#include "oauth/register.h"
#include "policy/uri.h"

#include "config.h"



static struct config g_fuzz_config;
static struct tenant g_t;
static struct resource g_res[2];
static char *g_res_scopes[2] = {"tools:read", "tools:call"};
static const struct caller ROOT = {.root = true, .who = "root"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Argon2id at its minimum cost: user create/patch hash the password */
    g_fuzz_config.argon2_t_cost = 1;
    g_fuzz_config.argon2_m_cost_kib = 8;
    g_fuzz_config.argon2_parallelism = 1;
    g_fuzz_config.max_act_depth = 5;
    g_config = &g_fuzz_config;
    log_level_num = 3;

    g_t.id = "00000000-0000-4000-8000-00000000acme";
    g_t.slug = "acme";
    g_t.display_name = "Acme";
    g_t.issuer = "http://127.0.0.1:8080/t/acme";
    g_t.registration_policy = "open";
    g_t.access_token_ttl = 600;
    g_t.max_session_ttl = 3600;
    g_t.signing_alg = "ES256";
    g_t.created_at = g_t.updated_at = "2025-01-01T00:00:00.000000Z";
    g_res[0].uri = "https://mcp.example.test/";
    g_res[0].scopes.v = g_res_scopes;
    g_res[0].scopes.n = 2;
    g_res[1].uri = "https://files.example.test/api";
    g_t.resources = g_res;
    g_t.nresources = 2;
    atomic_store(&g_t.refs, 1000000);
    return 0;
}

/* The answer is a problem document of a 4xx, or there is none and the
 * handler stopped at the database. */
static void check_answer(const char *op, struct req *r, bool may_be_silent)
{
    if (r->status == 0) {
        FZ_CHECK(r->tx.down || may_be_silent, "%s: no answer and no database use", op);
        FZ_CHECK(r->resp_body == NULL, "%s: a body without a status", op);
        return;
    }
    FZ_CHECK(r->status >= 400 && r->status < 500, "%s: answered %d", op, r->status);
    FZ_CHECK(r->resp_body != NULL, "%s: %d without a body", op, r->status);
    json_error_t je;
    json_t *j = json_loadb(r->resp_body, r->resp_len, JSON_REJECT_DUPLICATES, &je);
    FZ_CHECK(j && json_is_object(j), "%s: the problem document is not a JSON object: %.*s", op,
             (int)r->resp_len, r->resp_body);
    FZ_CHECK(json_integer_value(json_object_get(j, "status")) == r->status &&
                 json_is_string(json_object_get(j, "title")) &&
                 json_is_string(json_object_get(j, "type")),
             "%s: malformed problem document %.*s", op, (int)r->resp_len, r->resp_body);
    const char *ct = NULL;
    for (int i = 0; i < r->nresp_headers; i++)
        if (!strcasecmp(r->resp_headers[i].name, "Content-Type"))
            ct = r->resp_headers[i].value;
    FZ_CHECK(ct && !strcmp(ct, "application/problem+json"), "%s: content type %s", op, ct ? ct : "-");
    json_decref(j);
}

static void fuzz_register(const uint8_t *body, size_t len)
{
    const char *desc = NULL, *error = NULL;
    json_t *b = register_parse_body((const char *)body, len, &desc);
    if (!b) {
        FZ_CHECK(desc && *desc, "register_parse_body failed without a description");
        return;
    }
    struct arena *a = arena_new();
    struct reg_meta m;
    if (register_validate(a, b, &m, &error, &desc) == 0) {
        FZ_CHECK(m.method && (!strcmp(m.method, "none") || !strcmp(m.method, "client_secret_basic") ||
                              !strcmp(m.method, "client_secret_post") ||
                              !strcmp(m.method, "private_key_jwt")),
                 "method %s", m.method ? m.method : "-");
        FZ_CHECK(m.secret == (!strcmp(m.method, "client_secret_basic") ||
                              !strcmp(m.method, "client_secret_post")),
                 "secret flag");
        FZ_CHECK(m.grant_types_pg && m.response_types_pg && m.redirect_uris_pg && m.metadata,
                 "missing output");
        FZ_CHECK(!strcmp(m.response_types_pg, "{\"code\"}"), "response types %s", m.response_types_pg);
        FZ_CHECK(!strcmp(m.grant_types_pg, "{\"authorization_code\"}") ||
                     !strcmp(m.grant_types_pg, "{\"authorization_code\",\"refresh_token\"}") ||
                     !strcmp(m.grant_types_pg, "{\"refresh_token\",\"authorization_code\"}"),
                 "grant types %s", m.grant_types_pg);
        FZ_CHECK(m.jwks_uri == NULL, "a dynamic client registered a jwks_uri");
        FZ_CHECK(strcmp(m.method, "private_key_jwt") || m.jwks, "private_key_jwt without jwks");
        json_t *md = json_loads(m.metadata, JSON_REJECT_DUPLICATES, NULL);
        FZ_CHECK(json_is_object(md), "metadata is not a JSON object: %s", m.metadata);
        json_decref(md);
        FZ_CHECK(json_is_object(m.doc), "the answer document is not an object");
        json_t *ru = json_object_get(m.doc, "redirect_uris");
        FZ_CHECK(json_array_size(ru) >= 1, "no redirect_uris");
        size_t i;
        json_t *v;
        json_array_foreach(ru, i, v)
        {
            FZ_CHECK(uri_endpoint_ok(json_string_value(v)), "accepted redirect URI %s",
                     json_string_value(v));
        }
        if (m.client_name)
            FZ_CHECK(utf8_valid(m.client_name, strlen(m.client_name)), "client_name");
        char *dump = json_dumps(m.doc, JSON_COMPACT);
        FZ_CHECK(dump != NULL, "the answer document does not serialise");
        free(dump);
        json_decref(m.doc);
    } else {
        FZ_CHECK(error && (!strcmp(error, REG_INVALID_CLIENT_METADATA) ||
                           !strcmp(error, REG_INVALID_REDIRECT_URI)),
                 "error code %s", error ? error : "-");
        FZ_CHECK(desc && *desc, "no error_description");
    }
    json_decref(b);
    arena_free(a);
}

enum op {
    OP_REGISTER, OP_TENANT_CREATE, OP_TENANT_PATCH, OP_CLIENT_CREATE, OP_CLIENT_VALIDATE,
    OP_USER_CREATE, OP_USER_PATCH, OP_RESOURCE_CREATE, OP_RESOURCE_DELETE, OP_TRUST_POLICY,
    OP_AUDIT, OP_SESSIONS, OP_SESSION_REVOKE, OP_CONSENTS_GET, OP_CONSENTS_DELETE, OP_PATH,
    OP_NO_BODY,
};
static const struct {
    const char *name;
    enum op op;
} OPS[] = {
    {"register", OP_REGISTER},           {"tenant-create", OP_TENANT_CREATE},
    {"tenant-patch", OP_TENANT_PATCH},   {"client-create", OP_CLIENT_CREATE},
    {"client-validate", OP_CLIENT_VALIDATE}, {"user-create", OP_USER_CREATE},
    {"user-patch", OP_USER_PATCH},       {"resource-create", OP_RESOURCE_CREATE},
    {"resource-delete", OP_RESOURCE_DELETE}, {"trust-policy", OP_TRUST_POLICY},
    {"audit", OP_AUDIT},                 {"sessions", OP_SESSIONS},
    {"session-revoke", OP_SESSION_REVOKE}, {"consents", OP_CONSENTS_GET},
    {"consents-delete", OP_CONSENTS_DELETE}, {"path", OP_PATH},
    {"no-body", OP_NO_BODY},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 70000)
        return 0;
    const uint8_t *body;
    size_t blen, l1;
    int nl = fz_split_line(data, size, &body, &blen, &l1);
    char *line = fz_strndup(data, l1);
    char *arg = strchr(line, ' ');
    if (arg)
        *arg++ = '\0';
    int op = -1;
    for (size_t i = 0; nl && i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(line, OPS[i].name))
            op = (int)OPS[i].op;
    if (op < 0 || op == OP_REGISTER) {
        if (op < 0)
            fuzz_register(data, size);
        else
            fuzz_register(body, blen);
        free(line);
        return 0;
    }

    struct req r;
    memset(&r, 0, sizeof r);
    r.arena = arena_new();
    r.tx.arena = r.arena;
    r.body = (const char *)body;
    r.body_len = blen;
    r.kind = RK_ADMIN;
    r.can_block = true; /* as on a database worker, but with no connection */
    r.remote_ip = "127.0.0.1";
    snprintf(r.request_id, sizeof r.request_id, "fuzz");
    const char *a = arg ? arena_strdup(r.arena, arg) : NULL;
    bool silent = false;
    struct admin_call call = {.who = &ROOT, .t = &g_t};
    switch ((enum op)op) {
    case OP_TENANT_CREATE:
        r.method = M_POST;
        admin_tenant_create(&r, &call);
        break;
    case OP_TENANT_PATCH:
        r.method = M_PATCH;
        admin_tenant_patch(&r, &call);
        break;
    case OP_CLIENT_CREATE:
        r.method = M_POST;
        admin_client_create(&r, &call);
        break;
    case OP_CLIENT_VALIDATE: {
        json_t *b = admin_read_body(&r, &CLIENT_BODY);
        if (b) {
            struct client_fields f;
            if (client_validate(&r, &g_t, b, &f)) {
                FZ_CHECK(r.status == 0, "client_validate passed with an answer");
                FZ_CHECK(f.method && f.grant_types && f.response_types && f.redirect_uris &&
                             f.allowed_scopes && f.allowed_resources && f.can_act_for &&
                             f.introspects && f.may_impersonate && f.bc_delivery,
                         "client_validate left a field unset");
                silent = true;
            }
            json_decref(b);
        }
        break;
    }
    case OP_USER_CREATE:
        r.method = M_POST;
        admin_user_create(&r, &call);
        break;
    case OP_USER_PATCH:
        r.method = M_PATCH;
        call.arg = a && *a ? a : "alice";
        admin_user_patch(&r, &call);
        break;
    case OP_RESOURCE_CREATE:
        r.method = M_POST;
        admin_resource_create(&r, &call);
        break;
    case OP_RESOURCE_DELETE:
        r.method = M_DELETE;
        r.query = a;
        if (admin_no_body(&r))
            admin_resource_delete(&r, &call);
        break;
    case OP_TRUST_POLICY:
        r.method = M_PUT;
        call.arg = a && *a ? a : "k8s-agents";
        admin_trust_put(&r, &call);
        break;
    case OP_AUDIT:
        r.method = M_GET;
        r.query = a;
        if (admin_no_body(&r))
            admin_audit_list(&r, &call);
        break;
    case OP_SESSIONS:
        r.method = M_GET;
        r.query = a;
        if (admin_no_body(&r))
            admin_sessions_list(&r, &call);
        break;
    case OP_SESSION_REVOKE:
        r.method = M_POST;
        call.arg = a && *a ? a : "ses_x";
        if (admin_no_body(&r))
            admin_session_revoke(&r, &call);
        break;
    case OP_CONSENTS_GET:
    case OP_CONSENTS_DELETE:
        r.method = op == OP_CONSENTS_GET ? M_GET : M_DELETE;
        r.query = a;
        if (admin_no_body(&r))
            (op == OP_CONSENTS_GET ? admin_consents_list : admin_consents_withdraw)(&r, &call);
        /* a user= that is no user id lists nothing: an answer with no database */
        if (r.status == 200) {
            FZ_CHECK(op == OP_CONSENTS_GET && !strcmp(r.resp_body, "{\"consents\":[]}"), "consents %s",
                     r.resp_body);
            free(r.resp_body);
            r.resp_body = NULL;
            r.status = 0;
            silent = true;
        }
        break;
    case OP_PATH: {
        char *seg[8];
        int n = path_segments(r.arena, a ? a : "", seg, 8, 0);
        FZ_CHECK(n >= -1 && n <= 8, "segments %d", n);
        for (int i = 0; i < n; i++) {
            FZ_CHECK(seg[i] && *seg[i], "empty segment %d", i);
            FZ_CHECK(utf8_valid(seg[i], strlen(seg[i])), "segment %d is not UTF-8", i);
        }
        silent = true;
        break;
    }
    case OP_NO_BODY:
        if (admin_no_body(&r)) {
            json_t *j = json_loadb((const char *)body, blen, 0, NULL);
            bool blank = true;
            for (size_t i = 0; i < blen; i++)
                blank = blank && body[i] && strchr(" \t\r\n", body[i]);
            FZ_CHECK(blank || (json_is_object(j) && json_object_size(j) == 0),
                     "a body-less call accepted %.*s", (int)blen, (const char *)body);
            json_decref(j);
            silent = true;
        }
        break;
    default:
        break;
    }
    check_answer(line, &r, silent);
    dbtx_end(&r.tx);
    free(r.resp_body);
    arena_free(r.arena);
    free(line);
    return 0;
}
