/*
 * fuzz_http_head.c: libFuzzer target for the request head parser alone
 * (authz/http/parse.c): framing (http_head_skip, http_head_length), the head
 * (http_parse_head) and the request-line peek (http_request_line_peek),
 * called directly, with no server, socket or thread: tens of thousands of
 * inputs a second where fuzz_http (whole requests into an in-process
 * authzd) does about two thousand.
 *
 * The input is what a connection received: leading empty lines are
 * dropped as conn.c does, then the head is framed; a framed head is parsed
 * as conn.c parses it, and an unframed input is parsed whole as well (the
 * parser must be safe on any bytes, not only on framed heads).
 *
 * Invariants besides "no crash, no sanitizer report":
 * - framing: the skip is whole CRLF pairs; a head's length is 0 or ends in
 *   an empty line (LF LF or LF CR LF), and no shorter prefix holds a head
 *   (the first empty line ends it);
 * - a refusal is 400, 411, 413, 431 or 505, with a detail;
 * - an accepted head: the method is a non-empty token; the target starts
 *   with '/' and holds no byte that must be percent-encoded; path + "?" +
 *   query is the target; HTTP/1.0 or 1.1; at most
 *   AUTHZ_HTTP_HEADER_FIELDS_MAX fields, each name a lower-case token, each
 *   value without control characters (but HTAB) and without leading or
 *   trailing whitespace; at most one Host (and one when HTTP/1.1), at most
 *   one Content-Length, no Transfer-Encoding; Content-Length <= max_body;
 *   keep-alive as RFC 9112 §9.3 says for its Connection options;
 * - what was accepted, the peek reads the same method and path from the
 *   bytes as sent.
 */
#include "fuzz_common.h"

#include <stdbool.h>
#include <strings.h>

#include "http/parse.h"
#include "util/limits.h"

#define MAX_BODY 2048

static bool tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The keep-alive RFC 9112 §9.3 gives, computed apart from parse.c. */
static bool expected_keepalive(const struct http_head *h)
{
    bool close = false, ka = false;
    for (int i = 0; i < h->nheaders; i++) {
        if (strcmp(h->headers[i].name, "connection"))
            continue;
        const char *v = h->headers[i].value;
        size_t n = strlen(v), s = 0;
        for (size_t k = 0; k <= n; k++) {
            if (k < n && v[k] != ',')
                continue;
            size_t a = s, b = k;
            while (a < b && (v[a] == ' ' || v[a] == '\t'))
                a++;
            while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
                b--;
            if (b - a == 5 && !strncasecmp(v + a, "close", 5))
                close = true;
            if (b - a == 10 && !strncasecmp(v + a, "keep-alive", 10))
                ka = true;
            s = k + 1;
        }
    }
    return !close && (h->minor == 1 || ka);
}

