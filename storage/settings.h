/*
 * settings.h: the statements behind the admin API's MCP settings (SPEC §11):
 * a tenant's cimd_policy, cimd_hosts and refresh_retry_window, and a
 * resource's scope_descriptions. Each runs on tx (inside the caller's
 * transaction); values were validated by the admin API first.
 */
#ifndef AUTHZ_STORE_SETTINGS_H
#define AUTHZ_STORE_SETTINGS_H

struct dbtx;

/* Sets column key ("cimd_policy", "cimd_hosts" as a text[] literal,
 * "refresh_retry_window" as a decimal) of the tenant. 0, or -1 (the
 * failure on tx). */
int store_tenant_mcp_setting(struct dbtx *tx, const char *tenant_id, const char *key,
                             const char *value);

#endif
