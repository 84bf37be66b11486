/*
 * register.h: RFC 7591 dynamic client registration (SPEC §3). The checks of
 * a registration request are pure functions, so that the unit tests can run
 * them without a server or a database; h_register (routes.h) applies the
 * tenant's registration_policy and stores what they accept.
 */
#ifndef AUTHZ_REGISTER_H
#define AUTHZ_REGISTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/client_metadata.h"

struct arena;

/* What a valid registration request registers. Strings live in the arena. */
struct reg_meta {
    const char *method;           /* token_endpoint_auth_method */
    const char *client_name;      /* NULL: none */
    const char *grant_types_pg;   /* PostgreSQL text[] literals */
    const char *response_types_pg;
    const char *redirect_uris_pg;
    const char *jwks;             /* compact JSON text, or NULL */
    const char *jwks_uri;         /* or NULL */
    const char *metadata;         /* JSON object text: the other metadata kept */
    bool secret;                  /* the method needs a server-generated secret */
    json_t *doc;                  /* the metadata as registered, for the answer
                                   * (a new reference: the caller decrefs) */
};

/* RFC 7591 §3.2.2 error codes */
#define REG_INVALID_REDIRECT_URI CM_INVALID_REDIRECT_URI
#define REG_INVALID_CLIENT_METADATA CM_INVALID_CLIENT_METADATA

/* true when content_type is application/json (parameters allowed). */
bool register_content_type_ok(const char *content_type);

/* Parses a request body: well-formed UTF-8 JSON, one object, no duplicate
 * member names. Returns the object (caller decrefs), or NULL with *desc. */
json_t *register_parse_body(const char *body, size_t len, const char **desc);

/* Checks the metadata of a registration request (RFC 7591 §2) with
 * client_metadata_check under the CM_REGISTER profile and fills *out. Unknown members are ignored (RFC 7591 §2: "The authorization server
 * MUST ignore any client metadata sent by the client that it does not
 * understand"), and so are the fields only an administrator may set
 * (allowed_scopes, can_act_for, introspects, may_impersonate, ...). A null
 * member counts as absent. Returns 0, or -1 with *error one of the REG_*
 * codes and *desc an error_description. */
int register_validate(struct arena *a, json_t *body, struct reg_meta *out, const char **error,
                      const char **desc);

#endif