static void check_head(const char *orig, size_t len, int st, const char *detail,
                       const struct http_head *h, struct arena *a)
{
    if (st) {
        FZ_CHECK(st == 400 || st == 411 || st == 413 || st == 431 || st == 505, "status %d", st);
        FZ_CHECK(detail && *detail, "a refusal without a detail");
        return;
    }
    FZ_CHECK(h->method_str && *h->method_str, "an empty method");
    for (const char *p = h->method_str; *p; p++)
        FZ_CHECK(tchar((unsigned char)*p), "method byte 0x%02x", (unsigned char)*p);
    FZ_CHECK(h->target && h->target[0] == '/', "target %s", h->target ? h->target : "(null)");
    for (const unsigned char *p = (const unsigned char *)h->target; *p; p++)
        FZ_CHECK(*p > 0x20 && *p < 0x7f, "target byte 0x%02x", *p);
    size_t pl = strlen(h->path);
    FZ_CHECK(!strchr(h->path, '?') && !strncmp(h->target, h->path, pl), "path %s of %s", h->path,
             h->target);
    if (h->query)
        FZ_CHECK(h->target[pl] == '?' && !strcmp(h->target + pl + 1, h->query), "query");
    else
        FZ_CHECK(h->target[pl] == '\0', "a target with more than its path and no query");
    FZ_CHECK(h->minor == 0 || h->minor == 1, "minor %d", h->minor);
    FZ_CHECK(h->nheaders >= 0 && h->nheaders <= AUTHZ_HTTP_HEADER_FIELDS_MAX, "%d fields",
             h->nheaders);
    int hosts = 0, lengths = 0;
    for (int i = 0; i < h->nheaders; i++) {
        const char *n = h->headers[i].name, *v = h->headers[i].value;
        FZ_CHECK(*n, "an empty field name");
        for (const char *p = n; *p; p++)
            FZ_CHECK(tchar((unsigned char)*p) && !(*p >= 'A' && *p <= 'Z'), "field name %s", n);
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
            FZ_CHECK(*p >= 0x20 ? *p != 0x7f : *p == '\t', "control character in %s", n);
        size_t vl = strlen(v);
        FZ_CHECK(vl == 0 || (v[0] != ' ' && v[0] != '\t' && v[vl - 1] != ' ' && v[vl - 1] != '\t'),
                 "untrimmed value of %s", n);
        hosts += !strcmp(n, "host");
        lengths += !strcmp(n, "content-length");
        FZ_CHECK(strcmp(n, "transfer-encoding"), "Transfer-Encoding accepted");
    }
    FZ_CHECK(hosts <= 1 && (h->minor == 0 || hosts == 1), "%d Host fields in HTTP/1.%d", hosts,
             h->minor);
    FZ_CHECK(lengths <= 1, "%d Content-Length fields", lengths);
    FZ_CHECK(lengths == 1 || h->content_length == 0, "a body length without Content-Length");
    FZ_CHECK(h->content_length <= MAX_BODY, "Content-Length %zu", h->content_length);
    FZ_CHECK(h->keepalive == expected_keepalive(h), "keep-alive %d", h->keepalive);

    const char *m = NULL, *path = NULL;
    enum method meth = M_OTHER;
    FZ_CHECK(http_request_line_peek(orig, len, a, &m, &meth, &path), "the peek fails on %s %s",
             h->method_str, h->target);
    FZ_CHECK(!strcmp(m, h->method_str) && meth == h->method && !strcmp(path, h->path),
             "the peek reads %s %s, the parser %s %s", m, path, h->method_str, h->path);
}

static void parse_one(const char *data, size_t n)
{
    struct arena *a = arena_new();
    char *buf = arena_alloc(a, n + 1);
    memcpy(buf, data, n);
    buf[n] = '\0';
    struct http_head h;
    const char *detail = NULL;
    int st = http_parse_head(buf, n, MAX_BODY, a, &h, &detail);
    check_head(data, n, st, detail, &h, a);
    arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t n = size;
    size_t skip = http_head_skip(p, n);
    FZ_CHECK(skip <= n && skip % 2 == 0, "skip %zu of %zu", skip, n);
    for (size_t i = 0; i < skip; i += 2)
        FZ_CHECK(p[i] == '\r' && p[i + 1] == '\n', "skipped a byte that is no empty line");
    p += skip;
    n -= skip;
    FZ_CHECK(http_head_skip(p, n) == 0, "the skip left an empty line");

    size_t len = http_head_length(p, n);
    if (len) {
        FZ_CHECK(len <= n && len >= 2 && p[len - 1] == '\n' &&
                     (p[len - 2] == '\n' || (len >= 3 && p[len - 2] == '\r' && p[len - 3] == '\n')),
                 "a head of %zu bytes that does not end in an empty line", len);
        FZ_CHECK(http_head_length(p, len - 1) == 0, "a shorter prefix holds a head");
        FZ_CHECK(http_head_length(p, len) == len, "the head's length moves with its length");
        parse_one(p, len);
    } else {
        parse_one(p, n);
    }
    return 0;
}
