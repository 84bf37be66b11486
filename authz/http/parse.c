/*
 * parse.c: the request head parser (RFC 9112), pure: bytes in, request
 * line, header fields and framing decisions out (see parse.h). It lives
 * apart from the connections (conn.c) so that every rule below can be
 * tested and fuzzed without a socket, and so that the rules of HTTP/1.1
 * framing are in one file a reader can tick off against the RFC.
 *
 * The head is parsed in place: the pieces are NUL-terminated inside the
 * caller's buffer (which conn.c allocates from the request's arena), so
 * the request line and the header fields cost no copy; only a path that
 * is followed by a query is copied, so that the target stays whole.
 *
 * What is refused, and why (each a test in tests/unit/test_http_parse.c):
 * - a NUL byte anywhere in the head: 400;
 * - a request line that is not exactly "method SP target SP version"
 *   (RFC 9112 §3: single spaces; no other whitespace is accepted): 400;
 * - a version other than HTTP/1.1 and HTTP/1.0: 505;
 * - an empty method or one that is not a token (RFC 9110 §9.1): 400;
 * - a target not in origin-form (RFC 9112 §3.2.1: "/" path ["?" query]),
 *   including absolute-form and asterisk-form: 400 (a deviation from
 *   §3.2.2's "MUST accept the absolute-form", kept: authzd is an origin
 *   server that no proxy addresses);
 * - a target byte that must be percent-encoded (CTL, SP, ≥ 0x7f): 400;
 * - obs-fold, a header line starting with SP or HTAB (RFC 9112 §5.2: reject
 *   with 400 or replace by SP; rejected); whitespace before the first
 *   header line is the same case (§2.2);
 * - a header line without a colon, an empty name, a name that is not a
 *   token (whitespace before the colon included: §5.1, "MUST reject ...
 *   with 400"): 400;
 * - a control character in a value (a bare CR included: §2.2) other than
 *   HTAB: 400;
 * - more than AUTHZ_HTTP_HEADER_FIELDS_MAX header fields: 431;
 * - Content-Length that is not 1*DIGIT or does not fit, or that is sent
 *   twice (even with the same value: RFC 9112 §6.3 item 5 leaves the choice,
 *   and one answer avoids request smuggling): 400; above max_body: 413;
 * - Transfer-Encoding, any (chunked included): 411 Length Required. RFC
 *   9112 §7.1 says a recipient MUST be able to parse chunked; authzd asks
 *   for a Content-Length instead (every client it serves sends one), which
 *   also settles the TE + CL smuggling case (§6.1) by refusing both;
 * - Host sent twice (RFC 9112 §3.2): 400; missing in an HTTP/1.1 request
 *   (§3.2): 400 (an HTTP/1.0 request may lack it).
 * Line ends: CRLF or a bare LF (§2.2 "MAY recognize a single LF").
 * Keep-alive (§9.3): "close" in Connection ends the connection after the
 * answer; otherwise HTTP/1.1 persists, and HTTP/1.0 persists only with
 * "keep-alive" in Connection.
 */
#include "http/parse.h"
#include "util/limits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum method http_method(const char *m)
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

/* RFC 9110 §5.6.2: tchar */
static bool is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

size_t http_head_skip(const char *buf, size_t n)
{
    size_t i = 0;
    while (i + 2 <= n && buf[i] == '\r' && buf[i + 1] == '\n')
        i += 2;
    return i;
}

size_t http_head_length(const char *buf, size_t n)
{
    /* the first LF followed by LF or CR LF: the earliest end (a later LF
     * cannot end sooner, see parse.h) */
    const char *p = buf, *end = buf + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl + 1 >= end)
            return 0;
        if (nl[1] == '\n')
            return (size_t)(nl + 2 - buf);
        if (nl[1] == '\r') {
            if (nl + 2 >= end)
                return 0;
            if (nl[2] == '\n')
                return (size_t)(nl + 3 - buf);
        }
        p = nl + 1;
    }
    return 0;
}

/* Connection (RFC 9110 §7.6.1): a comma-separated list of options (RFC
 * 9110 §5.6.1: elements with OWS around them), case insensitive. Sets
 * *close / *keep_alive for the options it names; an element that is no
 * token ("keep-alive x") names none. */
static void connection_options(const char *v, bool *close, bool *keep_alive)
{
    for (;;) {
        while (*v == ' ' || *v == '\t')
            v++;
        const char *s = v;
        while (*v && *v != ',')
            v++;
        const char *e = v;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t n = (size_t)(e - s);
        if (n == 5 && !strncasecmp(s, "close", 5))
            *close = true;
        else if (n == 10 && !strncasecmp(s, "keep-alive", 10))
            *keep_alive = true;
        if (!*v)
            return;
        v++;
    }
}

