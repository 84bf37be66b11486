/*
 * password.h: people's passwords, the one place that hashes and verifies
 * them (SPEC §3: "Passwords of people are stored with Argon2id").
 *
 * Argon2id (RFC 9106) through libargon2, in its PHC string encoding
 * ("$argon2id$v=19$m=...,t=...,p=...$salt$hash", salt and hash base64), so
 * that a stored hash carries its own cost and a change of the configured
 * cost applies to new passwords without breaking old ones. The cost comes
 * from the configuration (argon2_t_cost, argon2_m_cost_kib,
 * argon2_parallelism; config.c has the defaults). Argon2id is slow on
 * purpose: web/login.c limits attempts per source and username before it
 * verifies anything.
 *
 * Server-generated secrets (client secrets, root tokens) are 256-bit random
 * and use crypto.h's fast keyed hash instead.
 */
#ifndef AUTHZ_PASSWORD_H
#define AUTHZ_PASSWORD_H

#include <stdbool.h>
#include <stdint.h>

/* The Argon2id cost of new hashes. */
struct password_cost {
    uint32_t t_cost;       /* passes over memory */
    uint32_t m_cost_kib;   /* memory, KiB */
    uint32_t parallelism;  /* lanes */
};

/* The configured cost (g_config), or config.c's defaults when no
 * configuration is loaded. */
struct password_cost password_cost_configured(void);

/* The encoded Argon2id hash of pw under a fresh 16-byte random salt
 * (malloc'd, the caller frees), or NULL (bad cost, out of memory). */
char *password_hash(const struct password_cost *cost, const char *pw);

/* true when pw matches encoded; false on a mismatch, and on an encoded
 * string that is not an Argon2id hash. */
bool password_verify(const char *encoded, const char *pw);

/* The same work as one password_verify against a hash of the configured
 * cost (a hash of a random password, made once), for a username that does
 * not exist: timing does not tell which usernames exist. Always false. */
bool password_verify_unknown(const char *pw);

#endif
