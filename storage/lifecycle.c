/*
 * lifecycle.c: the rows of agent lifecycle (lifecycle.h, SPEC §13). Each
 * cascade is one statement per kind of row, whatever the number of rows, so
 * that disabling the owner of a thousand agents costs a handful of
 * statements; the tokens in their bearers' hands end through the standing
 * revocations the caller records, not through a row per token.
 */
#include "storage/lifecycle.h"
#include "storage/db.h"
#include "storage/pgarray.h"
#include "storage/store.h"
#include "util/arena.h"
#include "revset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *col(struct dbtx *tx, PGresult *res, int row, int c)
{
    return PQgetisnull(res, row, c) ? NULL : arena_strdup(tx->arena, PQgetvalue(res, row, c));
}

/* One status change of a row found by tenant and key: sql takes $1 tenant,
 * $2 key, $3 status and returns the old status. 1, 0 none, -1 failure. */
static int status_set(struct dbtx *tx, const char *sql, const char *tenant_id, const char *key,
                      const char *status, bool *was_disabled)
{
    const char *v[3] = {tenant_id, key, status};
    PGresult *res = db_q(tx, sql, 3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    *was_disabled = !strcmp(PQgetvalue(res, 0, 0), "disabled");
    return 1;
}

int store_client_set_status(struct dbtx *tx, const char *tenant_id, const char *client_id,
                            const char *status, bool *was_disabled)
{
    return status_set(tx,
                      "WITH old AS (SELECT id, status FROM clients WHERE tenant_id = $1 AND "
                      "client_id = $2 FOR UPDATE) "
                      "UPDATE clients c SET status = $3, updated_at = now() FROM old "
                      "WHERE c.id = old.id RETURNING old.status",
                      tenant_id, client_id, status, was_disabled);
}

int store_client_set_owner(struct dbtx *tx, const char *tenant_id, const char *client_id,
                           const char *owner_sub)
{
    if (owner_sub) {
        /* SPEC §13: "owner (a person's sub)": a person of this tenant */
        const char *p[2] = {tenant_id, owner_sub};
        PGresult *res = db_q(tx, "SELECT 1 FROM users WHERE tenant_id = $1 AND id::text = $2", 2, p);
        if (!res)
            return -1;
        if (PQntuples(res) != 1)
            return 2;
    }
    const char *v[3] = {tenant_id, client_id, owner_sub};
    PGresult *res = db_q(tx,
                         "UPDATE clients SET owner = $3::uuid, updated_at = now() "
                         "WHERE tenant_id = $1 AND client_id = $2 RETURNING 1",
                         3, v);
    if (!res)
        return -1;
    return PQntuples(res) == 1 ? 1 : 0;
}

static void add_counts(PGresult *res, struct ended *out, bool signins)
{
    out->grants += atol(PQgetvalue(res, 0, 0));
    out->consents += atol(PQgetvalue(res, 0, 1));
    out->requests += atol(PQgetvalue(res, 0, 2));
    if (signins)
        out->signins += atol(PQgetvalue(res, 0, 3));
}

int store_clients_end(struct dbtx *tx, const char *tenant_id, const char *clients_pg,
                      struct ended *out)
{
    /* a refresh token of a revoked grant is refused (refresh_take reads
     * the grant's revoked_at), so the grants are what is written */
    const char *v[2] = {tenant_id, clients_pg};
    PGresult *res = db_q(
        tx,
        "WITH g AS (UPDATE grants SET revoked_at = now(), revoked_reason = "
        "coalesce(revoked_reason, 'client_disabled') WHERE tenant_id = $1 AND "
        "client_id = ANY($2::text[]) AND revoked_at IS NULL RETURNING 1), "
        "c AS (DELETE FROM consents WHERE tenant_id = $1 AND client_id = ANY($2::text[]) RETURNING 1), "
        "q AS (UPDATE ciba_requests SET expires_at = least(expires_at, now()) WHERE tenant_id = $1 "
        "AND client_id = ANY($2::text[]) AND state = 'pending' RETURNING 1) "
        "SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM c), (SELECT count(*) FROM q)",
        2, v);
    if (!res || PQntuples(res) != 1)
        return -1;
    add_counts(res, out, false);
    return 0;
}

int store_person_lookup(struct dbtx *tx, const char *tenant_id, const char *sub,
                        const char *username, const char **id_out, bool *disabled)
{
    const char *v[3] = {tenant_id, sub, username};
    PGresult *res = db_q(tx,
                         "SELECT id::text, status FROM users WHERE tenant_id = $1 AND "
                         "(($2::text IS NOT NULL AND id::text = $2) OR "
                         "($3::text IS NOT NULL AND username = $3))",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    *id_out = col(tx, res, 0, 0);
    if (disabled)
        *disabled = !strcmp(PQgetvalue(res, 0, 1), "disabled");
    return 1;
}

int store_person_set_status(struct dbtx *tx, const char *tenant_id, const char *sub,
                            const char *status, bool *was_disabled)
{
    return status_set(tx,
                      "WITH old AS (SELECT id, status FROM users WHERE tenant_id = $1 AND "
                      "id::text = $2 FOR UPDATE) "
                      "UPDATE users u SET status = $3, updated_at = now() FROM old "
                      "WHERE u.id = old.id RETURNING old.status",
                      tenant_id, sub, status, was_disabled);
}

int store_person_end(struct dbtx *tx, const char *tenant_id, const char *sub, struct ended *out)
{
    const char *v[2] = {tenant_id, sub};
    PGresult *res = db_q(
        tx,
        "WITH g AS (UPDATE grants SET revoked_at = now(), revoked_reason = "
        "coalesce(revoked_reason, 'person_disabled') WHERE tenant_id = $1 AND user_id = $2::uuid "
        "AND revoked_at IS NULL RETURNING 1), "
        "c AS (DELETE FROM consents WHERE tenant_id = $1 AND user_id = $2::uuid RETURNING 1), "
        "q AS (UPDATE ciba_requests SET expires_at = least(expires_at, now()) WHERE tenant_id = $1 "
        "AND user_id = $2::uuid AND state = 'pending' RETURNING 1), "
        "s AS (DELETE FROM browser_sessions WHERE tenant_id = $1 AND user_id = $2::uuid RETURNING 1) "
        "SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM c), (SELECT count(*) FROM q), "
        "(SELECT count(*) FROM s)",
        2, v);
    if (!res || PQntuples(res) != 1)
        return -1;
    add_counts(res, out, true);
    return 0;
}

int store_owned_disable(struct dbtx *tx, const char *tenant_id, const char *sub, const char ***ids)
{
    const char *v[2] = {tenant_id, sub};
    PGresult *res = db_q(tx,
                         "UPDATE clients SET status = 'disabled', updated_at = now() "
                         "WHERE tenant_id = $1 AND owner = $2::uuid AND status = 'active' "
                         "RETURNING client_id",
                         2, v);
    if (!res)
        return -1;
    int n = PQntuples(res);
    *ids = arena_alloc(tx->arena, sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        (*ids)[i] = col(tx, res, i, 0);
    (*ids)[n] = NULL;
    return n;
}

int store_revocations_many(struct dbtx *tx, const char *tenant_id, int kind,
                           const char *const *values, int n, int64_t expires_at)
{
    if (n <= 0)
        return 0;
    char *lit = pgarray_build(tx->arena, values, n);
    char ex[24];
    snprintf(ex, sizeof ex, "%lld", (long long)expires_at);
    const char *v[4] = {tenant_id, rev_kind_name((enum rev_kind)kind), lit, ex};
    /* as revocation_record: a standing revocation's moment moves forward */
    if (!db_q(tx,
              "INSERT INTO revocations (tenant_id, kind, value, expires_at) "
              "SELECT $1, $2, unnest($3::text[]), to_timestamp($4::bigint) "
              "ON CONFLICT (tenant_id, kind, value) DO UPDATE SET expires_at = "
              "GREATEST(revocations.expires_at, EXCLUDED.expires_at), created_at = now()",
              4, v))
        return -1;
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < n; i++)
        revset_add(tenant_id, (enum rev_kind)kind, values[i], expires_at, now);
    return 0;
}

int store_secret_rotate(struct dbtx *tx, const char *tenant_id, const char *client_id,
                        const char *new_hash, long previous_expires_in, char id_out[40])
{
    const char *v[2] = {tenant_id, client_id};
    PGresult *res = db_q(tx,
                         "SELECT 1 FROM clients WHERE tenant_id = $1 AND client_id = $2 AND "
                         "token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post') "
                         "FOR UPDATE",
                         2, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    char secs[24];
    snprintf(secs, sizeof secs, "%ld", previous_expires_in);
    const char *e[3] = {tenant_id, client_id, secs};
    if (!db_q(tx,
              "UPDATE client_secrets SET expires_at = least(coalesce(expires_at, 'infinity'), "
              "now() + make_interval(secs => $3::bigint)) WHERE tenant_id = $1 AND client_id = $2 "
              "AND (expires_at IS NULL OR expires_at > now())",
              3, e))
        return -1;
    const char *n[3] = {tenant_id, client_id, new_hash};
    /* the trigger of migration 011 makes the new value a row */
    if (!db_q(tx, "UPDATE clients SET secret_hash = $3, updated_at = now() WHERE tenant_id = $1 AND client_id = $2",
              3, n))
        return -1;
    res = db_q(tx, "SELECT id FROM client_secrets WHERE tenant_id = $1 AND client_id = $2 AND hash = $3", 3, n);
    if (!res || PQntuples(res) != 1)
        return -1;
    snprintf(id_out, 40, "%s", PQgetvalue(res, 0, 0));
    return 1;
}

int store_secrets_list(struct dbtx *tx, const char *tenant_id, const char *client_id,
                       const char **json)
{
    const char *v[2] = {tenant_id, client_id};
    PGresult *res = db_q(
        tx,
        "SELECT (SELECT coalesce(json_agg(json_build_object('id', s.id, 'created_at', "
        SQL_TS("s.created_at") ", 'expires_at', " SQL_TS("s.expires_at") ", 'last_used_at', "
        SQL_TS("s.last_used_at") ") ORDER BY s.created_at DESC, s.id), '[]')::text "
        "FROM client_secrets s WHERE s.tenant_id = $1 AND s.client_id = $2) "
        "FROM clients WHERE tenant_id = $1 AND client_id = $2",
        2, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    *json = col(tx, res, 0, 0);
    return 1;
}

int store_secret_delete(struct dbtx *tx, const char *tenant_id, const char *client_id,
                        const char *secret_id)
{
    const char *v[3] = {tenant_id, client_id, secret_id};
    PGresult *res = db_q(tx,
                         "DELETE FROM client_secrets WHERE tenant_id = $1 AND client_id = $2 "
                         "AND id = $3 RETURNING 1",
                         3, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    /* clients.secret_hash stays the newest secret left (NULL: none; an
     * expired one still counts, so that its row and last_used_at stay) */
    if (!db_q(tx,
              "UPDATE clients c SET secret_hash = n.hash, updated_at = now() FROM (SELECT "
              "(SELECT hash FROM client_secrets WHERE tenant_id = $1 AND client_id = $2 "
              "ORDER BY created_at DESC LIMIT 1) AS hash) n "
              "WHERE c.tenant_id = $1 AND c.client_id = $2 AND c.secret_hash IS DISTINCT FROM n.hash",
              2, v))
        return -1;
    return 1;
}

int store_leak_find_secret(struct dbtx *tx, const char *hash, const char *tenant_id,
                           struct leak_site *out)
{
    memset(out, 0, sizeof *out);
    const char *v[2] = {hash, tenant_id};
    PGresult *res = db_q(tx,
                         "SELECT s.tenant_id::text, t.slug, s.client_id, s.id FROM client_secrets s "
                         "JOIN tenants t ON t.id = s.tenant_id WHERE s.hash = $1 AND "
                         "($2::uuid IS NULL OR s.tenant_id = $2::uuid) LIMIT 1",
                         2, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->tenant_id = col(tx, res, 0, 0);
    out->tenant_slug = col(tx, res, 0, 1);
    out->client_id = col(tx, res, 0, 2);
    out->secret_id = col(tx, res, 0, 3);
    return 1;
}

int store_leak_find_refresh(struct dbtx *tx, const char *hash, const char *tenant_id,
                            struct leak_site *out)
{
    memset(out, 0, sizeof *out);
    const char *v[2] = {hash, tenant_id};
    PGresult *res = db_q(tx,
                         "SELECT r.tenant_id::text, t.slug, r.client_id, r.grant_id, g.user_id::text "
                         "FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id "
                         "JOIN tenants t ON t.id = r.tenant_id WHERE r.token_hash = $1 AND "
                         "($2::uuid IS NULL OR r.tenant_id = $2::uuid)",
                         2, v);
    if (!res)
        return -1;
    if (PQntuples(res) != 1)
        return 0;
    out->tenant_id = col(tx, res, 0, 0);
    out->tenant_slug = col(tx, res, 0, 1);
    out->client_id = col(tx, res, 0, 2);
    out->grant_id = col(tx, res, 0, 3);
    out->user_id = col(tx, res, 0, 4);
    return 1;
}

int store_root_token_revoke(struct dbtx *tx, const char *hash)
{
    const char *v[1] = {hash};
    PGresult *res = db_q(tx,
                         "UPDATE root_tokens SET revoked_at = coalesce(revoked_at, now()) "
                         "WHERE token_hash = $1 RETURNING 1",
                         1, v);
    if (!res)
        return -1;
    return PQntuples(res) == 1 ? 1 : 0;
}

int store_usage_write(PGconn *c, const struct usage_row *rows, int n)
{
    struct strbuf ids, ats, sids, sats;
    sb_init(&ids);
    sb_init(&ats);
    sb_init(&sids);
    sb_init(&sats);
    sb_putc(&ids, '{');
    sb_putc(&ats, '{');
    sb_putc(&sids, '{');
    sb_putc(&sats, '{');
    int ns = 0;
    for (int i = 0; i < n; i++) {
        if (i) {
            sb_putc(&ids, ',');
            sb_putc(&ats, ',');
        }
        pgarray_append_elem(&ids, rows[i].client_id);
        sb_printf(&ats, "%lld", (long long)rows[i].at);
        if (rows[i].secret_id) {
            if (ns++) {
                sb_putc(&sids, ',');
                sb_putc(&sats, ',');
            }
            pgarray_append_elem(&sids, rows[i].secret_id);
            sb_printf(&sats, "%lld", (long long)rows[i].at);
        }
    }
    sb_putc(&ids, '}');
    sb_putc(&ats, '}');
    sb_putc(&sids, '}');
    sb_putc(&sats, '}');
    int rc = 0;
    const char *v[2] = {ids.buf, ats.buf};
    /* last_used_at alone changes nothing any cache holds: the triggers of
     * migration 011 announce no such update */
    PGresult *res = pq_exec(c,
                            "UPDATE clients c SET last_used_at = greatest(c.last_used_at, u.at) "
                            "FROM (SELECT unnest($1::text[]) AS id, "
                            "to_timestamp(unnest($2::bigint[])) AS at) u WHERE c.client_id = u.id",
                            2, v, NULL, 0);
    if (!res)
        rc = -1;
    PQclear(res);
    if (rc == 0 && ns) {
        const char *w[2] = {sids.buf, sats.buf};
        res = pq_exec(c,
                      "UPDATE client_secrets s SET last_used_at = greatest(s.last_used_at, u.at) "
                      "FROM (SELECT unnest($1::text[]) AS id, "
                      "to_timestamp(unnest($2::bigint[])) AS at) u WHERE s.id = u.id",
                      2, w, NULL, 0);
        if (!res)
            rc = -1;
        PQclear(res);
    }
    sb_free(&ids);
    sb_free(&ats);
    sb_free(&sids);
    sb_free(&sats);
    return rc;
}

/* ---- authzctl ---- */

PGresult *store_ctl_tenants(PGconn *c, char *err, size_t errlen)
{
    return pq_exec(c,
                   "SELECT slug, id::text, status, display_name, " SQL_TS("created_at")
                   " FROM tenants ORDER BY slug",
                   0, NULL, err, errlen);
}

PGresult *store_ctl_tenant(PGconn *c, const char *slug, char *err, size_t errlen)
{
    const char *v[1] = {slug};
    return pq_exec(c,
                   "SELECT id::text, jsonb_pretty(to_jsonb(t) - 'approval_webhook_secret' - "
                   "'key_encryption_salt') FROM tenants t WHERE slug = $1",
                   1, v, err, errlen);
}

PGresult *store_ctl_tenant_status(PGconn *c, const char *slug, const char *status, char *err,
                                  size_t errlen)
{
    const char *v[2] = {slug, status};
    return pq_exec(c,
                   "UPDATE tenants SET status = $2, updated_at = now() WHERE slug = $1 RETURNING id::text",
                   2, v, err, errlen);
}

PGresult *store_ctl_clients(PGconn *c, const char *tenant_id, char *err, size_t errlen)
{
    const char *v[1] = {tenant_id};
    return pq_exec(c,
                   "SELECT client_id, status, coalesce(owner::text, '-'), coalesce(" SQL_TS("last_used_at")
                   ", '-'), coalesce(client_name, '') FROM clients WHERE tenant_id = $1 "
                   "ORDER BY created_at, client_id",
                   1, v, err, errlen);
}

PGresult *store_ctl_client(PGconn *c, const char *tenant_id, const char *client_id, char *err,
                           size_t errlen)
{
    const char *v[2] = {tenant_id, client_id};
    return pq_exec(c,
                   "SELECT jsonb_pretty(to_jsonb(c) - 'secret_hash' - 'id' - 'tenant_id' || "
                   "jsonb_build_object('secrets', (SELECT count(*) FROM client_secrets s WHERE "
                   "s.client_id = c.client_id AND (s.expires_at IS NULL OR s.expires_at > now())))) "
                   "FROM clients c WHERE tenant_id = $1 AND client_id = $2",
                   2, v, err, errlen);
}

PGresult *store_ctl_users(PGconn *c, const char *tenant_id, char *err, size_t errlen)
{
    const char *v[1] = {tenant_id};
    return pq_exec(c,
                   "SELECT id::text, username, status, " SQL_TS("created_at")
                   " FROM users WHERE tenant_id = $1 ORDER BY username",
                   1, v, err, errlen);
}

PGresult *store_ctl_user(PGconn *c, const char *tenant_id, const char *username, char *err,
                         size_t errlen)
{
    const char *v[2] = {tenant_id, username};
    return pq_exec(c,
                   "SELECT jsonb_pretty(to_jsonb(u) - 'password_hash' - 'tenant_id' || "
                   "jsonb_build_object('owns', (SELECT coalesce(jsonb_agg(client_id ORDER BY client_id), "
                   "'[]') FROM clients c WHERE c.owner = u.id))), id::text "
                   "FROM users u WHERE tenant_id = $1 AND username = $2",
                   2, v, err, errlen);
}

PGresult *store_ctl_audit(PGconn *c, const char *tenant_id, long long after_id, int n, char *err,
                          size_t errlen)
{
    char after[24], lim[16];
    snprintf(after, sizeof after, "%lld", after_id);
    snprintf(lim, sizeof lim, "%d", n);
    const char *v[3] = {tenant_id, after, lim};
    /* the row as GET .../audit answers it (admin/audit.c) */
    return pq_exec(c,
                   "SELECT id, j FROM (SELECT id, json_build_object('id', id::text, 'at', " SQL_TS("at")
                   ", 'event', event, 'outcome', outcome, 'client_id', client_id, 'subject', subject, "
                   "'actor_chain', actor_chain, 'session_id', session_id, 'resources', resources, "
                   "'scope', scope, 'reason', reason, 'request_id', request_id, 'source', source, "
                   "'details', details)::text AS j FROM audit WHERE tenant_id = $1 AND id > $2::bigint "
                   "ORDER BY id DESC LIMIT $3::int) x ORDER BY id",
                   3, v, err, errlen);
}
