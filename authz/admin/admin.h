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
    bool leak_reporter;        /* with not_admin: a client with scope leaks:report */
    const char *by;            /* callers outside the admin API: "console", "authzctl"
                                * (the audit rows' "by"; NULL for the admin API) */
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
/* The lists of SPEC §13 (admin/lists.c): GET /admin/v1/tenants (root),
 * GET .../users and GET .../clients, keyset-paged (limit, cursor). */
void admin_tenants_list(struct req *r, const struct caller *who);
void admin_users_list(struct req *r, const struct caller *who, struct tenant *t);
void admin_clients_list(struct req *r, const struct caller *who, struct tenant *t);
/* true when digits (only '0'-'9') fit a PostgreSQL bigint */
bool admin_bigint_ok(const char *digits);
/* A list cursor base64url("<digits>:<uuid>") into its parts (in a); false
 * when malformed. */
struct arena;
bool admin_list_cursor(const char *cursor, struct arena *a, const char **us, const char **id);
/* GET /admin/v1/tenants/{t}/audit (admin/audit.c) */
void admin_audit(struct req *r, const struct caller *who, struct tenant *t);
/* GET/DELETE /admin/v1/tenants/{t}/consents?user=&client= (admin/consents.c) */
void admin_consents(struct req *r, const struct caller *who, struct tenant *t);
/* Withdraws the consents of user (a sub) to client (either may be NULL, not
 * both), inside the caller's open transaction: deletes them, revokes every
 * live grant made under them and the consents themselves (what was exchanged
 * under them dies with them), with a consent.withdrawn row each whose
 * details.by is `by` ("root", "tenant-admin", "person"). Returns how many
 * (0: none, nothing done), or -1 after rolling back. The caller commits.
 * (admin/consents.c; also the approvals page's withdraw button) */
int consents_withdraw(struct req *r, const struct tenant *t, const char *user, const char *client,
                      const char *by);
/* PUT/GET/DELETE .../trust-policies/{name} and GET .../trust-policies
 * (name NULL) (admin/trust.c) */
void admin_trust_policies(struct req *r, const struct caller *who, struct tenant *t,
                          const char *name);

/* POST/GET .../clients/{id}/secrets and DELETE .../secrets/{secret_id}
 * (secret_id NULL: the collection) (admin/secrets.c, SPEC §13) */
void admin_client_secrets(struct req *r, const struct caller *who, struct tenant *t,
                          const char *client_id, const char *secret_id);
/* POST /admin/v1/leaks (admin/leaks.c, SPEC §13) */
void admin_leaks(struct req *r, const struct caller *who);

#endif
