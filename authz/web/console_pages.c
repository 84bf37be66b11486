/*
 * console_pages.c: what the operator console shows (console.h): tenants
 * (root), a tenant's agents (owner, flagged when there is none, status,
 * last use, scopes, a disable button), one agent with the chart of its
 * decisions over time (inline SVG: tool.allowed, tool.denied and token.*
 * rows per hour or per day), people (disable), sessions (revoke) and the
 * audit trail with the filters of SPEC §7, each list paged as the admin
 * API's lists are (the same storage statements, storage/lists.c). Every
 * value is escaped where it is put into the page; there is no script.
 */
#include "web/console.h"
#include "admin/admin.h"
#include "cache.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "storage/db.h"
#include "policy/redirect.h"
#include "util/arena.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers ---- */

static void json_release(void *p)
{
    json_decref((json_t *)p);
}

/* the JSON of row i (column 0), released with the request */
static json_t *row_json(struct req *r, PGresult *res, int i)
{
    json_t *j = json_loads(PQgetvalue(res, i, 0), 0, NULL);
    if (j)
        arena_defer(r->arena, json_release, j);
    return j;
}

static const char *jstr(json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

static void cell(struct strbuf *sb, const char *cls, const char *text)
{
    sb_printf(sb, "<td class=\"%s\">", cls);
    web_escape_into(sb, text ? text : "");
    sb_puts(sb, "</td>");
}

static char *sb_done(struct req *r, struct strbuf *sb)
{
    char *s = arena_strdup(r->arena, sb->buf ? sb->buf : "");
    sb_free(sb);
    return s;
}

static const char *notice(struct req *r)
{
    const char *n = req_query_param(r, "notice");
    const char *text = NULL;
    if (!n)
        return NULL;
    if (!strcmp(n, "disabled"))
        text = "Disabled. Everything it held has ended on every node.";
    else if (!strcmp(n, "revoked"))
        text = "The session was revoked, with every token derived from it.";
    if (!text)
        return NULL;
    return arena_sprintf(r->arena, "<p id=\"notice\" class=\"notice\" role=\"status\">%s</p>", text);
}

/* The list cursor of the query (a position in a list of SPEC §13), or a 400
 * page; false when answered. */
static bool list_cursor(struct req *r, const struct console_session *s, const char **us,
                        const char **id)
{
    *us = *id = NULL;
    const char *c = req_query_param(r, "cursor");
    if (!c && !req_query_has(r, "cursor"))
        return true;
    if (!c || !admin_list_cursor(c, r->arena, us, id)) {
        console_message(r, 400, s, "Bad request", "The page cursor is malformed.");
        return false;
    }
    return true;
}

/* the next page's cursor when res holds more than limit rows, else NULL */
static const char *next_cursor(struct req *r, PGresult *res, int limit, int c_us, int c_id)
{
    if (PQntuples(res) <= limit)
        return NULL;
    char raw[200];
    int l = snprintf(raw, sizeof raw, "%s:%s", PQgetvalue(res, limit - 1, c_us),
                     PQgetvalue(res, limit - 1, c_id));
    char *enc = arena_alloc(r->arena, b64url_encoded_len((size_t)l) + 1);
    b64url_encode(raw, (size_t)l, enc);
    return enc;
}

/* <p class="pager"><a id="next-page" href="base?cursor=..&extra">Next page</a></p> */
static void pager(struct req *r, struct strbuf *sb, const char *base, const char *extra,
                  const char *cursor)
{
    if (!cursor)
        return;
    sb_puts(sb, "<p class=\"pager\"><a id=\"next-page\" href=\"");
    web_escape_into(sb, arena_sprintf(r->arena, "%s?%s%scursor=%s", base, extra ? extra : "",
                                      extra && *extra ? "&" : "", cursor));
    sb_puts(sb, "\">Next page</a></p>\n");
}

/* <td class="cls"><a href="{audit}?name=value">text</a></td>: a cell that
 * opens the audit trail filtered by what it shows */
static void audit_cell(struct req *r, struct strbuf *sb, const char *cls, const char *name,
                       const char *value, const char *text)
{
    struct strbuf q;
    sb_init(&q);
    sb_puts(&q, console_tenant_url(r, r->tenant->slug, "audit", NULL, NULL));
    sb_printf(&q, "?%s=", name);
    uri_encode_component(&q, value);
    sb_printf(sb, "<td class=\"%s\"><a href=\"", cls);
    web_escape_into(sb, q.buf);
    sb_puts(sb, "\">");
    web_escape_into(sb, text);
    sb_puts(sb, "</a></td>");
    sb_free(&q);
}

/* ---- tenants (root) ---- */

void console_tenants_page(struct req *r, const struct console_session *s)
{
    const char *us, *id;
    if (!list_cursor(r, s, &us, &id))
        return;
    PGresult *res = store_tenants_page(&r->tx, us, id, CONSOLE_PAGE + 1);
    if (!res) {
        web_storage_failed(r);
        return;
    }
    struct strbuf sb;
    sb_init(&sb);
    int n = PQntuples(res);
    if (n == 0)
        sb_puts(&sb, "<p class=\"empty\">There are no tenants yet.</p>\n");
    else
        sb_puts(&sb, "<table id=\"tenants\"><thead><tr><th>Tenant</th><th>Name</th>"
                     "<th>Status</th><th>Created</th></tr></thead><tbody>\n");
    for (int i = 0; i < n && i < CONSOLE_PAGE; i++) {
        json_t *j = row_json(r, res, i);
        const char *slug = jstr(j, "slug");
        if (!slug)
            continue;
        sb_puts(&sb, "<tr class=\"tenant\" data-slug=\"");
        web_escape_into(&sb, slug);
        sb_puts(&sb, "\"><td><a href=\"");
        web_escape_into(&sb, console_tenant_url(r, slug, "agents", NULL, NULL));
        sb_puts(&sb, "\">");
        web_escape_into(&sb, slug);
        sb_puts(&sb, "</a></td>");
        cell(&sb, "name", jstr(j, "display_name"));
        cell(&sb, "status", jstr(j, "status"));
        cell(&sb, "created", jstr(j, "created_at"));
        sb_puts(&sb, "</tr>\n");
    }
    if (n)
        sb_puts(&sb, "</tbody></table>\n");
    pager(r, &sb, console_url(r, "/"), NULL, next_cursor(r, res, CONSOLE_PAGE, 1, 2));
    console_page(r, 200, s, NULL, "Tenants", notice(r), sb_done(r, &sb));
}

/* ---- agents ---- */

/* one agent's row of the agents table */
static void agent_row(struct req *r, struct strbuf *sb, const struct console_session *s, json_t *j)
{
    const char *slug = r->tenant->slug;
    const char *cid = jstr(j, "client_id");
    const char *owner = jstr(j, "owner");
    const char *owner_name = jstr(j, "owner_username");
    const char *status = jstr(j, "status") ? jstr(j, "status") : "active";
    sb_puts(sb, "<tr class=\"agent");
    if (!owner)
        sb_puts(sb, " no-owner");
    sb_printf(sb, " status-%s\" data-client-id=\"", !strcmp(status, "disabled") ? "disabled" : "active");
    web_escape_into(sb, cid);
    sb_puts(sb, "\"><td class=\"agent-name\"><a href=\"");
    web_escape_into(sb, console_tenant_url(r, slug, "agents", cid, NULL));
    sb_puts(sb, "\">");
    web_escape_into(sb, jstr(j, "client_name") ? jstr(j, "client_name") : cid);
    sb_puts(sb, "</a><br><code>");
    web_escape_into(sb, cid);
    sb_puts(sb, "</code></td><td class=\"owner\">");
    if (owner) {
        web_escape_into(sb, owner_name ? owner_name : owner);
    } else {
        /* SPEC §13: agents without an owner are flagged in the console */
        sb_puts(sb, "<span class=\"flag\" title=\"Nobody answers for this agent\">No owner</span>");
    }
    sb_puts(sb, "</td>");
    cell(sb, "status", status);
    cell(sb, "last-used", jstr(j, "last_used_at") ? jstr(j, "last_used_at") : "never");
    cell(sb, "scopes", jstr(j, "scope"));
    sb_puts(sb, "<td class=\"actions\">");
    if (strcmp(status, "disabled") != 0)
        console_button_form(sb, console_tenant_url(r, slug, "agents", cid, "disable"),
                            s->csrf_token, "disable", arena_sprintf(r->arena, "disable-%s", cid),
                            "Disable", false);
    sb_puts(sb, "</td></tr>\n");
}

void console_agents_page(struct req *r, const struct console_session *s)
{
    const char *us, *id;
    if (!list_cursor(r, s, &us, &id))
        return;
    PGresult *res = store_clients_page(&r->tx, r->tenant->id, NULL, NULL, us, id, CONSOLE_PAGE + 1);
    if (!res) {
        web_storage_failed(r);
        return;
    }
    struct strbuf sb;
    sb_init(&sb);
    int n = PQntuples(res);
    if (n == 0)
        sb_puts(&sb, "<p class=\"empty\">This tenant has no agents.</p>\n");
    else
        sb_puts(&sb, "<table id=\"agents\"><thead><tr><th>Agent</th><th>Owner</th><th>Status</th>"
                     "<th>Last used</th><th>Scopes</th><th></th></tr></thead><tbody>\n");
    for (int i = 0; i < n && i < CONSOLE_PAGE; i++) {
        json_t *j = row_json(r, res, i);
        if (j && jstr(j, "client_id"))
            agent_row(r, &sb, s, j);
    }
    if (n)
        sb_puts(&sb, "</tbody></table>\n");
    pager(r, &sb, console_tenant_url(r, r->tenant->slug, "agents", NULL, NULL), NULL,
          next_cursor(r, res, CONSOLE_PAGE, 1, 2));
    console_page(r, 200, s, r->tenant->slug, "Agents", notice(r), sb_done(r, &sb));
}

/* ---- one agent and its chart ---- */

struct bucket {
    int64_t at;
    long allowed, denied, tokens;
};

/* The decisions over time as an inline SVG bar chart: for each bucket, the
 * tool calls allowed (green), denied (red) and the token events (blue). */
static void chart(struct strbuf *sb, const struct bucket *b, int n, bool hourly)
{
    const int W = 760, H = 240, L = 44, B = 36, T = 12;
    long max = 1;
    long tot[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        long v[3] = {b[i].allowed, b[i].denied, b[i].tokens};
        for (int k = 0; k < 3; k++) {
            if (v[k] > max)
                max = v[k];
            tot[k] += v[k];
        }
    }
    double bw = (double)(W - L - 8) / n;
    double ph = H - B - T;
    sb_printf(sb, "<svg id=\"chart\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                  "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                  "aria-labelledby=\"chart-title\">\n<title id=\"chart-title\">Decisions per %s: "
                  "%ld tool calls allowed, %ld denied, %ld token events</title>\n",
              W, H, W, H, hourly ? "hour" : "day", tot[0], tot[1], tot[2]);
    /* axes and the top value */
    sb_printf(sb, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8a94a3\"/>\n", L, T, L, H - B);
    sb_printf(sb, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8a94a3\"/>\n", L, H - B,
              W - 4, H - B);
    sb_printf(sb, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%ld</text>\n", L - 4,
              T + 10, max);
    sb_printf(sb, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">0</text>\n", L - 4,
              H - B);
    static const char *colour[3] = {"#2e7d32", "#c62828", "#1f5fbf"};
    static const char *what[3] = {"allowed", "denied", "tokens"};
    int every = hourly ? 3 : 5;
    for (int i = 0; i < n; i++) {
        long v[3] = {b[i].allowed, b[i].denied, b[i].tokens};
        time_t tt = (time_t)b[i].at;
        struct tm tm;
        char label[32] = "";
        if (gmtime_r(&tt, &tm))
            strftime(label, sizeof label, hourly ? "%H:00" : "%m-%d", &tm);
        for (int k = 0; k < 3; k++) {
            double h = ph * (double)v[k] / (double)max;
            double x = L + 2 + i * bw + k * (bw - 2) / 3.0;
            sb_printf(sb, "<rect class=\"bar bar-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\" fill=\"%s\" data-count=\"%ld\"><title>%s UTC: %ld %s"
                          "</title></rect>\n",
                      what[k], x, T + ph - h, (bw - 2) / 3.0, h, colour[k], v[k], label, v[k],
                      what[k]);
        }
        if (i % every == 0)
            sb_printf(sb, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%s</text>\n", L + 2 + i * bw,
                      H - B + 14, label);
    }
    for (int k = 0; k < 3; k++)
        sb_printf(sb, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                      "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n",
                  L + k * 140, H - 12, colour[k], L + 14 + k * 140, H - 3,
                  k == 0 ? "tool calls allowed" : k == 1 ? "tool calls denied" : "token events");
    sb_puts(sb, "</svg>\n");
    sb_printf(sb, "<p id=\"chart-totals\">Allowed <strong id=\"total-allowed\">%ld</strong>, "
                  "denied <strong id=\"total-denied\">%ld</strong>, token events "
                  "<strong id=\"total-tokens\">%ld</strong>.</p>\n",
              tot[0], tot[1], tot[2]);
}

void console_agent_page(struct req *r, const struct console_session *s, const char *client_id)
{
    const char *by = req_query_param(r, "by");
    if ((!by && req_query_has(r, "by")) || (by && strcmp(by, "hour") && strcmp(by, "day"))) {
        console_message(r, 400, s, "Bad request", "by must be hour or day.");
        return;
    }
    bool hourly = !by || !strcmp(by, "hour");
    PGresult *row = store_client_row(&r->tx, r->tenant->id, client_id);
    if (!row) {
        web_storage_failed(r);
        return;
    }
    if (PQntuples(row) != 1) {
        console_message(r, 404, s, "Not found", "There is no such agent in this tenant.");
        return;
    }
    int nb = hourly ? 24 : 30;
    PGresult *act = store_agent_activity(&r->tx, r->tenant->id, client_id, hourly ? "hour" : "day", nb);
    if (!act) {
        web_storage_failed(r);
        return;
    }
    int n = PQntuples(act);
    struct bucket *b = arena_alloc(r->arena, sizeof *b * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        b[i].at = strtoll(PQgetvalue(act, i, 0), NULL, 10);
        b[i].allowed = strtol(PQgetvalue(act, i, 1), NULL, 10);
        b[i].denied = strtol(PQgetvalue(act, i, 2), NULL, 10);
        b[i].tokens = strtol(PQgetvalue(act, i, 3), NULL, 10);
    }
    json_t *j = row_json(r, row, 0);
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "<table id=\"agents\"><thead><tr><th>Agent</th><th>Owner</th><th>Status</th>"
                 "<th>Last used</th><th>Scopes</th><th></th></tr></thead><tbody>\n");
    if (j)
        agent_row(r, &sb, s, j);
    sb_puts(&sb, "</tbody></table>\n<h2>Decisions over time</h2>\n<p class=\"switch\">");
    const char *self = console_tenant_url(r, r->tenant->slug, "agents", client_id, NULL);
    sb_puts(&sb, hourly ? "<strong>Last 24 hours</strong> · <a id=\"by-day\" href=\""
                        : "<a id=\"by-hour\" href=\"");
    web_escape_into(&sb, arena_sprintf(r->arena, "%s?by=%s", self, hourly ? "day" : "hour"));
    sb_puts(&sb, hourly ? "\">Last 30 days</a>" : "\">Last 24 hours</a> · <strong>Last 30 days</strong>");
    sb_puts(&sb, "</p>\n");
    if (n > 0)
        chart(&sb, b, n, hourly);
    {
        struct strbuf q;
        sb_init(&q);
        sb_puts(&q, console_tenant_url(r, r->tenant->slug, "audit", NULL, NULL));
        sb_puts(&q, "?client=");
        uri_encode_component(&q, client_id);
        sb_puts(&sb, "<p><a id=\"agent-audit\" href=\"");
        web_escape_into(&sb, q.buf);
        sb_puts(&sb, "\">This agent's audit trail</a></p>\n");
        sb_free(&q);
    }
    console_page(r, 200, s, r->tenant->slug,
                 jstr(j, "client_name") ? jstr(j, "client_name") : client_id, notice(r),
                 sb_done(r, &sb));
}

