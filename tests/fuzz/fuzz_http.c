/*
 * fuzz_http.c: libFuzzer target for whole HTTP requests into authzd's own
 * HTTP/1.1 server (authz/http/conn.c: conn_advance feeding the head parser
 * of parse.c, limits, keep-alive, pipelining, the linger after an error)
 * and its router (authz/http/router.c) with the real handlers behind it.
 *
 * How: the fuzzer runs an in-process authzd: the real configuration loader,
 * the real database worker pool and the real event loop (one loop thread),
 * listening on a loopback port. Each input is written as-is on a fresh TCP
 * connection, the write side is shut, and everything the server answers is
 * read until it closes. There is no database: its address is a loopback
 * port that refuses connections, so every route that needs it takes the
 * "database unavailable" path (503 + Retry-After), and everything before the
 * database -- the transport, the router, the request helpers, the handlers'
 * checks that run on the loop -- takes the fuzzer's bytes.
 *
 * The parser alone is fuzz_http_head's (tests/fuzz/fuzz_http_head.c), far
 * faster; this target covers what it cannot: the connection around the
 * parser (what is read when, pipelining, the limits, timeouts and linger)
 * and the router with its handlers. With AUTHZ_CHECKED (build.sh), a
 * handler that breaks its restart contract aborts here too.
 *
 * At start it checks a few known answers on a kept-open connection
 * (pipelining, bare-LF heads): see known_answer().
 *
 * Invariants besides "no crash, no sanitizer report" in any server thread:
 * - the server ends every exchange (closes) within 20 s;
 * - what it sends is a sequence of well-formed HTTP/1.1 responses: status
 *   line, headers, Content-Length, X-Request-Id, then exactly that many body
 *   bytes (none for a HEAD answer; the last one may be cut short when the
 *   client's half-close made the server drop the connection);
 * - never 500 and no 5xx but 503 with Retry-After (no database) and 505;
 * - JSON bodies (application/json, application/problem+json) parse.
 *
 * The request bytes are limited (-max_len) by run.sh; the server runs with
 * max_header_bytes = 1024 and max_body_bytes = 2048 so that the fuzzer
 * reaches both limits.
 */
#include "fuzz_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "config.h"
#include "http/http.h"
#include "runtime/runtime.h"
#include "storage/db.h"

static struct config g_cfg;
static struct sockaddr_in g_addr;
static int g_dead_db_fd = -1;

static int loopback_port(int *keep_fd)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    FZ_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                 getsockname(fd, (struct sockaddr *)&a, &al) == 0,
             "cannot bind a loopback port: %s", strerror(errno));
    if (keep_fd)
        *keep_fd = fd; /* bound, never listening: connections are refused */
    else
        close(fd);
    return ntohs(a.sin_port);
}

static char g_dir[64], g_key[600], g_conf[600];

/* Known answers, checked once at start (regressions of bugs found while
 * writing this target): sends data on one connection WITHOUT closing the
 * write side and reads until `want` complete responses have come (or 5 s);
 * their statuses must be `statuses`. */
static void known_answer(const char *what, const char *data, int want, const int *statuses)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FZ_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr) == 0, "connect");
    FZ_CHECK(send(fd, data, strlen(data), MSG_NOSIGNAL) == (ssize_t)strlen(data), "send");
    char buf[16384];
    size_t n = 0;
    int got = 0, st[8];
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int tries = 0; tries < 50 && got < want; tries++) {
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r == 0)
            break;
        if (r > 0)
            n += (size_t)r;
        buf[n] = '\0';
        /* count complete responses: head, then Content-Length bytes */
        got = 0;
        const char *p = buf;
        while (got < 8) {
            const char *end = strstr(p, "\r\n\r\n");
            const char *cl = strcasestr(p, "\r\ncontent-length: ");
            if (!end || !cl || cl > end || strncmp(p, "HTTP/1.1 ", 9))
                break;
            long len = strtol(cl + 18, NULL, 10);
            if ((size_t)(end + 4 - buf) + (size_t)len > n)
                break;
            st[got++] = atoi(p + 9);
            p = end + 4 + len;
        }
    }
    close(fd);
    FZ_CHECK(got == want, "%s: %d of %d answers; got:\n%.*s", what, got, want, (int)n, buf);
    for (int i = 0; i < want; i++)
        FZ_CHECK(st[i] == statuses[i], "%s: answer %d is %d, not %d", what, i + 1, st[i], statuses[i]);
}

