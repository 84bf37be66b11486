/*
 * grant_jwt_bearer.c: the JWT bearer grant (RFC 7523 §2.1,
 * grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer) with the two
 * profiles of SPEC §11, both decided by the tenant's trust policies:
 *
 * - Enterprise-managed authorization (ID-JAG,
 *   draft-ietf-oauth-identity-assertion-authz-grant): an authenticated
 *   client presents an identity assertion authorization grant (header typ
 *   oauth-id-jag+jwt) from an issuer a trust policy names with use "id-jag".
 *   The token is the mapped person's, for the assertion's resource, with
 *   scope = requested ∩ assertion ∩ the person's ∩ the client's
 *   allowed_scopes; its jti is used once per issuer; no refresh token.
 * - Workload identity (secretless agents): a workload JWT (Kubernetes,
 *   SPIFFE, CI OIDC) from an issuer a trust policy names with use "actor"
 *   and maps_to_client. No client authentication is needed (token.c asks
 *   jwt_bearer_workload_client for the client); the token is issued to that
 *   client as client credentials would issue it.
 *
 * Every refusal is RFC 7523 §3.1's invalid_grant (invalid_scope,
 * invalid_target where RFC 6749 / RFC 8707 say so) with a description, and a
 * token.issued audit row with success false, the profile and the reason.
 * Verification happens before anything is written: the single write (the
 * jti) comes last, on a worker.
 */
#include "oauth/oauth.h"
#include "oauth/trust_verify.h"
#include "oauth/cimd.h"
#include "crypto/jwt.h"
#include "policy/scope.h"
#include "policy/delegation.h"
#include "storage/db.h"
#include "storage/store.h"
#include "storage/trust.h"
#include "metrics.h"
#include "cache.h"

#include <string.h>
#include <strings.h>
#include <time.h>

/* draft-ietf-oauth-identity-assertion-authz-grant §3.1: "typ" */
#define ID_JAG_TYP "oauth-id-jag+jwt"

/* The refusal: answer and audit row (token.issued, success false). */
static enum hres refuse(struct req *r, const char *profile, const char *policy, int status,
                        const char *error, const char *why)
{
    resp_oauth_error(r, status, error, why);
    struct audit_event *e = audit_add(r, "token.issued", false);
    e->reason = why;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"grant_type\":\"" GT_JWT_BEARER "\",\"profile\":");
    sb_json_str(&sb, profile);
    if (policy) {
        sb_puts(&sb, ",\"policy\":");
        sb_json_str(&sb, policy);
    }
    sb_puts(&sb, ",\"error\":");
    sb_json_str(&sb, error);
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
    return H_DONE;
}

/* trust_verify for use, refusing (invalid_grant, audited under profile)
 * what no policy accepts: H_BLOCK, or H_DONE with out->ok (out->ok false:
 * answered, or r->tx.down). */
static enum hres verify(struct req *r, const char *assertion, const char *use,
                        const char *profile, struct trust_result *out)
{
    if (trust_verify(r, assertion, use, out) == H_BLOCK)
        return H_BLOCK;
    if (r->tx.down) {
        if (out->ok)
            json_decref(out->claims);
        out->ok = false;
        return H_DONE;
    }
    if (!out->ok)
        refuse(r, profile, out->policy, 400, "invalid_grant",
               arena_sprintf(r->arena, "assertion: %s",
                             out->why ? out->why : "no trust policy accepts it"));
    return H_DONE;
}

/* The assertion's JOSE header typ, or NULL (the JWT is not parsed further
 * here: trust_verify checks everything else). */
static const char *assertion_typ(struct req *r, const char *assertion)
{
    struct jwt j;
    const char *why;
    if (jwt_parse(assertion, strlen(assertion), &j, &why) < 0)
        return NULL;
    const char *typ = json_string_value(json_object_get(j.header, "typ"));
    const char *out = typ ? arena_strdup(r->arena, typ) : NULL;
    jwt_free(&j);
    return out;
}

/* RFC 7523 §2.1: "The value of the "assertion" parameter MUST contain a
 * single JWT." */
static const char *the_assertion(struct req *r, const struct form *f)
{
    const char **v;
    int n = form_get_all(r->arena, f, "assertion", &v);
    return n == 1 && *v[0] ? v[0] : NULL;
}

