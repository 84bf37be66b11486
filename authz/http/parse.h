/*
 * parse.h: the request head parser (RFC 9112 §2-§7), pure: bytes in, the
 * request line, the header fields and the framing decisions out, or the
 * status and reason of a refusal. No libevent, no I/O, no allocation but
 * from the caller's arena, so that a unit test or a fuzzer can drive it
 * directly (tests/unit/test_http_parse.c, tests/fuzz/fuzz_http_head.c).
 * http/conn.c feeds it what a connection has received.
 *
 * Three steps, in the order a connection takes them:
 *   http_head_skip    empty lines before a request line, to drop;
 *   http_head_length  where the head ends (0: not yet);
 *   http_parse_head   the head itself, parsed in place.
 * http_request_line_peek reads the method and path of a head that has not
 * arrived whole, so that a 408 or 431 is answered in the format of the
 * endpoint it was for.
 */
#ifndef AUTHZ_HTTP_PARSE_H
#define AUTHZ_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

/* What a parsed head says. Every string points into the caller's buffer
 * (or, for path when there is a query, into the arena). */
struct http_head {
    enum method method;
    const char *method_str;
    const char *target;        /* the request-target as sent */
    const char *path;          /* target up to '?' */
    const char *query;         /* after '?', or NULL */
    int minor;                 /* HTTP/1.<minor>: 0 or 1 */
    bool keepalive;            /* the connection persists after the answer (RFC 9112 §9.3) */
    struct header *headers;    /* names lower-cased */
    int nheaders;
    size_t content_length;     /* the body's length: 0 without Content-Length */
};

/* The number of bytes at the start of buf[0..n) to drop before a request
 * line: empty lines (CRLF) a client may send between requests (RFC 9112
 * §2.2). A lone CR at the end is kept until its LF arrives. */
size_t http_head_skip(const char *buf, size_t n);

/* The length of the head at the start of buf[0..n), its terminating empty
 * line included, or 0 when it has not arrived whole. A head ends at its
 * first empty line, whichever line ending comes first (CRLF CRLF, LF LF,
 * LF CRLF, CRLF LF: RFC 9112 §2.2 lets a bare LF end any line), so that a
 * bare-LF request never takes a pipelined CRLF request after it into its
 * head. */
size_t http_head_length(const char *buf, size_t n);

/* Parses the head buf[0..len) (as framed by http_head_length; buf[len]
 * must be '\0') in place: it writes NULs into buf and lower-cases header
 * names. 0 with *h filled, or the HTTP status of the refusal (400, 411,
 * 413, 431, 505) with *detail saying why in words a client can act on.
 * A Content-Length above max_body is 413. */
int http_parse_head(char *buf, size_t len, size_t max_body, struct arena *a, struct http_head *h,
                    const char **detail);

/* The method and path of the head that buf[0..n) begins (not necessarily
 * whole), when its request line has come as far as the space after the
 * target: true with *method_str (arena), *method and *path (arena) set. */
bool http_request_line_peek(const char *buf, size_t n, struct arena *a, const char **method_str,
                            enum method *method, const char **path);

/* The method a token names (M_OTHER for one not listed). */
enum method http_method(const char *m);

#endif
