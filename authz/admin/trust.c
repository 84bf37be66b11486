/*
 * trust.c: the trust-policies collection of the tenant admin API (SPEC §7):
 *
 *   PUT    /admin/v1/tenants/{t}/trust-policies/{name}  create (201) or replace (200)
 *   GET    /admin/v1/tenants/{t}/trust-policies/{name}
 *   DELETE /admin/v1/tenants/{t}/trust-policies/{name}  204
 *   GET    /admin/v1/tenants/{t}/trust-policies         {"trust_policies":[...]}
 *
 * A policy names an external issuer whose JWTs the tenant accepts in token
 * exchange: as workload identities of an agent client (use "actor",
 * maps_to_client) or as people (use "subject", user_claim). The body is read
 * with its member table (admin/body.h) and every member is validated before
 * anything is written; errors are RFC 9457 problems; each change writes its
 * admin.changed audit row in the same transaction, and the table's trigger
 * tells every authzd to drop its cached policies.
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "crypto/jwt.h"
#include "policy/uri.h"
#include "http/http.h"
#include "policy/trust.h"
#include "oauth/trust_verify.h"
#include "storage/db.h"
#include "storage/trust.h"
#include "storage/grants.h"
#include "revset.h"
#include "util/text.h"
#include "cache.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>



/* The plain string members: each a non-empty printable string of at most
 * max characters; an optional one may be absent or null. */
struct str_member {
    const char *key;
    bool required;
    size_t max;
    size_t offset;             /* into struct trust_policy_doc */
};

static const struct str_member STR_MEMBERS[] = {
    {"issuer", true, 1000, offsetof(struct trust_policy_doc, issuer)},
    {"audience", true, 1000, offsetof(struct trust_policy_doc, audience)},
    {"subject_pattern", false, 1000, offsetof(struct trust_policy_doc, subject_pattern)},
    {"maps_to_client", false, 255, offsetof(struct trust_policy_doc, maps_to_client)},
    {"user_claim", false, 200, offsetof(struct trust_policy_doc, user_claim)},
};

/* The members of a policy document and their JSON types; policy_validate()
 * checks the values and how they go together. name, created_at and
 * updated_at may be present (a document read with GET may be PUT back):
 * name must be the path's, the times are ignored. */
static const struct body_member POLICY_MEMBERS[] = {
    {"name", BT_STRING, 0, NULL, NULL},
    {"issuer", BT_STRING, BM_REQUIRED, NULL, "iss"},
    {"jwks", BT_OBJECT | BT_NULL, 0, NULL, "keys"},
    {"jwks_uri", BT_STRING | BT_NULL, 0, NULL, "jwks_url"},
    {"audience", BT_STRING, BM_REQUIRED, NULL, "aud"},
    {"subject_pattern", BT_STRING | BT_NULL, 0, NULL, "sub subject"},
    {"required_claims", BT_OBJECT | BT_NULL, 0, NULL, "claims"},
    {"max_token_age", BT_INTEGER | BT_NULL, 0, NULL, "max_age"},
    {"use", BT_ARRAY, BM_REQUIRED, NULL, "uses"},
    {"maps_to_client", BT_STRING | BT_NULL, 0, NULL, "client client_id"},
    {"user_claim", BT_STRING | BT_NULL, 0, NULL, NULL},
    {"created_at", BT_ANY, 0, NULL, NULL},
    {"updated_at", BT_ANY, 0, NULL, NULL},
};
static const struct body_spec POLICY_BODY = BODY_SPEC(POLICY_MEMBERS);

/* Validates a whole policy document (SPEC §7) into d (strings in r's arena
 * or borrowed from b). false with the 400 answer set. */
