/*
 * delegation.c: the token-exchange decision (SPEC §4.4, RFC 8693) and the
 * act-claim helpers. Pure functions over jansson values and the arena; the
 * unit tests (tests/unit/test_delegation.c) drive every rule directly.
 *
 * deleg_decide() runs the rules in the order below; each is a small named
 * check with the text it implements quoted above it, and the first that
 * refuses decides. Nothing widens: the scope is an intersection of every
 * bound, the resource must sit inside every bound, the lifetime inside the
 * subject's and the session's, and the new token rests on everything the
 * subject rested on plus the right that allowed this hop.
 */
#include "policy/delegation.h"
#include "util/arena.h"
#include "util/limits.h"

#include <string.h>

/* ---------------------------------------------------------------- */
/* act claims                                                        */

int act_depth(const json_t *act)
{
    int n = 0;
    while (act) {
        if (!json_is_object(act) || !json_is_string(json_object_get(act, "sub")) || n >= AUTHZ_ACT_NESTING_MAX)
            return -1;
        n++;
        act = json_object_get(act, "act");
    }
    return n;
}

json_t *act_nest(const char *actor_sub, const char *wid_iss, const char *wid_sub,
                 const json_t *prev)
{
    json_t *a = json_object();
    json_object_set_new(a, "sub", json_string(actor_sub));
    if (wid_iss && wid_sub)
        json_object_set_new(a, "wid", json_pack("{s:s, s:s}", "iss", wid_iss, "sub", wid_sub));
    if (prev)
        json_object_set_new(a, "act", json_deep_copy(prev));
    return a;
}

int act_chain(struct arena *ar, const json_t *act, const char ***out)
{
    int n = act_depth(act);
    if (n < 0)
        n = 0;
    const char **v = arena_alloc(ar, sizeof(char *) * (size_t)(n + 1));
    int i = 0;
    while (act && i < n) {
        v[i++] = arena_strdup(ar, json_string_value(json_object_get(act, "sub")));
        act = json_object_get(act, "act");
    }
    *out = v;
    return i;
}

bool may_act_allows(const json_t *may_act, const char *actor_sub, const char *actor_iss)
{
    if (!may_act)
        return true;
    if (!json_is_object(may_act))
        return false;
    const char *sub = json_string_value(json_object_get(may_act, "sub"));
    const json_t *iss = json_object_get(may_act, "iss");
    if (!sub || !actor_sub || strcmp(sub, actor_sub) != 0)
        return false;
    if (iss && (!json_is_string(iss) || !actor_iss || strcmp(json_string_value(iss), actor_iss) != 0))
        return false;
    return true;
}

/* ---------------------------------------------------------------- */
/* lineage                                                           */

const char *lineage_key(struct arena *a, const char *kind, const char *value)
{
    return arena_sprintf(a, "%s:%s", kind, value);
}

static void put_str_array(struct strbuf *sb, const char *const *v, int n)
{
    sb_putc(sb, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            sb_putc(sb, ',');
        sb_json_str(sb, v[i]);
    }
    sb_putc(sb, ']');
}

const char *lineage_claim_json(struct arena *a, const char *const *keys, int nkeys,
                               const struct scopeset *ceiling, bool has_ceiling)
{
    if (nkeys == 0 && !has_ceiling)
        return NULL;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"on\":");
    put_str_array(&sb, keys, nkeys);
    if (has_ceiling) {
        sb_puts(&sb, ",\"res\":");
        put_str_array(&sb, ceiling->v, ceiling->n);
    }
    sb_putc(&sb, '}');
    const char *out = arena_strdup(a, sb.buf);
    sb_free(&sb);
    return out;
}

static bool read_str_array(struct arena *a, const json_t *arr, const char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) > 256)
        return false;
    const char **v = arena_alloc(a, sizeof(char *) * (json_array_size(arr) + 1));
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (!json_is_string(e))
            return false;
        v[i] = arena_strdup(a, json_string_value(e));
    }
    *out = v;
    *n = (int)json_array_size(arr);
    return true;
}