/* The request line (RFC 9112 §3), NUL-terminated in line. */
static int parse_request_line(char *line, struct arena *a, struct http_head *h, const char **detail)
{
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ')) {
        *detail = "malformed request line";
        return 400;
    }
    *sp1 = *sp2 = '\0';
    const char *version = sp2 + 1;
    if (!strcmp(version, "HTTP/1.1"))
        h->minor = 1;
    else if (!strcmp(version, "HTTP/1.0"))
        h->minor = 0;
    else {
        *detail = "only HTTP/1.1 and HTTP/1.0 are spoken here";
        return 505;
    }
    /* RFC 9110 §9.1: method = token (1*tchar) */
    if (sp1 == line) {
        *detail = "malformed method";
        return 400;
    }
    for (const char *p = line; *p; p++)
        if (!is_tchar((unsigned char)*p)) {
            *detail = "malformed method";
            return 400;
        }
    h->method_str = line;
    h->method = http_method(line);
    /* RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ] */
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
    h->target = target;
    char *q = strchr(target, '?');
    if (q) {
        h->path = arena_strndup(a, target, (size_t)(q - target));
        h->query = q + 1;
    } else {
        h->path = target;
        h->query = NULL;
    }
    return 0;
}

int http_parse_head(char *buf, size_t len, size_t max_body, struct arena *a, struct http_head *h,
                    const char **detail)
{
    memset(h, 0, sizeof *h);
    if (memchr(buf, '\0', len)) {
        *detail = "NUL byte in the request head";
        return 400;
    }
    char *eol = memchr(buf, '\n', len);
    if (!eol) {
        *detail = "malformed request line";
        return 400;
    }
    size_t ll = (size_t)(eol - buf);
    if (ll && buf[ll - 1] == '\r')
        ll--;
    buf[ll] = '\0';
    int st = parse_request_line(buf, a, h, detail);
    if (st)
        return st;

    /* header fields (RFC 9112 §5) */
    int cap = 16;
    h->headers = arena_alloc(a, sizeof(struct header) * (size_t)cap);
    char *p = eol + 1;
    char *end = buf + len;
    bool have_cl = false, have_host = false, close = false, keep_alive = false;
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
        /* field-value without its leading and trailing OWS */
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *ve = p + hl;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = '\0';
        for (const unsigned char *k = (const unsigned char *)v; *k; k++)
            if ((*k < 0x20 && *k != '\t') || *k == 0x7f) {
                *detail = "control characters in a header value";
                return 400;
            }
        if (h->nheaders == AUTHZ_HTTP_HEADER_FIELDS_MAX) {
            *detail = "too many header fields";
            return 431;
        }
        if (h->nheaders == cap) {
            struct header *nh = arena_alloc(a, sizeof(*nh) * (size_t)cap * 2);
            memcpy(nh, h->headers, sizeof(*nh) * (size_t)cap);
            h->headers = nh;
            cap *= 2;
        }
        if (strcmp(p, "content-length") == 0) {
            /* RFC 9110 §8.6: Content-Length = 1*DIGIT */
            char *e;
            errno = 0;
            unsigned long long n = strtoull(v, &e, 10);
            if (have_cl || *v < '0' || *v > '9' || *e != '\0' || errno) {
                *detail = "invalid or repeated Content-Length";
                return 400;
            }
            have_cl = true;
            if (n > (unsigned long long)max_body) {
                *detail = "request body is larger than the limit";
                return 413;
            }
            h->content_length = (size_t)n;
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
            connection_options(v, &close, &keep_alive);
        }
        h->headers[h->nheaders].name = p;
        h->headers[h->nheaders].value = v;
        h->nheaders++;
        p = nl + 1;
    }
    /* RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
     * code to any HTTP/1.1 request message that lacks a Host header field" */
    if (!have_host && h->minor == 1) {
        *detail = "missing Host header";
        return 400;
    }
    /* RFC 9112 §9.3 */
    h->keepalive = !close && (h->minor == 1 || keep_alive);
    return 0;
}

bool http_request_line_peek(const char *buf, size_t n, struct arena *a, const char **method_str,
                            enum method *method, const char **path)
{
    const char *sp = memchr(buf, ' ', n);
    if (!sp || sp == buf)
        return false;
    for (const char *p = buf; p < sp; p++)
        if (!is_tchar((unsigned char)*p))
            return false;
    const char *target = sp + 1, *end = target;
    while (end < buf + n && (unsigned char)*end > 0x20 && (unsigned char)*end < 0x7f)
        end++;
    if (target >= buf + n || target[0] != '/' || end == buf + n || *end != ' ')
        return false;
    char *m = arena_strndup(a, buf, (size_t)(sp - buf));
    *method_str = m;
    *method = http_method(m);
    const char *q = memchr(target, '?', (size_t)(end - target));
    *path = arena_strndup(a, target, (size_t)((q ? q : end) - target));
    return true;
}
