/*
 * grant_exchange.c: RFC 8693 token exchange, authz's blended identity. The
 * issued token's sub stays the person; client_id and act name the agent that
 * calls (with the whole earlier actor chain nested inside act); its scope is
 * the intersection of everything that bounds it, so nothing ever widens and
 * a read-only person stays read-only through any chain of agents.
 *
 * Each rule of SPEC §4.4 is one named check below, with the RFC text it
 * implements quoted above the call.
 */
#include "oauth/oauth.h"
#include "oauth/grants.h"
#include "policy/delegation.h"
#include "policy/scope.h"
#include "policy/trust.h"
#include "storage/db.h"
#include "storage/store.h"
#include "http/metrics.h"
#include "cache.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TT_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define TT_JWT "urn:ietf:params:oauth:token-type:jwt"

/* What a presented token turned out to be. */
struct presented {
    bool ours;                 /* an access token of this tenant */
    json_t *claims;            /* ours: verified claims (owned) */
    const char *sub, *scope, *sid, *jti;
    int64_t exp;
    const json_t *act, *may_act;
    /* external (trust policy) */
    struct trust_result tr;
};

struct xctx {
    struct req *r;
    const struct form *f;
    const char *policy;        /* the rule that decided, for audit */
    const char **chain;
    int nchain;
    const char *subject;
};

static enum hres refuse(struct xctx *x, int status, const char *error, const char *why)
{
    struct req *r = x->r;
    resp_oauth_error(r, status, error, why);
    struct audit_event *e = audit_add(r, "token.exchanged", false);
    e->subject = x->subject;
    e->actor_chain = x->chain;
    e->nactors = x->nchain;
    e->reason = why;
    e->details = arena_sprintf(r->arena, "{\"grant_type\":\"token-exchange\",\"policy\":\"%s\"}",
                               x->policy ? x->policy : "refused");
    return H_DONE;
}

/* RFC 8693 §2.1: subject_token / actor_token of the declared type */
static bool known_type(const char *t)
{
    return t && (!strcmp(t, TT_ACCESS) || !strcmp(t, TT_JWT));
}

/* Reads one presented token: an active access token of this tenant, or (for
 * the jwt type) a JWT from an issuer a trust policy names for `use`. */
static enum hres read_token(struct xctx *x, const char *token, const char *type, const char *use,
                            struct presented *p, const char **why)
{
    struct req *r = x->r;
    memset(p, 0, sizeof *p);
    *why = NULL;
    if (strlen(token) > 16384 || !strchr(token, '.')) {
        *why = "not a JWT";
        return H_DONE;
    }
    /* our own tokens: iss is this tenant's issuer */
    char *slug = access_token_tenant_slug(r, token);
    if (slug) {
        if (strcmp(slug, r->tenant->slug) != 0) {
            *why = "token of another tenant";
            return H_DONE;
        }
        json_t *c = access_token_active(r->tenant, token);
        if (!c) {
            *why = "token is not active (invalid, expired or revoked)";
            return H_DONE;
        }
        p->ours = true;
        p->claims = c;
        p->sub = json_string_value(json_object_get(c, "sub"));
        p->scope = json_string_value(json_object_get(c, "scope"));
        p->sid = json_string_value(json_object_get(c, "sid"));
        p->jti = json_string_value(json_object_get(c, "jti"));
        p->exp = (int64_t)json_integer_value(json_object_get(c, "exp"));
        p->act = json_object_get(c, "act");
        p->may_act = json_object_get(c, "may_act");
        return H_DONE;
    }
    /* RFC 8693 §3: a JWT of another issuer is the "jwt" token type */
    if (strcmp(type, TT_JWT) != 0) {
        *why = "not an access token of this tenant";
        return H_DONE;
    }
    if (trust_verify(r, token, use, &p->tr) == H_BLOCK)
        return H_BLOCK;
    if (!p->tr.ok) {
        *why = p->tr.why ? p->tr.why : "no trust policy accepts this token";
        return H_DONE;
    }
    p->sub = p->tr.sub;
    p->scope = p->tr.scope;
    p->exp = p->tr.exp;
    p->may_act = p->tr.claims ? json_object_get(p->tr.claims, "may_act") : NULL;
    return H_DONE;
}

static void presented_free(struct presented *p)
{
    if (p->claims)
        json_decref(p->claims);
    if (p->tr.claims)
        json_decref(p->tr.claims);
    p->claims = NULL;
    p->tr.claims = NULL;
}

