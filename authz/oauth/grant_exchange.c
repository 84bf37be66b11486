/*
 * grant_exchange.c: RFC 8693 token exchange, authz's blended identity. The
 * issued token's sub stays the person; client_id and act name the agent that
 * calls (with the whole earlier actor chain nested inside act).
 *
 * This handler only gathers facts: the request's shape (RFC 8693 §2.1), the
 * verified subject and actor tokens, the person, the person's consent to the
 * agent and, when no cheaper right allows it, the agent's live sessions for
 * the person. policy/delegation.c decides (every rule of SPEC §4.4 is a named
 * check there); this file mints what the decision says and writes one audit
 * row from it.
 *
 * It runs on the event loop while everything it reads is cached (tokens,
 * people, consents); a miss moves it to a database worker (H_BLOCK), where
 * it runs again from the start: nothing before a H_BLOCK has side effects.
 */
#include "oauth/oauth.h"
#include "storage/grants.h"
#include "policy/delegation.h"
#include "policy/scope.h"
#include "policy/trust.h"
#include "oauth/trust_verify.h"
#include "storage/db.h"
#include "storage/store.h"
#include "metrics.h"
#include "cache.h"
#include "config.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GT_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
#define TT_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define TT_JWT "urn:ietf:params:oauth:token-type:jwt"

/* What a presented token turned out to be. Its jansson references belong to
 * the request's arena. */
struct presented {
    bool ours;                 /* an access token of this tenant */
    const json_t *claims;      /* ours: verified claims; external: the JWT's claims */
    const char *sub;
    struct trust_result tr;    /* external (trust policy) */
};

static void json_release(void *p)
{
    json_decref(p);
}

/* The audit row of a refusal, and the answer. */
static enum hres refuse_row(struct req *r, const char *subject, const struct deleg_decision *d,
                            int status, const char *error, const char *rule, const char *why)
{
    resp_oauth_error(r, status, error, why);
    struct audit_event *e = audit_add(r, "token.exchanged", false);
    e->subject = subject;
    if (d) {
        e->actor_chain = d->chain;
        e->nactors = d->nchain;
        e->session_id = d->sid;
    }
    e->reason = why;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"grant_type\":\"" GT_EXCHANGE "\",\"impersonation\":");
    sb_puts(&sb, d && d->impersonation ? "true" : "false");
    sb_puts(&sb, ",\"policy\":");
    sb_json_str(&sb, rule ? rule : "refused");
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
    return H_DONE;
}

static enum hres refuse(struct req *r, const char *error, const char *rule, const char *why)
{
    return refuse_row(r, NULL, NULL, 400, error, rule, why);
}

/* RFC 8693 §2.1: subject_token / actor_token of the declared type */
static bool known_type(const char *t)
{
    return t && (!strcmp(t, TT_ACCESS) || !strcmp(t, TT_JWT));
}

/* Reads one presented token: an active access token of this tenant, or (for
 * the jwt type) a JWT from an issuer a trust policy names for `use`. *why
 * is set when it is not acceptable. */
static enum hres read_token(struct req *r, const char *token, const char *type, const char *use,
                            struct presented *p, const char **why)
{
    memset(p, 0, sizeof *p);
    *why = NULL;
    if (strlen(token) > AUTHZ_TOKEN_MAX || !strchr(token, '.')) {
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
        arena_defer(r->arena, json_release, c);
        p->ours = true;
        p->claims = c;
        p->sub = json_string_value(json_object_get(c, "sub"));
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
    arena_defer(r->arena, json_release, p->tr.claims);
    p->claims = p->tr.claims;
    p->sub = p->tr.sub;
    return H_DONE;
}

/* A string aud, or the only element of an aud array. */
static const char *single_aud(const json_t *claims)
{
    const json_t *aud = json_object_get(claims, "aud");
    if (json_is_string(aud))
        return json_string_value(aud);
    if (json_is_array(aud) && json_array_size(aud) == 1)
        return json_string_value(json_array_get(aud, 0));
    return NULL;
}

static struct scopeset set_of(const struct strlist *l)
{
    return scope_from_list(l->v, l->n);
}

/* The audit row of an issued token: the decision, and where it came from. */
static void audit_issued(struct req *r, const char *person, const struct deleg_decision *d,
                         const struct presented *subj, const struct presented *act,
                         const struct minted *m)
{
    struct audit_event *e = audit_add(r, "token.exchanged", true);
    e->subject = person;
    e->actor_chain = d->chain;
    e->nactors = d->nchain;
    e->session_id = d->sid;
    e->scope = d->scope;
    e->resources = arena_alloc(r->arena, sizeof(char *));
    e->resources[0] = d->aud;
    e->nresources = 1;
    struct strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "{\"grant_type\":\"" GT_EXCHANGE "\",\"impersonation\":%s,\"policy\":",
              d->impersonation ? "true" : "false");
    sb_json_str(&sb, d->rule);
    sb_puts(&sb, ",\"subject_issuer\":");
    sb_json_str(&sb, subj->ours ? r->tenant->issuer : subj->tr.iss);
    if (!subj->ours && subj->tr.policy) {
        sb_puts(&sb, ",\"subject_trust_policy\":");
        sb_json_str(&sb, subj->tr.policy);
    }
    if (act && !act->ours && act->tr.policy) {
        sb_puts(&sb, ",\"actor_trust_policy\":");
        sb_json_str(&sb, act->tr.policy);
        sb_puts(&sb, ",\"workload\":{\"iss\":");
        sb_json_str(&sb, act->tr.iss ? act->tr.iss : "");
        sb_puts(&sb, ",\"sub\":");
        sb_json_str(&sb, act->tr.sub ? act->tr.sub : "");
        sb_putc(&sb, '}');
    }
    const char *parent = subj->ours ? json_string_value(json_object_get(subj->claims, "jti")) : NULL;
    if (parent) {
        sb_puts(&sb, ",\"parent_jti\":");
        sb_json_str(&sb, parent);
    }
    /* SPEC §12: the task details the new token carries */
    if (d->details_json) {
        sb_puts(&sb, ",\"authorization_details\":");
        sb_puts(&sb, d->details_json);
    }
    sb_puts(&sb, ",\"rests_on\":[");
    for (int i = 0; i < d->nlineage; i++) {
        if (i)
            sb_putc(&sb, ',');
        sb_json_str(&sb, d->lineage[i]);
    }
    sb_printf(&sb, "],\"jti\":\"%s\"}", m->jti);
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
}

