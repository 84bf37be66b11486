/*
 * audit.c: GET /admin/v1/tenants/{t}/audit — the tenant's audit trail,
 * newest first, filtered by time, person, client, session and event, paged
 * with an opaque keyset cursor (the position of the last row returned).
 */
#include "admin/admin.h"
#include "admin/body.h"
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/lists.h"
#include "storage/store.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "cache.h"
#include "util/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void admin_page_answer(struct req *r, PGresult *res, const char *member, int limit, char sep)
{
    int n = PQntuples(res);
    int shown = n > limit ? limit : n;
    struct strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "{\"%s\":[", member);
    for (int i = 0; i < shown; i++) {
        if (i)
            sb_putc(&sb, ',');
        sb_puts(&sb, PQgetvalue(res, i, 0));
    }
    sb_puts(&sb, "],\"next_cursor\":");
    if (n > limit) {
        char raw[200], enc[280];
        int l = snprintf(raw, sizeof raw, "%s%c%s", PQgetvalue(res, shown - 1, 1), sep,
                         PQgetvalue(res, shown - 1, 2));
        b64url_encode(raw, (size_t)l, enc);
        sb_json_str(&sb, enc);
    } else {
        sb_puts(&sb, "null");
    }
    sb_putc(&sb, '}');
    size_t len;
    char *body = sb_steal(&sb, &len);
    resp_set(r, 200, "application/json", body, len);
    resp_header(r, "Cache-Control", "no-store");
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static bool rfc3339(const char *s)
{
    const char *shape = "dddd-dd-ddTdd:dd:dd";
    for (int i = 0; shape[i]; i++) {
        char c = s[i];
        if (shape[i] == 'd' ? !(c >= '0' && c <= '9') : (shape[i] == 'T' ? (c != 'T' && c != 't') : c != shape[i]))
            return false;
    }
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
        p[3] == ':' && p[4] >= '0' && p[4] <= '9' && p[5] >= '0' && p[5] <= '9' && p[6] == '\0')
        return true;
    return false;
}

void admin_audit_list(struct req *r, const struct admin_call *c)
{
    static const char *known[] = {"since", "until", "user", "client", "session", "event",
                                  "limit", "cursor"};
    const char *v[8];
    for (int i = 0; i < 8; i++) {
        v[i] = req_query_param(r, known[i]);
        if (!v[i] && req_query_has(r, known[i])) {
            admin_problem(r, 400, arena_sprintf(r->arena, "malformed or empty %s", known[i]));
            return;
        }
    }
    for (int i = 0; i < 2; i++)
        if (v[i] && !rfc3339(v[i])) {
            admin_problem(r, 400, arena_sprintf(r->arena, "%s must be an RFC 3339 date-time", known[i]));
            return;
        }
    long limit = AUTHZ_AUDIT_PAGE_DEFAULT;
    if (v[6]) {
        char *end;
        limit = strtol(v[6], &end, 10);
        if (*end || end == v[6] || limit < 1 || limit > AUTHZ_AUDIT_PAGE_MAX) {
            admin_problem(r, 400, "limit must be a whole number from 1 to 1000");
            return;
        }
    }
    const char *cur_at = NULL, *cur_id = NULL;
    if (v[7]) {
        char buf[128];
        ssize_t n = b64url_decode(v[7], strlen(v[7]), buf, sizeof buf - 1);
        char *colon = n > 0 ? memchr(buf, ':', (size_t)n) : NULL;
        if (!colon) {
            admin_problem(r, 400, "malformed cursor");
            return;
        }
        buf[n] = '\0';
        *colon = '\0';
        for (char *p = buf; *p; p++)
            if ((*p < '0' || *p > '9') && *p != '-')
                colon = NULL;
        for (char *p = colon ? colon + 1 : buf; colon && *p; p++)
            if (*p < '0' || *p > '9')
                colon = NULL;
        if (!colon) {
            admin_problem(r, 400, "malformed cursor");
            return;
        }
        cur_at = arena_strdup(r->arena, buf);
        cur_id = arena_strdup(r->arena, colon + 1);
    }
    PGresult *res = store_audit_page(&r->tx, c->t->id, v[0], v[1], v[2], v[3], v[4], v[5], cur_at,
                                     cur_id, (int)limit + 1);
    if (!res) {
        if (!r->tx.down)
            admin_problem(r, 400, "malformed since or until (RFC 3339 expected)");
        return;
    }
    admin_page_answer(r, res, "events", (int)limit, ':');
}
