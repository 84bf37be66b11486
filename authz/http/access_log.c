/*
 * access_log.c: the access log, one JSON line per request (SPEC §9) with its
 * request id, route, tenant, client and, for a 4xx/5xx answer, its error
 * code. Never the query string, a description, a token or a secret.
 */
#include "http/http.h"
#include "log.h"
#include "util/arena.h"

void log_request(const struct req *r, uint64_t dur_ns)
{
    if (!log_enabled(LOG_INFO))
        return;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "\"level\":\"info\",\"msg\":\"request\",\"request_id\":");
    sb_json_str(&sb, r->request_id);
    sb_puts(&sb, ",\"method\":");
    sb_json_str(&sb, r->method_str ? r->method_str : "-");
    /* the path only: query strings can carry codes and states */
    sb_puts(&sb, ",\"path\":");
    sb_json_str(&sb, r->path ? r->path : "-");
    sb_printf(&sb, ",\"status\":%d,\"duration_ms\":%.3f", r->status, (double)dur_ns / 1e6);
    sb_puts(&sb, ",\"remote\":");
    sb_json_str(&sb, r->remote_ip ? r->remote_ip : "");
    if (r->route_name) {
        sb_puts(&sb, ",\"route\":");
        sb_json_str(&sb, r->route_name);
    }
    if (r->log_tenant) {
        sb_puts(&sb, ",\"tenant\":");
        sb_json_str(&sb, r->log_tenant);
    }
    if (r->log_client) {
        sb_puts(&sb, ",\"client_id\":");
        sb_json_str(&sb, r->log_client);
    }
    /* the error code of a 4xx/5xx answer (e.g. invalid_grant), never its
     * description, which can quote what the client sent */
    if (r->status >= 400 && r->log_error) {
        sb_puts(&sb, ",\"error\":");
        sb_json_str(&sb, r->log_error);
    }
    log_fields(&sb);
}
