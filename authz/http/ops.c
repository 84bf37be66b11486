/*
 * ops.c: /healthz (the process is alive), /readyz (the database answers and
 * the schema is current) and /metrics (Prometheus text).
 */
#include "http/routes.h"
#include "http/metrics.h"
#include "storage/db.h"
#include "storage/store.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

enum hres h_healthz(struct req *r)
{
    resp_text(r, 200, "application/json", "{\"status\":\"ok\"}");
    resp_header(r, "Cache-Control", "no-store");
    return H_DONE;
}

enum hres h_readyz(struct req *r)
{
    char err[512];
    if (!r->db || PQstatus(r->db) != CONNECTION_OK) {
        r->db_down = true;
        return H_DONE;
    }
    int rc = store_schema_check(r->db, config_data_dir(), err, sizeof err);
    if (rc < 0 && PQstatus(r->db) != CONNECTION_OK) {
        r->db_down = true;
        return H_DONE;
    }
    if (rc != 0) {
        resp_problem(r, 503, "Not ready", err);
        resp_header(r, "Retry-After", "5");
        return H_DONE;
    }
    resp_text(r, 200, "application/json", "{\"status\":\"ready\"}");
    resp_header(r, "Cache-Control", "no-store");
    return H_DONE;
}

enum hres h_metrics(struct req *r)
{
    struct strbuf sb;
    sb_init(&sb);
    metrics_render(&sb);
    size_t len;
    char *body = sb_steal(&sb, &len);
    resp_set(r, 200, "text/plain; version=0.0.4", body, len);
    resp_header(r, "Cache-Control", "no-store");
    return H_DONE;
}
