/*
 * tools.h: storage of the AuthZEN PDP (SPEC §12, migration 009): each
 * resource's tool catalog and unknown_tools setting, a tenant's drift
 * settings, and each agent's baseline of (server, tool) pairs with the
 * drift alert raised for each. Every statement is parameterized; handlers
 * call these and never write SQL.
 */
#ifndef AUTHZ_STORE_TOOLS_H
#define AUTHZ_STORE_TOOLS_H

#include <stdbool.h>
#include <stdint.h>

struct dbtx;

/* ---- the catalog (admin API) ---- */
/* Creates or replaces a tool (scopes: a PostgreSQL text[] literal). 1
 * created, 0 replaced, -1 failure (tx->down when the database is gone; a
 * constraint error otherwise: see db_last_failure). */
int store_tool_put(struct dbtx *tx, const char *tenant_id, const char *resource, const char *name,
                   const char *scopes, const char *risk, const char *approval);
/* The tool as its admin JSON text (arena). 1 found, 0 none, -1 failure. */
int store_tool_get(struct dbtx *tx, const char *tenant_id, const char *resource, const char *name,
                   const char **json);
/* {"resource":..,"unknown_tools":..,"tools":[...]} by name. 1, 0 (no such
 * resource), -1 failure. */
int store_tool_list(struct dbtx *tx, const char *tenant_id, const char *resource, const char **json);
/* 1 deleted, 0 none, -1 failure. */
int store_tool_delete(struct dbtx *tx, const char *tenant_id, const char *resource, const char *name);
/* 1 when the resource is the tenant's, 0 not, -1 failure. */
int store_resource_exists(struct dbtx *tx, const char *tenant_id, const char *resource);

/* ---- drift settings (tenant PATCH) ---- */
/* Sets drift_mode, drift_window_days (decimal) or drift_webhook_url (NULL
 * clears it). 0, or -1 failure. */
int store_tenant_drift_set(struct dbtx *tx, const char *tenant_id, const char *member,
                           const char *value);

/* ---- baselines ---- */
/* Calls row() for every pair of the tenant used or alerted within the
 * last window_days: last_used and drift_at in epoch seconds (0: never).
 * 0, or -1 failure. */
int store_baseline_load(struct dbtx *tx, const char *tenant_id, int window_days,
                        void (*row)(void *arg, const char *client_id, const char *server,
                                    const char *tool, int64_t last_used, int64_t drift_at),
                        void *arg);
/* Locks the pair's row for the rest of the open transaction (creating it
 * when new), and says whether it is in the baseline (used within the
 * window) and whether its drift alert was already raised within it. Two
 * authzd deciding the same new pair at once are serialised here: exactly
 * one raises its alert. 0, or -1 failure. */
int store_baseline_lock(struct dbtx *tx, const char *tenant_id, const char *client_id,
                        const char *server, const char *tool, int window_days, bool *in_baseline,
                        bool *alerted);
/* Records on the locked row: used (last use now; first use now when it was
 * outside the window) and/or a drift alert raised now. 0, or -1. */
int store_baseline_record(struct dbtx *tx, const char *tenant_id, const char *client_id,
                          const char *server, const char *tool, int window_days, bool used,
                          bool drift);
/* {"baseline":[{"server","tool","first_used","last_used"}]} of one agent,
 * the pairs used within the window, by server and tool (arena). 0, -1. */
int store_baseline_list(struct dbtx *tx, const char *tenant_id, const char *client_id,
                        int window_days, const char **json);

#endif
