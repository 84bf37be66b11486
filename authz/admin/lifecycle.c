/*
 * lifecycle.c: disabling and enabling agents and people, and the cascade
 * that disabling or deleting starts (lifecycle.h, SPEC §13). The rows are
 * storage/lifecycle.c's; here are the order of the steps, the revocations
 * every authzd applies, and the audit rows.
 */
#include "admin/lifecycle.h"
#include "admin/admin.h"
#include "http/http.h"
#include "storage/db.h"
#include "storage/grants.h"
#include "storage/lifecycle.h"
#include "storage/pgarray.h"
#include "cache.h"
#include "revset.h"
#include "util/arena.h"

#include <stdio.h>
#include <string.h>

static const struct caller CONSOLE = {.by = "console"};

/* "by" as admin_audit_change writes it, or the caller's own (console,
 * authzctl) */
static const char *by_name(const struct caller *who)
{
    if (who->by)
        return who->by;
    return who->root ? "root" : who->who;
}

static void change_row(struct req *r, const struct caller *who, const char *tenant_id,
                       const char *action, const char *target)
{
    if (!who->by) {
        admin_audit_change(r, tenant_id, who, action, target);
        return;
    }
    struct audit_event *e = audit_add(r, "admin.changed", true);
    e->tenant_id = tenant_id;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"action\":");
    sb_json_str(&sb, action);
    sb_puts(&sb, ",\"by\":");
    sb_json_str(&sb, who->by);
    sb_puts(&sb, ",\"target\":");
    sb_json_str(&sb, target);
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
}

/* client.disabled / person.disabled: SPEC §13 "with the reason" */
static void disabled_row(struct req *r, const struct caller *who, const char *tenant_id,
                         const char *event, const char *client_id, const char *subject,
                         const char *reason, const char *details_reason, const char *owner,
                         const struct ended *ended)
{
    struct audit_event *e = audit_add(r, event, true);
    e->tenant_id = tenant_id;
    e->client_id = client_id;
    e->subject = subject;
    e->reason = reason ? arena_strdup(r->arena, reason) : NULL;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"reason\":");
    sb_json_str(&sb, details_reason);
    sb_puts(&sb, ",\"by\":");
    sb_json_str(&sb, by_name(who));
    if (owner) {
        sb_puts(&sb, ",\"owner\":");
        sb_json_str(&sb, owner);
    }
    if (ended)
        sb_printf(&sb, ",\"ended\":{\"grants\":%ld,\"consents\":%ld,\"requests\":%ld,\"signins\":%ld}",
                  ended->grants, ended->consents, ended->requests, ended->signins);
    sb_putc(&sb, '}');
    e->details = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
}

int lifecycle_client_end_tx(struct req *r, const struct caller *who, const struct tenant *t,
                            const char *client_id, const char *reason, const char *details_reason)
{
    struct ended ended = {0};
    const char *one[1] = {client_id};
    /* SPEC §13: "ends every token, refresh token, session and right it
     * holds": its grants (with their refresh tokens and sessions), the
     * consents given to it, its pending requests ... */
    if (store_clients_end(&r->tx, t->id, pgarray_build(r->arena, one, 1), &ended) < 0)
        return -1;
    /* ... and the access tokens it holds or acts in, on every authzd */
    if (revocation_record(&r->tx, t->id, REV_CLIENT, client_id, revocation_horizon()) < 0)
        return -1;
    disabled_row(r, who, t->id, "client.disabled", client_id, NULL, reason, details_reason, NULL,
                 &ended);
    return 0;
}

