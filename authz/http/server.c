/*
 * server.c: the HTTP/1.1 server. Worker threads each run one event_base with
 * their own SO_REUSEPORT listener; connections are bufferevents; requests are
 * parsed here with explicit limits (header bytes, body bytes, timeouts,
 * connections) and answered in the route's error format when they break one.
 *
 * A connection carries at most one request in flight: reading stops while it
 * is processed and resumes (pipelined bytes included) once the answer is
 * written. A connection that closes while its request is still with a
 * database worker or the committer is only marked; it is freed when the
 * request comes back, so no thread ever touches freed memory.
 */
#include "http/http.h"
#include "metrics.h"
#include "config.h"
#include "log.h"
#include "crypto/crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http/tls.h"

struct loop {
    int idx;
    struct event_base *base;
    struct evconnlistener *listener;
    pthread_t thread;
    pthread_mutex_t mu;
    struct req *done_head, *done_tail;
    struct event *done_ev;
    struct event *drain_ev;
    bool draining;
    int nconns;
    struct conn *conns;   /* every open connection of this loop */
};

enum conn_state { CS_HEAD, CS_BODY, CS_BUSY, CS_WRITING, CS_LINGER };

struct conn {
    struct loop *loop;
    struct bufferevent *bev;
    enum conn_state state;
    bool keepalive;
    bool closed;          /* peer went away while a request was in flight */
    bool close_after;     /* close once the answer is written */
    bool tls;
    size_t body_need;
    struct event *deadline;  /* read_timeout for the request being read */
    bool deadline_armed;
    bool started;         /* a byte of the request being read has arrived */
    uint64_t begun_ns;    /* when its deadline started */
    struct req *req;      /* request being read or processed */
    struct conn *prev, *next;
    char remote_ip[INET6_ADDRSTRLEN];
};

static const struct config *g_cfg;
static struct loop *g_loops;
static int g_nloops;
static atomic_int g_conns_total;

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* request and answer helpers                                          */

const char *req_header(const struct req *r, const char *lname)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, lname) == 0)
            return r->headers[i].value;
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *req_query_param(struct req *r, const char *name)
{
    if (!r->query)
        return NULL;
    size_t nl = strlen(name);
    const char *p = r->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = seg - nl - 1;
            char *out = arena_alloc(r->arena, vl + 1);
            size_t o = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] == '+')
                    out[o++] = ' ';
                else if (v[i] == '%') {
                    if (i + 2 >= vl)
                        return NULL;
                    int h = hexval(v[i + 1]), l = hexval(v[i + 2]);
                    if (h < 0 || l < 0)
                        return NULL;
                    out[o++] = (char)(h * 16 + l);
                    i += 2;
                } else
                    out[o++] = v[i];
            }
            out[o] = '\0';
            if (!utf8_valid(out, o))
                return NULL;
            return out;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return NULL;
}

bool req_query_has(const struct req *r, const char *name)
{
    if (!r->query)
        return false;
    size_t nl = strlen(name);
    for (const char *p = r->query; p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, nl) == 0 && (p[nl] == '=' || p[nl] == '&' || p[nl] == '\0'))
            return true;
    return false;
}

const char *req_cookie(struct req *r, const char *name)
{
    const char *c = req_header(r, "cookie");
    if (!c)
        return NULL;
    size_t nl = strlen(name);
    const char *p = c;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
            return arena_strndup(r->arena, p + nl + 1, seg - nl - 1);
        if (!end)
            break;
        p = end + 1;
    }
    return NULL;
}

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

static const char *reason_phrase(int status)
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
    sb_json_str(&sb, title ? title : reason_phrase(status));
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
        html_escape(&sb, reason_phrase(status));
        sb_puts(&sb, "</title></head><body><h1>");
        html_escape(&sb, reason_phrase(status));
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

/* An error answer without a code of its own is logged with its status's
 * name: "Content Too Large" -> content_too_large. */
static void note_status_error(struct req *r)
{
    if (r->status < 400 || r->log_error)
        return;
    const char *p = reason_phrase(r->status);
    char name[48];
    size_t n = 0;
    for (; *p && n + 1 < sizeof name; p++)
        name[n++] = *p == ' ' ? '_' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    name[n] = '\0';
    resp_note_error(r, name);
}

