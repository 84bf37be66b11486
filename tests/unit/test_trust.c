/*
 * test_trust.c: unit tests for trust policies.
 * - authz/policy/trust.c, the pure rules: the subject_pattern glob
 *   (Kubernetes service accounts, SPIFFE IDs, exact and empty patterns),
 *   policy names, and the claim checks one policy makes (issuer, use, sub,
 *   aud, required claims, exp/nbf/iat with 60 s of leeway, max_token_age,
 *   user_claim);
 * - trust_verify_in() (oauth/trust_verify.c) on sets of policies built here,
 *   with inline keys and with a jwks_uri served by a small HTTP server in this
 *   process: which policy accepts, what the result carries, and the jwks_uri
 *   cache (fetched once, refetched on an unknown kid at most once a minute,
 *   after its TTL, never on the event loop);
 * - http/fetch.c: URL rules and the answers it refuses.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

#include <jansson.h>

#include "crypto/crypto.h"
#include "crypto/jwt.h"
#include "net/fetch.h"
#include "http/http.h"
#include "oauth/jwks_cache.h"
#include "policy/trust.h"
#include "oauth/trust_verify.h"
#include "util/arena.h"
#include "loopback.h"

/* ---------------------------------------------------------------- */
/* glob                                                              */

static void test_glob_kubernetes_service_account_namespace(void **state)
{
    (void)state;
    const char *p = "system:serviceaccount:ns:*";
    assert_true(trust_glob_match(p, "system:serviceaccount:ns:agent"));
    assert_true(trust_glob_match(p, "system:serviceaccount:ns:agent-with:colon"));
    assert_true(trust_glob_match(p, "system:serviceaccount:ns:"));
    assert_false(trust_glob_match(p, "system:serviceaccount:other:agent"));
    assert_false(trust_glob_match(p, "system:serviceaccount:ns"));
    assert_false(trust_glob_match(p, "xsystem:serviceaccount:ns:agent"));
    assert_false(trust_glob_match(p, "system:serviceaccount:nsx:agent"));
    assert_false(trust_glob_match(p, ""));
}

static void test_glob_spiffe_trust_domain(void **state)
{
    (void)state;
    const char *p = "spiffe://example.org/*";
    assert_true(trust_glob_match(p, "spiffe://example.org/ns/prod/sa/agent"));
    assert_true(trust_glob_match(p, "spiffe://example.org/"));
    assert_false(trust_glob_match(p, "spiffe://example.org"));
    assert_false(trust_glob_match(p, "spiffe://example.org.evil.com/x"));
    assert_false(trust_glob_match(p, "spiffe://evil.org/example.org/x"));
    assert_false(trust_glob_match(p, "SPIFFE://example.org/x"));
    /* a star in the middle */
    const char *q = "spiffe://example.org/ns/*/sa/agent";
    assert_true(trust_glob_match(q, "spiffe://example.org/ns/prod/sa/agent"));
    assert_true(trust_glob_match(q, "spiffe://example.org/ns/a/b/sa/agent"));
    assert_false(trust_glob_match(q, "spiffe://example.org/ns/prod/sa/agent2"));
}

static void test_glob_exact_and_empty(void **state)
{
    (void)state;
    assert_true(trust_glob_match("repo:acme/app:ref:refs/heads/main",
                                 "repo:acme/app:ref:refs/heads/main"));
    assert_false(trust_glob_match("repo:acme/app:ref:refs/heads/main",
                                  "repo:acme/app:ref:refs/heads/main2"));
    assert_false(trust_glob_match("repo:acme/app", "repo:acme/ap"));
    /* only '*' is special: ?, [, ] and \ are literal */
    assert_true(trust_glob_match("a?b[c]\\", "a?b[c]\\"));
    assert_false(trust_glob_match("a?b", "axb"));
    assert_false(trust_glob_match("[ab]", "a"));
    /* empty pattern matches only the empty string; '*' matches anything */
    assert_true(trust_glob_match("", ""));
    assert_false(trust_glob_match("", "x"));
    assert_true(trust_glob_match("*", ""));
    assert_true(trust_glob_match("*", "anything:at/all"));
    assert_true(trust_glob_match("**", "x"));
    assert_true(trust_glob_match("a*b*c", "abc"));
    assert_true(trust_glob_match("a*b*c", "a-b-b-c"));
    assert_false(trust_glob_match("a*b*c", "a-b-b-d"));
    assert_true(trust_glob_match("*c", "abcabc"));
    assert_false(trust_glob_match("*c", "abcabd"));
}

