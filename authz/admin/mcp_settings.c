/*
 * mcp_settings.c: the admin API's parts for MCP clients of 2026 (see
 * mcp_settings.h): tenant settings cimd_policy, cimd_hosts and
 * refresh_retry_window, and resources' scope_descriptions. Every value is
 * checked here before any statement runs (storage/settings.c).
 */
#include "admin/mcp_settings.h"
#include "admin/admin.h"
#include "admin/body.h"
#include "http/http.h"
#include "policy/scope.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "storage/settings.h"
#include "util/arena.h"
#include "util/limits.h"
#include "util/text.h"
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *check_cimd_policy(json_t *v)
{
    const char *s = json_string_value(v);
    return !strcmp(s, "open") || !strcmp(s, "allowlist") || !strcmp(s, "off")
               ? NULL
               : "must be open, allowlist or off";
}

/* A host glob: a lower-case host name or IPv4 address (letters, digits,
 * '.', '-') or a bracketed IPv6 address, with '*' matching any run of
 * characters. */
static bool host_glob_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AUTHZ_CIMD_HOST_GLOB_MAX)
        return false;
    bool v6 = s[0] == '[';
    if (v6 && s[n - 1] != ']')
        return false;
    for (size_t i = v6 ? 1 : 0; i < (v6 ? n - 1 : n); i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' ||
                  (!v6 && (c == '.' || c == '-')) || (v6 && (c == ':' || c == '.'));
        if (!ok)
            return false;
    }
    return true;
}

const char *check_cimd_hosts(json_t *v)
{
    if (json_array_size(v) > AUTHZ_CIMD_HOSTS_MAX)
        return "has more than 200 entries";
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (!s || !host_glob_ok(s))
            return "must be host names in lower case (letters, digits, '.', '-', or a "
                   "bracketed IPv6 address), where '*' matches any run of characters";
    }
    return NULL;
}

const char *check_refresh_retry_window(json_t *v)
{
    json_int_t n = json_integer_value(v);
    return n >= 0 && n <= AUTHZ_REFRESH_RETRY_WINDOW_MAX ? NULL : "must be 0 to 60 (seconds)";
}

const char *check_scope_descriptions(json_t *v)
{
    if (json_object_size(v) > AUTHZ_ADMIN_ARRAY_MAX)
        return "has more than 200 members";
    const char *k;
    json_t *d;
    json_object_foreach(v, k, d)
    {
        if (!scope_token_valid(k) || strlen(k) > AUTHZ_SCOPE_TOKEN_MAX)
            return "must map scopes to their descriptions (a member name is not a scope)";
        const char *s = json_string_value(d);
        if (!s || !text_printable_chars(s, AUTHZ_SCOPE_DESCRIPTION_MAX))
            return "must map scopes to descriptions of 1 to 200 printable characters";
    }
    return NULL;
}

int admin_tenant_mcp_setting(struct req *r, const char *tenant_id, const char *key, json_t *v)
{
    const char *val;
    if (!strcmp(key, "cimd_policy")) {
        val = json_string_value(v);
    } else if (!strcmp(key, "refresh_retry_window")) {
        val = arena_sprintf(r->arena, "%lld", (long long)json_integer_value(v));
    } else if (!strcmp(key, "cimd_hosts")) {
        size_t n = json_array_size(v);
        const char **hosts = arena_alloc(r->arena, sizeof(char *) * (n + 1));
        for (size_t i = 0; i < n; i++)
            hosts[i] = json_string_value(json_array_get(v, i));
        val = pgarray_build(r->arena, hosts, (int)n);
    } else {
        return 0;
    }
    return store_tenant_mcp_setting(&r->tx, tenant_id, key, val) < 0 ? -1 : 1;
}

void admin_tenant_mcp_json(const struct tenant *t, json_t *j)
{
    json_t *hosts = json_array();
    for (int i = 0; i < t->cimd_hosts.n; i++)
        json_array_append_new(hosts, json_string(t->cimd_hosts.v[i]));
    json_object_set_new(j, "cimd_policy", json_string(t->cimd_policy ? t->cimd_policy : "open"));
    json_object_set_new(j, "cimd_hosts", hosts);
    json_object_set_new(j, "refresh_retry_window", json_integer(t->refresh_retry_window));
}

