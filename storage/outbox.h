/*
 * outbox.h: the outbox and the sweeper, their storage side (storage/outbox.c).
 */
#ifndef AUTHZ_STORAGE_OUTBOX_H
#define AUTHZ_STORAGE_OUTBOX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct dbtx;

/* A message to deliver (SPEC §4.5): an approval webhook of a new request,
 * or a CIBA ping (§10.2) of a decided one. */
struct outbox_message {
    const char *tenant_id;
    const char *kind;             /* "webhook" or "ping" */
    const char *url, *body;
    const char *bearer;           /* ping: the client_notification_token, sealed; else NULL */
    const char *auth_req_id, *client_id;
};
/* Queues a message in the caller's transaction, so that it is sent if and
 * only if the change that caused it commits. 0 or -1. */
int outbox_enqueue(struct dbtx *tx, const struct outbox_message *m);

/* Leases up to batch due messages for lease_secs. Columns: id, tenant_id,
 * kind, url, body, bearer (sealed), auth_req_id, client_id, attempts, the
 * tenant's webhook secret (sealed), the request's person, its sid. NULL on
 * failure. */
PGresult *outbox_lease_due(PGconn *c, int lease_secs, int batch);
/* A message delivered / to try again after_secs from now (error: why). */
void outbox_delivered(PGconn *c, const char *id);
void outbox_retry_later(PGconn *c, const char *id, int after_secs, const char *error);
/* One audit row of the outbox or sweeper (source "authzd"). */
void outbox_audit(PGconn *c, const char *tenant_id, const char *event, bool ok,
                  const char *client_id, const char *session_id, const char *subject,
                  const char *reason, const char *details);
/* Ends requests nobody decided in time and sessions that reached their end
 * (each with its audit row), then drops what nothing can use any more. */
void outbox_sweep(PGconn *c);
/* Refresh tokens an hour past their expiry, in bounded deletes. */
void store_purge_refresh_tokens(PGconn *c);
/* Webhook secrets stored before they were sealed: seal them. */
void store_seal_legacy_secrets(PGconn *c, const uint8_t master_key[32]);

#endif
