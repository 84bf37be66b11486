/*
 * conn.c: the connections. Accepting (the connection limit, TCP_NODELAY,
 * the TLS hookup through http/tls.c), reading a request off a bufferevent
 * (framing and head through the pure parser in parse.c, then the body by
 * its Content-Length), the limits and timeouts of a request being read,
 * handing it to the router, writing the answer, keep-alive and pipelining,
 * the linger after an error, and closing (close_notify, drain).
 *
 * Timeouts (SPEC §9): read_timeout is a deadline for the whole head and the
 * whole body of a request, from its first byte (the first request's from
 * the accept); idle_timeout bounds the wait between requests of a
 * keep-alive connection; write_timeout bounds each answer.
 *
 * A connection carries at most one request in flight: what arrives while
 * it is processed waits in the input buffer and is parsed once the answer
 * is written. A connection that closes while its request is still with a
 * database worker or the committer is only marked; it is freed when the
 * request comes back, so no thread ever touches freed memory.
 */
#include "http/conn.h"
#include "http/http.h"
#include "metrics.h"
#include "http/parse.h"
#include "http/tls.h"
#include "config.h"
#include "log.h"
#include "crypto/crypto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

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
static atomic_int g_conns_total;

void conn_configure(const struct config *cfg)
{
    g_cfg = cfg;
}

int http_active_connections(void)
{
    return atomic_load(&g_conns_total);
}

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_process(struct conn *c);
static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg);

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
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", r->status, http_reason_phrase(r->status));
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
    resp_note_status_error(r);
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
        /* a head that is not over within max_header_bytes is refused, so
         * only that much is looked at (contiguous already, unless it spans
         * the input buffer's chains) */
        size_t max = (size_t)g_cfg->max_header_bytes, win, headlen;
        const char *p;
        for (;;) {
            win = avail < max ? avail : max;
            p = (const char *)evbuffer_pullup(in, (ev_ssize_t)win);
            /* skip empty lines before a request (RFC 9112 §2.2) */
            size_t skip = http_head_skip(p, win);
            if (skip == 0)
                break;
            evbuffer_drain(in, skip);
            avail -= skip;
            if (avail == 0)
                return;
        }
        headlen = http_head_length(p, win);
        if (headlen == 0) {
            if (avail > max)
                conn_reject(c, 431, "invalid_request", "request head is larger than the limit");
            return;
        }
        struct req *r = c->req = req_new(c);
        /* parsed in place: the fields point into this copy, which lives
         * as long as the request */
        char *head = arena_alloc(r->arena, headlen + 1);
        evbuffer_remove(in, head, headlen);
        head[headlen] = '\0';
        struct http_head h;
        const char *detail = NULL;
        int st = http_parse_head(head, headlen, g_cfg->max_body_bytes, r->arena, &h, &detail);
        /* what the request line said, also when a header broke a rule: a
         * refusal is answered in the format of the endpoint it was for */
        r->method_str = h.method_str;
        r->method = h.method;
        r->target = h.target;
        r->path = h.path;
        r->query = h.query;
        if (st) {
            conn_reject(c, st, "invalid_request", detail);
            return;
        }
        r->headers = h.headers;
        r->nheaders = h.nheaders;
        c->keepalive = h.keepalive;
        c->body_need = h.content_length;
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
    const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    http_request_line_peek(buf, n, r->arena, &r->method_str, &r->method, &r->path);
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

void conn_accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen,
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

static void conn_process(struct conn *c)
{
    router_dispatch(c->req);
}

void http_finish_on_loop(struct req *r)
{
    req_release_refs(r);
    struct conn *c = r->conn;
    if (c->closed) {
        conn_free(c); /* frees c->req == r too */
        return;
    }
    conn_send(c, r);
}

void conn_close_idle(struct loop *l)
{
    struct conn *c = l->conns;
    while (c) {
        struct conn *n = c->next;
        if (c->state == CS_HEAD && c->req == NULL &&
            evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
            conn_free(c);
        c = n;
    }
}
