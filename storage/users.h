/*
 * users.h: people, their sign-in attempts and browser sessions, and their
 * consents (storage/users.c, storage/consents.c).
 */
#ifndef AUTHZ_STORAGE_USERS_H
#define AUTHZ_STORAGE_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/scope.h"

struct dbtx;

/* A signed-in person, as the session cookie names them. Arena strings. */
struct web_session {
    const char *user_id;       /* the person's sub */
    const char *username;
    const char *csrf_token;    /* for the forms of this session */
    struct scopeset scopes;    /* the person's own scopes (users.scopes) */
    int64_t auth_time;         /* when they signed in (seconds since the epoch) */
};

/* ---- storage (storage/users.c, storage/consents.c); on tx->conn ---- */

/* A JSON array of strings (array_to_json of a text[] column) into a set
 * in the arena. 0, or -1 when json is not an array. */
int store_json_string_set(struct dbtx *tx, const char *json, struct scopeset *out);

struct user_login {
    const char *id;
    const char *password_hash;   /* Argon2id encoded */
};
/* 1 found, 0 no such user in the tenant, -1 database failure. */
int store_user_login(struct dbtx *tx, const char *tenant_id, const char *username,
                     struct user_login *out);

/* Sign-in attempts: a failed sign-in leaves one row per key (the username,
 * the source address) for window seconds. */
struct signin_keys {
    const char *user_key;        /* "user:<username>" */
    const char *source_key;      /* "source:<address>" */
    char user_row[32], source_row[32];  /* the rows recorded for this attempt */
};
/* Records this attempt under both keys (committed at once, so that
 * parallel attempts see each other), then counts the attempts of the last
 * window seconds under each key, this one included. Returns 0 with the
 * counts, -1 on database failure. *retry_after gets the seconds until the
 * count of a key over its limit falls back to it. */
int store_signin_record(struct dbtx *tx, const char *tenant_id, struct signin_keys *k, int window,
                        int user_limit, int source_limit, int *n_user, int *n_source,
                        int *retry_after);
/* Forgets this attempt (refused before checking the password, or
 * succeeded); with clear_user also every recent failure of the username. */
int store_signin_forget(struct dbtx *tx, const char *tenant_id, const struct signin_keys *k,
                        bool clear_user);

/* Browser sessions: id_hash is the keyed hash of the cookie value. */
int store_session_find(struct dbtx *tx, const char *tenant_id, const char *id_hash,
                       struct web_session *out);
int store_session_create(struct dbtx *tx, const char *tenant_id, const char *id_hash,
                         const char *user_id, const char *csrf_token, int ttl,
                         int64_t *auth_time);
int store_session_delete(struct dbtx *tx, const char *tenant_id, const char *id_hash);
/* Ends every browser sign-in of a person (SPEC §5: "a password change ends
 * the person's browser sign-ins"). 0 or -1. */
int store_sessions_end_for_user(struct dbtx *tx, const char *tenant_id, const char *user_id);

/* Consents: 1 found (scopes and resources set), 0 none, -1 failure. */
int store_consent_get(struct dbtx *tx, const char *tenant_id, const char *user_id,
                      const char *client_id, struct scopeset *scopes,
                      struct scopeset *resources);
/* Adds scopes and resources (text[] literals) to the person's consent for
 * the client (created when there is none). 0 or -1. */
int store_consent_merge(struct dbtx *tx, const char *tenant_id, const char *user_id,
                        const char *client_id, const char *scopes_pg, const char *resources_pg);
/* The task details of a consent (policy/details.h JSON text, NULL when it
 * has none) and their replacement (the caller unites them, after
 * store_consent_merge in the same transaction). 1/0/-1 and 0/-1. */
int store_consent_details_get(struct dbtx *tx, const char *tenant_id, const char *user_id,
                              const char *client_id, const char **details_json);
int store_consent_details_set(struct dbtx *tx, const char *tenant_id, const char *user_id,
                              const char *client_id, const char *details_json);

#endif
