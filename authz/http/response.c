/*
 * response.c: building the answer of a request, and the one error mapper.
 * Every error body authzd sends is written here: resp_error picks the
 * format of the route (RFC 6749 §5.2 JSON for the OAuth endpoints, RFC 9457
 * problem+json for the admin API and operations, an HTML page for the
 * person-facing pages), http_db_unavailable turns a lost database into
 * 503 + Retry-After in that format, and the transport's own refusals (400,
 * 408, 413, 431 ...) go through resp_error too. Handlers set an answer; the
 * connection (conn.c) writes it.
 *
 * The body is malloc'd (it can be large and is handed over from jansson or
 * a strbuf without a copy) and freed with the request; header names and
 * values live in the request's arena.
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void resp_header(struct req *r, const char *name, const char *value)
{
    /* a header set twice replaces the first, except Set-Cookie, of which an
     * answer may carry several (RFC 6265 §3) */
    bool repeatable = strcasecmp(name, "Set-Cookie") == 0;
    for (int i = 0; !repeatable && i < r->nresp_headers; i++)
        if (strcasecmp(r->resp_headers[i].name, name) == 0) {
            r->resp_headers[i].value = arena_strdup(r->arena, value);
            return;
        }
    if (r->nresp_headers == r->cap_resp_headers) {
        int cap = r->cap_resp_headers ? r->cap_resp_headers * 2 : 8;
        struct header *h = arena_alloc(r->arena, sizeof(*h) * (size_t)cap);
        if (r->nresp_headers)
            memcpy(h, r->resp_headers, sizeof(*h) * (size_t)r->nresp_headers);
        r->resp_headers = h;
        r->cap_resp_headers = cap;
    }
    r->resp_headers[r->nresp_headers].name = arena_strdup(r->arena, name);
    r->resp_headers[r->nresp_headers].value = arena_strdup(r->arena, value);
    r->nresp_headers++;
}

void resp_set(struct req *r, int status, const char *content_type, char *body, size_t len)
{
    free(r->resp_body);
    r->status = status;
    r->resp_body = body;
    r->resp_len = len;
    if (content_type)
        resp_header(r, "Content-Type", content_type);
}

void resp_json(struct req *r, int status, char *json)
{
    resp_set(r, status, "application/json", json, strlen(json));
}

void resp_text(struct req *r, int status, const char *content_type, const char *text)
{
    resp_set(r, status, content_type, strdup(text), strlen(text));
}

void resp_note_error(struct req *r, const char *code)
{
    size_t n = code ? strlen(code) : 0;
    bool token = n > 0 && n <= 64;
    for (size_t i = 0; token && i < n; i++)
        token = (code[i] >= 'a' && code[i] <= 'z') || (code[i] >= 'A' && code[i] <= 'Z') ||
                (code[i] >= '0' && code[i] <= '9') || strchr("_.:-", code[i]) != NULL;
    r->log_error = token ? arena_strdup(r->arena, code) : "unlisted";
}

void resp_oauth_error(struct req *r, int status, const char *error, const char *description)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"error\":");
    sb_json_str(&sb, error);
    if (description) {
        sb_puts(&sb, ",\"error_description\":");
        sb_json_str(&sb, description);
    }
    sb_putc(&sb, '}');
    size_t len;
    char *body = sb_steal(&sb, &len);
    resp_set(r, status, "application/json", body, len);
    resp_header(r, "Cache-Control", "no-store");
    resp_header(r, "Pragma", "no-cache");
    resp_note_error(r, error);
}

const char *http_reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

void resp_problem(struct req *r, int status, const char *title, const char *detail)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"type\":\"about:blank\",\"title\":");
    sb_json_str(&sb, title ? title : http_reason_phrase(status));
    sb_printf(&sb, ",\"status\":%d", status);
    if (detail) {
        sb_puts(&sb, ",\"detail\":");
        sb_json_str(&sb, detail);
    }
    sb_putc(&sb, '}');
    size_t len;
    char *body = sb_steal(&sb, &len);
    resp_set(r, status, "application/problem+json", body, len);
    resp_header(r, "Cache-Control", "no-store");
    r->log_error = NULL; /* named after the status when it is sent (or by resp_error) */
}

static void html_escape(struct strbuf *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_puts(sb, "&lt;"); break;
        case '>': sb_puts(sb, "&gt;"); break;
        case '&': sb_puts(sb, "&amp;"); break;
        case '"': sb_puts(sb, "&quot;"); break;
        case '\'': sb_puts(sb, "&#39;"); break;
        default: sb_putc(sb, *s);
        }
    }
}

void resp_error(struct req *r, int status, const char *code, const char *detail)
{
    switch (r->kind) {
    case RK_OAUTH:
        resp_oauth_error(r, status, code, detail);
        break;
    case RK_WEB: {
        struct strbuf sb;
        sb_init(&sb);
        sb_puts(&sb, "<!doctype html><html><head><meta charset=\"utf-8\"><title>");
        html_escape(&sb, http_reason_phrase(status));
        sb_puts(&sb, "</title></head><body><h1>");
        html_escape(&sb, http_reason_phrase(status));
        sb_puts(&sb, "</h1><p>");
        html_escape(&sb, detail ? detail : code);
        sb_puts(&sb, "</p></body></html>\n");
        size_t len;
        char *body = sb_steal(&sb, &len);
        resp_set(r, status, "text/html; charset=utf-8", body, len);
        resp_header(r, "Cache-Control", "no-store");
        resp_header(r, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
        resp_header(r, "X-Frame-Options", "DENY");
        resp_header(r, "X-Content-Type-Options", "nosniff");
        resp_header(r, "Referrer-Policy", "no-referrer");
        break;
    }
    case RK_ADMIN:
    case RK_OPS:
    default:
        resp_problem(r, status, NULL, detail ? detail : code);
        break;
    }
    resp_note_error(r, code);
}

void resp_reset(struct req *r)
{
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    r->status = 0;
    r->nresp_headers = 0;
    r->tx.audit_head = r->tx.audit_tail = NULL;
    r->tx.naudit = 0;
    r->job.rotation = NULL;
    r->log_error = NULL;
}

void resp_note_status_error(struct req *r)
{
    if (r->status < 400 || r->log_error)
        return;
    const char *p = http_reason_phrase(r->status);
    char name[48];
    size_t n = 0;
    for (; *p && n + 1 < sizeof name; p++)
        name[n++] = *p == ' ' ? '_' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    name[n] = '\0';
    resp_note_error(r, name);
}

void http_db_unavailable(struct req *r)
{
    resp_reset(r);
    resp_error(r, 503, r->kind == RK_OAUTH ? "temporarily_unavailable" : "database_unavailable",
               "the database is unavailable; try again shortly");
    resp_header(r, "Retry-After", "1");
}
