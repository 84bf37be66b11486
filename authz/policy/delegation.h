/*
 * delegation.h: pure rules of blended identity (RFC 8693 §4.1 act claims):
 * nesting the current actor over earlier ones, measuring a chain, listing
 * it for audit, and checking may_act (§4.4). No I/O.
 */
#ifndef AUTHZ_DELEGATION_H
#define AUTHZ_DELEGATION_H

#include <jansson.h>
#include <stdbool.h>

struct arena;

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

#endif
