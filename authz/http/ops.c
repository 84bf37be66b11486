/*
 * ops.c: /healthz (the process is alive), /readyz (the database answers, the
 * schema is current and the master key opens the tenants' signing keys;
 * which of them is not, when one is not) and /metrics (Prometheus text).
 */
#include "http/routes.h"
#include "metrics.h"
#include "storage/db.h"
#include "storage/store.h"
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum hres h_healthz(struct req *r)
{
    resp_text(r, 200, "application/json", "{\"status\":\"ok\"}");
    resp_header(r, "Cache-Control", "no-store");
    return H_DONE;
}

/* SPEC §9: "/readyz says which of database, schema or keys is not ready".
 * Each check is "ok" or what is wrong; one that could not run (the database
 * is down) is "unknown". The keys check opens the newest tenants' active
 * signing keys with this process's master key (all of them at start). */
#define READYZ_KEYS_CHECKED 64

struct readiness {
    const char *database, *schema, *keys;
    char detail[600];
};

static void readyz_check(struct req *r, struct readiness *rd)
{
    rd->database = "unavailable";
    rd->schema = rd->keys = "unknown";
    snprintf(rd->detail, sizeof rd->detail, "the database cannot be reached");
    if (!r->tx.conn || PQstatus(r->tx.conn) != CONNECTION_OK)
        return;
    char err[512];
    int rc = store_schema_check(r->tx.conn, config_data_dir(), err, sizeof err);
    /* a statement that failed because the connection did is the database's
     * state, not the schema's */
    if (PQstatus(r->tx.conn) != CONNECTION_OK)
        return;
    rd->database = "ok";
    rd->detail[0] = '\0';
    if (rc != 0) {
        rd->schema = rc > 0 ? "behind" : "error";
        snprintf(rd->detail, sizeof rd->detail, "%s; run `authzctl migrate`", err);
        return;
    }
    rd->schema = "ok";
    char bad[256];
    int checked = 0;
    int nbad = store_keys_check(r->tx.conn, READYZ_KEYS_CHECKED, &checked, bad, sizeof bad, err, sizeof err);
    if (nbad < 0 && PQstatus(r->tx.conn) != CONNECTION_OK) {
        rd->database = "unavailable";
        rd->schema = "unknown";
        snprintf(rd->detail, sizeof rd->detail, "the database cannot be reached");
    } else if (nbad < 0) {
        rd->keys = "error";
        snprintf(rd->detail, sizeof rd->detail, "the signing keys could not be read");
    } else if (nbad > 0) {
        rd->keys = "unreadable";
        snprintf(rd->detail, sizeof rd->detail,
                 "this master key cannot open the signing keys of %d tenants (%s%s)", nbad, bad,
                 nbad > 5 ? ", ..." : "");
    } else {
        rd->keys = "ok";
    }
}

enum hres h_readyz(struct req *r)
{
    struct readiness rd;
    readyz_check(r, &rd);
    /* the database's state is this answer's subject, not a reason to
     * replace it with the generic 503 */
    r->tx.down = false;
    bool ready = !strcmp(rd.database, "ok") && !strcmp(rd.schema, "ok") && !strcmp(rd.keys, "ok");
    struct strbuf sb;
    sb_init(&sb);
    if (ready) {
        sb_puts(&sb, "{\"status\":\"ready\"");
    } else {
        /* RFC 9457 problem details, with the checks as extension members */
        sb_puts(&sb, "{\"type\":\"about:blank\",\"title\":\"Not ready\",\"status\":503,\"detail\":");
        sb_json_str(&sb, rd.detail);
    }
    sb_puts(&sb, ",\"checks\":{\"database\":");
    sb_json_str(&sb, rd.database);
    sb_puts(&sb, ",\"schema\":");
    sb_json_str(&sb, rd.schema);
    sb_puts(&sb, ",\"keys\":");
    sb_json_str(&sb, rd.keys);
    sb_puts(&sb, "}}");
    size_t len;
    char *body = sb_steal(&sb, &len);
    resp_set(r, ready ? 200 : 503, ready ? "application/json" : "application/problem+json", body, len);
    resp_header(r, "Cache-Control", "no-store");
    if (!ready) {
        resp_header(r, "Retry-After", "5");
        resp_note_error(r, !strcmp(rd.database, "ok") ? "not_ready" : "database_unavailable");
    }
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