/* ---- people ---- */

void console_people_page(struct req *r, const struct console_session *s)
{
    const char *us, *id;
    if (!list_cursor(r, s, &us, &id))
        return;
    PGresult *res = store_users_page(&r->tx, r->tenant->id, NULL, us, id, CONSOLE_PAGE + 1);
    if (!res) {
        web_storage_failed(r);
        return;
    }
    struct strbuf sb;
    sb_init(&sb);
    int n = PQntuples(res);
    if (n == 0)
        sb_puts(&sb, "<p class=\"empty\">This tenant has no people.</p>\n");
    else
        sb_puts(&sb, "<table id=\"people\"><thead><tr><th>Person</th><th>sub</th><th>Status</th>"
                     "<th>Scopes</th><th></th></tr></thead><tbody>\n");
    for (int i = 0; i < n && i < CONSOLE_PAGE; i++) {
        json_t *j = row_json(r, res, i);
        const char *sub = jstr(j, "id");
        if (!sub)
            continue;
        const char *status = jstr(j, "status") ? jstr(j, "status") : "active";
        sb_printf(&sb, "<tr class=\"person status-%s\" data-sub=\"",
                  !strcmp(status, "disabled") ? "disabled" : "active");
        web_escape_into(&sb, sub);
        sb_puts(&sb, "\">");
        audit_cell(r, &sb, "username", "user", sub, jstr(j, "username"));
        cell(&sb, "sub", sub);
        cell(&sb, "status", status);
        struct strbuf sc;
        sb_init(&sc);
        json_t *arr = json_object_get(j, "scopes");
        size_t k;
        json_t *v;
        json_array_foreach(arr, k, v)
        {
            if (k)
                sb_putc(&sc, ' ');
            sb_puts(&sc, json_string_value(v) ? json_string_value(v) : "");
        }
        cell(&sb, "scopes", sc.buf);
        sb_free(&sc);
        sb_puts(&sb, "<td class=\"actions\">");
        if (strcmp(status, "disabled") != 0)
            console_button_form(&sb, console_tenant_url(r, r->tenant->slug, "people", sub, "disable"),
                                s->csrf_token, "disable", arena_sprintf(r->arena, "disable-%s", sub),
                                "Disable", false);
        sb_puts(&sb, "</td></tr>\n");
    }
    if (n)
        sb_puts(&sb, "</tbody></table>\n");
    pager(r, &sb, console_tenant_url(r, r->tenant->slug, "people", NULL, NULL), NULL,
          next_cursor(r, res, CONSOLE_PAGE, 1, 2));
    console_page(r, 200, s, r->tenant->slug, "People", notice(r), sb_done(r, &sb));
}

