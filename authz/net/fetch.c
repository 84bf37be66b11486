/*
 * fetch.c: the one outbound HTTP/1.1 client (see fetch.h), blocking, for
 * database workers and fetch threads.
 *
 * One deadline covers name resolution's aftermath, connect, the TLS
 * handshake, the request and the whole answer: the socket is non-blocking
 * and every wait is a poll() for the time that is left. The answer is read
 * until it is complete (Content-Length or chunked framing) or the peer
 * closes; anything but 200 is refused, and so are bodies above
 * FETCH_MAX_BODY. TLS: one client SSL_CTX for the process (TLS 1.2+, peer
 * verification against the default CA paths), and per connection SNI plus
 * host-name (or IP address) verification.
 */
#include "net/fetch.h"
#include "policy/uri.h"
#include "util/arena.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* ---------------------------------------------------------------- */
/* URLs                                                              */

int fetch_url_parse(const char *url, struct fetch_url *u, const char **why)
{
    memset(u, 0, sizeof *u);
    /* one rule for every URL authzd reaches (policy/uri.h): https, or http
     * on a loopback host (RFC 8252 §8.3 / RFC 9700 §2.1); no userinfo, no
     * fragment, RFC 3986 characters only */
    struct uri p;
    if (uri_endpoint_check(url, &p, why) < 0)
        return -1;
    u->tls = p.scheme.n == 5;
    const char *h = p.host.p;
    size_t hlen = p.host.n;
    if (p.host_ipv6) {
        h++;
        hlen -= 2;
    }
    memcpy(u->host, h, hlen); /* at most 253 characters (uri.c) */
    for (char *c = u->host; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    struct in_addr a4;
    u->ip_literal = p.host_ipv6 || inet_pton(AF_INET, u->host, &a4) == 1;
    snprintf(u->port, sizeof u->port, "%hu", (unsigned short)(p.port ? p.port : u->tls ? 443 : 80));
    snprintf(u->hostport, sizeof u->hostport, "%.*s", (int)p.authority.n, p.authority.p);
    if (*p.rest == '/')
        snprintf(u->path, sizeof u->path, "%s", p.rest);
    else
        snprintf(u->path, sizeof u->path, "/%s", p.rest);
    return 0;
}

bool fetch_url_allowed(const char *url)
{
    struct fetch_url u;
    const char *why;
    return fetch_url_parse(url, &u, &why) == 0;
}

/* ---------------------------------------------------------------- */
/* deadline-bound I/O                                                */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct io {
    int fd;
    SSL *ssl;
    int64_t deadline;
};

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int io_wait(const struct io *c, short events)
{
    for (;;) {
        int64_t left = c->deadline - mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = c->fd, .events = events};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        return r > 0 ? 1 : 0;
    }
}

/* After an SSL call returned n <= 0: 1 to retry (waited), 0 on EOF, -1. */
static int ssl_retry(struct io *c, int n)
{
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        return io_wait(c, POLLIN) == 1 ? 1 : -1;
    case SSL_ERROR_WANT_WRITE:
        return io_wait(c, POLLOUT) == 1 ? 1 : -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        return -1;
    }
}

static int io_write_all(struct io *c, const char *buf, size_t len)
{
    while (len > 0) {
        if (c->ssl) {
            int n = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
            if (n > 0) {
                buf += n;
                len -= (size_t)n;
            } else if (ssl_retry(c, n) != 1) {
                return -1;
            }
        } else {
            ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
            if (n > 0) {
                buf += n;
                len -= (size_t)n;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                if (io_wait(c, POLLOUT) != 1)
                    return -1;
            } else {
                return -1;
            }
        }
    }
    return 0;
}

