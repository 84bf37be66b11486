/*
 * users.c: the tenant's people in the admin API (SPEC §7): POST
 * /admin/v1/tenants/{t}/users creates one (password hashed with Argon2id,
 * crypto/password.c); GET, PATCH and DELETE /users/{username}. A new
 * password ends the person's browser sign-ins, fewer scopes end their
 * tokens, and deleting them ends everything they hold (SPEC §5).
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "admin/lifecycle.h"
#include "http/http.h"
#include "policy/scope.h"
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/grants.h"
#include "storage/lifecycle.h"
#include "storage/pgarray.h"
#include "storage/users.h"
#include "crypto/password.h"
#include "util/text.h"
#include "util/limits.h"
#include "cache.h"

#include <stdlib.h>
#include <string.h>

static void json_release(void *p)
{
    json_decref(p);
}

/* The Argon2id hash of pw at the configured cost (crypto/password.c), in
 * the request's arena. */
static char *hash_password(struct req *r, const char *pw)
{
    struct password_cost cost = password_cost_configured();
    char *enc = password_hash(&cost, pw);
    arena_defer(r->arena, free, enc);
    return enc;
}

static void user_answer(struct req *r, struct tenant *t, const char *username, int status)
{
    const char *json;
    int rc = store_user_json(&r->tx, t->id, username, &json);
    if (rc < 0)
        return;
    if (rc == 0) {
        admin_problem(r, 404, "no such user");
        return;
    }
    admin_answer_text(r, status, json);
}

void admin_user_get(struct req *r, const struct admin_call *c)
{
    user_answer(r, c->t, c->arg, 200);
}

static const char *check_username(json_t *v)
{
    const char *s = json_string_value(v);
    return text_printable_chars(s, AUTHZ_USERNAME_MAX) && !strchr(s, '/')
               ? NULL
               : "must be 1 to 200 printable characters without '/'";
}

static const char *check_password(json_t *v)
{
    size_t n = utf8_chars(json_string_value(v));
    return n >= 8 && n <= 1024 ? NULL : "must be 8 to 1024 characters";
}

