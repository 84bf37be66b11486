/*
 * baseline.h: every authzd keeps the tenants' drift baselines (SPEC §12) in
 * memory for the PDP's decisions on the event loop: for each (agent,
 * server, tool) pair used or alerted within the tenant's window, its last
 * use and last drift alert. A change of agent_baseline anywhere (NOTIFY
 * authz_baseline, tenant id as payload) drops the tenant's table here; the
 * next decision loads it again on a database worker.
 */
#ifndef AUTHZ_BASELINE_H
#define AUTHZ_BASELINE_H

#include <stdbool.h>
#include <stdint.h>

struct dbtx;

/* -1 when the tenant's baselines are not loaded here; else 1 with the
 * pair's times (epoch seconds, 0: never), or 0 when the pair is unknown. */
int baseline_get(const char *tenant_id, const char *client_id, const char *server,
                 const char *tool, int64_t *last_used, int64_t *drift_at);
/* Loads the tenant's baselines on tx->conn (a database worker). 0, or -1
 * (tx->down when the database is gone). */
int baseline_load(struct dbtx *tx, const char *tenant_id, int window_days);
/* Drops the tenant's table (payload of NOTIFY authz_baseline). */
void baseline_invalidate(const char *tenant_id);

#endif
