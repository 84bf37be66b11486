/*
 * metrics.c: lock-free counters (relaxed atomics) in fixed tables. Routes are
 * registered on first use under a mutex; the table size is an explicit
 * limit, and anything beyond it is counted under the last route. Grants are
 * a fixed table of the wire grant_type values (one label per grant, however
 * a caller names it), and authz_build_info says what is running.
 */
#include "metrics.h"
#include "util/arena.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#ifndef PACKAGE_VERSION /* set by configure; the fuzz targets compile without it */
#define PACKAGE_VERSION "unknown"
#endif

#define MAX_ROUTES 64
#define MAX_STATUS 24
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NB (sizeof(buckets) / sizeof(buckets[0]))

struct route_stats {
    const char *name;
    int statuses[MAX_STATUS];
    atomic_ullong counts[MAX_STATUS];
    atomic_ullong hist[NB + 1];
    atomic_ullong sum_us;
    atomic_ullong n;
};

static struct route_stats routes[MAX_ROUTES];
static atomic_int nroutes;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;


static atomic_llong connections;
static atomic_ullong connections_refused;
static atomic_llong db_busy;
static atomic_int db_size;
static atomic_ullong commit_batches, commit_rows, db_errors, rotation_batches, rotations;

static struct route_stats *route_get(const char *name)
{
    int n = atomic_load_explicit(&nroutes, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (routes[i].name == name || strcmp(routes[i].name, name) == 0)
            return &routes[i];
    pthread_mutex_lock(&mu);
    n = atomic_load(&nroutes);
    for (int i = 0; i < n; i++)
        if (strcmp(routes[i].name, name) == 0) {
            pthread_mutex_unlock(&mu);
            return &routes[i];
        }
    if (n == MAX_ROUTES) {
        pthread_mutex_unlock(&mu);
        return &routes[MAX_ROUTES - 1];
    }
    routes[n].name = name; /* route names are string literals */
    atomic_store_explicit(&nroutes, n + 1, memory_order_release);
    pthread_mutex_unlock(&mu);
    return &routes[n];
}

void metrics_request(const char *route, int status, uint64_t dur_ns)
{
    struct route_stats *rs = route_get(route);
    int slot = -1;
    for (int i = 0; i < MAX_STATUS; i++) {
        int s = __atomic_load_n(&rs->statuses[i], __ATOMIC_ACQUIRE);
        if (s == status) {
            slot = i;
            break;
        }
        if (s == 0) {
            int expected = 0;
            if (__atomic_compare_exchange_n(&rs->statuses[i], &expected, status, false,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
                expected == status) {
                slot = i;
                break;
            }
        }
    }
    if (slot < 0)
        slot = MAX_STATUS - 1;
    atomic_fetch_add_explicit(&rs->counts[slot], 1, memory_order_relaxed);
    double secs = (double)dur_ns / 1e9;
    size_t b = 0;
    while (b < NB && secs > buckets[b])
        b++;
    atomic_fetch_add_explicit(&rs->hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->sum_us, dur_ns / 1000, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->n, 1, memory_order_relaxed);
}

/* Tokens issued are counted by the grant_type value a client sends on the
 * wire (RFC 6749 §4, RFC 8693 §2.1, CIBA §10.1), whatever name the caller
 * uses for its grant, so that one grant has one label. */
static const char *const wire_grants[] = {
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:openid:params:grant-type:ciba",
    "other",
};
#define NWIRE_GRANTS (sizeof wire_grants / sizeof wire_grants[0])
static atomic_ullong grant_counts[NWIRE_GRANTS];

static size_t wire_grant_index(const char *grant)
{
    static const struct {
        const char *name;
        size_t idx;
    } aliases[] = {
        {"code", 0},           {"token_exchange", 3}, {"token-exchange", 3},
        {"exchange", 3},       {"ciba", 4},           {"backchannel", 4},
    };
    for (size_t i = 0; i + 1 < NWIRE_GRANTS; i++)
        if (!strcmp(grant, wire_grants[i]))
            return i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(grant, aliases[i].name))
            return aliases[i].idx;
    return NWIRE_GRANTS - 1;
}

void metrics_token_issued(const char *grant)
{
    size_t i = wire_grant_index(grant ? grant : "");
    atomic_fetch_add_explicit(&grant_counts[i], 1, memory_order_relaxed);
}

void metrics_connections_add(int delta) { atomic_fetch_add(&connections, delta); }
void metrics_connection_refused(void) { atomic_fetch_add(&connections_refused, 1); }
void metrics_db_pool(int busy_delta) { atomic_fetch_add(&db_busy, busy_delta); }
void metrics_db_pool_size(int size) { atomic_store(&db_size, size); }
void metrics_db_error(void) { atomic_fetch_add(&db_errors, 1); }
void metrics_commit_batch(int rows)
{
    atomic_fetch_add(&commit_batches, 1);
    atomic_fetch_add(&commit_rows, (unsigned long long)rows);
}

void metrics_rotation_batch(int n)
{
    atomic_fetch_add(&rotation_batches, 1);
    atomic_fetch_add(&rotations, (unsigned long long)n);
}

void metrics_render(struct strbuf *sb)
{
    /* Prometheus convention: a constant 1 whose labels say what runs */
    sb_puts(sb, "# HELP authz_build_info The authz version and the library versions it runs with.\n"
                "# TYPE authz_build_info gauge\n");
    sb_printf(sb, "authz_build_info{version=\"%s\",openssl=\"%s\",libevent=\"%s\"} 1\n",
              PACKAGE_VERSION, OpenSSL_version(OPENSSL_VERSION_STRING), event_get_version());
    sb_puts(sb, "# HELP authz_http_requests_total HTTP requests by route and status.\n"
                "# TYPE authz_http_requests_total counter\n");
    int n = atomic_load(&nroutes);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < MAX_STATUS; s++) {
            int st = __atomic_load_n(&routes[i].statuses[s], __ATOMIC_ACQUIRE);
            if (!st)
                break;
            sb_printf(sb, "authz_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                      routes[i].name, st, atomic_load(&routes[i].counts[s]));
        }
    sb_puts(sb, "# HELP authz_http_request_duration_seconds Request latency by route.\n"
                "# TYPE authz_http_request_duration_seconds histogram\n");
    for (int i = 0; i < n; i++) {
        unsigned long long cum = 0;
        for (size_t b = 0; b < NB; b++) {
            cum += atomic_load(&routes[i].hist[b]);
            sb_printf(sb, "authz_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                      routes[i].name, buckets[b], cum);
        }
        cum += atomic_load(&routes[i].hist[NB]);
        sb_printf(sb, "authz_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                  routes[i].name, cum);
        sb_printf(sb, "authz_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                  routes[i].name, (double)atomic_load(&routes[i].sum_us) / 1e6);
        sb_printf(sb, "authz_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  routes[i].name, atomic_load(&routes[i].n));
    }
    sb_puts(sb, "# HELP authz_tokens_issued_total Access tokens issued by grant type.\n"
                "# TYPE authz_tokens_issued_total counter\n");
    for (size_t i = 0; i < NWIRE_GRANTS; i++) {
        unsigned long long issued = atomic_load(&grant_counts[i]);
        if (issued)
            sb_printf(sb, "authz_tokens_issued_total{grant=\"%s\"} %llu\n", wire_grants[i], issued);
    }
    sb_printf(sb,
              "# HELP authz_http_connections Open client connections.\n"
              "# TYPE authz_http_connections gauge\nauthz_http_connections %lld\n"
              "# HELP authz_http_connections_refused_total Connections refused at the limit.\n"
              "# TYPE authz_http_connections_refused_total counter\n"
              "authz_http_connections_refused_total %llu\n"
              "# HELP authz_db_pool_connections Database worker connections.\n"
              "# TYPE authz_db_pool_connections gauge\nauthz_db_pool_connections %d\n"
              "# HELP authz_db_pool_busy Database workers running a request.\n"
              "# TYPE authz_db_pool_busy gauge\nauthz_db_pool_busy %lld\n"
              "# HELP authz_db_errors_total Database errors (connection lost, query failed).\n"
              "# TYPE authz_db_errors_total counter\nauthz_db_errors_total %llu\n"
              "# HELP authz_audit_commit_batches_total Group commits of audit rows.\n"
              "# TYPE authz_audit_commit_batches_total counter\nauthz_audit_commit_batches_total %llu\n"
              "# HELP authz_audit_rows_total Audit rows committed by group commit.\n"
              "# TYPE authz_audit_rows_total counter\nauthz_audit_rows_total %llu\n"
              "# HELP authz_refresh_rotation_batches_total Group commits of refresh token rotations.\n"
              "# TYPE authz_refresh_rotation_batches_total counter\n"
              "authz_refresh_rotation_batches_total %llu\n"
              "# HELP authz_refresh_rotations_total Refresh token rotations committed in batches.\n"
              "# TYPE authz_refresh_rotations_total counter\nauthz_refresh_rotations_total %llu\n",
              atomic_load(&connections), atomic_load(&connections_refused), atomic_load(&db_size),
              atomic_load(&db_busy), atomic_load(&db_errors), atomic_load(&commit_batches),
              atomic_load(&commit_rows), atomic_load(&rotation_batches), atomic_load(&rotations));
}