bool lineage_claim_read(struct arena *a, const json_t *claim, const char ***keys, int *nkeys,
                        struct scopeset *ceiling, bool *has_ceiling)
{
    *keys = NULL;
    *nkeys = 0;
    ceiling->v = NULL;
    ceiling->n = 0;
    *has_ceiling = false;
    if (!claim)
        return true;
    if (!json_is_object(claim))
        return false;
    const json_t *on = json_object_get(claim, "on");
    if (on && !read_str_array(a, on, keys, nkeys))
        return false;
    const json_t *res = json_object_get(claim, "res");
    if (res) {
        if (!read_str_array(a, res, &ceiling->v, &ceiling->n))
            return false;
        *has_ceiling = true;
    }
    return true;
}

/* ---------------------------------------------------------------- */
/* the decision                                                      */

struct ctx {
    struct arena *a;
    const struct deleg_facts *f;
    struct deleg_decision *d;
    struct scopeset subject_scope;    /* the subject token's scope */
    struct scopeset want;             /* requested (default: the subject's) */
    const char *target;
    const struct deleg_resource *target_res;
    const char **sub_keys;            /* the subject's own lineage keys */
    int nsub_keys;
    struct scopeset sub_ceiling;
    bool sub_has_ceiling;
    struct details sub_details;       /* the subject token's task details */
};

static bool refuse(struct ctx *x, const char *error, const char *rule, const char *why)
{
    x->d->error = error;
    x->d->rule = rule;
    x->d->description = why;
    return false;
}

static bool set_has(const struct scopeset *s, const char *v)
{
    return scope_has(s, v);
}

static const struct deleg_resource *tenant_resource_of(const struct deleg_facts *f, const char *uri)
{
    for (int i = 0; i < f->nresources; i++)
        if (!strcmp(f->resources[i].uri, uri))
            return &f->resources[i];
    return NULL;
}

/* SPEC §4.4: "An external subject token's scope claim, when present, must be
 * a space-separated string (anything else: invalid_request)." An absent
 * claim means the person's own scopes: "Such a token's scope is its scope
 * claim, or the person's own scopes when it has none." */
static bool check_subject_scope(struct ctx *x)
{
    const json_t *s = x->f->subject.scope;
    if (!s) {
        if (x->f->subject.ours)
            return refuse(x, "invalid_request", "subject-scope-missing",
                          "subject_token: the token carries no scope");
        x->subject_scope = x->f->person_scopes;
        return true;
    }
    if (!json_is_string(s))
        return refuse(x, "invalid_request", "subject-scope-malformed",
                      "subject_token: the scope claim must be a space-separated string");
    if (scope_parse(x->a, json_string_value(s), &x->subject_scope) < 0)
        return refuse(x, "invalid_request", "subject-scope-malformed",
                      "subject_token: malformed scope claim");
    return true;
}

/* SPEC §4.4: "The actor is the calling client: an actor access token must
 * have been issued to it, and a workload JWT must map (through its trust
 * policy) to it." */
static bool check_actor_is_caller(struct ctx *x)
{
    const struct deleg_facts *f = x->f;
    if (!f->actor.present)
        return true;
    if (f->actor.ours) {
        if (!f->actor.issued_to || strcmp(f->actor.issued_to, f->agent) != 0 || !f->actor.sub ||
            strcmp(f->actor.sub, f->agent) != 0)
            return refuse(x, "invalid_request", "actor-not-caller",
                          "actor_token was not issued to the calling client");
        return true;
    }
    if (!f->actor.mapped_client || strcmp(f->actor.mapped_client, f->agent) != 0)
        return refuse(x, "invalid_request", "actor-not-caller", "actor_token maps to another agent");
    return true;
}