enum hres jwt_bearer_workload_client(struct req *r, const struct form *f)
{
    /* a handler re-run on a database worker finds the client again */
    if (r->client) {
        client_release(r->client);
        r->client = NULL;
    }
    const char *assertion = the_assertion(r, f);
    if (!assertion) {
        resp_oauth_error(r, 400, "invalid_request", "assertion is required, once");
        return H_DONE;
    }
    /* an ID-JAG is the calling client's; only a workload JWT names its
     * client itself (SPEC §11) */
    const char *typ = assertion_typ(r, assertion);
    if (typ && !strcasecmp(typ, ID_JAG_TYP)) {
        struct audit_event *e = audit_add(r, "client_auth.failed", false);
        e->reason = "an ID-JAG was presented without client authentication";
        resp_oauth_error(r, 401, "invalid_client",
                         "an identity assertion authorization grant needs client authentication");
        return H_DONE;
    }
    struct trust_result tr;
    if (verify(r, assertion, "actor", "workload", &tr) == H_BLOCK)
        return H_BLOCK;
    if (!tr.ok)
        return H_DONE;
    json_decref(tr.claims);
    struct client *c = NULL;
    if (!cache_client(&r->tx, r->can_block, r->tenant, tr.client_id, &c))
        return H_BLOCK;
    if (r->tx.down)
        return H_DONE;
    if (!c)
        return refuse(r, "workload", tr.policy, 400, "invalid_grant",
                      "assertion: the trust policy maps it to a client that does not exist");
    /* RFC 6749 §4.4: tokens of a client acting as itself go to
     * confidential clients only */
    if (!strcmp(c->auth_method, "none")) {
        client_release(c);
        return refuse(r, "workload", tr.policy, 400, "unauthorized_client",
                      "a public client cannot be a workload identity's");
    }
    r->client = c;
    return H_DONE;
}

/* SPEC §11 workload identity: the token goes to the client the policy maps
 * the workload to, which must be the calling client when one authenticated. */
static enum hres workload(struct req *r, const struct form *f, const char *assertion)
{
    struct trust_result tr;
    if (verify(r, assertion, "actor", "workload", &tr) == H_BLOCK)
        return H_BLOCK;
    if (!tr.ok)
        return H_DONE;
    json_decref(tr.claims);
    if (strcmp(tr.client_id, r->client->client_id) != 0)
        return refuse(r, "workload", tr.policy, 400, "invalid_grant",
                      "assertion: the workload identity is another client's");
    if (!strcmp(r->client->auth_method, "none"))
        return refuse(r, "workload", tr.policy, 400, "unauthorized_client",
                      "a public client cannot be a workload identity's");
    return grant_client_issue(r, f, GT_JWT_BEARER);
}

/* The resource claim of an ID-JAG: one absolute URI (a string, or an array
 * of exactly one). NULL when absent or of another shape. */
static const char *claim_resource(const json_t *claims)
{
    const json_t *v = json_object_get(claims, "resource");
    if (json_is_array(v) && json_array_size(v) == 1)
        v = json_array_get(v, 0);
    return json_string_value(v);
}

/* SPEC §11 enterprise-managed authorization (ID-JAG). */
static enum hres id_jag(struct req *r, const struct form *f, const char *assertion)
{
    struct tenant *t = r->tenant;
    struct client *c = r->client;
    const char *P = "id-jag";

    struct trust_result tr;
    if (verify(r, assertion, "id-jag", P, &tr) == H_BLOCK)
        return H_BLOCK;
    if (!tr.ok)
        return H_DONE;
    json_t *claims = tr.claims;
    arena_defer(r->arena, (void (*)(void *))json_decref, claims);

    /* draft-ietf-oauth-identity-assertion-authz-grant §4.3 / RFC 7523 §3:
     * aud identifies this authorization server (its issuer) */
    if (!jwt_aud_has(claims, t->issuer))
        return refuse(r, P, tr.policy, 400, "invalid_grant",
                      "assertion: aud is not this authorization server's issuer");
    /* "client_id: ... MUST match the client authenticated by the request" */
    const char *cid = jwt_claim_str(claims, "client_id");
    if (!cid || strcmp(cid, c->client_id) != 0)
        return refuse(r, P, tr.policy, 400, "invalid_grant",
                      "assertion: client_id is not the authenticated client");
    /* jti, iat (exp was required by the policy's checks) */
    const char *jti = jwt_claim_str(claims, "jti");
    if (!jti || !*jti || strlen(jti) > 256)
        return refuse(r, P, tr.policy, 400, "invalid_grant", "assertion: jti is required");
    int64_t iat = 0;
    if (jwt_claim_date(claims, "iat", &iat) != 1)
        return refuse(r, P, tr.policy, 400, "invalid_grant", "assertion: iat is required");

    /* the resource: the assertion's, a resource of this tenant (and the
     * request's resource parameter, when sent, names the same) */
    const char *resource = claim_resource(claims);
    const struct resource *target = resource ? tenant_resource(t, resource) : NULL;
    if (!target)
        return refuse(r, P, tr.policy, 400, "invalid_grant",
                      "assertion: resource is missing or not a resource of this tenant");
    const char **rq;
    int nrq = form_get_all(r->arena, f, "resource", &rq);
    if (nrq > 1 || (nrq == 1 && strcmp(rq[0], resource) != 0) ||
        (nrq == 0 && form_present(f, "resource")))
        return refuse(r, P, tr.policy, 400, "invalid_target",
                      "resource must be the assertion's resource");
    if (c->allowed_resources.n > 0 && !strlist_has(&c->allowed_resources, resource))
        return refuse(r, P, tr.policy, 400, "invalid_target",
                      "the assertion's resource is not allowed to this client");