/* > 0 bytes read, 0 at the end of the stream, -1 on error or time-out. */
static ssize_t io_read(struct io *c, char *buf, size_t cap)
{
    for (;;) {
        if (c->ssl) {
            int n = SSL_read(c->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
            if (n > 0)
                return n;
            int r = ssl_retry(c, n);
            if (r <= 0)
                return r;
        } else {
            ssize_t n = recv(c->fd, buf, cap, 0);
            if (n >= 0)
                return n;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
            if (io_wait(c, POLLIN) != 1)
                return -1;
        }
    }
}

/* ---------------------------------------------------------------- */
/* addresses                                                         */

/* The IPv4 address a (host order) is one anybody may own. */
static bool v4_public(uint32_t a, const char **why)
{
    static const struct {
        uint32_t net, mask;
        const char *what;
    } ranges[] = {
        {0x00000000u, 0xff000000u,
         "the host resolves to an unspecified (0.0.0.0/8) address, "
         "which is refused"},
        {0x0a000000u, 0xff000000u,
         "the host resolves to a private (10.0.0.0/8) address, "
         "which is refused"},
        {0x64400000u, 0xffc00000u,
         "the host resolves to a shared (100.64.0.0/10, carrier-grade NAT) address, "
         "which is refused"},
        {0x7f000000u, 0xff000000u,
         "the host resolves to a loopback address, "
         "which is refused"},
        {0xa9fe0000u, 0xffff0000u,
         "the host resolves to a link-local (169.254.0.0/16) address, "
         "which is refused"},
        {0xac100000u, 0xfff00000u,
         "the host resolves to a private (172.16.0.0/12) address, "
         "which is refused"},
        {0xc0000000u, 0xffffff00u,
         "the host resolves to a reserved (192.0.0.0/24) address, "
         "which is refused"},
        {0xc0000200u, 0xffffff00u,
         "the host resolves to a documentation (192.0.2.0/24) address, "
         "which is refused"},
        {0xc0a80000u, 0xffff0000u,
         "the host resolves to a private (192.168.0.0/16) address, "
         "which is refused"},
        {0xc6120000u, 0xfffe0000u,
         "the host resolves to a benchmarking (198.18.0.0/15) address, "
         "which is refused"},
        {0xc6336400u, 0xffffff00u,
         "the host resolves to a documentation (198.51.100.0/24) address, "
         "which is refused"},
        {0xcb007100u, 0xffffff00u,
         "the host resolves to a documentation (203.0.113.0/24) address, "
         "which is refused"},
        {0xe0000000u, 0xf0000000u,
         "the host resolves to a multicast address, "
         "which is refused"},
        {0xf0000000u, 0xf0000000u,
         "the host resolves to a reserved (240.0.0.0/4) address, "
         "which is refused"},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if ((a & ranges[i].mask) == ranges[i].net) {
            *why = ranges[i].what;
            return false;
        }
    return true;
}

bool fetch_addr_public(const struct sockaddr *sa, const char **why)
{
    *why = "an address of an unknown family";
    if (sa->sa_family == AF_INET)
        return v4_public(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr), why);
    if (sa->sa_family != AF_INET6)
        return false;
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t zero[16] = {0};
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    /* ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) and 64:ff9b::a.b.c.d (RFC 6052):
     * judged by the IPv4 address they reach */
    if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)) {
        uint32_t a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        return v4_public(a, why);
    }
    if (!memcmp(b, zero, 15) && (b[15] == 0 || b[15] == 1)) {
        *why = b[15] ? "the host resolves to a loopback address, which is refused"
                     : "the host resolves to an unspecified address, which is refused";
        return false;
    }
    if (!memcmp(b, zero, 12)) {
        *why = "the host resolves to a deprecated IPv4-compatible IPv6 address, which is refused";
        return false;
    }
    if ((b[0] & 0xfe) == 0xfc) {
        *why = "the host resolves to a private (unique local, fc00::/7) address, which is refused";
        return false;
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
        *why = "the host resolves to a link-local (fe80::/10) address, which is refused";
        return false;
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) {
        *why = "the host resolves to a site-local (fec0::/10) address, which is refused";
        return false;
    }
    if (b[0] == 0xff) {
        *why = "the host resolves to a multicast address, which is refused";
        return false;
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
        *why = "the host resolves to a documentation (2001:db8::/32) address, which is refused";
        return false;
    }
    if (b[0] == 0x01 && b[1] == 0 && !memcmp(b + 2, zero, 6)) {
        *why = "the host resolves to a discard-only (100::/64) address, which is refused";
        return false;
    }
    return true;
}

/* Whether a connection may go to sa under opts; *why says which kind of
 * address was refused. */
static bool addr_allowed(const struct fetch_url *u, const struct fetch_opts *o,
                         const struct sockaddr *sa, const char **why)
{
    bool loop = uri_addr_loopback(sa);
    if (!u->tls && !loop) {
        *why = "http URLs must reach a loopback address";
        return false;
    }
    if (!o || !o->public_only)
        return true;
    if (loop && o->allow_loopback)
        return true;
    return fetch_addr_public(sa, why);
}

/* A connected non-blocking socket, or -1. Each resolved address is checked
 * (addr_allowed) before it is connected to. */