/* RFC 8693 §4.4: may_act "makes a statement that one party is authorized to
 * become the actor"; SPEC §4.4: "may_act in the subject token, when present,
 * must name the actor (sub, and iss when given). A subject token with
 * may_act and no actor_token is refused (invalid_request)." */
static bool check_may_act(struct ctx *x)
{
    const struct deleg_facts *f = x->f;
    if (!f->subject.may_act)
        return true;
    if (!f->actor.present)
        return refuse(x, "invalid_request", "may-act-needs-actor",
                      "subject_token has may_act: an actor_token is required");
    if (!may_act_allows(f->subject.may_act, f->agent, f->issuer))
        return refuse(x, "invalid_request", "may-act-mismatch",
                      "may_act of the subject_token does not name this actor");
    return true;
}

/* SPEC §4.4: act "names the current actor ... with any earlier actors of the
 * subject token nested inside it (act.act…, each earlier act object kept
 * whole), at most 5 deep by default (deeper: invalid_request)"; an external
 * token's act "is kept whole, nested under the new actor, and counts toward
 * the depth limit". */
static bool check_act_chain(struct ctx *x)
{
    const struct deleg_facts *f = x->f;
    int depth = act_depth(f->subject.act);
    if (depth < 0)
        return refuse(x, "invalid_request", "act-malformed",
                      "subject_token has a malformed act claim");
    int total = depth + (f->actor.present ? 1 : 0);
    if (total > f->max_act_depth)
        return refuse(x, "invalid_request", "act-depth", "the actor chain is too deep");
    return true;
}

/* SPEC §4.4: "Without an actor_token, exchange is impersonation: only for
 * clients with may_impersonate, otherwise unauthorized_client". */
static bool check_impersonation(struct ctx *x)
{
    if (x->f->actor.present)
        return true;
    x->d->impersonation = true;
    if (!x->f->may_impersonate)
        return refuse(x, "unauthorized_client", "impersonation-denied",
                      "this client may not impersonate");
    return true;
}

/* RFC 6749 §3.3 scope syntax for the requested scope; SPEC §4.4: "requested
 * (default: all of the subject's)". */
static bool check_requested_scope(struct ctx *x)
{
    if (!x->f->scope_param) {
        x->want = x->subject_scope;
        return true;
    }
    if (scope_parse(x->a, x->f->scope_param, &x->want) < 0)
        return refuse(x, "invalid_scope", "scope-malformed", "malformed scope");
    return true;
}

/* SPEC §4.4: "Resources of the result (its aud) = the requested
 * resource/audience values, or, when none is given, the subject token's aud;
 * each must be a resource of the tenant ... Leaving resource out never skips
 * a check." One access token has one audience here. */
static bool check_target_known(struct ctx *x)
{
    const struct deleg_facts *f = x->f;
    const char *t = NULL;
    for (int i = 0; i < f->ntargets; i++) {
        if (!t)
            t = f->targets[i];
        else if (strcmp(t, f->targets[i]) != 0)
            return refuse(x, "invalid_target", "one-resource",
                          "ask for one resource (or audience) per access token");
    }
    if (!t)
        t = f->subject.aud;
    if (!t)
        return refuse(x, "invalid_target", "resource-missing",
                      "name the resource: the subject_token has no audience of this tenant");
    x->target = t;
    x->target_res = tenant_resource_of(f, t);
    /* "audience values, like resource values, must name resources
     * registered in the tenant" */
    if (!x->target_res)
        return refuse(x, "invalid_target", "resource-unknown",
                      f->ntargets ? "unknown resource or audience"
                                  : "the subject_token's audience is not a resource of this tenant");
    return true;
}

/* SPEC §4.4: each resource must be "in the agent's allowed_resources (when
 * the client has that list)". */
static bool check_target_allowed_to_agent(struct ctx *x)
{
    const struct scopeset *ar = &x->f->allowed_resources;
    if (ar->n && !set_has(ar, x->target))
        return refuse(x, "invalid_target", "resource-not-allowed-to-agent",
                      "the resource is not allowed to this agent");
    return true;
}

