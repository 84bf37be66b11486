/*
 * metrics.h: Prometheus counters and histograms for GET /metrics: requests by
 * route and status, latency histograms by route, tokens issued by grant,
 * connections, database pool use and group-commit batches.
 */
#ifndef AUTHZ_METRICS_H
#define AUTHZ_METRICS_H

#include <stdint.h>

struct strbuf;
void metrics_request(const char *route, int status, uint64_t dur_ns);
void metrics_token_issued(const char *grant);
void metrics_connections_add(int delta);
void metrics_connection_refused(void);
void metrics_db_pool(int busy_delta);
void metrics_db_pool_size(int size);
void metrics_commit_batch(int rows);
/* a committed batch of n refresh token rotations */
void metrics_rotation_batch(int n);
void metrics_db_error(void);
/* Appends the exposition text. */
void metrics_render(struct strbuf *sb);

#endif