static int dial(const struct fetch_url *u, const struct fetch_opts *o, int64_t deadline,
                const char **why)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (u->ip_literal ? AI_NUMERICHOST : 0);
    if (getaddrinfo(u->host, u->port, &hints, &res) != 0 || !res) {
        *why = "the host name does not resolve";
        return -1;
    }
    int fd = -1;
    *why = "connection refused or timed out";
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        const char *awhy;
        if (!addr_allowed(u, o, ai->ai_addr, &awhy)) {
            *why = awhy;
            continue;
        }
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (s < 0)
            continue;
        if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
            fd = s;
            break;
        }
        if (errno == EINPROGRESS) {
            struct io c = {.fd = s, .deadline = deadline};
            int err = 0;
            socklen_t el = sizeof err;
            if (io_wait(&c, POLLOUT) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
                err == 0) {
                fd = s;
                break;
            }
        }
        close(s);
        *why = mono_ms() >= deadline ? "connecting timed out" : "connection refused or timed out";
    }
    freeaddrinfo(res);
    return fd;
}

/* ---------------------------------------------------------------- */
/* TLS                                                               */

static SSL_CTX *tls_ctx;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_init(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* the system CA store (SSL_CERT_FILE / SSL_CERT_DIR override it) */
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        SSL_CTX_free(ctx);
        return;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* the answer is framed by Content-Length or chunked encoding; a peer
     * that closes without close_notify must not turn into an error */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    tls_ctx = ctx;
}

static int tls_start(struct io *c, const struct fetch_url *u, const char **why)
{
    pthread_once(&tls_once, tls_init);
    if (!tls_ctx) {
        *why = "TLS is not available";
        return -1;
    }
    c->ssl = SSL_new(tls_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        *why = "TLS is not available";
        return -1;
    }
    /* RFC 6125 / RFC 9110 §4.3.4: the certificate must name the host */
    if (u->ip_literal) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host) != 1) {
            *why = "TLS is not available";
            return -1;
        }
    } else {
        /* RFC 6066 §3: SNI carries DNS names only */
        if (SSL_set_tlsext_host_name(c->ssl, u->host) != 1 || SSL_set1_host(c->ssl, u->host) != 1) {
            *why = "TLS is not available";
            return -1;
        }
    }
    for (;;) {
        int n = SSL_connect(c->ssl);
        if (n == 1)
            break;
        int r = ssl_retry(c, n);
        if (r != 1) {
            *why = SSL_get_verify_result(c->ssl) != X509_V_OK
                       ? "the server's certificate is not trusted for this host"
                       : "TLS handshake failed";
            return -1;
        }
    }
    if (SSL_get_verify_result(c->ssl) != X509_V_OK || !SSL_get0_peer_certificate(c->ssl)) {
        *why = "the server's certificate is not trusted for this host";
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* the answer                                                        */

struct answer {
    int status;
    const char *body;          /* into the read buffer, or into decoded */
    size_t body_len;
    char *decoded;             /* chunked bodies, malloc'd */
    const char *hdrs;          /* the header lines (after the status line) */
    size_t hlen;
    size_t max_body;           /* the largest body accepted */
};

/* Case-insensitive header value of a header block (lines after the status
 * line, up to the blank line): value start and length, or NULL. A header
 * present twice is reported through *dup. */
static const char *header_value(const char *h, size_t hlen, const char *name, size_t *vlen,
                                bool *dup)
{
    size_t nl = strlen(name);
    const char *found = NULL;
    const char *p = h, *end = h + hlen;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            if (found)
                *dup = true;
            const char *v = p + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            found = v;
            *vlen = (size_t)(ve - v);
        }
        p = eol + 1;
    }
    return found;
}

/* RFC 9112 §7.1: chunked transfer coding. 1 complete, 0 need more, -1. */
static int dechunk(const char *p, size_t len, struct answer *a)
{
    free(a->decoded);
    a->decoded = malloc(a->max_body + 1);
    if (!a->decoded)
        return -1;
    size_t out = 0, i = 0;
    for (;;) {
        const char *eol = memchr(p + i, '\n', len - i);
        if (!eol)
            return 0;
        size_t size = 0, digits = 0;
        const char *s = p + i;
        for (; s < eol; s++, digits++) {
            int v;
            if (*s >= '0' && *s <= '9')
                v = *s - '0';
            else if (*s >= 'a' && *s <= 'f')
                v = *s - 'a' + 10;
            else if (*s >= 'A' && *s <= 'F')
                v = *s - 'A' + 10;
            else
                break;
            if (digits >= 8)
                return -1;
            size = size * 16 + (size_t)v;
        }
        /* chunk extensions (";...") are ignored */
        if (digits == 0 || (s < eol && *s != ';' && *s != '\r'))
            return -1;
        i = (size_t)(eol + 1 - p);
        if (size == 0) {
            a->body = a->decoded;
            a->body_len = out;
            return 1;
        }
        if (out + size > a->max_body)
            return -1;
        if (len - i < size + 2)
            return 0;
        memcpy(a->decoded + out, p + i, size);
        out += size;
        i += size;
        if (p[i] == '\r')
            i++;
        if (p[i] != '\n')
            return -1;
        i++;
    }
}

