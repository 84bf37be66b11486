/*
 * details.c: task details (RFC 9396 authorization_details of type
 * mcp_tools, SPEC §12): the one validator and the set operations of
 * details.h. Pure: no I/O, everything allocated in the caller's arena.
 */
#include "policy/details.h"
#include "util/arena.h"
#include "util/limits.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

bool details_tool_name_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.' || ch == '/'))
            return false;
    }
    return n >= 1 && n <= AUTHZ_DETAILS_TOOL_MAX;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct details_entry *)a)->location,
                  ((const struct details_entry *)b)->location);
}

/* sorts and removes duplicates in place */
static void set_normalize(struct scopeset *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_str);
    int k = 1;
    for (int i = 1; i < s->n; i++)
        if (strcmp(s->v[i], s->v[k - 1]) != 0)
            s->v[k++] = s->v[i];
    s->n = k;
}

static bool in_list(const char *const *v, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static struct details_entry *find(const struct details *d, const char *location)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->v[i].location, location) == 0)
            return &d->v[i];
    return NULL;
}

static bool has_tool(const struct details_entry *e, const char *tool)
{
    return bsearch(&tool, e->tools.v, (size_t)e->tools.n, sizeof *e->tools.v, cmp_str) != NULL;
}

/* strings of a JSON array member: non-empty array of strings, at most max */
static int string_array(const json_t *arr, int max, const char *what, const char **why)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        *why = what;
        return -1;
    }
    if (json_array_size(arr) > (size_t)max) {
        *why = "authorization_details lists too many locations or tools";
        return -1;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) if (!json_is_string(v))
    {
        *why = what;
        return -1;
    }
    return (int)json_array_size(arr);
}

int details_from_json(struct arena *a, const json_t *arr, const struct details_ctx *ctx,
                      struct details *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (!arr || json_is_null(arr))
        return 0;
    /* RFC 9396 §2: "The request parameter authorization_details contains,
     * in JSON notation, an array of objects." */
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        *why = "authorization_details must be a non-empty JSON array of objects";
        return -1;
    }
    if (json_array_size(arr) > AUTHZ_DETAILS_ENTRIES_MAX) {
        *why = "authorization_details has too many entries";
        return -1;
    }
    out->v = arena_alloc(a, sizeof *out->v * AUTHZ_DETAILS_LOCATIONS_MAX);
    size_t i;
    const json_t *obj;
    json_array_foreach(arr, i, obj)
    {
        if (!json_is_object(obj)) {
            *why = "each authorization_details entry must be a JSON object";
            return -1;
        }
        /* RFC 9396 §2: "type: REQUIRED. The type of authorization data as
         * a string." §5: "The AS MUST refuse to process any unknown
         * authorization details type or authorization details not
         * conforming to the respective type definition." */
        const json_t *type = json_object_get(obj, "type");
        if (!json_is_string(type)) {
            *why = "each authorization_details entry needs a string type";
            return -1;
        }
        if (strcmp(json_string_value(type), DETAILS_TYPE_MCP_TOOLS) != 0) {
            *why = "unsupported authorization_details type (only mcp_tools is supported)";
            return -1;
        }
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)obj, key, val)
        {
            if (strcmp(key, "type") && strcmp(key, "locations") && strcmp(key, "tools")) {
                *why = "an mcp_tools entry has only type, locations and tools";
                return -1;
            }
        }
        const json_t *locs = json_object_get(obj, "locations");
        const json_t *tools = json_object_get(obj, "tools");
        int nl = string_array(locs, AUTHZ_DETAILS_LOCATIONS_MAX,
                              "an mcp_tools entry needs locations: a non-empty array of "
                              "resource URIs",
                              why);
        if (nl < 0)
            return -1;
        int nt = string_array(tools, AUTHZ_DETAILS_TOOLS_MAX,
                              "an mcp_tools entry needs tools: a non-empty array of tool names",
                              why);
        if (nt < 0)
            return -1;
        for (int t = 0; t < nt; t++)
            if (!details_tool_name_valid(json_string_value(json_array_get(tools, (size_t)t)))) {
                *why = "a tool name has 1 to 128 of the characters A-Z a-z 0-9 _ - . /";
                return -1;
            }
        for (int l = 0; l < nl; l++) {
            const char *loc = json_string_value(json_array_get(locs, (size_t)l));
            if (!text_printable(loc, AUTHZ_URI_MAX) || !*loc) {
                *why = "a location must be a resource URI";
                return -1;
            }
            /* SPEC §12 / RFC 9396 §2.2 locations: the resource servers the
             * tools are on: resources of the tenant the client may use */
            if (ctx && ctx->resources &&
                (!in_list(ctx->resources, ctx->nresources, loc) ||
                 (ctx->nallowed > 0 && !in_list(ctx->allowed, ctx->nallowed, loc)))) {
                *why = "a location is not a resource of this tenant that the client may use";
                return -1;
            }
            struct details_entry *e = find(out, loc);
            if (!e) {
                if (out->n == AUTHZ_DETAILS_LOCATIONS_MAX) {
                    *why = "authorization_details names too many locations";
                    return -1;
                }
                e = &out->v[out->n++];
                e->location = arena_strdup(a, loc);
                e->tools.v = arena_alloc(a, sizeof(char *) * AUTHZ_DETAILS_TOOLS_MAX);
            }
            for (int t = 0; t < nt; t++) {
                const char *tool = json_string_value(json_array_get(tools, (size_t)t));
                if (in_list(e->tools.v, e->tools.n, tool))
                    continue;
                if (e->tools.n == AUTHZ_DETAILS_TOOLS_MAX) {
                    *why = "authorization_details lists too many locations or tools";
                    return -1;
                }
                e->tools.v[e->tools.n++] = arena_strdup(a, tool);
            }
        }
    }
    for (int k = 0; k < out->n; k++)
        set_normalize(&out->v[k].tools);
    qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_entry);
    return 0;
}

