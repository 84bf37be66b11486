/*
 * admin_audit.c: reading the audit trail for the admin API (storage/admin.h).
 * Audit rows are written in db.c, with the change they record.
 */
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/store.h"

PGresult *store_audit_page(struct dbtx *tx, const char *tenant_id, const struct audit_filter *f)
{
    const char *p[10] = {tenant_id,     f->since,      f->until, f->subject, f->client_id,
                         f->session_id, f->event,      f->cur_us, f->cur_id, f->limit};
    return db_q(
        tx,
        "SELECT json_build_object('id', id::text, 'at', " SQL_TS("at") ", 'event', event, "
        "'outcome', outcome, 'client_id', client_id, 'subject', subject, 'actor_chain', "
        "actor_chain, 'session_id', session_id, 'resources', resources, 'scope', scope, "
        "'reason', reason, 'request_id', request_id, 'source', source, 'details', details)::text, "
        "(extract(epoch from at) * 1000000)::bigint, id FROM audit "
        "WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR at >= $2::timestamptz) "
        "AND ($3::timestamptz IS NULL OR at < $3::timestamptz) "
        "AND ($4::text IS NULL OR subject = $4) AND ($5::text IS NULL OR client_id = $5) "
        "AND ($6::text IS NULL OR session_id = $6) AND ($7::text IS NULL OR event = $7) "
        "AND ($8::bigint IS NULL OR ((extract(epoch from at) * 1000000)::bigint, id) < "
        "($8::bigint, $9::bigint)) "
        "ORDER BY (extract(epoch from at) * 1000000)::bigint DESC, id DESC LIMIT $10::int",
        10, p);
}
