/*
 * test_cimd.c: client ID metadata documents (SPEC §11): the pure rules of
 * policy/cimd.c (client_id URLs, tenant host policy, Cache-Control, the
 * document) and what the outbound fetcher (net/fetch.c) does for them
 * (public addresses only, redirects reported and not followed, the size and
 * time limits), against a small HTTP server on 127.0.0.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/fetch.h"
#include "policy/cimd.h"
#include "util/arena.h"
#include "loopback.h"

/* ---------------------------------------------------------------- */
/* addresses                                                         */

static bool v4(const char *a, const char **why)
{
    struct sockaddr_in s = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, a, &s.sin_addr), 1);
    return fetch_addr_public((struct sockaddr *)&s, why);
}

static bool v6(const char *a, const char **why)
{
    struct sockaddr_in6 s = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, a, &s.sin6_addr), 1);
    return fetch_addr_public((struct sockaddr *)&s, why);
}

static void test_addresses_public_or_not(void **state)
{
    (void)state;
    const char *why = NULL;
    /* anybody's */
    assert_true(v4("93.184.216.34", &why));
    assert_true(v4("8.8.8.8", &why));
    assert_true(v4("172.32.0.1", &why));    /* just past 172.16.0.0/12 */
    assert_true(v4("100.128.0.1", &why));   /* just past 100.64.0.0/10 */
    assert_true(v6("2606:4700::1111", &why));
    /* nobody's: private, shared, link-local, loopback, the rest */
    const char *refused4[] = {"10.1.2.3",    "172.16.0.1",  "172.31.255.255", "192.168.1.1",
                              "100.64.0.1",  "127.0.0.1",   "127.9.9.9",      "169.254.169.254",
                              "0.0.0.0",     "224.0.0.1",   "255.255.255.255", "192.0.2.5",
                              "198.18.0.1",  "192.0.0.8"};
    for (size_t i = 0; i < sizeof refused4 / sizeof refused4[0]; i++) {
        why = NULL;
        assert_false(v4(refused4[i], &why));
        assert_non_null(strstr(why, "which is refused"));
    }
    assert_false(v4("169.254.169.254", &why));
    assert_non_null(strstr(why, "link-local"));
    assert_false(v4("10.0.0.1", &why));
    assert_non_null(strstr(why, "private"));
    const char *refused6[] = {"::1",        "::",          "fe80::1",     "fc00::1",
                              "fd12:3456::1", "ff02::1",   "2001:db8::1", "::ffff:10.0.0.1",
                              "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "fec0::1", "100::1"};
    for (size_t i = 0; i < sizeof refused6 / sizeof refused6[0]; i++)
        assert_false(v6(refused6[i], &why));
    /* an IPv4-mapped address of a public one is public */
    assert_true(v6("::ffff:93.184.216.34", &why));
    assert_false(v6("::ffff:169.254.169.254", &why));
    assert_non_null(strstr(why, "link-local"));
}

/* ---------------------------------------------------------------- */
/* a small server                                                    */

static int srv_port;

static void *srv_conn(void *arg)
{
    int c = (int)(intptr_t)arg;
    char req[2048];
    ssize_t n = recv(c, req, sizeof req - 1, 0);
    if (n <= 0) {
        close(c);
        return NULL;
    }
    req[n] = '\0';
    char path[256] = "";
    sscanf(req, "GET %255s", path);
    if (!strcmp(path, "/doc.json")) {
        const char *a = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Cache-Control: public, max-age=600\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/moved")) {
        const char *a = "HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.example/x\r\n"
                        "Content-Length: 0\r\n\r\n";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/gone")) {
        const char *a = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/big")) {
        size_t bl = AUTHZ_CIMD_MAX_BYTES + 1;
        char hdr[128];
        snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", bl);
        loopback_send_all(c, hdr, strlen(hdr));
        char *body = malloc(bl);
        memset(body, ' ', bl);
        loopback_send_all(c, body, bl);
        free(body);
    } else if (!strcmp(path, "/bigchunked")) {
        const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        loopback_send_all(c, h, strlen(h));
        char chunk[8200];
        for (int i = 0; i < 3; i++) {
            int len = snprintf(chunk, sizeof chunk, "%x\r\n", 8000);
            memset(chunk + len, 'x', 8000);
            memcpy(chunk + len + 8000, "\r\n", 2);
            loopback_send_all(c, chunk, (size_t)len + 8002);
        }
        loopback_send_all(c, "0\r\n\r\n", 5);
    } else if (!strcmp(path, "/slow")) {
        sleep(2);
    }
    close(c);
    return NULL;
}

static int srv_start(void **state)
{
    (void)state;
    srv_port = loopback_start(srv_conn);
    return srv_port > 0 ? 0 : -1;
}

static int srv_stop(void **state)
{
    (void)state;
    loopback_stop();
    return 0;
}

static int get(const char *path, const struct fetch_opts *o, struct fetch_answer *a,
               const char **why)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv_port, path);
    return fetch_get(url, o, a, why);
}