/* ------------------------------------------------------------------ */
/* connections                                                         */

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_process(struct conn *c);
static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg);

static void loop_maybe_exit(struct loop *l)
{
    if (l->draining && l->nconns == 0)
        event_base_loopexit(l->base, NULL);
}

/* RFC 8446 §6.1: a TLS connection says close_notify before it closes its
 * write side, so that the client can tell the end of the connection from a
 * truncation. One try on the non-blocking socket; nothing waits for the
 * client's. After a failed handshake OpenSSL sends nothing (and says so on
 * the error queue, which is cleared); a second call sends nothing again. */
static void conn_close_notify(struct conn *c)
{
    if (!c->bev || !c->tls)
        return;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if (ssl && SSL_is_init_finished(ssl) && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
        SSL_shutdown(ssl);
    ERR_clear_error();
}

static void conn_free(struct conn *c)
{
    struct loop *l = c->loop;
    conn_close_notify(c);
    if (c->deadline)
        event_free(c->deadline);
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->req) {
        free(c->req->resp_body);
        arena_free(c->req->arena);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    l->nconns--;
    atomic_fetch_sub(&g_conns_total, 1);
    metrics_connections_add(-1);
    loop_maybe_exit(l);
}

/* Between requests: a keep-alive connection may sit idle this long (a
 * bufferevent read timeout, restarted by each read; nothing has arrived). */
static void idle_timeout_set(struct conn *c, int secs)
{
    struct timeval rt = {secs, 0};
    struct timeval wt = {g_cfg->write_timeout, 0};
    bufferevent_set_timeouts(c->bev, &rt, &wt);
}

/* SPEC §9: "read_timeout bounds the whole request head and the whole body (a
 * deadline, not a gap between bytes)". Armed once per request; reads do not
 * move it, so the idle timer (which they would) is off meanwhile. */
static void deadline_arm(struct conn *c)
{
    if (c->deadline_armed)
        return;
    struct timeval dl = {g_cfg->read_timeout, 0};
    struct timeval wt = {g_cfg->write_timeout, 0};
    evtimer_add(c->deadline, &dl);
    c->deadline_armed = true;
    c->begun_ns = now_ns();
    bufferevent_set_timeouts(c->bev, NULL, &wt);
}

/* The request has arrived whole (or was answered): no deadline, and no read
 * timer either while it is processed; write_timeout still bounds the answer. */
static void deadline_disarm(struct conn *c)
{
    if (c->deadline_armed)
        evtimer_del(c->deadline);
    c->deadline_armed = false;
    c->started = false;
    struct timeval wt = {g_cfg->write_timeout, 0};
    bufferevent_set_timeouts(c->bev, NULL, &wt);
}

static struct req *req_new(struct conn *c)
{
    struct arena *a = arena_new();
    struct req *r = arena_alloc(a, sizeof(*r));
    r->arena = a;
    r->conn = c;
    r->loop = c->loop;
    r->remote_ip = c->remote_ip;
    r->tls = c->tls;
    r->start_ns = now_ns();
    crypto_random_id(r->request_id, 12);
    return r;
}

/* Writes the answer of r to the connection and logs it. */
static void conn_send(struct conn *c, struct req *r)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    deadline_disarm(c);
    if (r->status == 0)
        resp_error(r, 500, "server_error", "no answer was produced");
    if (c->loop->draining)
        c->keepalive = false;
    if (c->close_after)
        c->keepalive = false;
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", r->status, reason_phrase(r->status));
    bool have_ct = false;
    for (int i = 0; i < r->nresp_headers; i++) {
        evbuffer_add_printf(out, "%s: %s\r\n", r->resp_headers[i].name, r->resp_headers[i].value);
        if (strcasecmp(r->resp_headers[i].name, "content-type") == 0)
            have_ct = true;
    }
    (void)have_ct;
    /* a HEAD answer carries the length the GET's content would have
     * (RFC 9110 §8.6, §9.3.2), and no content */
    bool head = r->head || r->method == M_HEAD;
    evbuffer_add_printf(out, "X-Request-Id: %s\r\nContent-Length: %zu\r\n%s%s\r\n", r->request_id,
                        r->resp_len, c->keepalive ? "" : "Connection: close\r\n",
                        c->tls ? "Strict-Transport-Security: max-age=63072000\r\n" : "");
    if (r->resp_len && !head)
        evbuffer_add(out, r->resp_body, r->resp_len);
    uint64_t dur = now_ns() - r->start_ns;
    metrics_request(r->route_name ? r->route_name : "other", r->status, dur);
    note_status_error(r);
    log_request(r, dur);
    c->state = CS_WRITING;
    bufferevent_enable(c->bev, EV_WRITE);
}

