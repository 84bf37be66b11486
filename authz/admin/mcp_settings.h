/*
 * mcp_settings.h: the admin API's parts for MCP clients of 2026 (SPEC §11,
 * issue 13), kept apart from admin.c so that admin.c only names them in its
 * tables:
 *  - the tenant settings cimd_policy, cimd_hosts and refresh_retry_window
 *    (PATCH /admin/v1/tenants/{t}, GET shows them);
 *  - the check of resources' scope_descriptions (admin/resources.c: POST
 *    .../resources takes them, PATCH .../resources?uri= replaces them), the
 *    words the consent and approval pages show for each scope.
 */
#ifndef AUTHZ_ADMIN_MCP_SETTINGS_H
#define AUTHZ_ADMIN_MCP_SETTINGS_H

#include <jansson.h>

struct req;
struct tenant;
struct caller;

/* body member checks (admin/body.h): NULL when good, else what is wrong */
const char *check_cimd_policy(json_t *v);
const char *check_cimd_hosts(json_t *v);
const char *check_refresh_retry_window(json_t *v);
const char *check_scope_descriptions(json_t *v);

/* Stores one tenant setting of this file's (inside the open transaction).
 * 1 stored, 0 not one of them, -1 the statement failed. */
int admin_tenant_mcp_setting(struct req *r, const char *tenant_id, const char *key, json_t *v);
/* Adds the settings of this file to a tenant's admin JSON. */
void admin_tenant_mcp_json(const struct tenant *t, json_t *j);


#endif