static bool policy_validate(struct req *r, const char *name, json_t *b, struct trust_policy_doc *d)
{
    json_t *v;
    /* the name is the path's; a document read with GET may be PUT back, so
     * name, created_at and updated_at may be present (read-only) */
    v = json_object_get(b, "name");
    if (v && !(json_is_string(v) && !strcmp(json_string_value(v), name))) {
        admin_problem(r, 400, "name differs from the policy named in the path");
        return false;
    }

    for (size_t i = 0; i < sizeof STR_MEMBERS / sizeof STR_MEMBERS[0]; i++) {
        const struct str_member *m = &STR_MEMBERS[i];
        v = json_object_get(b, m->key);
        if (!v || json_is_null(v)) {
            if (m->required) {
                admin_problem(r, 400, arena_sprintf(r->arena, "%s is required", m->key));
                return false;
            }
            continue;
        }
        const char *s = json_string_value(v);
        if (!s || !text_printable_chars(s, m->max)) {
            admin_problem(r, 400,
                          arena_sprintf(r->arena,
                                        "%s must be a non-empty string of at most %zu printable "
                                        "characters",
                                        m->key, m->max));
            return false;
        }
        *(const char **)((char *)d + m->offset) = s;
    }

    /* SPEC §7: "jwks (a JWK Set) or jwks_uri (https, or http on loopback)" */
    json_t *jwks = json_object_get(b, "jwks");
    json_t *juri = json_object_get(b, "jwks_uri");
    if (jwks && json_is_null(jwks))
        jwks = NULL;
    if (juri && json_is_null(juri))
        juri = NULL;
    if (!jwks && !juri) {
        admin_problem(r, 400, "jwks or jwks_uri is required");
        return false;
    }
    if (jwks && juri) {
        admin_problem(r, 400, "give jwks or jwks_uri, not both");
        return false;
    }
    if (jwks) {
        const char *why = NULL;
        struct jwks *ks = jwks_parse(jwks, JWKS_STRICT | JWKS_NO_PRIVATE, &why);
        if (!ks) {
            admin_problem(r, 400, arena_sprintf(r->arena, "jwks: %s", why));
            return false;
        }
        jwks_release(ks);
        char *s = json_dumps(jwks, JSON_COMPACT);
        if (!s || strlen(s) > AUTHZ_TRUST_JWKS_BYTES_MAX) {
            free(s);
            admin_problem(r, 400, "jwks is too large");
            return false;
        }
        d->jwks = arena_strdup(r->arena, s);
        free(s);
    } else {
        const char *s = json_string_value(juri);
        struct uri u;
        const char *why = "jwks_uri must be a string";
        if (!s || uri_endpoint_check(s, &u, &why) < 0) {
            admin_problem(r, 400, arena_sprintf(r->arena, "jwks_uri: %s", why));
            return false;
        }
        d->jwks_uri = s;
    }

    /* SPEC §7 required_claims: top-level claim -> exact string value */
    v = json_object_get(b, "required_claims");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v) || json_object_size(v) > AUTHZ_TRUST_CLAIMS_MAX) {
            admin_problem(r, 400,
                          "required_claims must be an object of at most 50 claim names with "
                          "string values");
            return false;
        }
        const char *ck;
        json_t *cv;
        json_object_foreach(v, ck, cv)
        {
            const char *s = json_string_value(cv);
            /* no control characters: the values end up in logs and audit details */
            if (!*ck || !text_printable(ck, AUTHZ_TRUST_CLAIM_NAME_MAX) ||
                !text_printable(s, AUTHZ_TRUST_CLAIM_VALUE_MAX)) {
                admin_problem(r, 400,
                              arena_sprintf(r->arena,
                                            "required_claims['%.64s'] must be a string (claim "
                                            "name and value printable)",
                                            ck));
                return false;
            }
        }
        char *s = json_dumps(v, JSON_COMPACT);
        d->required_claims = arena_strdup(r->arena, s ? s : "{}");
        free(s);
    } else {
        d->required_claims = "{}";
    }

    /* SPEC §7 max_token_age: seconds since iat, a positive integer */
    v = json_object_get(b, "max_token_age");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > 2147483647) {
            admin_problem(r, 400, "max_token_age must be a positive integer (seconds)");
            return false;
        }
        d->max_token_age = arena_sprintf(r->arena, "%lld", (long long)json_integer_value(v));
    }

    /* SPEC §7 use: ["actor"], ["subject"] or both; SPEC §11 adds "id-jag"
     * (identity assertion authorization grants at the JWT bearer grant) */
    static const char USE_MSG[] = "use must be one to three of \"actor\", \"subject\" and "
                                  "\"id-jag\", each once";
    v = json_object_get(b, "use");
    bool actor = false, subject = false, id_jag = false;
    if (!v || json_is_null(v)) {
        admin_problem(r, 400, "use is required");
        return false;
    }
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > 3) {
        admin_problem(r, 400, USE_MSG);
        return false;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (s && !strcmp(s, "actor") && !actor)
            actor = true;
        else if (s && !strcmp(s, "subject") && !subject)
            subject = true;
        else if (s && !strcmp(s, "id-jag") && !id_jag)
            id_jag = true;
        else {
            admin_problem(r, 400, USE_MSG);
            return false;
        }
    }
    d->use = arena_sprintf(r->arena, "{%s%s%s%s%s}", actor ? "actor" : "",
                           actor && (subject || id_jag) ? "," : "", subject ? "subject" : "",
                           subject && id_jag ? "," : "", id_jag ? "id-jag" : "");

    /* SPEC §7: "the member its use needs": maps_to_client for actor,
     * user_claim for subject (and neither without its use) */
    if (actor && !d->maps_to_client) {
        admin_problem(r, 400, "maps_to_client is required when use has actor");
        return false;
    }
    if (!actor && d->maps_to_client) {
        admin_problem(r, 400, "maps_to_client applies to use actor only");
        return false;
    }
    if ((subject || id_jag) && !d->user_claim) {
        admin_problem(r, 400, subject ? "user_claim is required when use has subject"
                                      : "user_claim is required when use has id-jag");
        return false;
    }
    if (!subject && !id_jag && d->user_claim) {
        admin_problem(r, 400, "user_claim applies to use subject or id-jag only");
        return false;
    }
    return true;
}