/* Answers a request that broke a transport rule (no handler ran). */
static void conn_reject(struct conn *c, int status, const char *code, const char *detail)
{
    struct req *r = c->req;
    if (!r)
        r = c->req = req_new(c);
    if (!r->method_str)
        r->method_str = "-";
    if (!r->path)
        r->path = "-";
    /* Answer in the format of the endpoint the request was for, when known. */
    r->kind = router_kind(r);
    r->route_name = "rejected";
    resp_error(r, status, code, detail);
    c->keepalive = false;
    c->close_after = true;
    bufferevent_disable(c->bev, EV_READ);
    conn_send(c, r);
}

static enum method parse_method(const char *m)
{
    if (!strcmp(m, "GET")) return M_GET;
    if (!strcmp(m, "POST")) return M_POST;
    if (!strcmp(m, "HEAD")) return M_HEAD;
    if (!strcmp(m, "PUT")) return M_PUT;
    if (!strcmp(m, "PATCH")) return M_PATCH;
    if (!strcmp(m, "DELETE")) return M_DELETE;
    if (!strcmp(m, "OPTIONS")) return M_OPTIONS;
    return M_OTHER;
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Parses the head (request line and headers) held in buf[0..len). Returns 0,
 * or an HTTP status for the rejection with code/detail set. */
static int parse_head(struct conn *c, struct req *r, char *buf, size_t len, const char **detail)
{
    (void)c;
    /* request line */
    char *eol = memchr(buf, '\n', len);
    if (!eol) {
        *detail = "malformed request line";
        return 400;
    }
    char *line = buf;
    size_t ll = (size_t)(eol - buf);
    if (ll && line[ll - 1] == '\r')
        ll--;
    line[ll] = '\0';
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ')) {
        *detail = "malformed request line";
        return 400;
    }
    *sp1 = *sp2 = '\0';
    const char *version = sp2 + 1;
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0) {
        *detail = "only HTTP/1.1 and HTTP/1.0 are spoken here";
        return 505;
    }
    for (const char *p = line; *p; p++)
        if (!is_tchar((unsigned char)*p)) {
            *detail = "malformed method";
            return 400;
        }
    r->method_str = arena_strdup(r->arena, line);
    r->method = parse_method(line);
    char *target = sp1 + 1;
    if (target[0] != '/') {
        *detail = "request target must be an absolute path";
        return 400;
    }
    for (const unsigned char *p = (const unsigned char *)target; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f) {
            *detail = "request target has characters that must be percent-encoded";
            return 400;
        }
    r->target = arena_strdup(r->arena, target);
    char *q = strchr(target, '?');
    if (q) {
        r->path = arena_strndup(r->arena, target, (size_t)(q - target));
        r->query = arena_strdup(r->arena, q + 1);
    } else {
        r->path = r->target;
    }
    c->keepalive = strcmp(version, "HTTP/1.1") == 0;

    /* headers */
    int cap = 16;
    r->headers = arena_alloc(r->arena, sizeof(struct header) * (size_t)cap);
    char *p = eol + 1;
    char *end = buf + len;
    bool have_cl = false, have_host = false;
    size_t cl = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        size_t hl = (size_t)(nl - p);
        if (hl && p[hl - 1] == '\r')
            hl--;
        if (hl == 0)
            break;
        p[hl] = '\0';
        if (*p == ' ' || *p == '\t') {
            *detail = "obsolete header line folding is not accepted";
            return 400;
        }
        char *colon = strchr(p, ':');
        if (!colon || colon == p) {
            *detail = "malformed header line";
            return 400;
        }
        for (char *k = p; k < colon; k++) {
            if (!is_tchar((unsigned char)*k)) {
                *detail = "malformed header name";
                return 400;
            }
            if (*k >= 'A' && *k <= 'Z')
                *k = (char)(*k + 32);
        }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *ve = v + strlen(v);
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = '\0';
        for (const unsigned char *k = (const unsigned char *)v; *k; k++)
            if ((*k < 0x20 && *k != '\t') || *k == 0x7f) {
                *detail = "control characters in a header value";
                return 400;
            }
        if (r->nheaders == 100) {
            *detail = "too many header fields";
            return 431;
        }
        if (r->nheaders == cap) {
            struct header *h = arena_alloc(r->arena, sizeof(*h) * (size_t)cap * 2);
            memcpy(h, r->headers, sizeof(*h) * (size_t)cap);
            r->headers = h;
            cap *= 2;
        }
        if (strcmp(p, "content-length") == 0) {
            char *e;
            errno = 0;
            unsigned long long n = strtoull(v, &e, 10);
            if (have_cl || *v < '0' || *v > '9' || *e != '\0' || errno) {
                *detail = "invalid or repeated Content-Length";
                return 400;
            }
            have_cl = true;
            cl = (size_t)n;
            if (n > (unsigned long long)g_cfg->max_body_bytes) {
                *detail = "request body is larger than the limit";
                return 413;
            }
        } else if (strcmp(p, "transfer-encoding") == 0) {
            *detail = "send the body with a Content-Length; Transfer-Encoding is not accepted";
            return 411;
        } else if (strcmp(p, "host") == 0) {
            if (have_host) {
                *detail = "repeated Host header";
                return 400;
            }
            have_host = true;
        } else if (strcmp(p, "connection") == 0) {
            if (strcasestr(v, "close"))
                c->keepalive = false;
            else if (strcasestr(v, "keep-alive"))
                c->keepalive = true;
        }
        r->headers[r->nheaders].name = arena_strdup(r->arena, p);
        r->headers[r->nheaders].value = arena_strdup(r->arena, v);
        r->nheaders++;
        p = nl + 1;
    }
    if (!have_host && c->keepalive) {
        /* RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400 */
        *detail = "missing Host header";
        return 400;
    }
    c->body_need = cl;
    return 0;
}