static void test_glob_is_not_exponential(void **state)
{
    (void)state;
    char s[4001];
    memset(s, 'a', 4000);
    s[4000] = '\0';
    /* classic backtracking blow-up pattern: must answer at once */
    assert_false(trust_glob_match("*a*a*a*a*a*a*a*a*a*a*b", s));
    assert_true(trust_glob_match("*a*a*a*a*a*a*a*a*a*a*", s));
}

static void test_policy_names(void **state)
{
    (void)state;
    assert_true(trust_policy_name_valid("k8s-prod"));
    assert_true(trust_policy_name_valid("0"));
    assert_true(trust_policy_name_valid("spiffe.example_org-1"));
    char n63[64], n64[65];
    memset(n63, 'a', 63);
    n63[63] = '\0';
    memset(n64, 'a', 64);
    n64[64] = '\0';
    assert_true(trust_policy_name_valid(n63));
    assert_false(trust_policy_name_valid(n64));
    assert_false(trust_policy_name_valid(""));
    assert_false(trust_policy_name_valid("-x"));
    assert_false(trust_policy_name_valid(".x"));
    assert_false(trust_policy_name_valid("K8s"));
    assert_false(trust_policy_name_valid("a/b"));
    assert_false(trust_policy_name_valid("a b"));
    assert_false(trust_policy_name_valid(NULL));
}

/* ---------------------------------------------------------------- */
/* claim rules                                                       */

#define NOW 1700000000

static char *cn[] = {"repository", "environment"};
static char *cv[] = {"acme/agent", "prod"};

static struct trust_policy ci_policy(void)
{
    struct trust_policy p = {0};
    p.name = "ci";
    p.issuer = "https://token.actions.example.com";
    p.audience = "https://authz.example/t/acme";
    p.subject_pattern = "repo:acme/agent:*";
    p.claim_names = cn;
    p.claim_values = cv;
    p.nclaims = 2;
    p.for_actor = true;
    p.maps_to_client = "agent-ci";
    return p;
}

static json_t *ci_claims(void)
{
    return json_pack("{s:s, s:s, s:[s,s], s:I, s:I, s:I, s:s, s:s}", "iss",
                     "https://token.actions.example.com", "sub",
                     "repo:acme/agent:ref:refs/heads/main", "aud", "other",
                     "https://authz.example/t/acme", "exp", (json_int_t)NOW + 300, "iat",
                     (json_int_t)NOW - 10, "nbf", (json_int_t)NOW - 10, "repository",
                     "acme/agent", "environment", "prod");
}

static bool accepts(const struct trust_policy *p, json_t *c, const char *use, const char **why)
{
    *why = NULL;
    bool ok = trust_check_claims(p, c, use, NOW, why);
    if (!ok)
        assert_non_null(*why);
    return ok;
}

static void test_claims_accepted_when_every_rule_holds(void **state)
{
    (void)state;
    struct trust_policy p = ci_policy();
    json_t *c = ci_claims();
    const char *why;
    assert_true(accepts(&p, c, "actor", &why));
    /* not for subject use */
    assert_false(accepts(&p, c, "subject", &why));
    assert_string_equal(why, "the policy is not for this use");
    assert_false(accepts(&p, c, "other", &why));
    json_decref(c);
}

static void test_required_claims_must_be_present_and_equal_strings(void **state)
{
    (void)state;
    struct trust_policy p = ci_policy();
    const char *why;
    json_t *c = ci_claims();
    json_object_del(c, "environment");
    assert_false(accepts(&p, c, "actor", &why));
    assert_string_equal(why, "a required claim is missing or differs");
    json_object_set_new(c, "environment", json_string("staging"));
    assert_false(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "environment", json_string("prod "));
    assert_false(accepts(&p, c, "actor", &why));
    /* a non-string with the same text is not equal */
    json_object_set_new(c, "environment", json_pack("[s]", "prod"));
    assert_false(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "environment", json_string("prod"));
    assert_true(accepts(&p, c, "actor", &why));
    /* no required claims: nothing to check */
    p.nclaims = 0;
    json_object_del(c, "repository");
    assert_true(accepts(&p, c, "actor", &why));
    json_decref(c);
}