/* POST .../users: a person (SPEC §7); scopes as in SPEC §3, an array */
static const struct body_member USER_CREATE_MEMBERS[] = {
    {"username", BT_STRING, BM_REQUIRED, check_username, "user name login"},
    {"password", BT_STRING, BM_REQUIRED, check_password, "pass passwd"},
    {"scopes", BT_ARRAY, 0, NULL, "scope"},
    {"id", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"updated_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec USER_CREATE_BODY = BODY_SPEC(USER_CREATE_MEMBERS);

/* PATCH .../users/{username}: the same members, each optional */
static const struct body_member USER_PATCH_MEMBERS[] = {
    /* SPEC §13 (admin/lifecycle.c) */
    {"status", BT_STRING, 0, lifecycle_check_status, "state disabled enabled"},
    {"username", BT_STRING, 0, check_username, "user name login"},
    {"password", BT_STRING, 0, check_password, "pass passwd"},
    {"scopes", BT_ARRAY, 0, NULL, "scope"},
    {"id", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"created_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
    {"updated_at", BT_ANY, BM_READ_ONLY, NULL, NULL},
};
static const struct body_spec USER_PATCH_BODY = BODY_SPEC(USER_PATCH_MEMBERS);

void admin_user_create(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    json_t *b = admin_read_body(r, &USER_CREATE_BODY);
    if (!b)
        return;
    const char *username = json_string_value(json_object_get(b, "username"));
    const char *pw = json_string_value(json_object_get(b, "password"));
    json_t *sc = json_object_get(b, "scopes");
    const char *scopes = "{}";
    if (sc && !(scopes = admin_scope_list(r, sc, "scopes"))) {
        /* answered */
    } else {
        char *hash = hash_password(r, pw);
        if (!hash) {
            admin_problem(r, 500, "password hashing failed");
        } else if (db_begin(&r->tx) == 0) {
            const char *id = NULL;
            int rc = store_user_insert(&r->tx, t->id, username, hash, scopes, &id);
            if (rc < 0) {
                admin_tx_refused(r, &USER_CREATE_BODY, "username");
            } else if (rc == 1) {
                db_rollback(&r->tx);
                admin_problem(r, 409, "username: a user with this username exists already");
            } else {
                admin_audit_change(r, t->id, who, "user.create", id);
                if (admin_tx_commit(r, t->id))
                    user_answer(r, t, username, 201);
            }
        }
    }
    json_decref(b);
}

/* What a change to a person ends: a new password ends their browser
 * sign-ins (SPEC §5); fewer scopes end the access tokens they hold now (a
 * person with read-only rights stays read-only, also in tokens already
 * issued: refresh and exchange issue the narrower scope from then on).
 * 0 or -1. */
static int person_change_ends(struct req *r, const char *tenant_id, const char *user_id,
                              bool new_password, const char *old_scopes_pg, const char *new_scopes_pg)
{
    if (new_password && store_sessions_end_for_user(&r->tx, tenant_id, user_id) < 0)
        return -1;
    if (new_scopes_pg) {
        const char **was, **now;
        int nwas = pgarray_parse(r->arena, old_scopes_pg, &was);
        int nnow = pgarray_parse(r->arena, new_scopes_pg, &now);
        struct scopeset a = {was, nwas}, b = {now, nnow};
        if (!scope_subset(&a, &b) &&
            revocation_record(&r->tx, tenant_id, REV_USER, user_id, revocation_horizon()) < 0)
            return -1;
    }
    return 0;
}

void admin_user_patch(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    const char *username = c->arg;
    json_t *b = admin_read_body(r, &USER_PATCH_BODY);
    if (!b)
        return;
    json_t *v;
    const char *nu = json_string_value(json_object_get(b, "username"));
    const char *hash = NULL, *scopes = NULL;
    if ((v = json_object_get(b, "scopes")) &&
        !(scopes = admin_scope_list(r, v, "scopes"))) {
        json_decref(b);
        return;
    }
    if ((v = json_object_get(b, "password")) && !(hash = hash_password(r, json_string_value(v)))) {
        admin_problem(r, 500, "password hashing failed");
        json_decref(b);
        return;
    }
    if (nu)
        nu = arena_strdup(r->arena, nu);
    json_t *lc_status = json_object_get(b, "status");
    if (lc_status)
        arena_defer(r->arena, json_release, json_incref(lc_status));
    json_decref(b);
    if (db_begin(&r->tx) < 0)
        return;
    const char *uid = NULL, *old_scopes = NULL;
    int rc = store_user_update(&r->tx, t->id, username, nu, hash, scopes, &uid, &old_scopes);
    if (rc < 0) {
        admin_tx_refused(r, &USER_PATCH_BODY, "username");
        return;
    }
    if (rc == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such user");
        return;
    }
    uid = arena_strdup(r->arena, uid);
    old_scopes = arena_strdup(r->arena, old_scopes);
    if (person_change_ends(r, t->id, uid, hash != NULL, old_scopes, scopes) < 0 ||
        lifecycle_person_patch_tx(r, who, t, uid, lc_status) < 0) {
        db_rollback(&r->tx);
        return;
    }
    admin_audit_change(r, t->id, who, "user.update", uid);
    if (admin_tx_commit(r, t->id))
        user_answer(r, t, nu ? nu : username, 200);
}

void admin_user_delete(struct req *r, const struct admin_call *c)
{
    const struct caller *who = c->who;
    struct tenant *t = c->t;
    const char *username = c->arg;
    if (db_begin(&r->tx) < 0)
        return;
    /* SPEC §13: deleting a person disables every agent the person owns
     * (before the row goes, which clears their owner) and ends what the
     * person holds (admin/lifecycle.c) */
    const char *sub = NULL;
    int found = store_person_lookup(&r->tx, t->id, NULL, username, &sub, NULL);
    if (found < 0 || (found == 1 && lifecycle_person_end_tx(r, who, t, sub, NULL, "deleted") < 0)) {
        db_rollback(&r->tx);
        return;
    }
    const char *uid = NULL;
    int rc = store_user_delete(&r->tx, t->id, username, &uid);
    if (rc < 0) {
        db_rollback(&r->tx);
        return;
    }
    if (rc == 0) {
        db_rollback(&r->tx);
        admin_problem(r, 404, "no such user");
        return;
    }
    /* SPEC §5: "Deleting or disabling a person ends every token, refresh
     * token, session and browser sign-in of that person": the rows go with
     * the person (ON DELETE CASCADE); the access tokens, which live only in
     * their bearers' hands, through a revocation every authzd holds */
    if (revocation_record(&r->tx, t->id, REV_USER, uid, revocation_horizon()) < 0) {
        db_rollback(&r->tx);
        return;
    }
    admin_audit_change(r, t->id, who, "user.delete", uid);
    if (admin_tx_commit(r, t->id))
        resp_set(r, 204, NULL, NULL, 0);
}