/* Tries to advance the connection's parser with what has arrived. */
static void conn_advance(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->state == CS_HEAD) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        /* the first byte of a request starts its read_timeout */
        c->started = true;
        deadline_arm(c);
        /* skip empty lines before a request (RFC 9112 §2.2) */
        while (avail >= 2) {
            unsigned char two[2];
            evbuffer_copyout(in, two, 2);
            if (two[0] == '\r' && two[1] == '\n') {
                evbuffer_drain(in, 2);
                avail -= 2;
            } else
                break;
        }
        /* the head ends at its first empty line (RFC 9112 §2.2: a bare LF
         * may end any line): CRLF CRLF, LF LF, or LF CRLF, whichever ends
         * first, or a bare-LF request would take a pipelined CRLF request
         * after it into its head */
        static const struct {
            const char *s;
            size_t n;
        } ends[] = {{"\r\n\r\n", 4}, {"\n\n", 2}, {"\n\r\n", 3}};
        size_t headlen = 0;
        for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++) {
            struct evbuffer_ptr p = evbuffer_search(in, ends[k].s, ends[k].n, NULL);
            if (p.pos >= 0 && (headlen == 0 || (size_t)p.pos + ends[k].n < headlen))
                headlen = (size_t)p.pos + ends[k].n;
        }
        if (headlen == 0) {
            if (avail > (size_t)g_cfg->max_header_bytes)
                conn_reject(c, 431, "invalid_request", "request head is larger than the limit");
            return;
        }
        if (headlen > (size_t)g_cfg->max_header_bytes) {
            conn_reject(c, 431, "invalid_request", "request head is larger than the limit");
            return;
        }
        struct req *r = c->req = req_new(c);
        char *head = arena_alloc(r->arena, headlen + 1);
        evbuffer_remove(in, head, headlen);
        head[headlen] = '\0';
        if (memchr(head, '\0', headlen)) {
            conn_reject(c, 400, "invalid_request", "NUL byte in the request head");
            return;
        }
        const char *detail = NULL;
        int st = parse_head(c, r, head, headlen, &detail);
        if (st) {
            const char *code = st == 413 ? "invalid_request" : "invalid_request";
            conn_reject(c, st, code, detail);
            return;
        }
        c->state = CS_BODY;
    }
    if (c->state == CS_BODY) {
        if (evbuffer_get_length(in) < c->body_need)
            return;
        struct req *r = c->req;
        char *body = arena_alloc(r->arena, c->body_need + 1);
        if (c->body_need)
            evbuffer_remove(in, body, c->body_need);
        body[c->body_need] = '\0';
        r->body = body;
        r->body_len = c->body_need;
        /* reading stays enabled while the request is processed (no epoll
         * change per request); what arrives meanwhile waits in the input
         * buffer, bounded by the read high-water mark */
        c->state = CS_BUSY;
        deadline_disarm(c);
        conn_process(c);
    }
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->state == CS_LINGER) {
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (c->state == CS_BUSY || c->state == CS_WRITING)
        return; /* parsed once the answer has been written */
    conn_advance(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->state != CS_WRITING || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return;
    struct req *r = c->req;
    c->req = NULL;
    if (r) {
        free(r->resp_body);
        arena_free(r->arena);
    }
    if (c->close_after) {
        /* RFC 9112 §9.6: after an error answer to a request whose body was
         * not read, close the write side and discard what the client still
         * sends for a moment, so that a reset does not destroy the answer */
        conn_close_notify(c);
        shutdown(bufferevent_getfd(bev), SHUT_WR);
        c->state = CS_LINGER;
        struct timeval lt = {2, 0};
        bufferevent_set_timeouts(bev, &lt, NULL);
        bufferevent_disable(bev, EV_WRITE);
        bufferevent_enable(bev, EV_READ);
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        return;
    }
    if (!c->keepalive || c->loop->draining) {
        conn_free(c);
        return;
    }
    c->state = CS_HEAD;
    idle_timeout_set(c, g_cfg->idle_timeout);
    conn_advance(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if ((what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) &&
        (c->state == CS_BUSY || c->state == CS_WRITING)) {
        /* the client closed its sending side after its request (a
         * half-close, RFC 9112 §9.6): answer it, then close */
        c->keepalive = false;
        bufferevent_disable(c->bev, EV_READ);
        return;
    }
    if (c->state == CS_BUSY) {
        /* the request is with a worker: free when it comes back */
        c->closed = true;
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        return;
    }
    conn_free(c);
}

/* The request line of a head still arriving, when it has come that far:
 * enough to answer in the format of the endpoint the request was for (and
 * to log its method and path). */
static void req_line_peek(struct conn *c, struct req *r)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = evbuffer_get_length(in);
    if (n > (size_t)g_cfg->max_header_bytes)
        n = (size_t)g_cfg->max_header_bytes;
    if (n == 0)
        return;
    char *buf = arena_alloc(r->arena, n + 1);
    evbuffer_copyout(in, buf, n);
    buf[n] = '\0';
    char *sp = memchr(buf, ' ', n);
    if (!sp || sp == buf)
        return;
    for (const char *p = buf; p < sp; p++)
        if (!is_tchar((unsigned char)*p))
            return;
    char *target = sp + 1, *end = target;
    while (end < buf + n && *end > 0x20 && *end < 0x7f)
        end++;
    if (target[0] != '/' || end == buf + n || *end != ' ')
        return;
    *sp = '\0';
    r->method_str = arena_strdup(r->arena, buf);
    r->method = parse_method(buf);
    char *q = memchr(target, '?', (size_t)(end - target));
    r->path = arena_strndup(r->arena, target, (size_t)((q ? q : end) - target));
}

/* read_timeout has passed since the request began and it has not arrived
 * whole (SPEC §9; RFC 9110 §15.5.9: 408, "the server did not receive a
 * complete request message within the time that it was prepared to wait"). */
static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    c->deadline_armed = false;
    if (c->state != CS_HEAD && c->state != CS_BODY)
        return;
    if (!c->started) {
        /* not a byte of a request (or a TLS handshake that never ended):
         * nothing to answer, closed like an idle connection */
        conn_free(c);
        return;
    }
    bufferevent_disable(c->bev, EV_READ);
    if (!c->req) {
        c->req = req_new(c);
        req_line_peek(c, c->req);
    }
    c->req->start_ns = c->begun_ns; /* the log shows how long it trickled */
    conn_reject(c, 408, "invalid_request", "the request did not arrive whole within read_timeout");
}

