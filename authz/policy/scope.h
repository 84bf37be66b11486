/*
 * scope.h: pure functions on OAuth scopes and resource indicators (no I/O).
 * A scope string is space-separated scope-tokens (RFC 6749 §3.3:
 * 1*( %x21 / %x23-5B / %x5D-7E )).
 */
#ifndef AUTHZ_SCOPE_H
#define AUTHZ_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

struct scopeset {
    const char **v;
    int n;
};

/* Parses s into set (duplicates removed, order kept). -1 on a malformed
 * scope string (bad characters, empty tokens from doubled spaces). */
int scope_parse(struct arena *a, const char *s, struct scopeset *set);
/* s is one scope-token (RFC 6749 §3.3), not empty. */
bool scope_token_valid(const char *s);
bool scope_has(const struct scopeset *s, const char *tok);
/* true when every element of sub is in sup */
bool scope_subset(const struct scopeset *sub, const struct scopeset *sup);
/* a ∩ b, in a's order */
struct scopeset scope_intersect(struct arena *ar, const struct scopeset *a, const struct scopeset *b);
/* Takes out of s, in place, the scopes authz accepts in a request and never
 * issues: `openid` (SPEC §2: no ID tokens) and `offline_access` (SPEC §11:
 * a refresh token goes to every client with the refresh_token grant, asked
 * for or not). Returns how many it took out. */
int scope_drop_unissued(struct scopeset *s);
/* a \ b, in a's order */
struct scopeset scope_minus(struct arena *ar, const struct scopeset *a, const struct scopeset *b);
/* space-joined; "" for an empty set */
char *scope_join(struct arena *a, const struct scopeset *s);
/* From an array of C strings */
struct scopeset scope_from_list(char *const *v, int n);

/* RFC 8707 §2.2: the audience of an access token issued from a grant that
 * holds the resources granted[0..ngranted): the one resource the token
 * request names (requested, at most one, and one of the grant's: a token
 * request narrows, never widens), else the grant's first resource, else
 * fallback (the issuer: a grant without resources is for authz itself).
 * NULL with *why (an invalid_target description) when the request names
 * more than one resource or one the grant does not hold. */
const char *resource_narrow(const char *const *requested, int nrequested,
                            const char *const *granted, int ngranted, const char *fallback,
                            const char **why);

/* RFC 8707 §2: an absolute URI without a fragment. */
bool resource_uri_valid(const char *uri);

#endif
