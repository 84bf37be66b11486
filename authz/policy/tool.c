/*
 * tool.c: the decision of the AuthZEN policy decision point (SPEC §12): is
 * this MCP tool call allowed, and by which rule. Pure: the facts come from
 * oauth/pdp.c, which also writes what the decision asks for (the audit row,
 * the baseline, the drift alert). Each rule quotes SPEC §12 above its check.
 */
#include "policy/tool.h"
#include "util/text.h"
#include "util/limits.h"

#include <string.h>

bool tool_name_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return n >= 1 && n <= AUTHZ_TOOL_NAME_MAX;
}

bool tool_aud_has(const json_t *aud, const char *server)
{
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), server);
    if (json_is_array(aud)) {
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (json_is_string(v) && !strcmp(json_string_value(v), server))
                return true;
        }
    }
    return false;
}

bool tool_task_covers(const json_t *details, const json_t *aud, const char *server,
                      const char *tool)
{
    if (!json_is_array(details))
        return false;
    size_t i;
    json_t *d;
    json_array_foreach(details, i, d)
    {
        /* RFC 9396 §2: "type" is required and decides the other members */
        json_t *type = json_object_get(d, "type");
        if (!json_is_string(type) || strcmp(json_string_value(type), "mcp_tools") != 0)
            continue;
        /* RFC 9396 §2.2: locations name the resource servers the entry is
         * for; SPEC §12 contract: absent = any of the token's audiences */
        json_t *loc = json_object_get(d, "locations");
        bool here = loc ? json_array_has_string(loc, server) : tool_aud_has(aud, server);
        if (here && json_array_has_string(json_object_get(d, "tools"), tool))
            return true;
    }
    return false;
}

/* the token's scope claim (space-separated) holds tok */
static bool scope_claim_has(const char *scope, const char *tok)
{
    if (!scope)
        return false;
    size_t tl = strlen(tok);
    const char *p = scope;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == tl && l && !memcmp(p, tok, l))
            return true;
        p += l;
    }
    return false;
}

static void deny(struct tool_decision *out, const char *policy, const char *reason)
{
    out->allowed = false;
    out->policy = policy;
    out->reason = reason;
}

void tool_decide(const struct tool_facts *f, struct tool_decision *out)
{
    memset(out, 0, sizeof *out);
    /* SPEC §12: "the token is one of this tenant's, active, not revoked,
     * its session (if any) live" */
    if (!f->claims)
        {
        deny(out, "token", "the token is not an active token of this tenant");
        return;
    }
    /* SPEC §12: the action of an MCP tool call is tools/call */
    if (!f->action || strcmp(f->action, "tools/call") != 0)
        {
        deny(out, "action", "only the action tools/call is decided here");
        return;
    }
    if (!f->server_known)
        {
        deny(out, "resource", "the server is not a protected resource of this tenant");
        return;
    }
    /* SPEC §12: "its aud is the server" */
    if (!tool_aud_has(json_object_get(f->claims, "aud"), f->server))
        {
        deny(out, "audience", "the token's audience is not this server");
        return;
    }
    /* SPEC §12: "A tool not in the catalog is denied unless the resource's
     * unknown_tools is allow" */
    if (!f->entry && !f->unknown_tools_allow)
        {
        deny(out, "catalog", "the tool is not in this server's catalog");
        return;
    }
    /* SPEC §12: "its scope covers the tool's scopes" */
    if (f->entry) {
        const char *scope = json_string_value(json_object_get(f->claims, "scope"));
        for (int i = 0; i < f->entry->nscopes; i++)
            if (!scope_claim_has(scope, f->entry->scopes[i]))
                {
        deny(out, "scope", "the token's scope does not cover the tool's scopes");
        return;
    }
    }
    /* SPEC §12: "a tool with approval: "session" is called under a session
     * (sid) whose approved task lists it" */
    if (f->entry && f->entry->approval_session) {
        const char *sid = json_string_value(json_object_get(f->claims, "sid"));
        if (!sid || !*sid)
            {
        deny(out, "session", "the tool needs a session a person approved");
        return;
    }
        if (!tool_task_covers(json_object_get(f->claims, "authorization_details"),
                              json_object_get(f->claims, "aud"), f->server, f->tool))
            {
        deny(out, "task", "the approved task does not list this tool");
        return;
    }
    }
    /* SPEC §12 Drift: "A call outside it is an agent.drift audit row ...;
     * drift_mode: off, alert (default) or deny" */
    if (!f->in_baseline && f->drift != DRIFT_OFF) {
        out->drift = true;
        if (f->drift == DRIFT_DENY)
            {
        deny(out, "drift", "the tool is outside this agent's baseline");
        return;
    }
    }
    out->allowed = true;
    out->learn = true;
    out->policy = f->entry ? "catalog" : "unknown_tools";
    out->reason = f->drift != DRIFT_OFF && !f->in_baseline ? "allowed; outside the agent's baseline"
                                                           : "allowed";
}

const char *drift_mode_name(enum drift_mode m)
{
    return m == DRIFT_OFF ? "off" : m == DRIFT_DENY ? "deny" : "alert";
}

int drift_mode_parse(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "off"))
        return DRIFT_OFF;
    if (!strcmp(s, "alert"))
        return DRIFT_ALERT;
    if (!strcmp(s, "deny"))
        return DRIFT_DENY;
    return -1;
}

const char *tool_risk_name(enum tool_risk r)
{
    return r == TOOL_WRITE ? "write" : r == TOOL_DESTRUCTIVE ? "destructive" : "read";
}

int tool_risk_parse(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "read"))
        return TOOL_READ;
    if (!strcmp(s, "write"))
        return TOOL_WRITE;
    if (!strcmp(s, "destructive"))
        return TOOL_DESTRUCTIVE;
    return -1;
}