enum hres grant_token_exchange(struct req *r, const struct form *f)
{
    /* runs on the event loop while everything it reads is cached (tokens,
     * people, consents); a miss moves it to a database worker (H_BLOCK),
     * where it runs again from the start: nothing before a H_BLOCK has
     * side effects */
    struct tenant *t = r->tenant;
    struct client *c = r->client;
    struct xctx x = {.r = r, .f = f};
    const char *why;

    const char *subject_token = form_get(f, "subject_token");
    const char *subject_type = form_get(f, "subject_token_type");
    const char *actor_token = form_get(f, "actor_token");
    const char *actor_type = form_get(f, "actor_token_type");
    const char *requested_type = form_get(f, "requested_token_type");

    /* RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED;
     * actor_token_type is REQUIRED when actor_token is present and MUST NOT
     * be included otherwise */
    if (!subject_token || !subject_type)
        return refuse(&x, 400, "invalid_request", "subject_token and subject_token_type are required");
    if ((actor_token != NULL) != (actor_type != NULL))
        return refuse(&x, 400, "invalid_request", "actor_token and actor_token_type go together");
    if (!known_type(subject_type) || (actor_type && !known_type(actor_type)))
        return refuse(&x, 400, "invalid_request", "unsupported token type");
    /* RFC 8693 §2.1: requested_token_type — this server issues access tokens */
    if (requested_type && strcmp(requested_type, TT_ACCESS) && strcmp(requested_type, TT_JWT))
        return refuse(&x, 400, "invalid_request", "only access tokens are issued here");

    /* ---- the subject: who the token is about ---- */
    struct presented subj, act;
    memset(&act, 0, sizeof act);
    if (read_token(&x, subject_token, subject_type, "subject", &subj, &why) == H_BLOCK)
        return H_BLOCK;
    if (why)
        return refuse(&x, 400, "invalid_request", arena_sprintf(r->arena, "subject_token: %s", why));
    struct person person;
    int pf;
    if (person_lookup(r, t->id, subj.ours ? subj.sub : NULL, subj.ours ? NULL : subj.tr.username,
                      &person, &pf) == H_BLOCK) {
        presented_free(&subj);
        return H_BLOCK;
    }
    if (pf < 0) {
        presented_free(&subj);
        return H_DONE;
    }
    if (pf == 0) {
        presented_free(&subj);
        return refuse(&x, 400, "invalid_request", "subject_token: the subject is not a person of this tenant");
    }
    x.subject = person.id;
    /* subject scope: the token's scope, or (foreign tokens without one) the
     * person's own scopes */
    struct scopeset s_subject;
    if (subj.scope) {
        if (scope_parse(r->arena, subj.scope, &s_subject) < 0) {
            presented_free(&subj);
            return refuse(&x, 400, "invalid_request", "subject_token: malformed scope");
        }
    } else {
        s_subject.v = person.scopes;
        s_subject.n = person.nscopes;
    }

    /* ---- the actor: the calling agent ---- */
    const char *wid_iss = NULL, *wid_sub = NULL;
    bool impersonation = actor_token == NULL;
    if (!impersonation) {
        if (read_token(&x, actor_token, actor_type, "actor", &act, &why) == H_BLOCK) {
            presented_free(&subj);
            return H_BLOCK;
        }
        if (why) {
            presented_free(&subj);
            return refuse(&x, 400, "invalid_request", arena_sprintf(r->arena, "actor_token: %s", why));
        }
        /* SPEC §4.4: "The actor is the calling client: an actor access token
         * must have been issued to it, and a workload JWT must map (through
         * its trust policy) to it." */
        if (act.ours) {
            const char *acid = json_string_value(json_object_get(act.claims, "client_id"));
            if (!acid || strcmp(acid, c->client_id) != 0 || !act.sub ||
                strcmp(act.sub, c->client_id) != 0) {
                presented_free(&subj);
                presented_free(&act);
                return refuse(&x, 400, "invalid_request", "actor_token was not issued to the calling client");
            }
        } else {
            if (!act.tr.client_id || strcmp(act.tr.client_id, c->client_id) != 0) {
                presented_free(&subj);
                presented_free(&act);
                return refuse(&x, 400, "invalid_request", "actor_token maps to another agent");
            }
            wid_iss = act.tr.iss;
            wid_sub = act.tr.sub;
        }
    }

    /* RFC 8693 §4.4: "may_act ... the party identified ... is authorized to
     * act on behalf of the subject"; SPEC: a subject with may_act and no
     * actor_token is refused */
    if (subj.may_act) {
        if (impersonation) {
            presented_free(&subj);
            return refuse(&x, 400, "invalid_request", "subject_token has may_act: an actor_token is required");
        }
        if (!may_act_allows(subj.may_act, c->client_id, t->issuer)) {
            presented_free(&subj);
            presented_free(&act);
            return refuse(&x, 400, "invalid_request", "may_act of the subject_token does not name this actor");
        }
    }

