/*
 * password.c: Argon2id hashing and verification of people's passwords (see
 * password.h).
 */
#include "crypto/password.h"
#include "crypto/crypto.h"
#include "config.h"
#include "log.h"
#include "util/limits.h"

#include <argon2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_SALT_LEN 16  /* RFC 9106 §3.1: 16 bytes recommended */
#define PASSWORD_HASH_LEN 32  /* RFC 9106 §4: a 256-bit tag */

struct password_cost password_cost_configured(void)
{
    /* config.c's defaults, for when no configuration is loaded */
    struct password_cost c = {AUTHZ_ARGON2_T_COST_DEFAULT, AUTHZ_ARGON2_M_COST_KIB_DEFAULT,
                              AUTHZ_ARGON2_PARALLELISM_DEFAULT};
    if (g_config) {
        c.t_cost = (uint32_t)g_config->argon2_t_cost;
        c.m_cost_kib = (uint32_t)g_config->argon2_m_cost_kib;
        c.parallelism = (uint32_t)g_config->argon2_parallelism;
    }
    return c;
}

char *password_hash(const struct password_cost *cost, const char *pw)
{
    uint8_t salt[PASSWORD_SALT_LEN];
    if (!pw)
        return NULL;
    crypto_random(salt, sizeof salt);
    size_t len = argon2_encodedlen(cost->t_cost, cost->m_cost_kib, cost->parallelism, sizeof salt,
                                   PASSWORD_HASH_LEN, Argon2_id);
    char *enc = malloc(len + 1);
    if (!enc || argon2id_hash_encoded(cost->t_cost, cost->m_cost_kib, cost->parallelism, pw,
                                      strlen(pw), salt, sizeof salt, PASSWORD_HASH_LEN, enc,
                                      len) != ARGON2_OK) {
        free(enc);
        return NULL;
    }
    return enc;
}

/* A hash of a random password at the configured cost, for unknown users. */
static char *dummy_hash;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_hash_make(void)
{
    uint8_t pw[32];
    char hex[2 * sizeof pw + 1];
    crypto_random(pw, sizeof pw);
    for (size_t i = 0; i < sizeof pw; i++)
        snprintf(hex + 2 * i, 3, "%02x", pw[i]);
    struct password_cost cost = password_cost_configured();
    dummy_hash = password_hash(&cost, hex);
    if (!dummy_hash)
        log_msg(LOG_ERROR, "sign-in: cannot compute the Argon2id dummy hash");
}

bool password_verify_unknown(const char *pw)
{
    pthread_once(&dummy_once, dummy_hash_make);
    if (dummy_hash && pw)
        (void)argon2id_verify(dummy_hash, pw, strlen(pw));
    return false;
}

bool password_verify(const char *encoded, const char *pw)
{
    /* the dummy hash is made on the first verification of any kind, so
     * that no attempt on an unknown username ever costs more than one on a
     * known one */
    pthread_once(&dummy_once, dummy_hash_make);
    /* argon2id_verify decodes the PHC string (refusing any other variant)
     * and compares in constant time */
    if (!encoded || !pw || strncmp(encoded, "$argon2id$", 10) != 0)
        return false;
    return argon2id_verify(encoded, pw, strlen(pw)) == ARGON2_OK;
}
