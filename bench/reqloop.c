/*
 * reqloop.c: a fixed request loop through authzd's own HTTP server, for
 * instruction counts (bench/reqloop.sh runs it under callgrind). Wall-clock
 * benchmarks (cc.sh) need a quiet machine; instruction counts do not, so a
 * change to the read path (framing, head parsing, routing, the answer) can
 * be measured on a busy one.
 *
 * The server runs in this process as fuzz_http's does: the real
 * configuration loader and event loop (one loop thread), no database (its
 * address refuses connections), so nothing but the transport runs. The
 * client sends N requests shaped like bench/cc.sh's token requests (Host,
 * Authorization: Basic, a form Content-Type, a body) to /healthz, which
 * answers from memory, on one keep-alive connection: one at a time, or in
 * pipelined batches (`reqloop N pipelined`). Then it exits at once.
 *
 *   reqloop N [pipelined]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "config.h"
#include "http/http.h"
#include "storage/db.h"

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, "reqloop: " __VA_ARGS__);                                                  \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

static int loopback_port(int *keep_fd)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        DIE("cannot bind a loopback port: %s", strerror(errno));
    if (keep_fd)
        *keep_fd = fd; /* bound, never listening: connections are refused */
    else
        close(fd);
    return ntohs(a.sin_port);
}

static char g_dir[64], g_key[600], g_conf[600];

static void remove_tmp(void)
{
    unlink(g_key);
    unlink(g_conf);
    rmdir(g_dir);
}

static const char REQ[] =
    "GET /healthz HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Authorization: Basic Y2xpZW50LWlkLTAxMjM0NTY3ODk6c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "Content-Length: 91\r\n"
    "\r\n"
    "grant_type=client_credentials&scope=tools%3Aread&resource=https%3A%2F%2Fmcp.example.test%2F";

/* Reads responses until `want` whole ones (head + Content-Length) arrived. */
static void read_answers(int fd, int want)
{
    static char buf[1 << 20];
    size_t n = 0;
    int got = 0;
    while (got < want) {
        ssize_t r = recv(fd, buf + n, sizeof buf - n, 0);
        if (r <= 0)
            DIE("recv: %s", r ? strerror(errno) : "closed");
        n += (size_t)r;
        for (;;) {
            char *end = memmem(buf, n, "\r\n\r\n", 4);
            if (!end)
                break;
            char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
            if (!cl)
                DIE("an answer without Content-Length");
            if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
                DIE("not 200: %.60s", buf);
            size_t len = (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);
            if (len > n)
                break;
            memmove(buf, buf + len, n - len);
            n -= len;
            got++;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        DIE("usage: reqloop N [pipelined]");
    long count = strtol(argv[1], NULL, 10);
    int batch = argc > 2 && !strcmp(argv[2], "pipelined") ? 16 : 1;
    signal(SIGPIPE, SIG_IGN);
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
    snprintf(g_dir, sizeof g_dir, "/tmp/authz-reqloop.XXXXXX");
    if (!mkdtemp(g_dir))
        DIE("mkdtemp: %s", strerror(errno));
    snprintf(g_key, sizeof g_key, "%s/master.key", g_dir);
    snprintf(g_conf, sizeof g_conf, "%s/authzd.conf", g_dir);
    atexit(remove_tmp);
    FILE *f = fopen(g_key, "w");
    unsigned char k[32];
    for (int i = 0; i < 32; i++)
        k[i] = (unsigned char)(i * 37 + 11);
    if (!f || fwrite(k, 1, 32, f) != 32 || fclose(f) != 0)
        DIE("master key");
    chmod(g_key, 0600);
    f = fopen(g_conf, "w");
    if (!f || fclose(f) != 0)
        DIE("config file");
    int dead;
    int port = loopback_port(NULL), dbport = loopback_port(&dead);
    char v[512];
    snprintf(v, sizeof v, "127.0.0.1:%d", port);
    setenv("AUTHZ_LISTEN", v, 1);
    snprintf(v, sizeof v, "http://127.0.0.1:%d", port);
    setenv("AUTHZ_PUBLIC_URL", v, 1);
    snprintf(v, sizeof v, "host=127.0.0.1 port=%d dbname=authz user=authz connect_timeout=1", dbport);
    setenv("AUTHZ_DATABASE_URL", v, 1);
    setenv("AUTHZ_MASTER_KEY_FILE", g_key, 1);
    setenv("AUTHZ_THREADS", "1", 1);
    setenv("AUTHZ_DB_POOL_SIZE", "1", 1);
    setenv("AUTHZ_LOG_LEVEL", "error", 1);
    setenv("AUTHZ_READ_TIMEOUT", "3600", 1); /* valgrind is slow */
    setenv("AUTHZ_IDLE_TIMEOUT", "3600", 1);
    struct config cfg;
    if (boot(&cfg, g_conf, "reqloop") != 0)
        DIE("boot failed");
    db_init(&cfg);
    if (http_server_start(&cfg) != 0)
        DIE("http_server_start failed");

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = -1;
    for (int i = 0; i < 500; i++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            break;
        close(fd);
        fd = -1;
        usleep(10000);
    }
    if (fd < 0)
        DIE("the server does not accept connections");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static char out[16 * sizeof REQ];
    for (int i = 0; i < batch; i++)
        memcpy(out + (size_t)i * (sizeof REQ - 1), REQ, sizeof REQ - 1);
    for (long done = 0; done < count;) {
        int b = count - done < batch ? (int)(count - done) : batch;
        size_t len = (size_t)b * (sizeof REQ - 1);
        if (send(fd, out, len, 0) != (ssize_t)len)
            DIE("send: %s", strerror(errno));
        read_answers(fd, b);
        done += b;
    }
    printf("reqloop: %ld answers\n", count);
    fflush(stdout);
    remove_tmp();
    _exit(0);
}