static void test_iss_sub_and_aud_rules(void **state)
{
    (void)state;
    struct trust_policy p = ci_policy();
    const char *why;
    json_t *c = ci_claims();
    json_object_set_new(c, "iss", json_string("https://token.actions.example.com/"));
    assert_false(accepts(&p, c, "actor", &why));
    json_decref(c);

    c = ci_claims();
    json_object_set_new(c, "sub", json_string("repo:evil/agent:ref:refs/heads/main"));
    assert_false(accepts(&p, c, "actor", &why));
    assert_string_equal(why, "sub does not match the policy's subject_pattern");
    json_object_del(c, "sub");
    assert_false(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "sub", json_string(""));
    p.subject_pattern = NULL;
    assert_false(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "sub", json_string("anything"));
    assert_true(accepts(&p, c, "actor", &why));
    json_decref(c);

    p = ci_policy();
    c = ci_claims();
    json_object_set_new(c, "aud", json_string("https://authz.example/t/acme"));
    assert_true(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "aud", json_string("https://authz.example/t/other"));
    assert_false(accepts(&p, c, "actor", &why));
    assert_string_equal(why, "aud does not name the policy's audience");
    json_object_del(c, "aud");
    assert_false(accepts(&p, c, "actor", &why));
    json_decref(c);
}

static void test_times_with_60_seconds_leeway_and_max_age(void **state)
{
    (void)state;
    struct trust_policy p = ci_policy();
    const char *why;
    json_t *c = ci_claims();
    json_object_set_new(c, "exp", json_integer(NOW - 59));
    assert_true(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "exp", json_integer(NOW - 60));
    assert_false(accepts(&p, c, "actor", &why));
    assert_string_equal(why, "expired");
    json_object_del(c, "exp");
    assert_false(accepts(&p, c, "actor", &why));
    assert_string_equal(why, "exp is required");
    json_object_set_new(c, "exp", json_integer(NOW + 300));
    json_object_set_new(c, "nbf", json_integer(NOW + 61));
    assert_false(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "nbf", json_integer(NOW + 60));
    assert_true(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "iat", json_integer(NOW + 61));
    assert_false(accepts(&p, c, "actor", &why));
    /* max_token_age */
    p.max_token_age = 600;
    json_object_set_new(c, "iat", json_integer(NOW - 600));
    assert_true(accepts(&p, c, "actor", &why));
    json_object_set_new(c, "iat", json_integer(NOW - 601));
    assert_false(accepts(&p, c, "actor", &why));
    json_object_del(c, "iat");
    assert_false(accepts(&p, c, "actor", &why));
    assert_string_equal(why, "iat is required");
    json_decref(c);
}

static void test_subject_use_needs_the_user_claim(void **state)
{
    (void)state;
    struct trust_policy p = {0};
    p.name = "idp";
    p.issuer = "https://idp.example";
    p.audience = "authz";
    p.for_subject = true;
    p.user_claim = "preferred_username";
    const char *why;
    json_t *c = json_pack("{s:s, s:s, s:s, s:I}", "iss", "https://idp.example", "sub", "u-1",
                          "aud", "authz", "exp", (json_int_t)NOW + 60);
    assert_false(accepts(&p, c, "subject", &why));
    assert_string_equal(why, "the policy's user_claim is missing from the token");
    json_object_set_new(c, "preferred_username", json_integer(5));
    assert_false(accepts(&p, c, "subject", &why));
    json_object_set_new(c, "preferred_username", json_string(""));
    assert_false(accepts(&p, c, "subject", &why));
    json_object_set_new(c, "preferred_username", json_string("alice"));
    assert_true(accepts(&p, c, "subject", &why));
    assert_false(accepts(&p, c, "actor", &why));
    json_decref(c);
}


/* ---------------------------------------------------------------- */
/* a small HTTP server for jwks_uri and fetch tests                  */

static int srv_port;
static pthread_mutex_t srv_mu = PTHREAD_MUTEX_INITIALIZER;
static char *srv_jwks;          /* what /jwks answers */
static int srv_jwks_hits;