/* Parses what has been read so far. 1 complete, 0 need more, -1 with *why. */
static int parse_answer(const char *buf, size_t len, bool eof, struct answer *a, const char **why)
{
    const char *he = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            he = buf + i;
            break;
        }
    if (!he) {
        if (len > FETCH_MAX_HEADERS || eof) {
            *why = eof ? "the server closed before answering" : "the answer's headers are too large";
            return -1;
        }
        return 0;
    }
    /* RFC 9112 §4: HTTP-version SP status-code SP [reason-phrase] */
    if (he - buf < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' || buf[9] < '1' ||
        buf[9] > '5' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9') {
        *why = "not an HTTP/1.x answer";
        return -1;
    }
    a->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    const char *hdrs = memchr(buf, '\n', (size_t)(he - buf));
    hdrs = hdrs ? hdrs + 1 : he;
    size_t hlen = (size_t)(he + 2 - hdrs);
    const char *body = he + 4;
    size_t blen = len - (size_t)(body - buf);
    a->hdrs = hdrs;
    a->hlen = hlen;
    size_t tel = 0, cll = 0;
    bool dup = false;
    const char *te = header_value(hdrs, hlen, "transfer-encoding", &tel, &dup);
    const char *cl = header_value(hdrs, hlen, "content-length", &cll, &dup);
    if (dup || (te && cl)) {
        /* RFC 9112 §6.3: ambiguous framing is an error */
        *why = "the answer's framing is ambiguous";
        return -1;
    }
    if (te) {
        if (tel != 7 || strncasecmp(te, "chunked", 7) != 0) {
            *why = "unsupported transfer coding";
            return -1;
        }
        int r = dechunk(body, blen, a);
        if (r < 0)
            *why = "the answer is too large, or its chunked framing is malformed";
        else if (r == 0 && eof) {
            *why = "the answer was cut short";
            r = -1;
        }
        return r;
    }
    if (cl) {
        size_t v = 0;
        if (cll == 0 || cll > 7) {
            *why = "the answer is too large";
            return -1;
        }
        for (size_t i = 0; i < cll; i++) {
            if (cl[i] < '0' || cl[i] > '9') {
                *why = "malformed Content-Length";
                return -1;
            }
            v = v * 10 + (size_t)(cl[i] - '0');
        }
        if (v > a->max_body) {
            *why = "the answer is too large";
            return -1;
        }
        if (blen < v) {
            if (eof) {
                *why = "the answer was cut short";
                return -1;
            }
            return 0;
        }
        a->body = body;
        a->body_len = v;
        return 1;
    }
    /* RFC 9112 §6.3 item 8: otherwise the body ends when the connection does */
    if (blen > a->max_body) {
        *why = "the answer is too large";
        return -1;
    }
    if (!eof)
        return 0;
    a->body = body;
    a->body_len = blen;
    return 1;
}

/* One request and its whole answer (any status). 0 with a filled in (its
 * body points into *bufp or a->decoded; the caller frees both), or -1. */
static int transact(const char *method, const char *url, const char *const *headers,
                    const char *body, size_t bodylen, const struct fetch_opts *o,
                    struct answer *a, char **bufp, const char **why)
{
    struct fetch_url u;
    *bufp = NULL;
    if (fetch_url_parse(url, &u, why) < 0)
        return -1;
    int timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : FETCH_TIMEOUT_MS;
    a->max_body = o && o->max_body > 0 && o->max_body < FETCH_MAX_BODY ? o->max_body
                                                                       : FETCH_MAX_BODY;
    int64_t deadline = mono_ms() + timeout_ms;
    struct io c = {.fd = -1, .ssl = NULL, .deadline = deadline};
    size_t cap = FETCH_MAX_HEADERS + a->max_body + 64 * 1024, len = 0;
    char *buf = NULL;
    int rc = -1;

