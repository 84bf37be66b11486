/*
 * audit.c: audit rows of a request. An event is prefilled with what the
 * request knows (tenant, authenticated client, request id, source address)
 * and added to the request's unit of work, which writes it in the same
 * commit as the change it records (or group-commits it, for answers made on
 * the event loop) before the answer leaves.
 */
#include "http/http.h"
#include "cache.h"

struct audit_event *audit_add(struct req *r, const char *event, bool success)
{
    struct audit_event *e = arena_alloc(r->arena, sizeof(*e));
    e->event = event;
    e->success = success;
    e->tenant_id = r->tenant ? tenant_id_of(r->tenant) : NULL;
    e->client_id = r->client ? client_id_of(r->client) : NULL;
    e->request_id = r->request_id;
    e->source = r->remote_ip;
    audit_append(&r->tx, e);
    return e;
}

void audit_remove(struct req *r, struct audit_event *e)
{
    audit_unlink(&r->tx, e);
}