    /* act chain: the current actor over the subject's own act, kept whole */
    int depth = act_depth(subj.act);
    if (depth < 0) {
        presented_free(&subj);
        presented_free(&act);
        return refuse(&x, 400, "invalid_request", "subject_token has a malformed act claim");
    }
    json_t *new_act = NULL;
    if (!impersonation) {
        if (depth + 1 > g_config->max_act_depth) {
            presented_free(&subj);
            presented_free(&act);
            return refuse(&x, 400, "invalid_request", "the actor chain is too deep");
        }
        new_act = act_nest(c->client_id, wid_iss, wid_sub, subj.act);
        x.nchain = act_chain(r->arena, new_act, &x.chain);
    } else {
        x.nchain = act_chain(r->arena, subj.act, &x.chain);
    }

    /* ---- who may act for whom ---- */
    struct scopeset s_person;
    if (impersonation) {
        /* SPEC §4.4: "Without an actor_token, exchange is impersonation: only
         * for clients with may_impersonate" */
        if (!c->may_impersonate) {
            presented_free(&subj);
            resp_oauth_error(r, 400, "unauthorized_client", "this client may not impersonate");
            x.policy = "impersonation-denied";
            struct audit_event *e = audit_add(r, "token.exchanged", false);
            e->subject = person.id;
            e->reason = "impersonation without may_impersonate";
            e->details = "{\"grant_type\":\"token-exchange\",\"impersonation\":true,\"policy\":\"impersonation-denied\"}";
            return H_DONE;
        }
        x.policy = "may_impersonate";
        s_person.v = person.scopes;
        s_person.n = person.nscopes;
    } else if (strlist_has(&c->can_act_for, person.username) || strlist_has(&c->can_act_for, "*")) {
        /* SPEC §4.4: "or when the agent's can_act_for lists the person's
         * username or "*"" — bounded by the person's own scopes */
        x.policy = "can_act_for";
        s_person.v = person.scopes;
        s_person.n = person.nscopes;
    } else {
        /* SPEC §4.4: "when the person consented to that agent" */
        const char **cs = NULL;
        int ncs = 0, found;
        if (consent_lookup(r, t->id, person.id, c->client_id, &cs, &ncs, &found) == H_BLOCK) {
            presented_free(&subj);
            presented_free(&act);
            json_decref(new_act);
            return H_BLOCK;
        }
        if (found < 0) {
            presented_free(&subj);
            presented_free(&act);
            json_decref(new_act);
            return H_DONE;
        }
        if (found == 0) {
            presented_free(&subj);
            presented_free(&act);
            json_decref(new_act);
            x.policy = "no-delegation";
            return refuse(&x, 400, "invalid_request", "this agent has no right to act for the person");
        }
        x.policy = "consent";
        s_person.v = cs;
        s_person.n = ncs;
        /* the person's own rights today still bound the consent */
        struct scopeset own = {person.scopes, person.nscopes};
        s_person = scope_intersect(r->arena, &s_person, &own);
    }

    /* ---- the target: resource and audience (RFC 8693 §2.1, RFC 8707) ---- */
    const char **res, **auds;
    int nres = form_get_all(r->arena, f, "resource", &res);
    int naud = form_get_all(r->arena, f, "audience", &auds);
    const char *target = NULL;
    if (nres + naud > 1) {
        bool same = true;
        const char *first = nres ? res[0] : auds[0];
        for (int i = 0; i < nres; i++)
            same = same && !strcmp(res[i], first);
        for (int i = 0; i < naud; i++)
            same = same && !strcmp(auds[i], first);
        if (!same) {
            presented_free(&subj);
            presented_free(&act);
            json_decref(new_act);
            return refuse(&x, 400, "invalid_target", "ask for one resource per access token");
        }
    }
    if (nres + naud >= 1)
        target = nres ? res[0] : auds[0];
    const struct resource *rs = NULL;
    if (target) {
        rs = tenant_resource(t, target);
        /* SPEC §4.4: "audience values, like resource values, must name
         * resources registered in the tenant" */
        if (!rs || (c->allowed_resources.n && !strlist_has(&c->allowed_resources, target))) {
            presented_free(&subj);
            presented_free(&act);
            json_decref(new_act);
            return refuse(&x, 400, "invalid_target", "unknown resource or audience, or not allowed to this agent");
        }
    } else if (subj.ours) {
        const char *saud = json_string_value(json_object_get(subj.claims, "aud"));
        rs = saud ? tenant_resource(t, saud) : NULL;
    }
    const char *aud = rs ? rs->uri : t->issuer;

