/*
 * delegation.h: the whole token-exchange decision of SPEC §4.4 / RFC 8693 as
 * one pure function (facts in, decision out; no I/O), and the act-claim
 * helpers it is built from (nesting the current actor over earlier ones,
 * measuring a chain, listing it for audit, checking may_act).
 *
 * The handler (oauth/grant_exchange.c) gathers the facts: the verified
 * subject and actor tokens, the calling agent's snapshot, the person, the
 * person's consent to the agent and, when it has to, the agent's live
 * sessions for the person. It calls deleg_decide(), mints what the decision
 * says and writes one audit row from it.
 *
 * Lineage: every token rests on something that can end (a token, a grant,
 * a session, a consent, an agent's can_act_for entry, its may_impersonate).
 * A decision lists those as revocation keys ("kind:value"); the minted token
 * carries them (claim "lineage") and is inactive as soon as any of them is
 * revoked (authz/revset.c). The same claim carries the resource ceiling: the
 * resources every later hop stays inside.
 *
 * Task details (RFC 9396 authorization_details, SPEC §12) only narrow: the
 * new token carries the subject token's details ∩ the right's (a consent's
 * or a session's; can_act_for and impersonation add no bound of their own)
 * ∩ those requested, on its audience. Requesting details outside them is
 * invalid_authorization_details (RFC 9396 §6); a subject without details
 * passes none on.
 */
#ifndef AUTHZ_DELEGATION_H
#define AUTHZ_DELEGATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/scope.h"
#include "policy/details.h"

struct arena;

/* ---- act claims (RFC 8693 §4.1) ---- */

/* Number of actors in an act claim (0 for NULL). Malformed (not an object,
 * no string sub, deeper than 64) -> -1. */
int act_depth(const json_t *act);
/* A new act object {"sub": actor, ["wid": {"iss","sub"}], ["act": prev]}
 * with prev kept whole (a new reference). */
json_t *act_nest(const char *actor_sub, const char *wid_iss, const char *wid_sub,
                 const json_t *prev);
/* The actor subs of a chain, current first, into the arena. */
int act_chain(struct arena *a, const json_t *act, const char ***out);
/* RFC 8693 §4.4: when the subject token carries may_act, it must name the
 * actor: its sub equals actor_sub and, when it has iss, that equals
 * actor_iss. true when acting is allowed (also when there is no may_act). */
bool may_act_allows(const json_t *may_act, const char *actor_sub, const char *actor_iss);

/* ---- lineage keys ---- */

/* The kinds of things a token can rest on; their names are the revocation
 * kinds (storage table revocations, authz/revset.c). */
#define LIN_TOKEN "jti"            /* an access token (its jti names its grant too) */
#define LIN_SESSION "session"      /* a session grant (sid) */
#define LIN_CONSENT "consent"      /* a stored consent (its id) */
#define LIN_ACT_FOR "act_for"      /* "<agent> <username or *>": a can_act_for entry */
#define LIN_IMPERSONATE "impersonate" /* "<agent>": its may_impersonate */
#define LIN_TRUST "trust"          /* "<policy name>": a trust policy (JWT bearer grant) */

/* "kind:value" in the arena */
const char *lineage_key(struct arena *a, const char *kind, const char *value);

/* ---- the decision ---- */

enum right_kind {
    RIGHT_NONE = 0,
    RIGHT_IMPERSONATION,   /* may_impersonate, no actor token */
    RIGHT_CAN_ACT_FOR,     /* the agent's can_act_for names the person or "*" */
    RIGHT_CONSENT,         /* the person consented to the agent (code flow) */
    RIGHT_SESSION,         /* the person approved a session of the agent */
};

struct deleg_resource {
    const char *uri;
    struct scopeset scopes;
};

/* A live session grant of the calling agent for the person (SPEC §4.5). */
struct deleg_session {
    const char *sid;
    struct scopeset scopes, resources;
    int64_t ends_at;
    const char *details;          /* its task details (policy/details.h JSON), NULL: none */
};