static void *srv_conn(void *arg)
{
    int c = (int)(intptr_t)arg;
    char req[4096];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t r = recv(c, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = '\0';
    char path[256] = "";
    sscanf(req, "GET %255s ", path);
    char hdr[256];
    if (!strcmp(path, "/jwks") || !strcmp(path, "/slowjwks")) {
        if (!strcmp(path, "/slowjwks"))
            usleep(300 * 1000);
        pthread_mutex_lock(&srv_mu);
        srv_jwks_hits++;
        char *body = strdup(srv_jwks ? srv_jwks : "{\"keys\":[]}");
        pthread_mutex_unlock(&srv_mu);
        snprintf(hdr, sizeof hdr,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 strlen(body));
        loopback_send_all(c, hdr, strlen(hdr));
        loopback_send_all(c, body, strlen(body));
        free(body);
    } else if (!strcmp(path, "/chunked")) {
        const char *a = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\n{\"a\":\r\n3;ext=1\r\n12}\r\n0\r\n\r\n";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/eof")) {
        const char *a = "HTTP/1.0 200 OK\r\n\r\n{\"eof\":true}";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/missing")) {
        const char *a = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/redirect")) {
        const char *a = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/jwks\r\n"
                        "Content-Length: 0\r\n\r\n";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/big")) {
        size_t bl = FETCH_MAX_BODY + 1;
        snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", bl);
        loopback_send_all(c, hdr, strlen(hdr));
        char *body = malloc(bl);
        memset(body, ' ', bl);
        loopback_send_all(c, body, bl);
        free(body);
    } else if (!strcmp(path, "/bigeof")) {
        const char *h = "HTTP/1.1 200 OK\r\n\r\n";
        loopback_send_all(c, h, strlen(h));
        size_t bl = FETCH_MAX_BODY + 100;
        char *body = malloc(bl);
        memset(body, ' ', bl);
        loopback_send_all(c, body, bl);
        free(body);
    } else if (!strcmp(path, "/short")) {
        const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":1}";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/ambiguous")) {
        const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "{\"a\":1}";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/notjson")) {
        const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        loopback_send_all(c, a, strlen(a));
    } else if (!strcmp(path, "/slow")) {
        sleep(2); /* answers nothing in time */
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
    free(srv_jwks);
    return 0;
}

static char *srv_url(const char *path)
{
    char *u = malloc(64);
    snprintf(u, 64, "http://127.0.0.1:%d%s", srv_port, path);
    return u;
}

static void srv_set_jwks(const char *jwks)
{
    pthread_mutex_lock(&srv_mu);
    free(srv_jwks);
    srv_jwks = strdup(jwks);
    pthread_mutex_unlock(&srv_mu);
}

static int srv_hits(void)
{
    pthread_mutex_lock(&srv_mu);
    int n = srv_jwks_hits;
    pthread_mutex_unlock(&srv_mu);
    return n;
}

/* ---------------------------------------------------------------- */
/* fetching                                                          */

static void test_fetch_url_rules(void **state)
{
    (void)state;
    assert_true(fetch_url_allowed("https://issuer.example/.well-known/jwks.json"));
    assert_true(fetch_url_allowed("https://issuer.example:8443/keys?x=1"));
    assert_true(fetch_url_allowed("http://127.0.0.1:8080/jwks"));
    assert_true(fetch_url_allowed("http://localhost/jwks"));
    assert_true(fetch_url_allowed("http://[::1]:9/jwks"));
    assert_true(fetch_url_allowed("https://[2001:db8::1]/jwks"));
    /* plain http elsewhere */
    assert_false(fetch_url_allowed("http://issuer.example/jwks"));
    assert_false(fetch_url_allowed("http://10.0.0.1/jwks"));
    assert_false(fetch_url_allowed("http://127.0.0.2/jwks"));
    /* userinfo would let "loopback" be something else */
    assert_false(fetch_url_allowed("http://127.0.0.1:80@evil.example/jwks"));
    assert_false(fetch_url_allowed("https://user:pw@issuer.example/jwks"));
    /* fragments, spaces, other schemes, malformed authorities */
    assert_false(fetch_url_allowed("https://issuer.example/jwks#x"));
    assert_false(fetch_url_allowed("https://issuer.example/jw ks"));
    assert_false(fetch_url_allowed("ftp://issuer.example/jwks"));
    assert_false(fetch_url_allowed("HTTPS://issuer.example/jwks"));
    assert_false(fetch_url_allowed("https:///jwks"));
    assert_false(fetch_url_allowed("https://issuer.example:0/"));
    assert_false(fetch_url_allowed("https://issuer.example:65536/"));
    assert_false(fetch_url_allowed("https://issuer.example:x/"));
    assert_false(fetch_url_allowed("https://[::1/"));
    assert_false(fetch_url_allowed("https://iss_uer.example/"));
    assert_false(fetch_url_allowed(""));
    struct fetch_url u;
    const char *why;
    assert_int_equal(fetch_url_parse("https://Issuer.Example?x", &u, &why), 0);
    assert_string_equal(u.host, "issuer.example");
    assert_string_equal(u.port, "443");
    assert_string_equal(u.path, "/?x");
    assert_int_equal(fetch_url_parse("http://[::1]:8080/k", &u, &why), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.hostport, "[::1]:8080");
    assert_true(u.ip_literal);
}

static json_t *fetch_path(const char *path, int timeout_ms, const char **why)
{
    char *u = srv_url(path);
    json_t *j = fetch_json(u, timeout_ms, why);
    free(u);
    return j;
}

static void test_fetch_json_answers(void **state)
{
    (void)state;
    const char *why = NULL;
    srv_set_jwks("{\"keys\":[]}");
    json_t *j = fetch_path("/jwks", 3000, &why);
    assert_non_null(j);
    assert_true(json_is_array(json_object_get(j, "keys")));
    json_decref(j);
    j = fetch_path("/chunked", 3000, &why);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 12);
    json_decref(j);
    j = fetch_path("/eof", 3000, &why);
    assert_non_null(j);
    json_decref(j);
    /* refused answers */
    assert_null(fetch_path("/missing", 3000, &why));
    assert_string_equal(why, "the server did not answer 200");
    assert_null(fetch_path("/redirect", 3000, &why));
    assert_null(fetch_path("/big", 3000, &why));
    assert_string_equal(why, "the answer is too large");
    assert_null(fetch_path("/bigeof", 3000, &why));
    assert_null(fetch_path("/short", 3000, &why));
    assert_null(fetch_path("/ambiguous", 3000, &why));
    assert_null(fetch_path("/notjson", 3000, &why));
    assert_string_equal(why, "the answer is not valid JSON");
    /* a deadline for the whole exchange */
    time_t t0 = time(NULL);
    assert_null(fetch_path("/slow", 300, &why));
    assert_true(time(NULL) - t0 <= 1);
    /* nobody listening */
    assert_null(fetch_json("http://127.0.0.1:1/jwks", 1000, &why));
    /* never plain http to another host */
    assert_null(fetch_json("http://192.0.2.1/jwks", 1000, &why));
    assert_string_equal(why, "http URLs must name a loopback host (127.0.0.1, [::1], localhost)");
}

/* ---------------------------------------------------------------- */
/* trust_verify_in                                                   */

#define K8S_ISS "https://kubernetes.default.svc.cluster.local"
#define AUD "https://authz.example/t/acme"

static struct signing_key *key_a, *key_b, *key_c;
static int64_t fake_now;

static int64_t fake_clock(void) { return fake_now; }

static int keys_setup(void **state)
{
    (void)state;
    key_a = signing_key_generate(SIG_ES256);
    key_b = signing_key_generate(SIG_EDDSA);
    key_c = signing_key_generate(SIG_RS256);
    return key_a && key_b && key_c ? 0 : -1;
}

static int all_setup(void **state)
{
    return keys_setup(state) || srv_start(state);
}

static int all_teardown(void **state)
{
    signing_key_free(key_a);
    signing_key_free(key_b);
    signing_key_free(key_c);
    jwks_cache_clock(NULL);
    return srv_stop(state);
}

/* {"keys":[...]} of the public JWKs of the given keys */
static char *jwks_of(int n, struct signing_key **k)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"keys\":[");
    for (int i = 0; i < n; i++) {
        char *j = signing_key_public_jwk(k[i]);
        if (i)
            sb_putc(&sb, ',');
        sb_puts(&sb, j);
        free(j);
    }
    sb_puts(&sb, "]}");
    return sb_steal(&sb, NULL);
}