/* SPEC §4.4: "The same bounds hold ... at every hop of a chain: the grant
 * that allowed a hop is the ceiling of every later hop." */
static bool check_target_within_ceiling(struct ctx *x)
{
    if (x->sub_has_ceiling && !set_has(&x->sub_ceiling, x->target))
        return refuse(x, "invalid_target", "resource-outside-earlier-grant",
                      "the resource is outside what the person approved at an earlier hop");
    return true;
}

/* One right the agent may hold for the person, with its bounds. */
struct right {
    enum right_kind kind;
    const char *rule;            /* its name in the audit row */
    const char *key;             /* lineage key */
    struct scopeset scopes;      /* what it grants (already ∩ the person's own) */
    const struct scopeset *resources; /* NULL: any resource of the tenant */
    int64_t ends_at;             /* 0: no end of its own */
    const char *sid;
    const char *details;         /* its task details (JSON); with bounds_details only */
    bool bounds_details;         /* false: no bound on task details of its own */
};

/* SPEC §4.4: "An agent may act for a person when the person consented to
 * that agent ..., or when the agent's can_act_for lists the person's
 * username or "*"" and (§4.5) approving a session "lets that agent act for
 * the person ... until the session ends, within the session's scopes and
 * resources". Listed in the order they are tried. */
static int gather_rights(struct ctx *x, struct right *out, int max)
{
    const struct deleg_facts *f = x->f;
    int n = 0;
    struct scopeset own = f->person_scopes;
    if (!f->actor.present) {
        out[n++] = (struct right){RIGHT_IMPERSONATION, "may_impersonate",
                                  lineage_key(x->a, LIN_IMPERSONATE, f->agent), own, NULL, 0, NULL,
                                  NULL, false};
        return n;
    }
    const char *entry = NULL;
    if (f->username && set_has(&f->can_act_for, f->username))
        entry = f->username;
    else if (set_has(&f->can_act_for, "*"))
        entry = "*";
    if (entry) {
        /* "the person's own scopes when can_act_for names them"; "any
         * resource of the tenant when can_act_for names the person" */
        out[n++] = (struct right){RIGHT_CAN_ACT_FOR, "can_act_for",
                                  lineage_key(x->a, LIN_ACT_FOR,
                                              arena_sprintf(x->a, "%s %s", f->agent, entry)),
                                  own, NULL, 0, NULL, NULL, false};
    }
    if (f->have_consent && n < max) {
        /* "otherwise the consented scopes"; the person's own rights today
         * still bound what they once consented to */
        out[n++] = (struct right){RIGHT_CONSENT, "consent",
                                  lineage_key(x->a, LIN_CONSENT, f->consent_id ? f->consent_id : ""),
                                  scope_intersect(x->a, &f->consent_scopes, &own),
                                  &f->consent_resources, 0, NULL, f->consent_details, true};
    }
    for (int i = 0; f->sessions_known && i < f->nsessions && n < max; i++) {
        const struct deleg_session *s = &f->sessions[i];
        out[n++] = (struct right){RIGHT_SESSION, "session", lineage_key(x->a, LIN_SESSION, s->sid),
                                  scope_intersect(x->a, &s->scopes, &own), &s->resources,
                                  s->ends_at, s->sid, s->details, true};
    }
    return n;
}

/* SPEC §4.4: "Scope of the result = requested ∩ subject token's scope ∩ the
 * agent's allowed_scopes ∩ the person's grant to that agent ... If nothing
 * is left: invalid_scope"; an access token for a resource carries only
 * scopes that resource defines. */
static struct scopeset result_scope(struct ctx *x, const struct right *rt)
{
    struct scopeset s = scope_intersect(x->a, &x->want, &x->subject_scope);
    if (x->f->allowed_scopes.n)
        s = scope_intersect(x->a, &s, &x->f->allowed_scopes);
    s = scope_intersect(x->a, &s, &rt->scopes);
    s = scope_intersect(x->a, &s, &x->target_res->scopes);
    return s;
}