static void remove_tmp(void)
{
    unlink(g_key);
    unlink(g_conf);
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    /* only our settings: an unknown AUTHZ_* variable would be an error */
    extern char **environ;
    for (char **e = environ; *e;) {
        if (!strncmp(*e, "AUTHZ_", 6)) {
            char name[256];
            size_t l = strcspn(*e, "=");
            snprintf(name, sizeof name, "%.*s", (int)l, *e);
            unsetenv(name);
            e = environ;
        } else {
            e++;
        }
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/authz-fuzz-http.XXXXXX");
    FZ_CHECK(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
    char *key = g_key, *conf = g_conf;
    snprintf(g_key, sizeof g_key, "%s/master.key", g_dir);
    snprintf(g_conf, sizeof g_conf, "%s/authzd.conf", g_dir);
    atexit(remove_tmp);
    FILE *f = fopen(key, "w");
    uint8_t k[32];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(i * 37 + 11);
    FZ_CHECK(f && fwrite(k, 1, 32, f) == 32 && fclose(f) == 0, "master key");
    chmod(key, 0600);
    f = fopen(conf, "w");
    FZ_CHECK(f && fclose(f) == 0, "config file");

    int port = loopback_port(NULL);
    int dbport = loopback_port(&g_dead_db_fd);
    char v[512];
    snprintf(v, sizeof v, "127.0.0.1:%d", port);
    setenv("AUTHZ_LISTEN", v, 1);
    snprintf(v, sizeof v, "http://127.0.0.1:%d", port);
    setenv("AUTHZ_PUBLIC_URL", v, 1);
    snprintf(v, sizeof v, "host=127.0.0.1 port=%d dbname=authz user=authz connect_timeout=1", dbport);
    setenv("AUTHZ_DATABASE_URL", v, 1);
    setenv("AUTHZ_MASTER_KEY_FILE", key, 1);
    setenv("AUTHZ_THREADS", "1", 1);
    setenv("AUTHZ_DB_POOL_SIZE", "1", 1);
    setenv("AUTHZ_LOG_LEVEL", "error", 1);
    setenv("AUTHZ_MAX_HEADER_BYTES", "1024", 1);
    setenv("AUTHZ_MAX_BODY_BYTES", "2048", 1);
    setenv("AUTHZ_READ_TIMEOUT", "5", 1);
    setenv("AUTHZ_ARGON2_T_COST", "1", 1);
    setenv("AUTHZ_ARGON2_M_COST_KIB", "8", 1);
    FZ_CHECK(boot(&g_cfg, conf, "fuzz_http") == 0, "boot failed");
    runtime_start(&g_cfg);
    FZ_CHECK(http_server_start(&g_cfg) == 0, "http_server_start failed");

    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)port);
    g_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int ok = connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr) == 0;
        close(fd);
        if (ok)
            break;
        FZ_CHECK(i < 199, "the in-process authzd does not accept connections on port %d", port);
        usleep(10000);
    }
    static const int ok_404[] = {200, 404};
    known_answer("pipelined CRLF requests", "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
                 "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n", 2, ok_404);
    known_answer("pipelined bare-LF requests", "GET /healthz HTTP/1.1\nHost: h\n\n"
                 "GET /nope HTTP/1.1\nHost: h\n\n", 2, ok_404);
    /* a bare-LF request followed by a CRLF one: the first head ends at its
     * own empty line (server.c took both heads as one and lost the second) */
    known_answer("a bare-LF request, then a pipelined CRLF one", "GET /healthz HTTP/1.1\nHost: h\n\n"
                 "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n", 2, ok_404);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Checks the response stream buf[0..n). */