static struct trust_set *new_set(int n)
{
    struct trust_set *s = calloc(1, sizeof *s);
    s->v = calloc((size_t)n, sizeof *s->v);
    s->n = n;
    s->tenant_id = strdup("tenant");
    atomic_init(&s->refs, 1);
    return s;
}

/* An actor policy on K8S_ISS with the given pattern, inline keys (jwks) or
 * a jwks_uri. */
static void actor_policy(struct trust_policy *p, const char *name, const char *pattern,
                         const char *jwks, const char *uri)
{
    const char *why = NULL;
    p->name = strdup(name);
    p->issuer = strdup(K8S_ISS);
    p->audience = strdup(AUD);
    p->subject_pattern = pattern ? strdup(pattern) : NULL;
    p->for_actor = true;
    p->maps_to_client = strdup("agent-k8s");
    if (jwks) {
        p->jwks = jwks_parse_text(jwks, strlen(jwks), 0, &why);
        assert_non_null(p->jwks);
    } else {
        p->jwks_uri = strdup(uri);
    }
}

/* A Kubernetes service-account-shaped token signed by k. */
static char *k8s_token(const struct signing_key *k, const char *sub, long exp_in)
{
    long now = (long)time(NULL);
    char payload[1024];
    snprintf(payload, sizeof payload,
             "{\"aud\":[\"%s\"],\"exp\":%ld,\"iat\":%ld,\"nbf\":%ld,\"iss\":\"%s\","
             "\"kubernetes.io\":{\"namespace\":\"agents\",\"serviceaccount\":{\"name\":\"planner\","
             "\"uid\":\"5b1c\"}},\"sub\":\"%s\",\"scope\":\"tools:read\"}",
             AUD, now + exp_in, now, now, K8S_ISS, sub);
    return jws_sign(k, payload, strlen(payload));
}