/* ---------------------------------------------------------------- */
/* the fetcher, as CIMD uses it                                      */

static void test_fetch_get_reports_status_and_cache_control(void **state)
{
    (void)state;
    struct fetch_opts o = {.timeout_ms = 3000, .max_body = AUTHZ_CIMD_MAX_BYTES,
                           .public_only = true, .allow_loopback = true};
    struct fetch_answer a;
    const char *why = NULL;
    assert_int_equal(get("/doc.json", &o, &a, &why), 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "{\"a\":1}");
    assert_string_equal(a.cache_control, "public, max-age=600");
    fetch_answer_free(&a);
    /* a redirect is reported with its Location, never followed */
    assert_int_equal(get("/moved", &o, &a, &why), 0);
    assert_int_equal(a.status, 301);
    assert_string_equal(a.location, "https://elsewhere.example/x");
    fetch_answer_free(&a);
    /* any status comes back: the caller decides */
    assert_int_equal(get("/gone", &o, &a, &why), 0);
    assert_int_equal(a.status, 404);
    assert_null(a.cache_control);
    fetch_answer_free(&a);
}

static void test_fetch_get_limits(void **state)
{
    (void)state;
    struct fetch_opts o = {.timeout_ms = 3000, .max_body = AUTHZ_CIMD_MAX_BYTES,
                           .public_only = true, .allow_loopback = true};
    struct fetch_answer a;
    const char *why = NULL;
    /* SPEC §11: at most 16 KiB, announced or chunked */
    assert_int_equal(get("/big", &o, &a, &why), -1);
    assert_string_equal(why, "the answer is too large");
    assert_null(a.body);
    assert_int_equal(get("/bigchunked", &o, &a, &why), -1);
    assert_non_null(strstr(why, "too large"));
    /* SPEC §11: within the deadline, and saying so */
    o.timeout_ms = 300;
    time_t t0 = time(NULL);
    assert_int_equal(get("/slow", &o, &a, &why), -1);
    assert_true(time(NULL) - t0 <= 1);
    assert_non_null(strstr(why, "timed out"));
    /* public_only without loopback: 127.0.0.1 is refused before connecting */
    o.timeout_ms = 3000;
    o.allow_loopback = false;
    assert_int_equal(get("/doc.json", &o, &a, &why), -1);
    assert_string_equal(why, "the host resolves to a loopback address, which is refused");
    /* the same fetch without public_only (a JWK Set of a trust policy) */
    o.public_only = false;
    assert_int_equal(get("/doc.json", &o, &a, &why), 0);
    fetch_answer_free(&a);
}

/* ---------------------------------------------------------------- */
/* policy/cimd.c                                                     */