static void accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)lst;
    (void)salen;
    struct loop *l = arg;
    if (atomic_load(&g_conns_total) >= g_cfg->max_connections || l->draining) {
        evutil_closesocket(fd);
        metrics_connection_refused();
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->loop = l;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->remote_ip, sizeof c->remote_ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->remote_ip,
                  sizeof c->remote_ip);
    SSL *ssl = tls_new_ssl();
    if (!ssl && tls_enabled()) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    if (ssl) {
        c->tls = true;
        c->bev = bufferevent_openssl_socket_new(l->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE);
    } else {
        c->bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->deadline = evtimer_new(l->base, conn_deadline_cb, c);
    if (!c->deadline) {
        bufferevent_free(c->bev);
        free(c);
        return;
    }
    l->nconns++;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    atomic_fetch_add(&g_conns_total, 1);
    metrics_connections_add(1);
    c->state = CS_HEAD;
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0,
                             (size_t)g_cfg->max_header_bytes + g_cfg->max_body_bytes + 65536);
    /* the first request's read_timeout runs from the accept: a client that
     * connects has its request ready (a TLS handshake counts against it) */
    deadline_arm(c);
    bufferevent_enable(c->bev, EV_READ);
}

/* ------------------------------------------------------------------ */
/* running handlers and completing requests                            */

