/*
 * oauth.h: shared pieces of the OAuth endpoints: client authentication at
 * the token endpoint (RFC 6749 §2.3), access-token minting (RFC 9068) and
 * verification of authz's own access tokens.
 */
#ifndef AUTHZ_OAUTH_H
#define AUTHZ_OAUTH_H

#include "http/http.h"
#include "http/form.h"
#include <jansson.h>
#include <stdbool.h>

struct tenant;

/* Authenticates the calling client from the Authorization header and the
 * form. H_BLOCK, or H_DONE with r->client set on success; on failure the
 * error answer and a client_auth.failed audit row are set and r->client is
 * NULL. */
enum hres client_authenticate(struct req *r, const struct form *f);

struct token_claims {
    const char *sub;
    const char *client_id;
    const char *aud;           /* one audience */
    const char *scope;         /* may be NULL/empty: claim omitted */
    const char *sid;
    const char *act_json;      /* raw JSON object, or NULL */
    const char *details_json;  /* authorization_details (RFC 9396 §9.1), raw JSON array, or NULL */
    long auth_time;            /* 0: omitted */
    long exp_cap;              /* 0: none; otherwise exp <= exp_cap */
    const char *jti;           /* NULL: a random one */
    /* what the token rests on besides its own jti, grant, session, person
     * and client (revocation keys, policy/delegation.h), and the resources
     * later exchanges stay inside: the "lineage" claim */
    const char *const *lineage;
    int nlineage;
    const char *const *ceiling;
    int nceiling;
    bool has_ceiling;
};

struct minted {
    char *token;               /* arena */
    char jti[64];
    long iat, exp;
};

/* Signs an RFC 9068 access token with the tenant's active key. 0 or -1. */
int mint_access_token(struct req *r, const struct tenant *t, const struct token_claims *c,
                      struct minted *out);

/* Verifies one of authz's own access tokens for tenant t: signature with a
 * published key, typ at+jwt, iss, exp. Returns the claims (caller decrefs)
 * or NULL with *why set. */
json_t *access_token_verify(const struct tenant *t, const char *token, const char **why);
/* access_token_verify, plus: not revoked (token, grant or session), through
 * a cache of verified tokens (oauth/introspect.c). */
json_t *access_token_active(const struct tenant *t, const char *token);
/* The tenant slug named by a token's iss (without verifying it), or NULL. */
char *access_token_tenant_slug(struct req *r, const char *token);

/* The RFC 6749 token response. */
void token_response(struct req *r, const struct minted *m, const char *scope,
                    const char *refresh_token, const char *extra_json_members);

struct grant_row;
struct scopeset;
struct audit_event;
struct details;
struct issued {
    struct minted access;
    char refresh[64];          /* "" when no refresh token was issued */
    int64_t refresh_exp;
    const char *scope;
    const char *details_json;  /* the access token's authorization_details, or NULL */
    struct audit_event *audit; /* the token.issued / token.refreshed row */
};
/* Issues the tokens of a person's grant (oauth/issue.c): on r->tx.conn, inside
 * the caller's transaction; adds the token.issued / token.refreshed audit
 * row. With store_refresh false the new refresh token is only made (the
 * refresh grant stores it together with the rotation). 0, or -1 (answer or
 * r->tx.down set). */
int issue_grant_tokens(struct req *r, const struct grant_row *g, const char *aud,
                       const struct scopeset *narrow, const struct details *narrow_details,
                       const char *grant_type, bool store_refresh, struct issued *out);
/* The authorization_details parameter of a token request (RFC 9396 §6),
 * validated by policy/details.c against the tenant's resources and the
 * client's allowed_resources: *present false when absent. false with the
 * invalid_authorization_details answer set when it is not acceptable. */
bool token_request_details(struct req *r, const struct form *f, struct details *out,
                           bool *present);
/* What task details of this request are checked against: the tenant's
 * resources and the client's allowed_resources (arena arrays). */
struct details_ctx;
void oauth_details_ctx(struct req *r, struct details_ctx *ctx);
/* The token response member for details_json (",\"authorization_details\":…"),
 * or NULL when there are none. */
const char *details_member(struct req *r, const char *details_json);

/* A person (by id or username) and a person's consent to a client, through
 * the cache, for handlers that start on the event loop (oauth/lookup.c):
 * H_BLOCK on a cache miss when r cannot block; else H_DONE with *found 1,
 * 0 (does not exist) or -1 (database failure). */
struct person;
struct consent;
enum hres person_lookup(struct req *r, const char *tenant_id, const char *id, const char *username,
                        struct person *out, int *found);
enum hres consent_lookup(struct req *r, const char *tenant_id, const char *user_id,
                         const char *client_id, struct consent *out, int *found);

/* Checks the content type and parses the form body of a POST endpoint;
 * false with the error answer set when it is not acceptable. */
bool oauth_form(struct req *r, struct form *f);

enum hres grant_client_credentials(struct req *r, const struct form *f);
enum hres grant_authorization_code(struct req *r, const struct form *f);
enum hres grant_refresh_token(struct req *r, const struct form *f);
enum hres grant_token_exchange(struct req *r, const struct form *f);
/* The client credentials grant's issuance for r->client (resource, scope,
 * token, audit row under grant_type), for grants that issue to a client as
 * client credentials would (SPEC §11 workload identity). */
enum hres grant_client_issue(struct req *r, const struct form *f, const char *grant_type);

/* The JWT bearer grant (RFC 7523 §2.1; SPEC §11, oauth/grant_jwt_bearer.c) */
#define GT_JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
enum hres grant_jwt_bearer(struct req *r, const struct form *f);
/* SPEC §11: a JWT bearer request without client authentication is a
 * workload identity's: the client its trust policy maps to, into
 * r->client (or the refusal answered). */
enum hres jwt_bearer_workload_client(struct req *r, const struct form *f);

#include "policy/pkce.h"


#endif