enum hres grant_token_exchange(struct req *r, const struct form *f)
{
    struct tenant *t = r->tenant;
    struct client *c = r->client;
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
        return refuse(r, "invalid_request", "malformed",
                      "subject_token and subject_token_type are required");
    if ((actor_token != NULL) != (actor_type != NULL))
        return refuse(r, "invalid_request", "malformed", "actor_token and actor_token_type go together");
    if (!known_type(subject_type) || (actor_type && !known_type(actor_type)))
        return refuse(r, "invalid_request", "malformed", "unsupported token type");
    /* RFC 8693 §2.1: requested_token_type — this server issues access tokens */
    if (requested_type && strcmp(requested_type, TT_ACCESS) && strcmp(requested_type, TT_JWT))
        return refuse(r, "invalid_request", "malformed", "only access tokens are issued here");

    /* ---- the subject: who the token is about ---- */
    struct presented subj, act;
    memset(&act, 0, sizeof act);
    if (read_token(r, subject_token, subject_type, "subject", &subj, &why) == H_BLOCK)
        return H_BLOCK;
    if (why)
        return refuse(r, "invalid_request", "subject-token",
                      arena_sprintf(r->arena, "subject_token: %s", why));
    struct person person;
    int pf;
    if (person_lookup(r, t->id, subj.ours ? subj.sub : NULL, subj.ours ? NULL : subj.tr.username,
                      &person, &pf) == H_BLOCK)
        return H_BLOCK;
    if (pf < 0)
        return H_DONE;
    if (pf == 0)
        return refuse(r, "invalid_request", "subject-not-a-person",
                      "subject_token: the subject is not a person of this tenant");

    /* ---- the actor: the calling agent ---- */
    if (actor_token) {
        if (read_token(r, actor_token, actor_type, "actor", &act, &why) == H_BLOCK)
            return H_BLOCK;
        if (why)
            return refuse_row(r, person.id, NULL, 400, "invalid_request", "actor-token",
                              arena_sprintf(r->arena, "actor_token: %s", why));
    }