static void conn_process(struct conn *c)
{
    struct req *r = c->req;
    router_dispatch(r);
}

void http_complete(struct req *r)
{
    struct loop *l = r->loop;
    pthread_mutex_lock(&l->mu);
    r->next = NULL;
    if (l->done_tail)
        l->done_tail->next = r;
    else
        l->done_head = r;
    l->done_tail = r;
    pthread_mutex_unlock(&l->mu);
    event_active(l->done_ev, EV_READ, 0);
}

/* Releases what the handler held and sends the answer (loop thread). */
void http_finish_on_loop(struct req *r);
void http_finish_on_loop(struct req *r)
{
    extern void req_release_refs(struct req *);
    req_release_refs(r);
    struct conn *c = r->conn;
    if (c->closed) {
        conn_free(c); /* frees c->req == r too */
        return;
    }
    conn_send(c, r);
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *l = arg;
    pthread_mutex_lock(&l->mu);
    struct req *r = l->done_head;
    l->done_head = l->done_tail = NULL;
    pthread_mutex_unlock(&l->mu);
    while (r) {
        struct req *n = r->next;
        http_finish_on_loop(r);
        r = n;
    }
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *l = arg;
    l->draining = true;
    if (l->listener)
        evconnlistener_disable(l->listener);
    /* idle keep-alive connections are closed now; busy ones close after
     * their answer is written (conn_send clears keepalive while draining) */
    struct conn *c = l->conns;
    while (c) {
        struct conn *n = c->next;
        if (c->state == CS_HEAD && c->req == NULL &&
            evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
            conn_free(c);
        c = n;
    }
    loop_maybe_exit(l);
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    sigset_t set;
    sigfillset(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *sslen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535)
        return -1;
    memset(ss, 0, sizeof *ss);
    char *h = host;
    if (h[0] == '[') {
        h++;
        h[strlen(h) - 1] = '\0';
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *sslen = sizeof *in4;
    } else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof *in6;
    } else if (strcmp(h, "localhost") == 0) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *sslen = sizeof *in4;
    } else {
        return -1;
    }
    return 0;
}

