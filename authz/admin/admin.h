/*
 * admin.h: the tenant admin API (SPEC §7), shared by its files:
 *
 *   admin.c      authentication of the caller, the route table (method,
 *                path pattern -> handler) and the answers every call shares
 *   body.c       the member tables every body is read with (admin/body.h)
 *   tenants.c    POST /tenants, GET and PATCH /tenants/{t}
 *   keys.c       POST /tenants/{t}/keys/rotate
 *   resources.c  /tenants/{t}/resources
 *   clients.c    /tenants/{t}/clients[/{client_id}]
 *   users.c      /tenants/{t}/users[/{username}]
 *   consents.c   /tenants/{t}/consents
 *   sessions.c   /tenants/{t}/sessions[/{sid}/revoke]
 *   audit.c      /tenants/{t}/audit (and the keyset page answer)
 *   trust.c      /tenants/{t}/trust-policies[/{name}]
 *
 * The handlers write no SQL: their statements are in storage/admin.h.
 */
#ifndef AUTHZ_ADMIN_H
#define AUTHZ_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
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

/* One call, as the route table hands it to its handler. */
struct admin_call {
    const struct caller *who;
    struct tenant *t;          /* the tenant of the path (NULL for /tenants) */
    const char *arg;           /* the path's first "*" segment (decoded), or NULL */
    const char *arg2;          /* its second (a secret of a client), or NULL */
};
typedef void (*admin_handler)(struct req *r, const struct admin_call *c);

/* RFC 9457 problem answer. */
void admin_problem(struct req *r, int status, const char *detail);
/* JSON answer (takes the reference). */
void admin_answer_json(struct req *r, int status, json_t *j);
/* A JSON text answer (200, no-store): the text is copied. */
void admin_answer_text(struct req *r, int status, const char *json);
/* Adds an admin.changed audit row for this change. */
void admin_audit_change(struct req *r, const char *tenant_id, const struct caller *who,
                        const char *action, const char *target);
/* Flushes audit rows, commits, and drops this node's cache of the tenant. */
bool admin_tx_commit(struct req *r, const char *tenant_id);
/* A list of scope tokens (SPEC §3: "a JSON array of strings"; people's and
 * resources' scopes) by the list rule of policy/client_metadata.h: at most
 * AUTHZ_ADMIN_ARRAY_MAX distinct scope tokens, as a PostgreSQL text[]
 * literal in the arena. NULL (with a 400 answer naming field) when invalid. */
const char *admin_scope_list(struct req *r, json_t *v, const char *field);
/* A keyset-paged list answer {"<member>":[rows],"next_cursor":..}: column 0
 * of each row is its JSON; res holds limit+1 rows at most, and the cursor is
 * base64url("<column 1><sep><column 2>") of the last row shown. */
void admin_page_answer(struct req *r, PGresult *res, const char *member, int limit, char sep);

/* The handlers (the route table in admin.c names each with its method and
 * path; a call that takes no body has checked that before). */
void admin_tenant_create(struct req *r, const struct admin_call *c);  /* tenants.c */
void admin_tenant_get(struct req *r, const struct admin_call *c);
void admin_tenant_patch(struct req *r, const struct admin_call *c);
void admin_keys_rotate(struct req *r, const struct admin_call *c);    /* keys.c */
void admin_resource_list(struct req *r, const struct admin_call *c);  /* resources.c */
void admin_resource_create(struct req *r, const struct admin_call *c);
void admin_resource_patch(struct req *r, const struct admin_call *c);
void admin_resource_delete(struct req *r, const struct admin_call *c);
void admin_clients_list(struct req *r, const struct admin_call *c);   /* lists.c */
void admin_client_create(struct req *r, const struct admin_call *c);
void admin_client_get(struct req *r, const struct admin_call *c);
void admin_client_patch(struct req *r, const struct admin_call *c);
void admin_client_delete(struct req *r, const struct admin_call *c);
void admin_users_list(struct req *r, const struct admin_call *c);     /* lists.c */
void admin_user_create(struct req *r, const struct admin_call *c);    /* users.c */
void admin_user_get(struct req *r, const struct admin_call *c);
void admin_user_patch(struct req *r, const struct admin_call *c);
void admin_user_delete(struct req *r, const struct admin_call *c);
void admin_consents_list(struct req *r, const struct admin_call *c);  /* consents.c */
void admin_consents_withdraw(struct req *r, const struct admin_call *c);
void admin_sessions_list(struct req *r, const struct admin_call *c);  /* sessions.c */
void admin_session_revoke(struct req *r, const struct admin_call *c);
void admin_audit_list(struct req *r, const struct admin_call *c);     /* audit.c */
void admin_trust_list(struct req *r, const struct admin_call *c);     /* trust.c */
void admin_trust_get(struct req *r, const struct admin_call *c);
void admin_trust_put(struct req *r, const struct admin_call *c);
void admin_trust_delete(struct req *r, const struct admin_call *c);
void admin_secret_rotate(struct req *r, const struct admin_call *c);  /* secrets.c */
void admin_secret_list(struct req *r, const struct admin_call *c);
void admin_secret_delete(struct req *r, const struct admin_call *c);

/* GET /admin/v1/tenants (root; admin/lists.c), keyset-paged (limit, cursor) */
void admin_tenants_list(struct req *r, const struct caller *who);
/* true when digits (only '0'-'9') fit a PostgreSQL bigint */
bool admin_bigint_ok(const char *digits);
/* A list cursor base64url("<digits>:<uuid>") into its parts (in a); false
 * when malformed. */
struct arena;
bool admin_list_cursor(const char *cursor, struct arena *a, const char **us, const char **id);
/* Withdraws the consents of user (a sub) to client (either may be NULL, not
 * both), inside the caller's open transaction: deletes them, revokes every
 * live grant made under them and the consents themselves (what was exchanged
 * under them dies with them), with a consent.withdrawn row each whose
 * details.by is `by` ("root", "tenant-admin", "person"). Returns how many
 * (0: none, nothing done), or -1 after rolling back. The caller commits.
 * (admin/consents.c; also the approvals page's withdraw button) */
int consents_withdraw(struct req *r, const struct tenant *t, const char *user, const char *client,
                      const char *by);

/* POST /admin/v1/leaks (admin/leaks.c, SPEC §13) */
void admin_leaks(struct req *r, const struct caller *who);

/* The tool catalog, a resource's unknown_tools, an agent's drift baseline
 * (admin/tools.c, SPEC §12): .../resources/tools[/{name}]?resource=,
 * GET .../clients/{id}/baseline */
void admin_tools(struct req *r, const struct admin_call *c);
void admin_baseline(struct req *r, const struct admin_call *c);
/* The tenant's drift settings, members of PATCH /tenants/{t}: their checks,
 * the write of one (value NULL clears it; 0 or -1) and the tenant object's
 * members */
const char *admin_check_drift_mode(json_t *v);
const char *admin_check_drift_window(json_t *v);
const char *admin_check_drift_webhook(json_t *v);
int admin_drift_member(struct req *r, struct tenant *t, const char *key, const char *value);
void admin_drift_json(json_t *tenant_obj, const struct tenant *t);

#endif