static void test_client_id_urls(void **state)
{
    (void)state;
    char host[256];
    const char *why = NULL;
    assert_true(cimd_client_id_is_url("https://app.example/client.json"));
    assert_true(cimd_client_id_is_url("http://127.0.0.1:9/c"));
    assert_false(cimd_client_id_is_url("c7d1f3a2b9"));
    assert_false(cimd_client_id_is_url("ftp://x/y"));
    assert_int_equal(cimd_url_check("https://App.Example/oauth/client.json", false, host, &why), 0);
    assert_string_equal(host, "app.example");
    assert_int_equal(cimd_url_check("https://app.example:8443/c?v=2", false, host, &why), 0);
    /* draft §3: a path, not "/" */
    assert_int_equal(cimd_url_check("https://app.example/", false, host, &why), -1);
    assert_non_null(strstr(why, "path"));
    assert_int_equal(cimd_url_check("https://app.example", false, host, &why), -1);
    /* no dot segments, no fragment, no userinfo */
    assert_int_equal(cimd_url_check("https://app.example/a/../c.json", false, host, &why), -1);
    assert_non_null(strstr(why, "\"..\""));
    assert_int_equal(cimd_url_check("https://app.example/./c.json", false, host, &why), -1);
    assert_int_equal(cimd_url_check("https://app.example/c.json#x", false, host, &why), -1);
    assert_int_equal(cimd_url_check("https://me@app.example/c.json", false, host, &why), -1);
    /* http: only on loopback, and only when public_url is on loopback */
    assert_int_equal(cimd_url_check("http://127.0.0.1:8/c.json", true, host, &why), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(cimd_url_check("http://127.0.0.1:8/c.json", false, host, &why), -1);
    assert_string_equal(why, "a client_id URL must be https");
    assert_int_equal(cimd_url_check("http://app.example/c.json", true, host, &why), -1);
    /* at most 255 bytes */
    char longurl[300];
    snprintf(longurl, sizeof longurl, "https://app.example/%0270d", 7);
    assert_int_equal(cimd_url_check(longurl, false, host, &why), -1);
}

static void test_tenant_host_policy(void **state)
{
    (void)state;
    const char *why = NULL;
    char *hosts[] = {"*.agents.example", "mcp.example.com", "[::1]"};
    assert_true(cimd_host_allowed(NULL, NULL, 0, "anything.example", &why));
    assert_true(cimd_host_allowed("open", NULL, 0, "anything.example", &why));
    assert_false(cimd_host_allowed("off", hosts, 3, "mcp.example.com", &why));
    assert_non_null(strstr(why, "does not accept"));
    assert_true(cimd_host_allowed("allowlist", hosts, 3, "a.agents.example", &why));
    assert_true(cimd_host_allowed("allowlist", hosts, 3, "mcp.example.com", &why));
    assert_true(cimd_host_allowed("allowlist", hosts, 3, "[::1]", &why));
    assert_false(cimd_host_allowed("allowlist", hosts, 3, "agents.example", &why));
    assert_false(cimd_host_allowed("allowlist", hosts, 3, "mcp.example.com.evil", &why));
    assert_false(cimd_host_allowed("allowlist", NULL, 0, "mcp.example.com", &why));
    assert_non_null(strstr(why, "host"));
    char *upper[] = {"MCP.Example.com"};
    assert_true(cimd_host_allowed("allowlist", upper, 1, "mcp.example.com", &why));
}

static void test_cache_control_ttl(void **state)
{
    (void)state;
    assert_int_equal(cimd_cache_ttl(NULL), AUTHZ_CIMD_TTL_MIN);
    assert_int_equal(cimd_cache_ttl("max-age=600"), 600);
    assert_int_equal(cimd_cache_ttl("public, max-age=3600, must-revalidate"), 3600);
    assert_int_equal(cimd_cache_ttl("max-age=\"120\""), 120);
    assert_int_equal(cimd_cache_ttl("max-age=600, s-maxage=900"), 900);
    assert_int_equal(cimd_cache_ttl("max-age=5"), AUTHZ_CIMD_TTL_MIN);
    assert_int_equal(cimd_cache_ttl("max-age=31536000"), AUTHZ_CIMD_TTL_MAX);
    assert_int_equal(cimd_cache_ttl("max-age=99999999999999999999"), AUTHZ_CIMD_TTL_MAX);
    assert_int_equal(cimd_cache_ttl("no-store, max-age=600"), AUTHZ_CIMD_TTL_MIN);
    assert_int_equal(cimd_cache_ttl("no-cache"), AUTHZ_CIMD_TTL_MIN);
    assert_int_equal(cimd_cache_ttl("max-age=-3"), AUTHZ_CIMD_TTL_MIN);
    assert_int_equal(cimd_cache_ttl("max-age=abc"), AUTHZ_CIMD_TTL_MIN);
    assert_int_equal(cimd_cache_ttl("x-max-age=900"), AUTHZ_CIMD_TTL_MIN);
}

#define URL "https://app.example/client.json"

static int parse(struct arena *a, const char *doc, struct cimd_doc *d, const char **why)
{
    *why = NULL;
    return cimd_parse(a, URL, doc, strlen(doc), d, why);
}

static void test_document_accepted(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    struct cimd_doc d;
    const char *why;
    assert_int_equal(parse(a,
                           "{\"client_id\":\"" URL "\",\"client_name\":\"Claude\","
                           "\"redirect_uris\":[\"http://127.0.0.1:33418/cb\",\"http://localhost/cb\"],"
                           "\"token_endpoint_auth_method\":\"none\","
                           "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
                           "\"response_types\":[\"code\"],\"logo_uri\":\"https://app.example/l.png\"}",
                           &d, &why),
                     0);
    assert_string_equal(d.client_name, "Claude");
    assert_string_equal(d.auth_method, "none");
    assert_int_equal(d.nredirect_uris, 2);
    assert_true(d.loopback_only);
    assert_int_equal(d.ngrant_types, 2);
    /* RFC 7591 §2: grant_types defaults to authorization_code alone */
    assert_int_equal(parse(a,
                           "{\"client_id\":\"" URL "\",\"client_name\":\"Web\","
                           "\"redirect_uris\":[\"https://app.example/cb\",\"http://127.0.0.1/cb\"],"
                           "\"token_endpoint_auth_method\":\"private_key_jwt\","
                           "\"jwks_uri\":\"https://app.example/jwks\"}",
                           &d, &why),
                     0);
    assert_false(d.loopback_only);
    assert_int_equal(d.ngrant_types, 1);
    assert_string_equal(d.grant_types[0], "authorization_code");
    assert_string_equal(d.jwks_uri, "https://app.example/jwks");
    arena_free(a);
}

static void test_document_refusals_say_what_is_wrong(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    struct cimd_doc d;
    const char *why;
    static const struct {
        const char *doc, *says;
    } cases[] = {
        {"not json", "not JSON"},
        {"[1,2]", "not a JSON object"},
        {"{\"client_id\":\"" URL "\",\"client_id\":\"" URL "\"}", "not JSON"},
        {"{\"client_name\":\"x\"}", "has no client_id"},
        {"{\"client_id\":\"https://app.example/other.json\",\"client_name\":\"x\"}",
         "is not the URL it was fetched from"},
        {"{\"client_id\":\"" URL "/\",\"client_name\":\"x\"}", "is not the URL"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\",\"client_secret\":\"s\","
         "\"redirect_uris\":[\"https://app.example/cb\"],\"token_endpoint_auth_method\":\"none\"}",
         "client_secret"},
        {"{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://app.example/cb\"],"
         "\"token_endpoint_auth_method\":\"none\"}",
         "no client_name"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"a\\u0007b\","
         "\"redirect_uris\":[\"https://app.example/cb\"],\"token_endpoint_auth_method\":\"none\"}",
         "client_name"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\",\"token_endpoint_auth_method\":\"none\"}",
         "no redirect_uris"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\",\"redirect_uris\":[],"
         "\"token_endpoint_auth_method\":\"none\"}",
         "redirect_uris must be"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"http://app.example/cb\"],\"token_endpoint_auth_method\":\"none\"}",
         "redirect_uris[0]"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb#f\"],\"token_endpoint_auth_method\":\"none\"}",
         "redirect_uris[0]"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"]}",
         "no token_endpoint_auth_method"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"],"
         "\"token_endpoint_auth_method\":\"client_secret_basic\"}",
         "none or private_key_jwt"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"],"
         "\"token_endpoint_auth_method\":\"private_key_jwt\"}",
         "neither jwks nor jwks_uri"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"],"
         "\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":{\"keys\":[]},"
         "\"jwks_uri\":\"https://app.example/j\"}",
         "both jwks and jwks_uri"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"],"
         "\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":{\"keys\":[{\"kty\":\"oct\","
         "\"k\":\"c2VjcmV0\"}]}}",
         "public signature keys"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"],"
         "\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks_uri\":\"http://app.example/j\"}",
         "jwks_uri must be"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"],\"token_endpoint_auth_method\":\"none\","
         "\"grant_types\":[\"client_credentials\"]}",
         "only the authorization_code and refresh_token grants"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"],\"token_endpoint_auth_method\":\"none\","
         "\"grant_types\":[\"refresh_token\"]}",
         "must include authorization_code"},
        {"{\"client_id\":\"" URL "\",\"client_name\":\"x\","
         "\"redirect_uris\":[\"https://app.example/cb\"],\"token_endpoint_auth_method\":\"none\","
         "\"response_types\":[\"token\"]}",
         "response_types"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse(a, cases[i].doc, &d, &why), -1);
        if (!why || !strstr(why, cases[i].says))
            fail_msg("case %zu: expected \"%s\" in \"%s\"", i, cases[i].says, why ? why : "(null)");
    }
    /* larger than 16 KiB, whatever the fetcher let through */
    size_t n = AUTHZ_CIMD_MAX_BYTES + 10;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    assert_int_equal(cimd_parse(a, URL, big, n, &d, &why), -1);
    assert_non_null(strstr(why, "16 KiB"));
    free(big);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_addresses_public_or_not),
        cmocka_unit_test(test_client_id_urls),
        cmocka_unit_test(test_tenant_host_policy),
        cmocka_unit_test(test_cache_control_ttl),
        cmocka_unit_test(test_document_accepted),
        cmocka_unit_test(test_document_refusals_say_what_is_wrong),
    };
    const struct CMUnitTest fetching[] = {
        cmocka_unit_test(test_fetch_get_reports_status_and_cache_control),
        cmocka_unit_test(test_fetch_get_limits),
    };
    int failed = cmocka_run_group_tests(pure, NULL, NULL);
    failed += cmocka_run_group_tests(fetching, srv_start, srv_stop);
    return failed;
}