/* ---- sessions ---- */

bool console_cursor_parse(struct arena *a, const char *c, bool neg, bool digits_id,
                          const char **us, const char **id)
{
    char buf[200];
    ssize_t n = c ? b64url_decode(c, strlen(c), buf, sizeof buf - 1) : -1;
    bool ok = n > 2;
    char *colon = NULL;
    if (ok) {
        buf[n] = '\0';
        colon = strchr(buf, ':');
        ok = colon && colon != buf && colon[1] && strlen(buf) == (size_t)n && colon - buf <= 20 &&
             strlen(colon + 1) <= 128;
    }
    for (char *p = buf; ok && p < colon; p++)
        ok = (*p >= '0' && *p <= '9') || (neg && p == buf && *p == '-' && p + 1 < colon);
    for (char *p = ok ? colon + 1 : buf; ok && *p; p++)
        ok = (*p >= '0' && *p <= '9') ||
             (!digits_id && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '_'));
    if (ok && digits_id && !admin_bigint_ok(colon + 1))
        ok = false;
    if (!ok)
        return false;
    *colon = '\0';
    if (!admin_bigint_ok(buf[0] == '-' ? buf + 1 : buf))
        return false;
    *us = arena_strdup(a, buf);
    *id = arena_strdup(a, colon + 1);
    return true;
}

