/*
 * admin.h: the tenant admin API and the metadata checks it shares with
 * dynamic client registration.
 */
#ifndef AUTHZ_ADMIN_H
#define AUTHZ_ADMIN_H

#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>

struct req;
struct tenant;

/* Who is calling the admin API. */
struct caller {
    bool root;
    const char *tenant_slug;   /* tenant admin: the only tenant reachable */
    const char *who;           /* for audit: "root" or the client id */
    bool not_admin;            /* an active token of tenant_slug without admin rights */
};

/* RFC 9457 problem answer. */
void admin_problem(struct req *r, int status, const char *detail);
/* JSON answer (takes the reference). */
void admin_answer_json(struct req *r, int status, json_t *j);
/* Adds an admin.changed audit row for this change. */
void admin_audit_change(struct req *r, const char *tenant_id, const struct caller *who,
                        const char *action, const char *target);
/* Flushes audit rows, commits, and drops this node's cache of the tenant. */
bool admin_tx_commit(struct req *r, const char *tenant_id);

/* GET .../sessions and POST .../sessions/{sid}/revoke (admin/sessions.c) */
void admin_sessions(struct req *r, const struct caller *who, struct tenant *t, const char *sid,
                    const char *action);
/* A keyset-paged list answer {"<member>":[rows],"next_cursor":..}: column 0
 * of each row is its JSON; res holds limit+1 rows at most, and the cursor is
 * base64url("<column 1><sep><column 2>") of the last row shown. */
void admin_page_answer(struct req *r, PGresult *res, const char *member, int limit, char sep);
/* GET /admin/v1/tenants/{t}/audit (admin/audit.c) */
void admin_audit(struct req *r, const struct caller *who, struct tenant *t);
/* GET/DELETE /admin/v1/tenants/{t}/consents?user=&client= (admin/consents.c) */
void admin_consents(struct req *r, const struct caller *who, struct tenant *t);
/* PUT/GET/DELETE .../trust-policies/{name} and GET .../trust-policies
 * (name NULL) (admin/trust.c) */
void admin_trust_policies(struct req *r, const struct caller *who, struct tenant *t,
                          const char *name);

/* The tool catalog, a resource's unknown_tools, an agent's drift baseline
 * (admin/tools.c, SPEC §12): .../resources/tools[/{name}]?resource=,
 * PATCH .../resources?uri=, GET .../clients/{id}/baseline */
void admin_tools(struct req *r, const struct caller *who, struct tenant *t, const char *name);
void admin_resource_patch(struct req *r, const struct caller *who, struct tenant *t);
void admin_baseline(struct req *r, struct tenant *t, const char *client_id);
/* The tenant's drift settings, members of PATCH /tenants/{t}: their checks,
 * the write of one (value NULL clears it; 0 or -1) and the tenant object's
 * members */
const char *admin_check_drift_mode(json_t *v);
const char *admin_check_drift_window(json_t *v);
const char *admin_check_drift_webhook(json_t *v);
int admin_drift_member(struct req *r, struct tenant *t, const char *key, const char *value);
void admin_drift_json(json_t *tenant_obj, const struct tenant *t);

#endif