    /* scope: requested ∩ assertion ∩ the person's ∩ the client's */
    struct scopeset asc, want;
    const char *ascope = jwt_claim_str(claims, "scope");
    if (!ascope || scope_parse(r->arena, ascope, &asc) < 0 || asc.n == 0)
        return refuse(r, P, tr.policy, 400, "invalid_grant",
                      "assertion: scope is missing or malformed");
    const char *scope_param = form_get(f, "scope");
    if (scope_parse(r->arena, scope_param, &want) < 0)
        return refuse(r, P, tr.policy, 400, "invalid_scope", "malformed scope");
    scope_drop_unissued(&want);

    /* the person the assertion names (the policy's user_claim) */
    struct person person;
    int pf;
    if (person_lookup(r, t->id, NULL, tr.username, &person, &pf) == H_BLOCK)
        return H_BLOCK;
    if (pf < 0) {
        r->tx.down = true;
        return H_DONE;
    }
    if (pf == 0)
        return refuse(r, P, tr.policy, 400, "invalid_grant",
                      "assertion: the person it names is not a person of this tenant");

    struct scopeset granted = asc;
    if (want.n > 0)
        granted = scope_intersect(r->arena, &want, &granted);
    struct scopeset ps = {person.scopes, person.nscopes};
    granted = scope_intersect(r->arena, &granted, &ps);
    if (c->allowed_scopes.n > 0) {
        struct scopeset cs = scope_from_list(c->allowed_scopes.v, c->allowed_scopes.n);
        granted = scope_intersect(r->arena, &granted, &cs);
    }
    struct scopeset rs = scope_from_list(target->scopes.v, target->scopes.n);
    granted = scope_intersect(r->arena, &granted, &rs);
    if (granted.n == 0)
        return refuse(r, P, tr.policy, 400, "invalid_scope",
                      "no scope of the assertion is available to this person and client");
    char *scope = scope_join(r->arena, &granted);

    /* RFC 7523 §3 item 7: the jti once per issuer, across authzd nodes (the
     * only write, on a worker) */
    if (!r->can_block)
        return H_BLOCK;
    int64_t exp = tr.exp;
    int used = store_grant_jti_use(&r->tx, t->id, tr.iss, jti, exp);
    if (used < 0) {
        r->tx.down = true;
        return H_DONE;
    }
    if (used == 0)
        return refuse(r, P, tr.policy, 400, "invalid_grant",
                      "assertion: its jti was used before (replay)");

    /* the token rests on the policy that accepted the assertion: deleting
     * or replacing it ends the token (admin/trust.c, REV_TRUST) */
    const char **lineage = arena_alloc(r->arena, sizeof(char *));
    lineage[0] = lineage_key(r->arena, LIN_TRUST, tr.policy);
    struct token_claims tc = {
        .sub = person.id,
        .client_id = c->client_id,
        .aud = target->uri,
        .scope = scope,
        .lineage = lineage,
        .nlineage = 1,
    };
    struct minted m;
    if (mint_access_token(r, t, &tc, &m) < 0) {
        resp_oauth_error(r, 500, "server_error", "signing failed");
        return H_DONE;
    }
    struct audit_event *e = audit_add(r, "token.issued", true);
    e->subject = person.id;
    e->scope = scope;
    e->resources = arena_alloc(r->arena, sizeof(char *));
    e->resources[0] = target->uri;
    e->nresources = 1;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"grant_type\":\"" GT_JWT_BEARER "\",\"profile\":\"id-jag\",\"policy\":");
    sb_json_str(&sb, tr.policy);
    sb_puts(&sb, ",\"assertion_iss\":");
    sb_json_str(&sb, tr.iss);
    sb_printf(&sb, ",\"jti\":\"%s\"}", m.jti);
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
    metrics_token_issued(GT_JWT_BEARER);
    /* SPEC §11: "no refresh token" */
    token_response(r, &m, scope, NULL, NULL);
    return H_DONE;
}

enum hres grant_jwt_bearer(struct req *r, const struct form *f)
{
    const char *assertion = the_assertion(r, f);
    if (!assertion) {
        resp_oauth_error(r, 400, "invalid_request", "assertion is required, once");
        return H_DONE;
    }
    if (strlen(assertion) > 16384)
        return refuse(r, "unknown", NULL, 400, "invalid_grant", "assertion: too large");
    const char *typ = assertion_typ(r, assertion);
    if (typ && !strcasecmp(typ, ID_JAG_TYP))
        return id_jag(r, f, assertion);
    return workload(r, f, assertion);
}
