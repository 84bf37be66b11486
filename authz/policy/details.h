/*
 * details.h: task details, RFC 9396 rich authorization requests of the one
 * type authz supports, "mcp_tools" (SPEC §12): which tools of which MCP
 * server (resource) a person approved for a task. Pure functions (no I/O):
 * the one parser and validator every endpoint uses (authorization endpoint,
 * backchannel authentication, token endpoint), and the set operations that
 * keep details narrowing only (token exchange, refresh) and that unite a
 * step-up consent with the stored one.
 *
 * A details set is kept normalized: one entry per location (a resource
 * URI), its tools sorted and without duplicates, entries sorted by
 * location. Its JSON form (details_json) is what tokens, token responses,
 * introspection and storage carry:
 *   [{"type":"mcp_tools","locations":["<uri>"],"tools":["<name>",...]},...]
 */
#ifndef AUTHZ_DETAILS_H
#define AUTHZ_DETAILS_H

#include <jansson.h>
#include <stdbool.h>

#include "policy/scope.h"

struct arena;

#define DETAILS_TYPE_MCP_TOOLS "mcp_tools"

struct details_entry {
    const char *location;       /* a resource URI */
    struct scopeset tools;      /* sorted, unique, never empty */
};

struct details {
    struct details_entry *v;    /* sorted by location, unique locations */
    int n;                      /* 0: no details */
};

/* What a request's details are checked against. NULL, or resources NULL:
 * no check of locations (reading details authz wrote itself). */
struct details_ctx {
    const char *const *resources;   /* the tenant's resource URIs */
    int nresources;
    const char *const *allowed;     /* the client's allowed_resources; n 0: any */
    int nallowed;
};

/* Parses the authorization_details parameter (RFC 9396 §2: a JSON array of
 * objects with a "type") into a normalized set. Only type mcp_tools, each
 * with non-empty "locations" (resources of the tenant that the client may
 * use, ctx) and non-empty "tools" (MCP tool names), no other members,
 * within the limits of util/limits.h. 0, or -1 with *why set (the
 * description of an invalid_authorization_details error, RFC 9396 §5). An
 * empty array is an error too: a request without details leaves the
 * parameter out. */
int details_parse(struct arena *a, const char *text, const struct details_ctx *ctx,
                  struct details *out, const char **why);
/* The same, from JSON already parsed (a token's claim, a stored column).
 * NULL or JSON null: no details (0). */
int details_from_json(struct arena *a, const json_t *arr, const struct details_ctx *ctx,
                      struct details *out, const char **why);

/* Reads details authz wrote itself (a stored column, as PostgreSQL prints
 * jsonb): NULL or "" is none. 0, or -1 when malformed. */
int details_read(struct arena *a, const char *text, struct details *out);

/* MCP tool names (MCP 2025-11-25 "Tool names"): 1 to 128 of A-Z a-z 0-9 _ - . / */
bool details_tool_name_valid(const char *s);

/* The normalized JSON text, in the arena; NULL when d has no entries. */
char *details_json(struct arena *a, const struct details *d);

/* every (location, tool) of sub is in sup */
bool details_subset(const struct details *sub, const struct details *sup);
/* a ∩ b, a ∪ b (normalized) */
void details_intersect(struct arena *ar, const struct details *a, const struct details *b,
                       struct details *out);
void details_union(struct arena *ar, const struct details *a, const struct details *b,
                   struct details *out);
/* d's entries whose location is one of locs */
void details_restrict(struct arena *ar, const struct details *d, const char *const *locs,
                      int nlocs, struct details *out);
/* d lists tool at location */
bool details_allows(const struct details *d, const char *location, const char *tool);
/* d names location */
bool details_has_location(const struct details *d, const char *location);

#endif