static void answer_policy(struct req *r, struct tenant *t, const char *name, int status)
{
    const char *json = NULL;
    int rc = store_trust_get(&r->tx, t->id, name, &json);
    if (rc < 0) {
        if (!r->tx.down)
            admin_problem(r, 500, "the trust policy could not be read");
        return;
    }
    if (rc == 0) {
        admin_problem(r, 404, "no such trust policy");
        return;
    }
    resp_json(r, status, strdup(json));
    resp_header(r, "Cache-Control", "no-store");
    if (status == 201)
        resp_header(r, "Location",
                    arena_sprintf(r->arena, "/admin/v1/tenants/%s/trust-policies/%s", t->slug, name));
}

static void policy_put(struct req *r, const struct caller *who, struct tenant *t, const char *name)
{
    /* SPEC §7 / migration 003: name is [a-z0-9][a-z0-9._-]{0,62} */
    if (!trust_policy_name_valid(name)) {
        admin_problem(r, 400, "a trust policy name must match [a-z0-9][a-z0-9._-]{0,62}");
        return;
    }
    json_t *b = admin_read_body(r, &POLICY_BODY);
    if (!b)
        return;
    struct trust_policy_doc d = {0};
    d.tenant_id = t->id;
    d.name = name;
    if (!policy_validate(r, name, b, &d)) {
        json_decref(b);
        return;
    }
    if (db_begin(&r->tx) < 0) {
        json_decref(b);
        return;
    }
    /* SPEC §7 maps_to_client: "the agent client_id", a client of this tenant */
    if (d.maps_to_client) {
        int ex = store_trust_client_exists(&r->tx, t->id, d.maps_to_client);
        if (ex <= 0) {
            db_rollback(&r->tx);
            if (ex == 0)
                admin_problem(r, 400, "maps_to_client names no client of this tenant");
            else if (!r->tx.down)
                admin_problem(r, 500, "the client could not be looked up");
            json_decref(b);
            return;
        }
    }
    int created = store_trust_put(&r->tx, &d);
    json_decref(b); /* d borrowed strings from b */
    if (created < 0) {
        admin_tx_refused(r, &POLICY_BODY, NULL);
        return;
    }
    /* tokens issued under the policy (the JWT bearer grant, SPEC §11) rest
     * on it: replacing it ends them (a standing revocation: tokens issued
     * under the new one live) */
    if (!created && revocation_record(&r->tx, t->id, REV_TRUST, name, revocation_horizon()) < 0) {
        admin_tx_refused(r, &POLICY_BODY, NULL);
        return;
    }
    admin_audit_change(r, t->id, who, created ? "trust_policy.create" : "trust_policy.update", name);
    if (!admin_tx_commit(r, t->id))
        return;
    answer_policy(r, t, name, created ? 201 : 200);
}

static void policy_delete(struct req *r, const struct caller *who, struct tenant *t, const char *name)
{
    if (!trust_policy_name_valid(name)) {
        admin_problem(r, 404, "no such trust policy");
        return;
    }
    if (db_begin(&r->tx) < 0)
        return;
    int rc = store_trust_delete(&r->tx, t->id, name);
    if (rc <= 0) {
        db_rollback(&r->tx);
        if (rc == 0)
            admin_problem(r, 404, "no such trust policy");
        else if (!r->tx.down)
            admin_problem(r, 500, "the trust policy could not be deleted");
        return;
    }
    /* and deleting it ends them too */
    if (revocation_record(&r->tx, t->id, REV_TRUST, name, revocation_horizon()) < 0) {
        db_rollback(&r->tx);
        return;
    }
    admin_audit_change(r, t->id, who, "trust_policy.delete", name);
    if (admin_tx_commit(r, t->id))
        resp_set(r, 204, NULL, NULL, 0);
}

static void policy_list(struct req *r, struct tenant *t)
{
    const char *json = NULL;
    if (store_trust_list(&r->tx, t->id, &json) < 0) {
        if (!r->tx.down)
            admin_problem(r, 500, "the trust policies could not be read");
        return;
    }
    resp_json(r, 200, strdup(json));
    resp_header(r, "Cache-Control", "no-store");
}

void admin_trust_list(struct req *r, const struct admin_call *c)
{
    policy_list(r, c->t);
}

void admin_trust_get(struct req *r, const struct admin_call *c)
{
    if (!trust_policy_name_valid(c->arg))
        admin_problem(r, 404, "no such trust policy");
    else if (admin_no_body(r))
        answer_policy(r, c->t, c->arg, 200);
}

void admin_trust_put(struct req *r, const struct admin_call *c)
{
    policy_put(r, c->who, c->t, c->arg);
}

void admin_trust_delete(struct req *r, const struct admin_call *c)
{
    policy_delete(r, c->who, c->t, c->arg);
}