int lifecycle_person_end_tx(struct req *r, const struct caller *who, const struct tenant *t,
                            const char *sub, const char *reason, const char *details_reason)
{
    struct ended ended = {0};
    /* SPEC §5/§13: "ends every token, refresh token, session and browser
     * sign-in of that person" */
    if (store_person_end(&r->tx, t->id, sub, &ended) < 0)
        return -1;
    if (revocation_record(&r->tx, t->id, REV_USER, sub, revocation_horizon()) < 0)
        return -1;
    disabled_row(r, who, t->id, "person.disabled", NULL, sub, reason, details_reason, NULL, &ended);
    /* SPEC §13: "... and disables every agent the person owns
     * (details.reason: "owner_offboarded")": one statement per kind of row
     * for all of them, one audit row each */
    const char **agents;
    int n = store_owned_disable(&r->tx, t->id, sub, &agents);
    if (n < 0)
        return -1;
    if (n == 0)
        return 0;
    struct ended agents_ended = {0};
    if (store_clients_end(&r->tx, t->id, pgarray_build(r->arena, agents, n), &agents_ended) < 0 ||
        store_revocations_many(&r->tx, t->id, REV_CLIENT, agents, n, revocation_horizon()) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        disabled_row(r, who, t->id, "client.disabled", agents[i], sub, reason, "owner_offboarded",
                     sub, NULL);
    return 0;
}

const char *lifecycle_check_status(json_t *v)
{
    const char *s = json_string_value(v);
    return s && (!strcmp(s, "active") || !strcmp(s, "disabled")) ? NULL
                                                                : "must be \"active\" or \"disabled\"";
}

const char *lifecycle_check_owner(json_t *v)
{
    if (json_is_null(v))
        return NULL;
    /* a sub is a user id (a UUID's text) */
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    bool ok = n == 36;
    for (size_t i = 0; ok && i < n; i++)
        ok = (i == 8 || i == 13 || i == 18 || i == 23) ? s[i] == '-'
                                                       : strchr("0123456789abcdef", s[i]) != NULL;
    return ok ? NULL : "must be the sub of a person of this tenant (or null)";
}

int lifecycle_client_patch_tx(struct req *r, const struct caller *who, const struct tenant *t,
                              const char *client_id, json_t *status, json_t *owner)
{
    if (owner) {
        /* SPEC §13: "owner (a person's sub ...)" of this tenant */
        int rc = store_client_set_owner(&r->tx, t->id, client_id, json_string_value(owner));
        if (rc < 0)
            return -1;
        if (rc == 2) {
            db_rollback(&r->tx);
            admin_problem(r, 400, "owner: not a person of this tenant");
            return 400;
        }
    }
    if (status) {
        bool disabled = !strcmp(json_string_value(status), "disabled"), was = false;
        if (store_client_set_status(&r->tx, t->id, client_id, disabled ? "disabled" : "active",
                                    &was) < 0)
            return -1;
        if (disabled && !was &&
            lifecycle_client_end_tx(r, who, t, client_id, NULL, "disabled") < 0)
            return -1;
    }
    return 0;
}

int lifecycle_person_patch_tx(struct req *r, const struct caller *who, const struct tenant *t,
                              const char *sub, json_t *status)
{
    if (!status)
        return 0;
    bool disabled = !strcmp(json_string_value(status), "disabled"), was = false;
    if (store_person_set_status(&r->tx, t->id, sub, disabled ? "disabled" : "active", &was) < 0)
        return -1;
    if (disabled && !was && lifecycle_person_end_tx(r, who, t, sub, NULL, "disabled") < 0)
        return -1;
    return 0;
}

static int commit(struct req *r, const char *tenant_id)
{
    if (db_audit_flush(&r->tx) < 0 || db_commit(&r->tx) < 0) {
        db_rollback(&r->tx);
        return r->tx.down ? 503 : 500;
    }
    cache_invalidate_tenant(tenant_id);
    return 0;
}

static int failed(struct req *r)
{
    db_rollback(&r->tx);
    return r->tx.down ? 503 : 500;
}

int lifecycle_client_set_status_by(struct req *r, const struct caller *who, const struct tenant *t,
                                   const char *client_id, bool disabled, const char *reason)
{
    if (db_begin(&r->tx) < 0)
        return r->tx.down ? 503 : 500;
    bool was = false;
    int rc = store_client_set_status(&r->tx, t->id, client_id, disabled ? "disabled" : "active", &was);
    if (rc < 0)
        return failed(r);
    if (rc == 0) {
        db_rollback(&r->tx);
        return 404;
    }
    if (disabled && lifecycle_client_end_tx(r, who, t, client_id, reason, "disabled") < 0)
        return failed(r);
    change_row(r, who, t->id, disabled ? "client.disable" : "client.enable", client_id);
    return commit(r, t->id);
}

int lifecycle_person_set_status_by(struct req *r, const struct caller *who, const struct tenant *t,
                                   const char *sub, bool disabled, const char *reason)
{
    if (db_begin(&r->tx) < 0)
        return r->tx.down ? 503 : 500;
    bool was = false;
    int rc = store_person_set_status(&r->tx, t->id, sub, disabled ? "disabled" : "active", &was);
    if (rc < 0)
        return failed(r);
    if (rc == 0) {
        db_rollback(&r->tx);
        return 404;
    }
    if (disabled && lifecycle_person_end_tx(r, who, t, sub, reason, "disabled") < 0)
        return failed(r);
    change_row(r, who, t->id, disabled ? "user.disable" : "user.enable", sub);
    return commit(r, t->id);
}

int lifecycle_client_set_status(struct req *r, const struct tenant *t, const char *client_id,
                                bool disabled, const char *reason)
{
    return lifecycle_client_set_status_by(r, &CONSOLE, t, client_id, disabled, reason);
}

int lifecycle_person_set_status(struct req *r, const struct tenant *t, const char *sub,
                                bool disabled, const char *reason)
{
    return lifecycle_person_set_status_by(r, &CONSOLE, t, sub, disabled, reason);
}