int details_parse(struct arena *a, const char *text, const struct details_ctx *ctx,
                  struct details *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text) {
        *why = "authorization_details must be a non-empty JSON array of objects";
        return -1;
    }
    size_t len = strlen(text);
    if (len > AUTHZ_DETAILS_BYTES_MAX) {
        *why = "authorization_details is too long";
        return -1;
    }
    json_error_t err;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        *why = "authorization_details is not valid JSON (RFC 8259, no duplicate members)";
        return -1;
    }
    int rc = details_from_json(a, j, ctx, out, why);
    if (rc == 0 && out->n == 0) {
        *why = "authorization_details must be a non-empty JSON array of objects";
        rc = -1;
    }
    json_decref(j);
    return rc;
}

int details_read(struct arena *a, const char *text, struct details *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return 0;
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        return -1;
    const char *why;
    int rc = details_from_json(a, j, NULL, out, &why);
    json_decref(j);
    return rc;
}

char *details_json(struct arena *a, const struct details *d)
{
    if (!d || d->n == 0)
        return NULL;
    json_t *arr = json_array();
    for (int i = 0; i < d->n; i++) {
        json_t *tools = json_array();
        for (int k = 0; k < d->v[i].tools.n; k++)
            json_array_append_new(tools, json_string(d->v[i].tools.v[k]));
        json_array_append_new(arr, json_pack("{s:s, s:[s], s:o}", "type", DETAILS_TYPE_MCP_TOOLS,
                                             "locations", d->v[i].location, "tools", tools));
    }
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    char *out = s ? arena_strdup(a, s) : NULL;
    free(s);
    return out;
}

bool details_allows(const struct details *d, const char *location, const char *tool)
{
    const struct details_entry *e = find(d, location);
    return e && has_tool(e, tool);
}

bool details_has_location(const struct details *d, const char *location)
{
    return find(d, location) != NULL;
}

bool details_subset(const struct details *sub, const struct details *sup)
{
    for (int i = 0; i < sub->n; i++) {
        const struct details_entry *e = find(sup, sub->v[i].location);
        if (!e)
            return false;
        for (int k = 0; k < sub->v[i].tools.n; k++)
            if (!has_tool(e, sub->v[i].tools.v[k]))
                return false;
    }
    return true;
}

void details_intersect(struct arena *ar, const struct details *a, const struct details *b,
                       struct details *out)
{
    out->n = 0;
    out->v = arena_alloc(ar, sizeof *out->v * (size_t)(a->n + 1));
    for (int i = 0; i < a->n; i++) {
        const struct details_entry *e = find(b, a->v[i].location);
        if (!e)
            continue;
        struct details_entry *o = &out->v[out->n];
        o->location = a->v[i].location;
        o->tools.n = 0;
        o->tools.v = arena_alloc(ar, sizeof(char *) * (size_t)(a->v[i].tools.n + 1));
        for (int k = 0; k < a->v[i].tools.n; k++)
            if (has_tool(e, a->v[i].tools.v[k]))
                o->tools.v[o->tools.n++] = a->v[i].tools.v[k];
        if (o->tools.n > 0)
            out->n++;
    }
}

void details_union(struct arena *ar, const struct details *a, const struct details *b,
                   struct details *out)
{
    out->n = 0;
    out->v = arena_alloc(ar, sizeof *out->v * (size_t)(a->n + b->n + 1));
    for (int pass = 0; pass < 2; pass++) {
        const struct details *d = pass ? b : a;
        for (int i = 0; i < d->n; i++) {
            struct details_entry *o = find(out, d->v[i].location);
            if (!o) {
                o = &out->v[out->n++];
                o->location = d->v[i].location;
                const struct details_entry *ea = find(a, d->v[i].location);
                const struct details_entry *eb = find(b, d->v[i].location);
                int cap = (ea ? ea->tools.n : 0) + (eb ? eb->tools.n : 0);
                o->tools.v = arena_alloc(ar, sizeof(char *) * (size_t)(cap + 1));
                o->tools.n = 0;
            }
            for (int k = 0; k < d->v[i].tools.n; k++)
                if (!in_list(o->tools.v, o->tools.n, d->v[i].tools.v[k]))
                    o->tools.v[o->tools.n++] = d->v[i].tools.v[k];
        }
    }
    for (int k = 0; k < out->n; k++)
        set_normalize(&out->v[k].tools);
    qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_entry);
}

void details_restrict(struct arena *ar, const struct details *d, const char *const *locs,
                      int nlocs, struct details *out)
{
    out->n = 0;
    out->v = arena_alloc(ar, sizeof *out->v * (size_t)(d->n + 1));
    for (int i = 0; i < d->n; i++)
        if (in_list(locs, nlocs, d->v[i].location))
            out->v[out->n++] = d->v[i];
}