/* SPEC §12: task details "can only narrow through exchange": the
 * subject's ∩ the right's, and those requested must lie within that (RFC
 * 9396 §6: otherwise invalid_authorization_details) and on the token's
 * resource (otherwise invalid_target). The result is on the target only. */
static bool result_details(struct ctx *x, const struct right *rt, struct details *out)
{
    struct details avail = x->sub_details;
    if (rt->bounds_details) {
        struct details held;
        if (details_read(x->a, rt->details, &held) < 0)
            held.n = 0;
        details_intersect(x->a, &x->sub_details, &held, &avail);
    }
    const struct details *want = x->f->want_details;
    if (want) {
        if (!details_subset(want, &avail))
            return refuse(x, "invalid_authorization_details", "details-widen",
                          "authorization_details may only narrow those of the subject_token "
                          "and of the person's grant to this agent");
        for (int i = 0; i < want->n; i++)
            if (strcmp(want->v[i].location, x->target) != 0)
                return refuse(x, "invalid_target", "details-location-not-target",
                              "an authorization_details location is not the requested resource");
        avail = *want;
    }
    const char *t[1] = {x->target};
    details_restrict(x->a, &avail, t, 1, out);
    return true;
}

/* Tries one right: its resources must hold the target ("within the person's
 * grant to that agent: the consented resources, or the session's resources
 * for a right that comes from a session"), and some scope must be left. */
static bool try_right(struct ctx *x, const struct right *rt, struct scopeset *scope,
                      struct details *details)
{
    if (rt->resources && !set_has(rt->resources, x->target))
        return refuse(x, "invalid_target", "resource-outside-grant",
                      rt->kind == RIGHT_SESSION
                          ? "the resource is outside the session the person approved"
                          : "the resource is outside what the person consented to");
    *scope = result_scope(x, rt);
    if (scope->n == 0)
        return refuse(x, "invalid_scope", "scope-empty",
                      "no scope is left after intersecting every bound");
    return result_details(x, rt, details);
}

static void add_key(struct ctx *x, const char **keys, int *n, const char *k)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(keys[i], k))
            return;
    keys[(*n)++] = k;
    (void)x;
}

/* The new token rests on what the subject rested on, on the subject itself
 * (its jti names its grant) and its session, and on the right of this hop.
 * SPEC §4.4: "every exchanged token records the right that allowed it ... and
 * the token it was exchanged from". */
static void build_lineage(struct ctx *x, const struct right *rt)
{
    const struct deleg_facts *f = x->f;
    int cap = x->nsub_keys + 4;
    const char **keys = arena_alloc(x->a, sizeof(char *) * (size_t)cap);
    int n = 0;
    for (int i = 0; i < x->nsub_keys; i++)
        add_key(x, keys, &n, x->sub_keys[i]);
    if (f->subject.ours && f->subject.jti)
        add_key(x, keys, &n, lineage_key(x->a, LIN_TOKEN, f->subject.jti));
    if (f->subject.ours && f->subject.sid)
        add_key(x, keys, &n, lineage_key(x->a, LIN_SESSION, f->subject.sid));
    add_key(x, keys, &n, rt->key);
    x->d->lineage = keys;
    x->d->nlineage = n;

    /* the ceiling of later hops: the earlier ceiling, narrowed by this
     * hop's grant when it names resources */
    if (rt->resources) {
        x->d->ceiling = x->sub_has_ceiling ? scope_intersect(x->a, &x->sub_ceiling, rt->resources)
                                           : *rt->resources;
        x->d->has_ceiling = true;
    } else if (x->sub_has_ceiling) {
        x->d->ceiling = x->sub_ceiling;
        x->d->has_ceiling = true;
    }
}

