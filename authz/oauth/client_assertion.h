/*
 * client_assertion.h: private_key_jwt client authentication (RFC 7523 §2.2
 * and §3, RFC 7521 §4.2, SPEC §3), used by client_auth.c.
 */
#ifndef AUTHZ_CLIENT_ASSERTION_H
#define AUTHZ_CLIENT_ASSERTION_H

#include <stdbool.h>

#include "http/http.h"

struct client;

#define CLIENT_ASSERTION_TYPE_JWT "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* SPEC §3 / issue 4: exp at most this many seconds ahead */
#define CLIENT_ASSERTION_MAX_LIFETIME 300
/* clock skew allowed on exp, nbf and iat of a client assertion */
#define CLIENT_ASSERTION_LEEWAY 30

/* Verifies assertion (the client_assertion parameter) as the authentication
 * of client c in r->tenant: client_assertion_type is the JWT bearer URN; c
 * registered private_key_jwt; the signature is made with a key of c's jwks
 * (or of its jwks_uri, fetched and cached) in an asymmetric alg that fits the
 * key; iss = sub = c's client_id; aud names the tenant's issuer or token
 * endpoint; exp present, not passed and at most 5 minutes ahead; nbf and iat,
 * when present, not in the future (CLIENT_ASSERTION_LEEWAY seconds of skew);
 * jti present and never seen before for this client, across every authzd
 * sharing the database (recorded in assertion_jtis).
 *
 * H_BLOCK when r cannot block (the jti needs the database; a jwks_uri may need
 * fetching), after the checks that need neither have passed. H_DONE with
 * *ok, and on failure *why (a static string, fit for the audit row's reason;
 * r->tx.down set when the database failed). */
enum hres client_assertion_verify(struct req *r, struct client *c, const char *assertion_type,
                                  const char *assertion, const char **why, bool *ok);

#endif
