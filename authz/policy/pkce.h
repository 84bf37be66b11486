/*
 * pkce.h: RFC 7636 PKCE (policy/pkce.c), pure.
 */
#ifndef AUTHZ_PKCE_H
#define AUTHZ_PKCE_H

#include <stdbool.h>

/* RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, with the verifier's
 * syntax checked (43-128 unreserved characters). policy/pkce.c */
bool pkce_verify_s256(const char *verifier, const char *challenge);

#endif