void deleg_decide(struct arena *a, const struct deleg_facts *f, struct deleg_decision *d)
{
    memset(d, 0, sizeof *d);
    struct ctx x = {.a = a, .f = f, .d = d};

    /* the actor chain, for the audit row even when refused */
    json_t *new_act = NULL;
    if (act_depth(f->subject.act) >= 0) {
        if (f->actor.present) {
            new_act = act_nest(f->agent, f->actor.ours ? NULL : f->actor.wid_iss,
                               f->actor.ours ? NULL : f->actor.wid_sub, f->subject.act);
            d->nchain = act_chain(a, new_act, &d->chain);
        } else {
            d->nchain = act_chain(a, f->subject.act, &d->chain);
            if (f->subject.act)
                new_act = json_deep_copy(f->subject.act);
        }
    }
    d->impersonation = !f->actor.present;
    d->sid = f->subject.sid;

    if (!lineage_claim_read(a, f->subject.lineage, &x.sub_keys, &x.nsub_keys, &x.sub_ceiling,
                            &x.sub_has_ceiling)) {
        refuse(&x, "invalid_request", "lineage-malformed", "subject_token: malformed lineage");
        json_decref(new_act);
        return;
    }

    /* the subject's task details: authz wrote them; anything malformed is
     * refused rather than read as none */
    const char *why_details;
    if (f->subject.details &&
        details_from_json(a, f->subject.details, NULL, &x.sub_details, &why_details) < 0) {
        refuse(&x, "invalid_request", "details-malformed",
               "subject_token: malformed authorization_details");
        json_decref(new_act);
        return;
    }

    if (!check_subject_scope(&x) || !check_actor_is_caller(&x) || !check_may_act(&x) ||
        !check_act_chain(&x) || !check_impersonation(&x) || !check_requested_scope(&x) ||
        !check_target_known(&x) || !check_target_allowed_to_agent(&x) ||
        !check_target_within_ceiling(&x)) {
        json_decref(new_act);
        return;
    }

    struct right rights[40];
    int nr = gather_rights(&x, rights, (int)(sizeof rights / sizeof rights[0]));
    const struct right *chosen = NULL;
    struct scopeset scope = {0};
    struct details details = {0};
    const char *first_error = NULL, *first_rule = NULL, *first_why = NULL;
    for (int i = 0; i < nr && !chosen; i++) {
        if (try_right(&x, &rights[i], &scope, &details)) {
            chosen = &rights[i];
        } else if (!first_error) {
            first_error = d->error;
            first_rule = d->rule;
            first_why = d->description;
        }
    }
    if (!chosen) {
        if (first_error) {
            d->error = first_error;
            d->rule = first_rule;
            d->description = first_why;
        } else {
            refuse(&x, "invalid_request", "no-delegation",
                   "this agent has no right to act for the person");
        }
        /* a session may still allow it: the caller has not looked yet */
        d->needs_sessions = f->actor.present && !f->sessions_known;
        json_decref(new_act);
        return;
    }

    d->error = NULL;
    d->description = NULL;
    d->rule = chosen->rule;
    d->right = chosen->kind;
    d->scope = scope_join(a, &scope);
    d->aud = x.target_res->uri;
    d->details_json = details_json(a, &details);
    d->act = new_act;
    /* SPEC §4.4: "exp ≤ the subject token's exp and ≤ the session's end" */
    d->exp_cap = f->subject.exp;
    if (chosen->ends_at && (d->exp_cap == 0 || chosen->ends_at < d->exp_cap))
        d->exp_cap = chosen->ends_at;
    /* SPEC §4.5: "tokens exchanged under that right carry the session's sid" */
    if (chosen->sid)
        d->sid = chosen->sid;
    build_lineage(&x, chosen);
}

void deleg_decision_free(struct deleg_decision *d)
{
    if (d->act)
        json_decref((json_t *)d->act);
    d->act = NULL;
}
