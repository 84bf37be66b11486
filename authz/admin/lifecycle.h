/*
 * lifecycle.h: owners and status of agents and people, and what disabling
 * them ends (SPEC §13, authz/admin/lifecycle.c). The admin API (PATCH and
 * DELETE of clients and users), the operator console and authzctl all go
 * through these, so that a cascade is written once.
 *
 * Disabling (or deleting) a client ends every token, refresh token, session
 * and right it holds, on every authzd within a second: a standing revocation
 * of the client (revset.h, NOTIFY authz_revoke) kills the access tokens it
 * holds and those it acts in, its grants are revoked (refresh tokens and
 * sessions with them), the consents given to it withdrawn, its pending
 * session requests expired; the client cache drops it (NOTIFY authz_cache)
 * and a disabled client is never loaded again, so it gets invalid_client.
 * Disabling a person does the same for the person (a standing revocation of
 * the sub, its browser sign-ins ended) and disables every agent the person
 * owns with details.reason "owner_offboarded". Each is audited:
 * admin.changed, plus client.disabled / person.disabled with the reason.
 */
#ifndef AUTHZ_ADMIN_LIFECYCLE_H
#define AUTHZ_ADMIN_LIFECYCLE_H

#include <stdbool.h>

struct req;
struct tenant;
struct caller;

/* The whole change in its own transaction, audited, committed: 0, or an
 * HTTP status (404 no such client / person in the tenant, 503 database
 * down, 500). No answer is written to r. The audit rows name the caller
 * "console"; the _by forms name who (struct caller, admin.h; its `by`
 * names callers outside the admin API, e.g. "authzctl"). reason: free
 * text for the audit rows (NULL: none). Enabling (disabled false) ends
 * nothing and re-enables no agent. */
int lifecycle_client_set_status(struct req *r, const struct tenant *t, const char *client_id,
                                bool disabled, const char *reason);
int lifecycle_person_set_status(struct req *r, const struct tenant *t, const char *sub,
                                bool disabled, const char *reason);
int lifecycle_client_set_status_by(struct req *r, const struct caller *who, const struct tenant *t,
                                   const char *client_id, bool disabled, const char *reason);
int lifecycle_person_set_status_by(struct req *r, const struct caller *who, const struct tenant *t,
                                   const char *sub, bool disabled, const char *reason);

/* Inside the caller's open transaction (the admin API's PATCH and DELETE):
 * the cascade and its audit rows without admin.changed, which the caller
 * writes. details_reason: details.reason ("disabled", "deleted",
 * "owner_offboarded"). 0, or -1 (database failure: roll back). */
int lifecycle_client_end_tx(struct req *r, const struct caller *who, const struct tenant *t,
                            const char *client_id, const char *reason, const char *details_reason);
int lifecycle_person_end_tx(struct req *r, const struct caller *who, const struct tenant *t,
                            const char *sub, const char *reason, const char *details_reason);

/* The admin API's members (body.h checks): "status" is "active" or
 * "disabled"; "owner" a person's sub (or null to clear it). */
#include <jansson.h>
const char *lifecycle_check_status(json_t *v);
const char *lifecycle_check_owner(json_t *v);
/* PATCH (and POST) of a client, inside the open transaction, after its row
 * is written: applies "owner" and "status" when present (either NULL).
 * 0 done, -1 database failure (roll back), 400 with the problem answered
 * (the owner is not a person of the tenant: rolled back). */
int lifecycle_client_patch_tx(struct req *r, const struct caller *who, const struct tenant *t,
                              const char *client_id, json_t *status, json_t *owner);
/* PATCH of a person, inside the open transaction: applies "status". 0 or
 * -1 (roll back). */
int lifecycle_person_patch_tx(struct req *r, const struct caller *who, const struct tenant *t,
                              const char *sub, json_t *status);

#endif