    /* ---- the facts ---- */
    struct deleg_resource *res = arena_alloc(r->arena, sizeof *res * (size_t)(t->nresources + 1));
    for (int i = 0; i < t->nresources; i++)
        res[i] = (struct deleg_resource){t->resources[i].uri, set_of(&t->resources[i].scopes)};
    const char **targets, **auds;
    int ntargets = form_get_all(r->arena, f, "resource", &targets);
    int naud = form_get_all(r->arena, f, "audience", &auds);
    if (naud) {
        const char **all = arena_alloc(r->arena, sizeof(char *) * (size_t)(ntargets + naud + 1));
        memcpy(all, targets, sizeof(char *) * (size_t)ntargets);
        memcpy(all + ntargets, auds, sizeof(char *) * (size_t)naud);
        targets = all;
        ntargets += naud;
    }
    if (ntargets == 0 && (form_present(f, "resource") || form_present(f, "audience")))
        return refuse_row(r, person.id, NULL, 400, "invalid_target", "resource-malformed",
                          "resource and audience must not be empty");
    const json_t *sc = subj.claims;
    /* RFC 9396 §6: authorization_details of the request, checked by
     * policy/details.c; the narrowing is the decision's */
    struct details want_details;
    bool narrow_details;
    if (!token_request_details(r, f, &want_details, &narrow_details))
        return H_DONE;
    struct deleg_facts fx = {
        .issuer = t->issuer,
        .resources = res,
        .nresources = t->nresources,
        .max_act_depth = g_config->max_act_depth,
        .agent = c->client_id,
        .allowed_scopes = set_of(&c->allowed_scopes),
        .allowed_resources = set_of(&c->allowed_resources),
        .can_act_for = set_of(&c->can_act_for),
        .may_impersonate = c->may_impersonate,
        .subject = {
            .ours = subj.ours,
            .issuer = subj.ours ? t->issuer : subj.tr.iss,
            .scope = json_object_get(sc, "scope"),
            .aud = single_aud(sc),
            .act = json_object_get(sc, "act"),
            .may_act = json_object_get(sc, "may_act"),
            .exp = subj.ours ? (int64_t)json_integer_value(json_object_get(sc, "exp")) : subj.tr.exp,
            .jti = subj.ours ? json_string_value(json_object_get(sc, "jti")) : NULL,
            .sid = subj.ours ? json_string_value(json_object_get(sc, "sid")) : NULL,
            .lineage = subj.ours ? json_object_get(sc, "lineage") : NULL,
            .details = subj.ours ? json_object_get(sc, "authorization_details") : NULL,
        },
        .actor = {
            .present = actor_token != NULL,
            .ours = act.ours,
            .issued_to = act.ours ? json_string_value(json_object_get(act.claims, "client_id")) : NULL,
            .sub = act.sub,
            .mapped_client = act.ours ? NULL : act.tr.client_id,
            .wid_iss = act.ours ? NULL : act.tr.iss,
            .wid_sub = act.ours ? NULL : act.tr.sub,
        },
        .person_id = person.id,
        .username = person.username,
        .person_scopes = {person.scopes, person.nscopes},
        .scope_param = form_get(f, "scope"),
        .targets = targets,
        .ntargets = ntargets,
        .want_details = narrow_details ? &want_details : NULL,
    };
    /* the person's consent to this agent (cached) */
    if (actor_token) {
        struct consent cs;
        int found;
        if (consent_lookup(r, t->id, person.id, c->client_id, &cs, &found) == H_BLOCK)
            return H_BLOCK;
        if (found < 0)
            return H_DONE;
        if (found == 1) {
            fx.have_consent = true;
            fx.consent_id = cs.id;
            fx.consent_scopes = cs.scopes;
            fx.consent_resources = cs.resources;
            fx.consent_details = cs.details;
        }
    }

    /* ---- the decision ---- */
    struct deleg_decision d;
    deleg_decide(r->arena, &fx, &d);
    if (d.error && d.needs_sessions) {
        /* no cheaper right allows it: a session of this agent may */
        deleg_decision_free(&d);
        if (!r->can_block)
            return H_BLOCK;
        struct deleg_session *ss;
        int n = sessions_live(&r->tx, t->id, person.id, c->client_id, &ss);
        if (n < 0)
            return H_DONE;
        fx.sessions = ss;
        fx.nsessions = n;
        fx.sessions_known = true;
        deleg_decide(r->arena, &fx, &d);
    }
    if (d.error) {
        deleg_decision_free(&d);
        return refuse_row(r, person.id, &d, 400,
                          d.error, d.rule, d.description);
    }

    /* ---- mint: the grant (and session) carry over ---- */
    char jti[64];
    char gid[32] = "";
    if (fx.subject.jti)
        jti_grant(fx.subject.jti, gid);
    if (gid[0])
        grant_jti(gid, jti);
    else
        crypto_random_id(jti, 16);
    char *act_json = d.act ? json_dumps(d.act, JSON_COMPACT) : NULL;
    struct token_claims tc = {
        .sub = person.id,
        .client_id = c->client_id,
        .aud = d.aud,
        .scope = d.scope,
        .sid = d.sid,
        .act_json = act_json ? arena_strdup(r->arena, act_json) : NULL,
        .exp_cap = (long)d.exp_cap,
        .jti = jti,
        .lineage = d.lineage,
        .nlineage = d.nlineage,
        .ceiling = d.ceiling.v,
        .nceiling = d.ceiling.n,
        .has_ceiling = d.has_ceiling,
        .details_json = d.details_json,
    };
    free(act_json);
    deleg_decision_free(&d);
    struct minted m;
    if (mint_access_token(r, t, &tc, &m) < 0) {
        resp_oauth_error(r, 500, "server_error", "signing failed");
        return H_DONE;
    }
    audit_issued(r, person.id, &d, &subj, actor_token ? &act : NULL, &m);
    metrics_token_issued(GT_EXCHANGE);
    /* RFC 8693 §2.2.1: issued_token_type is REQUIRED; no refresh token */
    const char *dm = details_member(r, d.details_json);
    token_response(r, &m, d.scope, NULL,
                   arena_sprintf(r->arena,
                                 ",\"issued_token_type\":\"urn:ietf:params:oauth:token-type:"
                                 "access_token\"%s",
                                 dm ? dm : ""));
    return H_DONE;
}
