/*
 * tool.h: the decision of the AuthZEN policy decision point (SPEC §12), one
 * pure function (facts in, decision out; no I/O), like policy/delegation.h
 * is for token exchange. The handler (oauth/pdp.c) gathers the facts from
 * cached state on the event loop: the verified token's claims (NULL when it
 * is not an active token of this tenant: bad signature, another tenant's,
 * expired, or revoked with anything it rests on, its session included), the
 * resource and its tool catalog entry, the tenant's drift mode and whether
 * the (agent, server, tool) pair is in the agent's baseline.
 */
#ifndef AUTHZ_POLICY_TOOL_H
#define AUTHZ_POLICY_TOOL_H

#include <jansson.h>
#include <stdbool.h>

/* A tool of a resource's catalog (SPEC §12). */
enum tool_risk { TOOL_READ = 0, TOOL_WRITE, TOOL_DESTRUCTIVE };
struct tool_entry {
    char *name;
    char **scopes;
    int nscopes;
    enum tool_risk risk;
    bool approval_session;      /* approval: "session" */
};

enum drift_mode { DRIFT_OFF = 0, DRIFT_ALERT, DRIFT_DENY };

struct tool_facts {
    const json_t *claims;       /* the token's verified claims when active, else NULL */
    const char *action;         /* action.name */
    const char *server;         /* resource.properties.server */
    const char *tool;           /* resource.id */
    bool server_known;          /* the server is a resource of the tenant */
    const struct tool_entry *entry; /* its catalog entry, NULL when not listed */
    bool unknown_tools_allow;   /* the resource's unknown_tools is "allow" */
    enum drift_mode drift;
    bool in_baseline;           /* the pair is in the agent's baseline */
};

struct tool_decision {
    bool allowed;
    const char *policy;         /* the rule that decided (audit details.policy) */
    const char *reason;         /* for context.reason and the audit row */
    bool drift;                 /* outside the baseline: an agent.drift alert is due */
    bool learn;                 /* an allowed call: the pair joins (or stays in) the baseline */
};

/* Decides one tools/call evaluation. Rules, in order (the first that fails
 * decides):
 *   token     the token is an active token of this tenant (claims set)
 *   action    action.name is "tools/call"
 *   resource  the server is a protected resource of the tenant
 *   audience  the token's aud is (or contains) the server
 *   catalog   the tool is in the server's catalog, or unknown_tools is allow
 *   scope     the token's scope covers every scope of the tool
 *   session   approval "session": the token has a sid ...
 *   task      ... and an authorization_details entry of type mcp_tools
 *             whose locations (absent: any audience of the token) name the
 *             server lists the tool
 *   drift     mode deny: the pair is in the baseline
 * An allowed call's policy is "catalog" (or "unknown_tools"). */
void tool_decide(const struct tool_facts *f, struct tool_decision *out);

/* RFC 9396 §2 / SPEC §12: does an authorization_details claim hold an
 * mcp_tools entry for server (its locations, or when it has none, the
 * token's aud) that lists tool. Malformed entries cover nothing. */
bool tool_task_covers(const json_t *details, const json_t *aud, const char *server,
                      const char *tool);

/* The token's aud is server or an array holding it. */
bool tool_aud_has(const json_t *aud, const char *server);

/* MCP tool names: 1 to AUTHZ_TOOL_NAME_MAX of A-Z a-z 0-9 _ - . */
bool tool_name_valid(const char *s);

const char *drift_mode_name(enum drift_mode m);
/* -1 when s names no mode */
int drift_mode_parse(const char *s);
const char *tool_risk_name(enum tool_risk r);
int tool_risk_parse(const char *s);

#endif