/* The query's cursor of the sessions or audit list (console_cursor_parse).
 * Absent: true with both NULL; malformed: a 400 page and false. */
static bool pos_cursor(struct req *r, const struct console_session *s, bool neg, bool digits_id,
                       const char **us, const char **id)
{
    *us = *id = NULL;
    const char *c = req_query_param(r, "cursor");
    if (!c && !req_query_has(r, "cursor"))
        return true;
    if (!c || !console_cursor_parse(r->arena, c, neg, digits_id, us, id)) {
        console_message(r, 400, s, "Bad request", "The page cursor is malformed.");
        return false;
    }
    return true;
}

void console_sessions_page(struct req *r, const struct console_session *s)
{
    const char *us, *id;
    if (!pos_cursor(r, s, false, false, &us, &id))
        return;
    PGresult *res = store_console_sessions_page(&r->tx, r->tenant->id, us, id, CONSOLE_PAGE + 1);
    if (!res) {
        web_storage_failed(r);
        return;
    }
    struct strbuf sb;
    sb_init(&sb);
    int n = PQntuples(res);
    if (n == 0)
        sb_puts(&sb, "<p class=\"empty\" id=\"no-sessions\">There are no active sessions.</p>\n");
    else
        sb_puts(&sb, "<table id=\"sessions\"><thead><tr><th>Session</th><th>Agent</th>"
                     "<th>Person</th><th>Scope</th><th>Started</th><th>Ends</th><th></th></tr>"
                     "</thead><tbody>\n");
    for (int i = 0; i < n && i < CONSOLE_PAGE; i++) {
        const char *sid = PQgetvalue(res, i, 0);
        sb_puts(&sb, "<tr class=\"session\" data-sid=\"");
        web_escape_into(&sb, sid);
        sb_puts(&sb, "\">");
        audit_cell(r, &sb, "sid", "session", sid, sid);
        cell(&sb, "client", PQgetvalue(res, i, 1));
        cell(&sb, "username", PQgetvalue(res, i, 2));
        cell(&sb, "scope", PQgetvalue(res, i, 3));
        cell(&sb, "started", PQgetvalue(res, i, 5));
        cell(&sb, "ends", PQgetvalue(res, i, 4));
        sb_puts(&sb, "<td class=\"actions\">");
        console_button_form(&sb, console_tenant_url(r, r->tenant->slug, "sessions", sid, "revoke"),
                            s->csrf_token, "revoke", arena_sprintf(r->arena, "revoke-%s", sid),
                            "Revoke", false);
        sb_puts(&sb, "</td></tr>\n");
    }
    if (n)
        sb_puts(&sb, "</tbody></table>\n");
    pager(r, &sb, console_tenant_url(r, r->tenant->slug, "sessions", NULL, NULL), NULL,
          next_cursor(r, res, CONSOLE_PAGE, 6, 7));
    console_page(r, 200, s, r->tenant->slug, "Sessions", notice(r), sb_done(r, &sb));
}

