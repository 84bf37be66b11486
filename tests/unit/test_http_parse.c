/*
 * test_http_parse.c: unit tests for authz/http/parse.c, the request head
 * parser: every rule it enforces, each with what RFC 9112 (HTTP/1.1) or RFC
 * 9110 (HTTP semantics) says about it. Where authzd is stricter than the
 * RFC allows or deviates from it, the test name says so.
 *
 * The size of a head (max_header_bytes: 431) and the read_timeout are
 * enforced by the connection (http/conn.c) and tested by
 * tests/integration/t_limits.sh; here, only where a head ends.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"
#include "util/limits.h"

#define MAX_BODY 1000

static struct arena *g_arena;
static struct http_head g_h;
static const char *g_detail;

static int setup(void **state)
{
    (void)state;
    g_arena = arena_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(g_arena);
    return 0;
}

/* Parses the n bytes of s as conn.c does: framed first (the head must end
 * where http_head_length says), then in place in an arena copy. */
static int parse_n(const char *s, size_t n)
{
    char *buf = arena_alloc(g_arena, n + 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    g_detail = NULL;
    int st = http_parse_head(buf, n, MAX_BODY, g_arena, &g_h, &g_detail);
    if (st)
        assert_non_null(g_detail);
    return st;
}

static int parse(const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(http_head_length(s, n), n); /* a whole head, as framed */
    return parse_n(s, n);
}

static const char *header(const char *name)
{
    for (int i = 0; i < g_h.nheaders; i++)
        if (!strcmp(g_h.headers[i].name, name))
            return g_h.headers[i].value;
    return NULL;
}

/* ---------------------------------------------------------------- framing */

static void a_head_ends_at_its_first_empty_line(void **state)
{
    (void)state;
    const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\nbody";
    assert_int_equal(http_head_length(s, strlen(s)), strlen(s) - 4);
    /* no headers at all: the request line, then the empty line */
    s = "GET / HTTP/1.0\r\n\r\n";
    assert_int_equal(http_head_length(s, strlen(s)), strlen(s));
}

static void a_bare_lf_may_end_any_line_of_a_head(void **state)
{
    (void)state;
    /* RFC 9112 §2.2: "a recipient MAY recognize a single LF as a line
     * terminator and ignore any preceding CR" */
    const char *lflf = "GET / HTTP/1.1\nHost: h\n\n";
    assert_int_equal(http_head_length(lflf, strlen(lflf)), strlen(lflf));
    const char *lfcrlf = "GET / HTTP/1.1\r\nHost: h\n\r\n";
    assert_int_equal(http_head_length(lfcrlf, strlen(lfcrlf)), strlen(lfcrlf));
    const char *crlflf = "GET / HTTP/1.1\r\nHost: h\r\n\n";
    assert_int_equal(http_head_length(crlflf, strlen(crlflf)), strlen(crlflf));
    assert_int_equal(parse(lflf), 0);
    assert_string_equal(header("host"), "h");
    assert_int_equal(parse(lfcrlf), 0);
    assert_int_equal(parse(crlflf), 0);
}

static void a_bare_lf_head_ends_before_a_pipelined_crlf_request(void **state)
{
    (void)state;
    /* fuzz_http's bug 3: the CRLF CRLF of the second head was found first
     * and the first head ran to the end of the second */
    const char *first = "GET /healthz HTTP/1.1\nHost: h\n\n";
    char both[256];
    snprintf(both, sizeof both, "%sGET /nope HTTP/1.1\r\nHost: h\r\n\r\n", first);
    assert_int_equal(http_head_length(both, strlen(both)), strlen(first));
}

static void an_unfinished_head_has_no_length_yet(void **state)
{
    (void)state;
    static const char *partial[] = {
        "", "G", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: h\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n\r", "GET / HTTP/1.1\nHost: h\n", "GET / HTTP/1.1\n\r",
    };
    for (size_t i = 0; i < sizeof partial / sizeof *partial; i++)
        assert_int_equal(http_head_length(partial[i], strlen(partial[i])), 0);
}

static void empty_lines_before_a_request_line_are_skipped(void **state)
{
    (void)state;
    /* RFC 9112 §2.2: a server "SHOULD ignore at least one empty line (CRLF)
     * received prior to the request-line" */
    assert_int_equal(http_head_skip("\r\n\r\nGET", 7), 4);
    assert_int_equal(http_head_skip("GET / HTTP/1.1\r\n", 16), 0);
    /* a lone CR waits for its LF */
    assert_int_equal(http_head_skip("\r\n\r", 3), 2);
    /* a bare LF before the request line is not skipped: it frames an empty
     * head, refused as a malformed request line */
    assert_int_equal(http_head_skip("\n\nGET", 5), 0);
    assert_int_equal(http_head_length("\n\nGET", 5), 2);
    assert_int_equal(parse_n("\n\n", 2), 400);
}

/* ----------------------------------------------------------- request line */

static void the_request_line_gives_method_target_and_version(void **state)
{
    (void)state;
    assert_int_equal(parse("POST /t/a/oauth2/token HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    assert_int_equal(g_h.method, M_POST);
    assert_string_equal(g_h.method_str, "POST");
    assert_string_equal(g_h.target, "/t/a/oauth2/token");
    assert_string_equal(g_h.path, "/t/a/oauth2/token");
    assert_null(g_h.query);
    assert_int_equal(g_h.minor, 1);
}

static void the_query_is_split_from_the_path_and_the_target_stays_whole(void **state)
{
    (void)state;
    assert_int_equal(parse("GET /t/a/oauth2/authorize?x=1&y=%20?z HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    assert_string_equal(g_h.path, "/t/a/oauth2/authorize");
    assert_string_equal(g_h.query, "x=1&y=%20?z");
    assert_string_equal(g_h.target, "/t/a/oauth2/authorize?x=1&y=%20?z");
    assert_int_equal(parse("GET /healthz? HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    assert_string_equal(g_h.path, "/healthz");
    assert_string_equal(g_h.query, "");
}

static void http_1_1_and_1_0_are_spoken_and_nothing_else(void **state)
{
    (void)state;
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n"), 0);
    assert_int_equal(g_h.minor, 0);
    /* RFC 9112 §2.3: HTTP-version is case-sensitive; RFC 9110 §15.6.6: 505
     * for a major version the server does not support. authzd answers 505
     * to any version but these two (HTTP/1.2 included, which §6.2 of RFC
     * 9110 says SHOULD be treated as 1.1: stricter) */
    static const char *other[] = {
        "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.2\r\n\r\n", "GET / http/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n" /* trailing space: a third space */, "GET / HTTP/1\r\n\r\n",
        "GET / FOO\r\n\r\n", "GET / HTTP/1.1\r\r\n\r\n" /* a bare CR ends no line */,
    };
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        int st = parse(other[i]);
        assert_true(st == 505 || st == 400);
    }
    assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n"), 505);
    assert_string_equal(g_detail, "only HTTP/1.1 and HTTP/1.0 are spoken here");
    assert_int_equal(parse("GET / HTTP/1.1\r\r\n\r\n"), 505);
}

static void a_request_line_is_three_words_with_single_spaces(void **state)
{
    (void)state;
    /* RFC 9112 §3: request-line = method SP request-target SP HTTP-version;
     * the MAY of parsing on any whitespace is not taken */
    static const char *bad[] = {
        "GET  / HTTP/1.1\r\n\r\n", "GET /  HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n",
        "GET\t/\tHTTP/1.1\r\n\r\n", "GET /\r\n\r\n", "GET\r\n\r\n", "\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse_n(bad[i], strlen(bad[i])), 400);
    }
    assert_int_equal(parse("GET /\r\n\r\n"), 400);
    assert_string_equal(g_detail, "malformed request line");
}

static void an_empty_method_is_400(void **state)
{
    (void)state;
    /* RFC 9110 §9.1: method = token, one tchar at least. authzd took " /
     * HTTP/1.1" as a request with the empty method (a bug, fixed) */
    assert_int_equal(parse(" / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_string_equal(g_detail, "malformed method");
}

static void a_method_must_be_a_token(void **state)
{
    (void)state;
    assert_int_equal(parse("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_string_equal(g_detail, "malformed method");
    assert_int_equal(parse("G\xc3\xa9T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void methods_are_case_sensitive_and_unknown_tokens_pass_as_other(void **state)
{
    (void)state;
    static const struct {
        const char *m;
        enum method want;
    } cases[] = {
        {"GET", M_GET},       {"HEAD", M_HEAD},         {"POST", M_POST},   {"PUT", M_PUT},
        {"PATCH", M_PATCH},   {"DELETE", M_DELETE},     {"OPTIONS", M_OPTIONS},
        {"get", M_OTHER} /* RFC 9110 §9.1: case-sensitive */, {"BREW", M_OTHER},
        {"M-SEARCH", M_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char req[128];
        snprintf(req, sizeof req, "%s / HTTP/1.1\r\nHost: h\r\n\r\n", cases[i].m);
        assert_int_equal(parse(req), 0);
        assert_int_equal(g_h.method, cases[i].want);
        assert_string_equal(g_h.method_str, cases[i].m);
    }
    /* a method the router does not know is the router's 405, not the
     * parser's business (RFC 9110 §15.6.2 501 is for unknown methods; the
     * endpoints answer 405 with Allow) */
}

static void only_the_origin_form_is_accepted(void **state)
{
    (void)state;
    /* RFC 9112 §3.2.2: "a server MUST accept the absolute-form in
     * requests". authzd refuses it (400): a deviation, kept, since no
     * client of an origin server sends it (only clients of proxies do) */
    assert_int_equal(parse("GET http://h/healthz HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_string_equal(g_detail, "request target must be an absolute path");
    /* asterisk-form (§3.2.4, OPTIONS only) and authority-form (§3.2.3,
     * CONNECT only) are for what authzd does not serve */
    assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(parse("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void a_target_byte_that_must_be_percent_encoded_is_400(void **state)
{
    (void)state;
    /* RFC 3986 §2: no CTL, SP, DEL or non-ASCII byte in a URI; RFC 9112
     * §3.2: an invalid request-target gets 400 */
    static const char *bad[] = {
        "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse(bad[i]), 400);
        assert_string_equal(g_detail, "request target has characters that must be percent-encoded");
    }
    assert_int_equal(parse("GET /caf%C3%A9?q=%00 HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
}

static void a_long_target_within_the_head_limit_is_accepted(void **state)
{
    (void)state;
    /* RFC 9112 §3: "It is RECOMMENDED that all HTTP senders and recipients
     * support, at a minimum, request-line lengths of 8000 octets". The only
     * limit on a request line is max_header_bytes on the whole head (431,
     * conn.c; default 16384); there is no separate 414 */
    size_t n = 8000;
    char *req = malloc(n + 64);
    assert_non_null(req);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', n);
    strcpy(req + 5 + n, " HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(parse(req), 0);
    assert_int_equal(strlen(g_h.path), n + 1);
    free(req);
}

/* --------------------------------------------------------- header fields */

static void header_names_are_lower_cased_and_values_trimmed(void **state)
{
    (void)state;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHOST: h\r\nX-Thing:  \t a b \t \r\n"
                           "Empty:\r\nObs: caf\xc3\xa9\tx\r\n\r\n"),
                     0);
    assert_int_equal(g_h.nheaders, 4);
    assert_string_equal(header("host"), "h");
    /* RFC 9112 §5: field-value without leading and trailing OWS; HTAB and
     * obs-text inside a value are allowed (RFC 9110 §5.5) */
    assert_string_equal(header("x-thing"), "a b");
    assert_string_equal(header("empty"), "");
    assert_string_equal(header("obs"), "caf\xc3\xa9\tx");
}

static void obs_fold_is_400(void **state)
{
    (void)state;
    /* RFC 9112 §5.2: a server MUST either reject obs-fold with 400 or
     * replace it with SP; authzd rejects */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n"), 400);
    assert_string_equal(g_detail, "obsolete header line folding is not accepted");
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\t2\r\n\r\n"), 400);
    /* RFC 9112 §2.2: whitespace between the start-line and the first field
     * MUST be rejected or the line ignored; rejected */
    assert_int_equal(parse("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
}

static void a_malformed_header_line_is_400(void **state)
{
    (void)state;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nno colon\r\n\r\n"), 400);
    assert_string_equal(g_detail, "malformed header line");
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n"), 400);
    assert_string_equal(g_detail, "malformed header line");
    /* RFC 9112 §5.1: "A server MUST reject, with a response status code of
     * 400 (Bad Request), any received request message that contains
     * whitespace between a header field name and colon" */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
    assert_string_equal(g_detail, "malformed header name");
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n"), 400);
    assert_string_equal(g_detail, "malformed header name");
}

static void control_characters_in_a_value_are_400(void **state)
{
    (void)state;
    /* RFC 9110 §5.5: field values never contain CR, LF or NUL, and other
     * CTLs are invalid; RFC 9112 §2.2: a bare CR MUST be rejected or
     * replaced by SP (rejected) */
    static const char *bad[] = {
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\x1b[31m\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse(bad[i]), 400);
        assert_string_equal(g_detail, "control characters in a header value");
    }
}

static void a_nul_byte_anywhere_in_the_head_is_400(void **state)
{
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    assert_int_equal(parse_n(req, sizeof req - 1), 400);
    assert_string_equal(g_detail, "NUL byte in the request head");
    static const char inline_[] = "GET /a\0 HTTP/1.1\r\n\r\n";
    assert_int_equal(parse_n(inline_, sizeof inline_ - 1), 400);
    assert_null(g_h.method_str); /* refused before the request line is read */
}

static void more_header_fields_than_the_limit_is_431(void **state)
{
    (void)state;
    /* RFC 6585 §5: 431 Request Header Fields Too Large */
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 1; i < AUTHZ_HTTP_HEADER_FIELDS_MAX; i++)
        sb_printf(&sb, "X-%d: %d\r\n", i, i);
    sb_puts(&sb, "\r\n");
    assert_int_equal(parse(sb.buf), 0);
    assert_int_equal(g_h.nheaders, AUTHZ_HTTP_HEADER_FIELDS_MAX);
    assert_string_equal(header("x-99"), "99");
    sb.len -= 2;
    sb.buf[sb.len] = '\0';
    sb_puts(&sb, "X-One-Too-Many: 1\r\n\r\n");
    assert_int_equal(parse(sb.buf), 431);
    assert_string_equal(g_detail, "too many header fields");
    sb_free(&sb);
}

/* ---------------------------------------------------------------- framing
 * of the body: Content-Length and Transfer-Encoding */

static void content_length_gives_the_body_length(void **state)
{
    (void)state;
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n"), 0);
    assert_int_equal(g_h.content_length, 42);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n"), 0);
    assert_int_equal(g_h.content_length, 7);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:  5 \r\n\r\n"), 0);
    assert_int_equal(g_h.content_length, 5);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
    assert_int_equal(g_h.content_length, 0); /* RFC 9112 §6.3 item 7: no body */
}

static void a_content_length_that_is_not_digits_is_400(void **state)
{
    (void)state;
    /* RFC 9110 §8.6: Content-Length = 1*DIGIT; RFC 9112 §6.3 item 5: an
     * invalid one is an unrecoverable framing error, 400 and close */
    static const char *bad[] = {"+5", "-1", "5x", "", "5 5", "0x10", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char req[160];
        snprintf(req, sizeof req, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %s\r\n\r\n", bad[i]);
        assert_int_equal(parse(req), 400);
        assert_string_equal(g_detail, "invalid or repeated Content-Length");
    }
}

static void a_repeated_content_length_is_400_even_with_the_same_value(void **state)
{
    (void)state;
    /* RFC 9110 §8.6 lets a recipient accept "42, 42" or repeated equal
     * fields as one; authzd refuses both (one reading of a length, never
     * two: request smuggling) */
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                           "Content-Length: 5\r\n\r\n"),
                     400);
    assert_string_equal(g_detail, "invalid or repeated Content-Length");
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n"), 400);
}

static void a_content_length_above_max_body_is_413(void **state)
{
    (void)state;
    char req[160];
    snprintf(req, sizeof req, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", MAX_BODY);
    assert_int_equal(parse(req), 0);
    snprintf(req, sizeof req, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
    assert_int_equal(parse(req), 413);
    assert_string_equal(g_detail, "request body is larger than the limit");
    /* what the request line said is kept for the answer's format */
    assert_string_equal(g_h.path, "/");
}

static void transfer_encoding_is_411_chunked_included(void **state)
{
    (void)state;
    /* RFC 9112 §7.1: an HTTP/1.1 recipient MUST be able to parse chunked.
     * authzd asks for a Content-Length instead (411, RFC 9110 §15.5.12): a
     * deviation; every client of an OAuth server sends a length */
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), 411);
    assert_string_equal(g_detail,
                        "send the body with a Content-Length; Transfer-Encoding is not accepted");
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n"), 411);
    /* RFC 9112 §6.1: both TE and CL "ought to be handled as an error";
     * refused in either order, so never framed two ways */
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"),
                     411);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                           "Content-Length: 3\r\n\r\n"),
                     411);
    assert_int_equal(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 411);
}

/* ------------------------------------------------------------------ Host */

static void an_http_1_1_request_without_host_is_400(void **state)
{
    (void)state;
    /* RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
     * code to any HTTP/1.1 request message that lacks a Host header field" */
    assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n"), 400);
    assert_string_equal(g_detail, "missing Host header");
}

static void an_http_1_1_request_without_host_is_400_also_with_connection_close(void **state)
{
    (void)state;
    /* the rule went by keep-alive, not by version: "Connection: close" let
     * an HTTP/1.1 request without Host through (a bug, fixed) */
    assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 400);
    assert_string_equal(g_detail, "missing Host header");
}

static void an_http_1_0_request_may_lack_host_also_with_keep_alive(void **state)
{
    (void)state;
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n"), 0);
    /* ... and "Connection: keep-alive" made it 400 (the same bug) */
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    assert_true(g_h.keepalive);
}

static void a_repeated_host_is_400(void **state)
{
    (void)state;
    /* RFC 9112 §3.2: 400 to "any request message that contains more than
     * one Host header field line" */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400);
    assert_string_equal(g_detail, "repeated Host header");
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0); /* empty is allowed */
}

/* ------------------------------------------------------------ keep-alive */

static void http_1_1_persists_unless_close_and_http_1_0_only_with_keep_alive(void **state)
{
    (void)state;
    /* RFC 9112 §9.3 */
    static const struct {
        const char *req;
        bool keepalive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(parse(cases[i].req), 0);
        if (g_h.keepalive != cases[i].keepalive)
            fail_msg("%s: keepalive %d", cases[i].req, g_h.keepalive);
    }
}

static void close_wins_over_keep_alive_in_any_order(void **state)
{
    (void)state;
    /* RFC 9112 §9.6: a server that receives "close" MUST initiate closure
     * after its answer. A later "Connection: keep-alive" line undid an
     * earlier "close" (a bug, fixed) */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
                           "Connection: keep-alive\r\n\r\n"),
                     0);
    assert_false(g_h.keepalive);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n"),
                     0);
    assert_false(g_h.keepalive);
}

static void connection_options_are_tokens_not_substrings(void **state)
{
    (void)state;
    /* RFC 9110 §7.6.1: Connection = #connection-option; "closed" or
     * "x-close" is not "close" (the parser matched substrings: fixed) */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n"), 0);
    assert_true(g_h.keepalive);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: not-keep-alive\r\n\r\n"), 0);
    assert_false(g_h.keepalive);
    /* list elements carry OWS around them (RFC 9110 §5.6.1), not inside */
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: \t keep-alive \t, x\r\n\r\n"), 0);
    assert_true(g_h.keepalive);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive x\r\n\r\n"), 0);
    assert_false(g_h.keepalive);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: ,, close ,\r\n\r\n"), 0);
    assert_false(g_h.keepalive);
}

/* -------------------------------------------------- the request line of a
 * head still arriving (for the format of a 408 or 431) */

static void a_request_line_can_be_peeked_before_the_head_is_whole(void **state)
{
    (void)state;
    const char *m = NULL, *path = NULL;
    enum method meth = M_OTHER;
    const char *s = "POST /t/a/oauth2/token?x=1 HTTP/1.1\r\nHost: h\r\nX-Slow: aaa";
    assert_true(http_request_line_peek(s, strlen(s), g_arena, &m, &meth, &path));
    assert_string_equal(m, "POST");
    assert_int_equal(meth, M_POST);
    assert_string_equal(path, "/t/a/oauth2/token");
    /* not yet as far as the space after the target */
    m = path = NULL;
    s = "GET /t/a/oauth2/tok";
    assert_false(http_request_line_peek(s, strlen(s), g_arena, &m, &meth, &path));
    assert_null(m);
    assert_null(path);
    static const char *no[] = {"G", "GET ", " / HTTP/1.1", "G(T / HTTP/1.1", "GET x HTTP/1.1",
                               "GET /a\x01 HTTP/1.1"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(http_request_line_peek(no[i], strlen(no[i]), g_arena, &m, &meth, &path));
    static const char nul[] = "G\0T / HTTP/1.1";
    assert_false(http_request_line_peek(nul, sizeof nul - 1, g_arena, &m, &meth, &path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_head_ends_at_its_first_empty_line),
        cmocka_unit_test(a_bare_lf_may_end_any_line_of_a_head),
        cmocka_unit_test(a_bare_lf_head_ends_before_a_pipelined_crlf_request),
        cmocka_unit_test(an_unfinished_head_has_no_length_yet),
        cmocka_unit_test(empty_lines_before_a_request_line_are_skipped),
        cmocka_unit_test(the_request_line_gives_method_target_and_version),
        cmocka_unit_test(the_query_is_split_from_the_path_and_the_target_stays_whole),
        cmocka_unit_test(http_1_1_and_1_0_are_spoken_and_nothing_else),
        cmocka_unit_test(a_request_line_is_three_words_with_single_spaces),
        cmocka_unit_test(an_empty_method_is_400),
        cmocka_unit_test(a_method_must_be_a_token),
        cmocka_unit_test(methods_are_case_sensitive_and_unknown_tokens_pass_as_other),
        cmocka_unit_test(only_the_origin_form_is_accepted),
        cmocka_unit_test(a_target_byte_that_must_be_percent_encoded_is_400),
        cmocka_unit_test(a_long_target_within_the_head_limit_is_accepted),
        cmocka_unit_test(header_names_are_lower_cased_and_values_trimmed),
        cmocka_unit_test(obs_fold_is_400),
        cmocka_unit_test(a_malformed_header_line_is_400),
        cmocka_unit_test(control_characters_in_a_value_are_400),
        cmocka_unit_test(a_nul_byte_anywhere_in_the_head_is_400),
        cmocka_unit_test(more_header_fields_than_the_limit_is_431),
        cmocka_unit_test(content_length_gives_the_body_length),
        cmocka_unit_test(a_content_length_that_is_not_digits_is_400),
        cmocka_unit_test(a_repeated_content_length_is_400_even_with_the_same_value),
        cmocka_unit_test(a_content_length_above_max_body_is_413),
        cmocka_unit_test(transfer_encoding_is_411_chunked_included),
        cmocka_unit_test(an_http_1_1_request_without_host_is_400),
        cmocka_unit_test(an_http_1_1_request_without_host_is_400_also_with_connection_close),
        cmocka_unit_test(an_http_1_0_request_may_lack_host_also_with_keep_alive),
        cmocka_unit_test(a_repeated_host_is_400),
        cmocka_unit_test(http_1_1_persists_unless_close_and_http_1_0_only_with_keep_alive),
        cmocka_unit_test(close_wins_over_keep_alive_in_any_order),
        cmocka_unit_test(connection_options_are_tokens_not_substrings),
        cmocka_unit_test(a_request_line_can_be_peeked_before_the_head_is_whole),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
