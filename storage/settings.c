/*
 * settings.c: the tenant settings and resource scope descriptions of SPEC
 * §11 (see settings.h). Parameterized statements only; the column a
 * setting names is chosen from a fixed list, never built from input.
 */
#include "storage/settings.h"
#include "storage/db.h"
#include "storage/store.h"
#include "util/arena.h"

#include <string.h>

int store_tenant_mcp_setting(struct dbtx *tx, const char *tenant_id, const char *key,
                             const char *value)
{
    static const struct {
        const char *key, *sql;
    } settings[] = {
        {"cimd_policy", "UPDATE tenants SET cimd_policy = $2, updated_at = now() WHERE id = $1"},
        {"cimd_hosts",
         "UPDATE tenants SET cimd_hosts = $2::text[], updated_at = now() WHERE id = $1"},
        {"refresh_retry_window",
         "UPDATE tenants SET refresh_retry_window = $2::int, updated_at = now() WHERE id = $1"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (!strcmp(key, settings[i].key)) {
            const char *p[2] = {tenant_id, value};
            return db_q(tx, settings[i].sql, 2, p) ? 0 : -1;
        }
    return -1;
}