static struct req *new_req(bool can_block)
{
    struct req *r = calloc(1, sizeof *r);
    r->arena = arena_new();
    r->can_block = can_block;
    return r;
}

static void free_req(struct req *r)
{
    arena_free(r->arena);
    free(r);
}

static void test_verify_kubernetes_token_under_an_inline_policy(void **state)
{
    (void)state;
    char *jwks = jwks_of(1, &key_a);
    struct trust_set *s = new_set(1);
    actor_policy(&s->v[0], "k8s", "system:serviceaccount:agents:*", jwks, NULL);
    struct req *r = new_req(false); /* inline keys: no need to block */
    char *tok = k8s_token(key_a, "system:serviceaccount:agents:planner", 600);
    struct trust_result res;
    assert_int_equal(trust_verify_in(r, s, tok, "actor", &res), H_DONE);
    assert_true(res.ok);
    assert_string_equal(res.policy, "k8s");
    assert_string_equal(res.iss, K8S_ISS);
    assert_string_equal(res.sub, "system:serviceaccount:agents:planner");
    assert_string_equal(res.client_id, "agent-k8s");
    assert_null(res.username);
    assert_string_equal(res.scope, "tools:read");
    assert_true(res.exp > (int64_t)time(NULL));
    assert_non_null(res.claims);
    assert_non_null(json_object_get(res.claims, "kubernetes.io"));
    json_decref(res.claims);
    /* presented again while valid: still accepted (no single use) */
    assert_int_equal(trust_verify_in(r, s, tok, "actor", &res), H_DONE);
    assert_true(res.ok);
    json_decref(res.claims);
    /* not a subject policy */
    assert_int_equal(trust_verify_in(r, s, tok, "subject", &res), H_DONE);
    assert_false(res.ok);
    assert_null(res.claims);
    assert_string_equal(res.why, "no trust policy of this tenant names the token's issuer for this use");
    free(tok);
    /* any claim off: refused, naming the policy */
    tok = k8s_token(key_a, "system:serviceaccount:default:planner", 600);
    assert_int_equal(trust_verify_in(r, s, tok, "actor", &res), H_DONE);
    assert_false(res.ok);
    assert_string_equal(res.policy, "k8s");
    assert_string_equal(res.why, "sub does not match the policy's subject_pattern");
    free(tok);
    tok = k8s_token(key_a, "system:serviceaccount:agents:planner", -61);
    assert_int_equal(trust_verify_in(r, s, tok, "actor", &res), H_DONE);
    assert_false(res.ok);
    assert_string_equal(res.why, "expired");
    free(tok);
    /* another key under the same kid name: bad signature; unknown kid */
    tok = k8s_token(key_b, "system:serviceaccount:agents:planner", 600);
    assert_int_equal(trust_verify_in(r, s, tok, "actor", &res), H_DONE);
    assert_false(res.ok);
    assert_string_equal(res.why, "no key with the token's kid");
    free(tok);
    /* garbage and unsigned */
    assert_int_equal(trust_verify_in(r, s, "garbage", "actor", &res), H_DONE);
    assert_false(res.ok);
    assert_int_equal(trust_verify_in(r, s, "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "actor", &res),
                     H_DONE);
    assert_false(res.ok);
    assert_int_equal(trust_verify_in(r, s, NULL, "actor", &res), H_DONE);
    assert_false(res.ok);
    free_req(r);
    trust_set_release(s);
    free(jwks);
}

static void test_several_policies_for_one_issuer(void **state)
{
    (void)state;
    char *ja = jwks_of(1, &key_a);
    char *jc = jwks_of(1, &key_c);
    struct trust_set *s = new_set(3);
    actor_policy(&s->v[0], "a-other-ns", "system:serviceaccount:other:*", ja, NULL);
    actor_policy(&s->v[1], "b-rsa-keys", "system:serviceaccount:agents:*", jc, NULL);
    actor_policy(&s->v[2], "c-agents", "system:serviceaccount:agents:*", ja, NULL);
    free(s->v[2].maps_to_client);
    s->v[2].maps_to_client = strdup("agent-c");
    struct req *r = new_req(true);
    char *tok = k8s_token(key_a, "system:serviceaccount:agents:planner", 600);
    struct trust_result res;
    assert_int_equal(trust_verify_in(r, s, tok, "actor", &res), H_DONE);
    assert_true(res.ok);
    assert_string_equal(res.policy, "c-agents");
    assert_string_equal(res.client_id, "agent-c");
    json_decref(res.claims);
    free(tok);
    /* refused by all: the first candidate's reason is reported */
    tok = k8s_token(key_a, "system:serviceaccount:kube-system:x", 600);
    assert_int_equal(trust_verify_in(r, s, tok, "actor", &res), H_DONE);
    assert_false(res.ok);
    assert_string_equal(res.policy, "a-other-ns");
    free(tok);
    free_req(r);
    trust_set_release(s);
    free(ja);
    free(jc);
}

static void test_subject_policy_names_the_user(void **state)
{
    (void)state;
    char *ja = jwks_of(1, &key_a);
    struct trust_set *s = new_set(1);
    actor_policy(&s->v[0], "idp", NULL, ja, NULL);
    s->v[0].for_actor = false;
    s->v[0].for_subject = true;
    free(s->v[0].maps_to_client);
    s->v[0].maps_to_client = NULL;
    s->v[0].user_claim = strdup("sub");
    struct req *r = new_req(true);
    char *tok = k8s_token(key_a, "alice", 600);
    struct trust_result res;
    assert_int_equal(trust_verify_in(r, s, tok, "subject", &res), H_DONE);
    assert_true(res.ok);
    assert_string_equal(res.username, "alice");
    assert_null(res.client_id);
    json_decref(res.claims);
    free(tok);
    free_req(r);
    trust_set_release(s);
    free(ja);
}

static bool verify_at(const struct trust_set *s, const struct signing_key *k, int64_t now,
                      bool can_block, enum hres *h)
{
    fake_now = now;
    struct req *r = new_req(can_block);
    char *tok = k8s_token(k, "system:serviceaccount:agents:planner", 600);
    struct trust_result res;
    *h = trust_verify_in(r, s, tok, "actor", &res);
    bool ok = *h == H_DONE && res.ok;
    if (ok)
        json_decref(res.claims);
    free(tok);
    free_req(r);
    return ok;
}

static void test_jwks_uri_cache_and_refetch_rules(void **state)
{
    (void)state;
    jwks_cache_clock(fake_clock);
    char *ja = jwks_of(1, &key_a);
    struct signing_key *ab[2] = {key_a, key_b};
    char *jab = jwks_of(2, ab);
    srv_set_jwks(ja);
    char *uri = srv_url("/jwks");
    struct trust_set *s = new_set(1);
    actor_policy(&s->v[0], "k8s-uri", "system:serviceaccount:agents:*", NULL, uri);
    enum hres h;
    int hits0 = srv_hits();

    /* on the event loop, an unfetched set sends the request to a worker */
    assert_false(verify_at(s, key_a, 1000, false, &h));
    assert_int_equal(h, H_BLOCK);
    assert_int_equal(srv_hits(), hits0);
    /* on a worker: fetched once, then cached (also usable on the loop) */
    assert_true(verify_at(s, key_a, 1000, true, &h));
    assert_int_equal(srv_hits(), hits0 + 1);
    assert_true(verify_at(s, key_a, 1001, false, &h));
    assert_true(verify_at(s, key_a, 1002, true, &h));
    assert_int_equal(srv_hits(), hits0 + 1);
    /* the issuer adds key b: within a minute of the last fetch an unknown
     * kid does not refetch */
    srv_set_jwks(jab);
    assert_false(verify_at(s, key_b, 1030, true, &h));
    assert_int_equal(h, H_DONE);
    assert_int_equal(srv_hits(), hits0 + 1);
    /* a minute later it does (on the loop: to a worker first) */
    assert_false(verify_at(s, key_b, 1060, false, &h));
    assert_int_equal(h, H_BLOCK);
    assert_true(verify_at(s, key_b, 1060, true, &h));
    assert_int_equal(srv_hits(), hits0 + 2);
    /* a kid nobody publishes: one refetch a minute at most */
    assert_false(verify_at(s, key_c, 1061, true, &h));
    assert_int_equal(srv_hits(), hits0 + 2);
    assert_false(verify_at(s, key_c, 1125, true, &h));
    assert_int_equal(srv_hits(), hits0 + 3);
    assert_false(verify_at(s, key_c, 1130, true, &h));
    assert_int_equal(srv_hits(), hits0 + 3);
    /* known kids keep working from the cache meanwhile */
    assert_true(verify_at(s, key_a, 1131, false, &h));
    /* after JWKS_TTL the set is fetched again; a key the issuer removed
     * stops working */
    srv_set_jwks(ja);
    assert_true(verify_at(s, key_b, 1124, true, &h));
    assert_false(verify_at(s, key_b, 1125 + JWKS_TTL, true, &h));
    assert_int_equal(srv_hits(), hits0 + 4);
    assert_true(verify_at(s, key_a, 1126 + JWKS_TTL, false, &h));
    trust_set_release(s);
    jwks_cache_clock(NULL);
    free(uri);
    free(ja);
    free(jab);
}

struct race {
    const struct trust_set *s;
    bool ok;
};

static void *race_main(void *arg)
{
    struct race *x = arg;
    enum hres h;
    x->ok = verify_at(x->s, key_a, (int64_t)time(NULL), true, &h);
    return NULL;
}

static void test_concurrent_workers_share_one_fetch(void **state)
{
    (void)state;
    char *ja = jwks_of(1, &key_a);
    srv_set_jwks(ja);
    char *uri = srv_url("/slowjwks");
    struct trust_set *s = new_set(1);
    actor_policy(&s->v[0], "k8s-slow", NULL, NULL, uri);
    int hits0 = srv_hits();
    pthread_t t[8];
    struct race x[8];
    for (int i = 0; i < 8; i++) {
        x[i].s = s;
        pthread_create(&t[i], NULL, race_main, &x[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_true(x[i].ok);
    }
    assert_int_equal(srv_hits(), hits0 + 1);
    trust_set_release(s);
    free(uri);
    free(ja);
}

static void test_unreachable_jwks_uri_is_a_refusal_not_a_crash(void **state)
{
    (void)state;
    char *uri = srv_url("/missing");
    struct trust_set *s = new_set(1);
    actor_policy(&s->v[0], "k8s-missing", NULL, NULL, uri);
    struct req *r = new_req(true);
    char *tok = k8s_token(key_a, "system:serviceaccount:agents:planner", 600);
    struct trust_result res;
    assert_int_equal(trust_verify_in(r, s, tok, "actor", &res), H_DONE);
    assert_false(res.ok);
    assert_string_equal(res.policy, "k8s-missing");
    assert_string_equal(res.why, "the server did not answer 200");
    free(tok);
    free_req(r);
    trust_set_release(s);
    free(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_kubernetes_service_account_namespace),
        cmocka_unit_test(test_glob_spiffe_trust_domain),
        cmocka_unit_test(test_glob_exact_and_empty),
        cmocka_unit_test(test_glob_is_not_exponential),
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test(test_claims_accepted_when_every_rule_holds),
        cmocka_unit_test(test_required_claims_must_be_present_and_equal_strings),
        cmocka_unit_test(test_iss_sub_and_aud_rules),
        cmocka_unit_test(test_times_with_60_seconds_leeway_and_max_age),
        cmocka_unit_test(test_subject_use_needs_the_user_claim),
        cmocka_unit_test(test_fetch_url_rules),
        cmocka_unit_test(test_fetch_json_answers),
        cmocka_unit_test(test_verify_kubernetes_token_under_an_inline_policy),
        cmocka_unit_test(test_several_policies_for_one_issuer),
        cmocka_unit_test(test_subject_policy_names_the_user),
        cmocka_unit_test(test_jwks_uri_cache_and_refetch_rules),
        cmocka_unit_test(test_concurrent_workers_share_one_fetch),
        cmocka_unit_test(test_unreachable_jwks_uri_is_a_refusal_not_a_crash),
    };
    return cmocka_run_group_tests(tests, all_setup, all_teardown);
}