static void libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN)
        log_msg(LOG_WARN, "libevent: %s", msg);
}

/* SPEC §9: "authzd refuses to start on an address that another process
 * already serves ... with a message saying so". The loops' listeners share
 * their port through SO_REUSEPORT, which Linux grants just as readily to
 * another process of the same user: a second authzd would silently take a
 * share of the connections. So before the listeners are bound:
 *  - an abstract unix socket named after the address, held for the life of
 *    the process, admits one authzd per address even when two start at the
 *    same moment;
 *  - a probe bound without SO_REUSEPORT fails with EADDRINUSE when any
 *    process listens there (whatever its options). */
static int g_addr_lock = -1;

static int listen_address_free(const struct sockaddr *sa, socklen_t salen, const char *listen,
                               char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
        port = ntohs(in4->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    int nl = snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "authzd-listen [%s]:%d", host, port);
    int lk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lk < 0 || bind(lk, (struct sockaddr *)&un,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)nl)) < 0) {
        int e = errno;
        if (lk >= 0)
            close(lk);
        if (e == EADDRINUSE)
            snprintf(err, errlen,
                     "cannot listen on %s: the address is in use: another authzd already serves it",
                     listen);
        else
            snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(e));
        return -1;
    }
    int probe = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (probe < 0 || setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(probe, sa, salen) < 0) {
        int e = errno;
        if (probe >= 0)
            close(probe);
        close(lk);
        if (e == EADDRINUSE)
            snprintf(err, errlen,
                     "cannot listen on %s: the address is already in use by another process", listen);
        else
            snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(e));
        return -1;
    }
    close(probe);
    g_addr_lock = lk;
    return 0;
}

int http_server_bind(const struct config *cfg, char *err, size_t errlen)
{
    if (g_loops)
        return 0;
    g_cfg = cfg;
    evthread_use_pthreads();
    event_set_log_callback(libevent_log);
    struct sockaddr_storage ss;
    int sslen;
    if (parse_listen(cfg->listen, &ss, &sslen) < 0) {
        snprintf(err, errlen, "listen = %s: expected host:port with a numeric address", cfg->listen);
        return -1;
    }
    if (listen_address_free((struct sockaddr *)&ss, (socklen_t)sslen, cfg->listen, err, errlen) < 0)
        return -1;
    g_nloops = cfg->threads;
    g_loops = calloc((size_t)g_nloops, sizeof(struct loop));
    if (!g_loops) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < g_nloops; i++) {
        struct loop *l = &g_loops[i];
        l->idx = i;
        pthread_mutex_init(&l->mu, NULL);
        l->base = event_base_new();
        if (!l->base) {
            snprintf(err, errlen, "cannot create an event loop");
            return -1;
        }
        /* woken with event_active from other threads, never by an fd */
        l->done_ev = event_new(l->base, -1, 0, done_cb, l);
        l->drain_ev = event_new(l->base, -1, 0, drain_cb, l);
        /* the loops of this process share the port (the kernel spreads the
         * connections among them); no other process can (see above) */
        l->listener = evconnlistener_new_bind(
            l->base, accept_cb, l,
            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT, 1024,
            (struct sockaddr *)&ss, sslen);
        if (!l->listener) {
            snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int http_server_start(const struct config *cfg)
{
    char err[512];
    if (http_server_bind(cfg, err, sizeof err) < 0) {
        log_msg(LOG_ERROR, "%s", err);
        return -1;
    }
    for (int i = 0; i < g_nloops; i++)
        pthread_create(&g_loops[i].thread, NULL, loop_main, &g_loops[i]);
    return 0;
}

void http_server_drain(void)
{
    for (int i = 0; i < g_nloops; i++)
        event_active(g_loops[i].drain_ev, EV_READ, 0);
}

void http_server_join(void);
void http_server_join(void)
{
    for (int i = 0; i < g_nloops; i++)
        pthread_join(g_loops[i].thread, NULL);
}

int http_active_connections(void);
int http_active_connections(void)
{
    return atomic_load(&g_conns_total);
}