struct deleg_facts {
    /* the tenant */
    const char *issuer;
    const struct deleg_resource *resources;
    int nresources;
    int max_act_depth;

    /* the calling agent (authenticated client) */
    const char *agent;
    struct scopeset allowed_scopes;     /* n == 0: no ceiling */
    struct scopeset allowed_resources;  /* n == 0: no ceiling */
    struct scopeset can_act_for;        /* usernames and "*" */
    bool may_impersonate;

    /* the subject token, verified and active (the handler refuses the rest) */
    struct {
        bool ours;                /* an access token of this tenant */
        const char *issuer;
        const json_t *scope;      /* the scope claim as presented, NULL when absent */
        const char *aud;          /* ours: its aud */
        const json_t *act, *may_act;
        int64_t exp;
        const char *jti, *sid;    /* ours */
        const json_t *lineage;    /* ours: its lineage claim, NULL when absent */
        const json_t *details;    /* ours: its authorization_details claim, NULL when absent */
    } subject;

    /* the actor token; absent: impersonation */
    struct {
        bool present;
        bool ours;
        const char *issued_to;    /* ours: its client_id claim */
        const char *sub;          /* ours: its sub */
        const char *mapped_client;/* workload JWT: the client its trust policy maps to */
        const char *wid_iss, *wid_sub;
    } actor;

    /* the person the subject token is about */
    const char *person_id, *username;
    struct scopeset person_scopes;

    /* the person's rights for this agent */
    bool have_consent;
    const char *consent_id;
    struct scopeset consent_scopes, consent_resources;
    const char *consent_details;  /* the consent's task details (policy/details.h JSON), or NULL */
    bool sessions_known;          /* false: not looked up (yet) */
    const struct deleg_session *sessions;
    int nsessions;

    /* the request */
    const char *scope_param;      /* NULL when absent */
    const char *const *targets;   /* resource and audience values, as given */
    int ntargets;
    /* authorization_details of the request (RFC 9396 §6), already
     * validated by policy/details.c; NULL when absent */
    const struct details *want_details;
};

struct deleg_decision {
    /* refused: an RFC 8693 §2.2.2 error code and a description; NULL when allowed */
    const char *error;
    const char *description;
    /* the rule that decided (a short name for the audit row's details.policy) */
    const char *rule;
    /* refused only for want of a right, and the sessions were not consulted:
     * look them up and decide again */
    bool needs_sessions;

    bool impersonation;
    enum right_kind right;
    const char *sid;              /* the session the token carries (subject's or the right's) */

    /* allowed */
    const char *scope;            /* space-separated */
    const char *aud;
    const json_t *act;            /* the act claim of the new token (owned by the decision), or NULL */
    int64_t exp_cap;              /* exp ≤ this */
    const char **lineage;         /* revocation keys the new token rests on */
    int nlineage;
    struct scopeset ceiling;      /* resources every later hop stays inside */
    bool has_ceiling;
    /* SPEC §12: the task details of the new token (JSON text), NULL when
     * none: the subject's ∩ the right's ∩ those requested, on its aud */
    const char *details_json;

    /* for the audit row (also when refused) */
    const char **chain;           /* actor subs, current first */
    int nchain;
};

/* Decides a token exchange. Strings and arrays go to the arena; d->act is a
 * new jansson reference the caller releases with deleg_decision_free(). */
void deleg_decide(struct arena *a, const struct deleg_facts *f, struct deleg_decision *d);
void deleg_decision_free(struct deleg_decision *d);

/* The lineage claim of a token: {"on":[keys...],"res":[ceiling...]}, "res"
 * only when has_ceiling. JSON text in the arena, or NULL when both are empty. */
const char *lineage_claim_json(struct arena *a, const char *const *keys, int nkeys,
                               const struct scopeset *ceiling, bool has_ceiling);
/* Reads a lineage claim: its keys and ceiling (arena arrays). false when
 * malformed. A NULL claim reads as no keys and no ceiling. */
bool lineage_claim_read(struct arena *a, const json_t *claim, const char ***keys, int *nkeys,
                        struct scopeset *ceiling, bool *has_ceiling);

#endif