    c.fd = dial(&u, o, deadline, why);
    if (c.fd < 0)
        goto done;
    if (u.tls && tls_start(&c, &u, why) < 0)
        goto done;
    struct strbuf req;
    sb_init(&req);
    sb_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: authzd\r\n"
                    "Accept-Encoding: identity\r\nConnection: close\r\n",
              method, u.path, u.hostport);
    for (const char *const *h = headers; h && *h; h++)
        sb_printf(&req, "%s\r\n", *h);
    if (body)
        sb_printf(&req, "Content-Length: %zu\r\n", bodylen);
    sb_puts(&req, "\r\n");
    if (body && bodylen)
        sb_append(&req, body, bodylen);
    int wr = io_write_all(&c, req.buf, req.len);
    sb_free(&req);
    if (wr < 0) {
        *why = mono_ms() >= deadline ? "sending the request timed out"
                                     : "sending the request failed";
        goto done;
    }
    buf = malloc(cap + 1);
    if (!buf) {
        *why = "out of memory";
        goto done;
    }
    for (;;) {
        if (len == cap) {
            *why = "the answer is too large";
            goto done;
        }
        ssize_t n = io_read(&c, buf + len, cap - len);
        if (n < 0) {
            *why = mono_ms() >= deadline ? "the server did not answer in time (timed out)"
                                         : "reading the answer failed";
            goto done;
        }
        len += (size_t)n;
        int r = parse_answer(buf, len, n == 0, a, why);
        if (r < 0)
            goto done;
        if (r == 1)
            break;
    }
    rc = 0;
done:
    if (c.ssl) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
    }
    if (c.fd >= 0)
        close(c.fd);
    ERR_clear_error();
    *bufp = buf;
    return rc;
}

/* A header's value as a malloc'd string, or NULL. */
static char *header_dup(const struct answer *a, const char *name)
{
    size_t vl = 0;
    bool dup = false;
    const char *v = a->hdrs ? header_value(a->hdrs, a->hlen, name, &vl, &dup) : NULL;
    if (!v)
        return NULL;
    char *s = malloc(vl + 1);
    if (s) {
        memcpy(s, v, vl);
        s[vl] = '\0';
    }
    return s;
}

void fetch_answer_free(struct fetch_answer *a)
{
    free(a->body);
    free(a->cache_control);
    free(a->location);
    memset(a, 0, sizeof *a);
}

int fetch_get(const char *url, const struct fetch_opts *opts, struct fetch_answer *out,
              const char **why)
{
    memset(out, 0, sizeof *out);
    char accept[200];
    snprintf(accept, sizeof accept, "Accept: %s",
             opts && opts->accept ? opts->accept : "application/json");
    const char *const hdrs[] = {accept, NULL};
    struct answer a = {0};
    char *buf = NULL;
    int rc = transact("GET", url, hdrs, NULL, 0, opts, &a, &buf, why);
    if (rc == 0) {
        out->status = a.status;
        out->body = malloc(a.body_len + 1);
        if (!out->body) {
            *why = "out of memory";
            rc = -1;
        } else {
            memcpy(out->body, a.body, a.body_len);
            out->body[a.body_len] = '\0';
            out->body_len = a.body_len;
            out->cache_control = header_dup(&a, "cache-control");
            out->location = header_dup(&a, "location");
        }
    }
    free(a.decoded);
    free(buf);
    if (rc < 0)
        fetch_answer_free(out);
    return rc;
}

json_t *fetch_json(const char *url, int timeout_ms, const char **why)
{
    static const char *const accept[] = {"Accept: application/jwk-set+json, application/json", NULL};
    struct answer a = {0};
    char *buf = NULL;
    json_t *out = NULL;
    struct fetch_opts o = {.timeout_ms = timeout_ms};
    if (transact("GET", url, accept, NULL, 0, &o, &a, &buf, why) == 0) {
        if (a.status != 200) {
            *why = "the server did not answer 200";
        } else {
            json_error_t je;
            out = json_loadb(a.body, a.body_len, JSON_REJECT_DUPLICATES, &je);
            if (!out)
                *why = "the answer is not valid JSON";
        }
    }
    free(a.decoded);
    free(buf);
    return out;
}

int fetch_post(const char *url, const char *const *headers, const char *body, size_t bodylen,
               int timeout_ms, int *status, const char **why)
{
    struct answer a = {0};
    char *buf = NULL;
    struct fetch_opts o = {.timeout_ms = timeout_ms};
    int rc = transact("POST", url, headers, body, bodylen, &o, &a, &buf, why);
    *status = rc == 0 ? a.status : 0;
    free(a.decoded);
    free(buf);
    return rc;
}