    /* ---- scope: requested ∩ subject ∩ agent's allowed ∩ person's grant ---- */
    struct scopeset want;
    const char *scope_param = form_get(f, "scope");
    if (scope_parse(r->arena, scope_param, &want) < 0) {
        presented_free(&subj);
        presented_free(&act);
        json_decref(new_act);
        return refuse(&x, 400, "invalid_scope", "malformed scope");
    }
    if (!scope_param)
        want = s_subject;
    struct scopeset result = scope_intersect(r->arena, &want, &s_subject);
    if (c->allowed_scopes.n) {
        struct scopeset allowed = scope_from_list(c->allowed_scopes.v, c->allowed_scopes.n);
        result = scope_intersect(r->arena, &result, &allowed);
    }
    result = scope_intersect(r->arena, &result, &s_person);
    if (rs) {
        struct scopeset rsc = scope_from_list(rs->scopes.v, rs->scopes.n);
        result = scope_intersect(r->arena, &result, &rsc);
    }
    if (result.n == 0) {
        presented_free(&subj);
        presented_free(&act);
        json_decref(new_act);
        return refuse(&x, 400, "invalid_scope", "no scope is left after intersecting every bound");
    }
    char *scope = scope_join(r->arena, &result);

    /* ---- mint: exp ≤ subject's exp; the grant (and session) carry over ---- */
    char jti[64];
    char gid[32] = "";
    if (subj.ours && subj.jti)
        jti_grant(subj.jti, gid);
    if (gid[0])
        grant_jti(gid, jti);
    else
        crypto_random_id(jti, 16);
    char *act_json = new_act ? json_dumps(new_act, JSON_COMPACT) : NULL;
    if (impersonation && subj.act)
        act_json = json_dumps(subj.act, JSON_COMPACT);
    struct token_claims tc = {
        .sub = person.id,
        .client_id = c->client_id,
        .aud = aud,
        .scope = scope,
        .sid = subj.sid ? arena_strdup(r->arena, subj.sid) : NULL,
        .act_json = act_json ? arena_strdup(r->arena, act_json) : NULL,
        .exp_cap = (long)subj.exp,
        .jti = jti,
    };
    free(act_json);
    json_decref(new_act);
    struct minted m;
    int rc = mint_access_token(r, t, &tc, &m);
    const char *subject_iss = subj.ours ? t->issuer : subj.tr.iss;
    const char *subject_policy = subj.ours ? NULL : subj.tr.policy;
    const char *actor_policy = act.ours || impersonation ? NULL : act.tr.policy;
    presented_free(&subj);
    presented_free(&act);
    if (rc < 0) {
        resp_oauth_error(r, 500, "server_error", "signing failed");
        return H_DONE;
    }
    struct audit_event *e = audit_add(r, "token.exchanged", true);
    e->subject = person.id;
    e->actor_chain = x.chain;
    e->nactors = x.nchain;
    e->session_id = tc.sid;
    e->scope = scope;
    e->resources = arena_alloc(r->arena, sizeof(char *));
    e->resources[0] = aud;
    e->nresources = 1;
    struct strbuf d;
    sb_init(&d);
    sb_printf(&d, "{\"grant_type\":\"token-exchange\",\"impersonation\":%s,\"policy\":",
              impersonation ? "true" : "false");
    sb_json_str(&d, x.policy);
    sb_puts(&d, ",\"subject_issuer\":");
    sb_json_str(&d, subject_iss ? subject_iss : "");
    if (subject_policy) {
        sb_puts(&d, ",\"subject_trust_policy\":");
        sb_json_str(&d, subject_policy);
    }
    if (actor_policy) {
        sb_puts(&d, ",\"actor_trust_policy\":");
        sb_json_str(&d, actor_policy);
        sb_puts(&d, ",\"workload\":{\"iss\":");
        sb_json_str(&d, wid_iss ? wid_iss : "");
        sb_puts(&d, ",\"sub\":");
        sb_json_str(&d, wid_sub ? wid_sub : "");
        sb_putc(&d, '}');
    }
    sb_printf(&d, ",\"jti\":\"%s\"}", m.jti);
    e->details = arena_strdup(r->arena, d.buf);
    sb_free(&d);
    metrics_token_issued("token_exchange");
    /* RFC 8693 §2.2.1: issued_token_type is REQUIRED; no refresh token */
    token_response(r, &m, scope, NULL,
                   ",\"issued_token_type\":\"urn:ietf:params:oauth:token-type:access_token\"");
    return H_DONE;
}