static void check_responses(const char *buf, size_t n, const uint8_t *req, size_t reqlen)
{
    size_t pos = 0;
    int count = 0;
    /* A HEAD answer carries the Content-Length its GET would have and no
     * content (RFC 9110 §8.6, §9.3.2). Which answers are HEAD answers only
     * the server's framing of the input knows; but no content of ours
     * starts with a status line, so when the input holds a HEAD request
     * and the next response follows right after a head, that head was a
     * HEAD answer. */
    bool head_in_input = memmem(req, reqlen, "HEAD ", 5) != NULL;
    while (pos < n) {
        const char *p = buf + pos;
        size_t left = n - pos;
        const char *end = memmem(p, left, "\r\n\r\n", 4);
        if (!end)
            return; /* cut short by the close: nothing more to check */
        size_t headlen = (size_t)(end - p) + 4;
        FZ_CHECK(left >= 13 && !memcmp(p, "HTTP/1.1 ", 9) && p[9] >= '1' && p[9] <= '5' &&
                     p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9' && p[12] == ' ',
                 "response %d: malformed status line: %.40s", count, p);
        int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        long cl = -1;
        bool rid = false, retry_after = false, json = false;
        const char *line = memchr(p, '\n', headlen) + 1;
        while (line < p + headlen - 2) {
            const char *eol = memmem(line, (size_t)(p + headlen - line), "\r\n", 2);
            FZ_CHECK(eol, "header line without CRLF");
            size_t ll = (size_t)(eol - line);
            const char *colon = memchr(line, ':', ll);
            FZ_CHECK(colon && colon > line, "response %d: malformed header line %.*s", count, (int)ll,
                     line);
            for (const char *c = line; c < eol; c++)
                FZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f,
                         "response %d: control character in a header line", count);
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            if (nl == 14 && !strncasecmp(line, "content-length", nl)) {
                FZ_CHECK(cl < 0, "two Content-Length headers");
                cl = strtol(v, NULL, 10);
            } else if (nl == 12 && !strncasecmp(line, "x-request-id", nl)) {
                rid = true;
            } else if (nl == 11 && !strncasecmp(line, "retry-after", nl)) {
                retry_after = true;
            } else if (nl == 12 && !strncasecmp(line, "content-type", nl)) {
                json = !strncmp(v, "application/json", 16) || !strncmp(v, "application/problem+json", 24);
            }
            line = eol + 2;
        }
        FZ_CHECK(cl >= 0, "response %d (%d) without Content-Length", count, status);
        FZ_CHECK(rid, "response %d (%d) without X-Request-Id", count, status);
        FZ_CHECK(status != 500, "500 Internal Server Error: %.*s", (int)(left < 600 ? left : 600), p);
        FZ_CHECK(status < 500 || status == 503 || status == 505, "answered %d", status);
        if (status == 503)
            FZ_CHECK(retry_after, "503 without Retry-After");
        if (head_in_input && cl > 0 && left - headlen >= 9 && !memcmp(p + headlen, "HTTP/1.1 ", 9))
            cl = 0; /* a HEAD answer */
        if (left - headlen < (size_t)cl)
            return; /* body cut short by the close */
        if (json && cl > 0) {
            json_error_t je;
            json_t *j = json_loadb(p + headlen, (size_t)cl, 0, &je);
            FZ_CHECK(j != NULL, "response %d (%d): JSON body does not parse (%s): %.*s", count, status,
                     je.text, (int)cl, p + headlen);
            json_decref(j);
        }
        pos += headlen + (size_t)cl;
        count++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FZ_CHECK(fd >= 0, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0) {
        /* out of ephemeral ports for a moment: retry once after a pause */
        close(fd);
        usleep(100000);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        FZ_CHECK(connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr) == 0, "connect: %s",
                 strerror(errno));
    }
    /* write everything (the server may stop reading: then stop writing) */
    size_t off = 0;
    double deadline = now_s() + 20;
    while (off < size) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, 1000) <= 0) {
            FZ_CHECK(now_s() < deadline, "the server stopped reading for 20 s");
            continue;
        }
        ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w <= 0)
            break; /* reset by the server: it answered and closed */
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);

    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 500);
        if (pr <= 0) {
            FZ_CHECK(now_s() < deadline, "the server neither answered nor closed within 20 s");
            continue;
        }
        if (n == cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    /* abortive close: no TIME_WAIT left behind per input */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    if (getenv("FUZZ_HTTP_SHOW")) /* debugging: what the server answered */
        fprintf(stderr, "---- %zu bytes in, %zu bytes out:\n%.*s\n", size, n, (int)n, buf);
    check_responses(buf, n, data, size);
    free(buf);
    return 0;
}
