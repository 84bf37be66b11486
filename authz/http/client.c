/*
 * client.c: the outgoing HTTP/1.1 client. One connection per request
 * ("Connection: close"), SO_RCVTIMEO/SO_SNDTIMEO for every socket operation,
 * OpenSSL with peer and host-name verification for https.
 */
#include "http/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct url {
    int https;
    char host[256];
    char port[8];
    char path[2048];
};

static int parse_url(const char *u, struct url *out)
{
    memset(out, 0, sizeof *out);
    const char *p;
    if (!strncmp(u, "https://", 8)) {
        out->https = 1;
        p = u + 8;
        strcpy(out->port, "443");
    } else if (!strncmp(u, "http://", 7)) {
        p = u + 7;
        strcpy(out->port, "80");
    } else {
        return -1;
    }
    size_t hl;
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (!e)
            return -1;
        hl = (size_t)(e - p - 1);
        if (hl >= sizeof out->host)
            return -1;
        memcpy(out->host, p + 1, hl);
        p = e + 1;
    } else {
        hl = strcspn(p, ":/?#");
        if (hl == 0 || hl >= sizeof out->host)
            return -1;
        memcpy(out->host, p, hl);
        p += hl;
    }
    if (*p == ':') {
        p++;
        size_t pl = strspn(p, "0123456789");
        if (pl == 0 || pl >= sizeof out->port)
            return -1;
        memcpy(out->port, p, pl);
        out->port[pl] = '\0';
        p += pl;
    }
    if (strchr(p, '#'))
        return -1;
    if (*p == '\0')
        strcpy(out->path, "/");
    else if (*p == '/' || *p == '?') {
        if (strlen(p) + 2 >= sizeof out->path)
            return -1;
        snprintf(out->path, sizeof out->path, "%s%s", *p == '?' ? "/" : "", p);
    } else
        return -1;
    for (const char *c = out->path; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return -1;
    return 0;
}

static int loopback(const char *host)
{
    return !strcmp(host, "127.0.0.1") || !strcmp(host, "::1") || !strcmp(host, "localhost");
}

int http_url_allowed(const char *url)
{
    struct url u;
    if (parse_url(url, &u) < 0)
        return 0;
    return u.https || loopback(u.host);
}

static SSL_CTX *g_client_ctx;
static pthread_once_t client_once = PTHREAD_ONCE_INIT;

static void client_ctx_init(void)
{
    g_client_ctx = SSL_CTX_new(TLS_client_method());
    if (g_client_ctx) {
        SSL_CTX_set_min_proto_version(g_client_ctx, TLS1_2_VERSION);
        SSL_CTX_set_default_verify_paths(g_client_ctx);
        SSL_CTX_set_verify(g_client_ctx, SSL_VERIFY_PEER, NULL);
    }
}

static SSL_CTX *client_ctx(void)
{
    pthread_once(&client_once, client_ctx_init);
    return g_client_ctx;
}

int http_request(const char *method, const char *url, const char *const *extra_headers,
                 const char *body, size_t bodylen, int timeout_secs, size_t max_response,
                 struct http_response *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    struct url u;
    if (parse_url(url, &u) < 0) {
        snprintf(err, errlen, "malformed URL");
        return -1;
    }
    if (!u.https && !loopback(u.host)) {
        snprintf(err, errlen, "plain http is allowed only to a loopback host");
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(u.host, u.port, &hints, &ai);
    if (gai) {
        snprintf(err, errlen, "cannot resolve %s: %s", u.host, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    struct timeval tv = {timeout_secs, 0};
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s:%s: %s", u.host, u.port, strerror(errno));
        return -1;
    }
    SSL *ssl = NULL;
    if (u.https) {
        SSL_CTX *ctx = client_ctx();
        ssl = ctx ? SSL_new(ctx) : NULL;
        if (!ssl) {
            close(fd);
            snprintf(err, errlen, "TLS setup failed");
            return -1;
        }
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, u.host);
        SSL_set1_host(ssl, u.host);
        if (SSL_connect(ssl) != 1) {
            snprintf(err, errlen, "TLS handshake with %s failed (certificate not trusted?)", u.host);
            SSL_free(ssl);
            close(fd);
            return -1;
        }
    }
    /* request */
    size_t cap = 1024 + bodylen;
    for (const char *const *h = extra_headers; h && *h; h++)
        cap += strlen(*h) + 2;
    char *req = malloc(cap + strlen(u.path) + strlen(u.host));
    int hostport = strcmp(u.port, u.https ? "443" : "80") != 0;
    int n = sprintf(req, "%s %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: authzd\r\nConnection: close\r\n",
                    method, u.path, strchr(u.host, ':') ? "[" : "", u.host,
                    strchr(u.host, ':') ? "]" : "", hostport ? ":" : "", hostport ? u.port : "");
    for (const char *const *h = extra_headers; h && *h; h++)
        n += sprintf(req + n, "%s\r\n", *h);
    n += sprintf(req + n, "Content-Length: %zu\r\n\r\n", body ? bodylen : 0);
    if (body && bodylen) {
        memcpy(req + n, body, bodylen);
        n += (int)bodylen;
    }
    int sent = 0, rc = -1;
    while (sent < n) {
        int w = ssl ? SSL_write(ssl, req + sent, n - sent) : (int)write(fd, req + sent, (size_t)(n - sent));
        if (w <= 0) {
            snprintf(err, errlen, "sending failed");
            goto out;
        }
        sent += w;
    }
    /* response */
    size_t rcap = 8192, rlen = 0;
    char *buf = malloc(rcap + 1);
    for (;;) {
        if (rlen == rcap) {
            if (rcap >= max_response + 16384) {
                free(buf);
                snprintf(err, errlen, "response too large");
                goto out;
            }
            rcap *= 2;
            buf = realloc(buf, rcap + 1);
        }
        int got = ssl ? SSL_read(ssl, buf + rlen, (int)(rcap - rlen)) : (int)read(fd, buf + rlen, rcap - rlen);
        if (got <= 0)
            break;
        rlen += (size_t)got;
    }
    buf[rlen] = '\0';
    int status = 0;
    if (rlen < 12 || sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        free(buf);
        snprintf(err, errlen, "no HTTP response");
        goto out;
    }
    char *hend = strstr(buf, "\r\n\r\n");
    size_t off = hend ? (size_t)(hend - buf) + 4 : rlen;
    resp->status = status;
    resp->len = rlen - off;
    resp->body = malloc(resp->len + 1);
    memcpy(resp->body, buf + off, resp->len);
    resp->body[resp->len] = '\0';
    free(buf);
    rc = 0;
out:
    free(req);
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    close(fd);
    return rc;
}