/* ---- the audit trail ---- */

/* true when the raw query has name= with an empty value */
static bool query_empty(const struct req *r, const char *name)
{
    size_t l = strlen(name);
    for (const char *q = r->query; q && *q;) {
        if (!strncmp(q, name, l) && q[l] == '=' && (q[l + 1] == '&' || q[l + 1] == '\0'))
            return true;
        q = strchr(q, '&');
        if (q)
            q++;
    }
    return false;
}

/* (console.h) PostgreSQL alone would also take "yesterday". */
const char *console_date_time(struct arena *a, const char *s)
{
    const char *shape = "dddd-dd-ddTdd:dd";
    size_t i = 0;
    for (; shape[i]; i++) {
        char c = s[i];
        if (shape[i] == 'd' ? !(c >= '0' && c <= '9') : (shape[i] == 'T' ? (c != 'T' && c != 't' && c != ' ') : c != shape[i]))
            return NULL;
    }
    const char *p = s + i;
    if (p[0] == ':') {
        if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
            return NULL;
        p += 3;
        if (*p == '.') {
            p++;
            if (!(*p >= '0' && *p <= '9'))
                return NULL;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (*p == '\0')
        return arena_sprintf(a, "%sZ", s);
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return s;
    if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
        p[3] == ':' && p[4] >= '0' && p[4] <= '9' && p[5] >= '0' && p[5] <= '9' && p[6] == '\0')
        return s;
    return NULL;
}

static const char *FILTERS[] = {"since", "until", "user", "client", "session", "event"};
#define NFILTERS 6

void console_audit_page(struct req *r, const struct console_session *s)
{
    const char *v[NFILTERS];
    struct strbuf keep; /* the filters, for the next page's link */
    sb_init(&keep);
    for (int i = 0; i < NFILTERS; i++) {
        v[i] = req_query_param(r, FILTERS[i]);
        if (v[i] && !*v[i])
            v[i] = NULL;
        /* an empty field of the filter form filters nothing; a value that
         * does not decode is refused */
        if (!v[i] && req_query_has(r, FILTERS[i]) && !query_empty(r, FILTERS[i])) {
            sb_free(&keep);
            console_message(r, 400, s, "Bad request",
                            arena_sprintf(r->arena, "The %s filter is malformed.", FILTERS[i]));
            return;
        }
        if (v[i] && strlen(v[i]) > 256) {
            sb_free(&keep);
            console_message(r, 400, s, "Bad request",
                            arena_sprintf(r->arena, "The %s filter is too long.", FILTERS[i]));
            return;
        }
        if (v[i]) {
            if (keep.len)
                sb_putc(&keep, '&');
            sb_printf(&keep, "%s=", FILTERS[i]);
            uri_encode_component(&keep, v[i]);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (!v[i])
            continue;
        v[i] = console_date_time(r->arena, v[i]);
        if (!v[i]) {
            sb_free(&keep);
            console_message(r, 400, s, "Bad request",
                            arena_sprintf(r->arena, "%s must be a date-time, for example "
                                                    "2026-12-05T18:00:00Z.",
                                          FILTERS[i]));
            return;
        }
    }
    /* the audit cursor: base64url("<microseconds>:<row id>") */
    const char *cur_us, *cur_id;
    if (!pos_cursor(r, s, true, true, &cur_us, &cur_id)) {
        sb_free(&keep);
        return;
    }
    PGresult *res = store_audit_page(&r->tx, r->tenant->id, v[0], v[1], v[2], v[3], v[4], v[5],
                                     cur_us, cur_id, CONSOLE_PAGE + 1);
    if (!res) {
        sb_free(&keep);
        if (r->tx.down) {
            web_storage_failed(r);
            return;
        }
        console_message(r, 400, s, "Bad request",
                        "since and until must be date-times (for example 2026-12-05T18:00:00Z).");
        return;
    }
    struct strbuf sb;
    sb_init(&sb);
    const char *self = console_tenant_url(r, r->tenant->slug, "audit", NULL, NULL);
    sb_puts(&sb, "<form id=\"audit-filters\" method=\"get\" action=\"");
    web_escape_into(&sb, self);
    sb_puts(&sb, "\">\n");
    static const char *labels[NFILTERS] = {"Since", "Until", "Person (sub)", "Agent (client_id)",
                                           "Session", "Event"};
    for (int i = 0; i < NFILTERS; i++) {
        sb_printf(&sb, "<label>%s <input name=\"%s\" id=\"filter-%s\" value=\"", labels[i],
                  FILTERS[i], FILTERS[i]);
        web_escape_into(&sb, v[i]);
        sb_puts(&sb, "\"></label>\n");
    }
    sb_puts(&sb, "<button id=\"filter\" type=\"submit\">Filter</button>\n</form>\n");
    int n = PQntuples(res);
    if (n == 0)
        sb_puts(&sb, "<p class=\"empty\" id=\"no-events\">No audit rows match.</p>\n");
    else
        sb_puts(&sb, "<table id=\"audit\"><thead><tr><th>At</th><th>Event</th><th>Outcome</th>"
                     "<th>Agent</th><th>Person</th><th>Session</th><th>Scope</th><th>Reason</th>"
                     "<th>Details</th></tr></thead><tbody>\n");
    for (int i = 0; i < n && i < CONSOLE_PAGE; i++) {
        json_t *j = row_json(r, res, i);
        if (!j)
            continue;
        const char *outcome = jstr(j, "outcome");
        sb_printf(&sb, "<tr class=\"event outcome-%s\" data-event=\"",
                  outcome && !strcmp(outcome, "failure") ? "failure" : "success");
        web_escape_into(&sb, jstr(j, "event"));
        sb_puts(&sb, "\" data-id=\"");
        web_escape_into(&sb, jstr(j, "id"));
        sb_puts(&sb, "\">");
        cell(&sb, "at", jstr(j, "at"));
        cell(&sb, "event", jstr(j, "event"));
        cell(&sb, "outcome", outcome);
        cell(&sb, "client", jstr(j, "client_id"));
        cell(&sb, "subject", jstr(j, "subject"));
        cell(&sb, "session", jstr(j, "session_id"));
        cell(&sb, "scope", jstr(j, "scope"));
        cell(&sb, "reason", jstr(j, "reason"));
        char *details = json_dumps(json_object_get(j, "details"), JSON_COMPACT);
        cell(&sb, "details", details);
        free(details);
        sb_puts(&sb, "</tr>\n");
    }
    if (n)
        sb_puts(&sb, "</tbody></table>\n");
    pager(r, &sb, self, keep.buf, next_cursor(r, res, CONSOLE_PAGE, 1, 2));
    sb_free(&keep);
    console_page(r, 200, s, r->tenant->slug, "Audit trail", notice(r), sb_done(r, &sb));
}
