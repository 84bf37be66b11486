/*
 * config.h: authzd's configuration (SPEC §10): `key = value` lines, `#`
 * comments, no sections; every key can be overridden by AUTHZ_<KEY> in the
 * environment, which wins over the file. Unknown keys are an error.
 */
#ifndef AUTHZ_CONFIG_H
#define AUTHZ_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
    char *listen;            /* host:port */
    char *public_url;        /* no trailing slash */
    char *database_url;
    int threads;
    char *master_key_file;
    char *tls_cert;
    char *tls_key;
    char *log_level;
    int db_pool_size;
    size_t max_body_bytes;
    int max_header_bytes;
    int max_connections;
    int read_timeout;        /* deadline (s) for a whole request, from its first byte */
    int idle_timeout;        /* seconds a keep-alive connection may sit idle */
    int write_timeout;
    int argon2_t_cost;
    int argon2_m_cost_kib;
    int argon2_parallelism;
    int max_act_depth;
    int token_rate_limit;    /* token requests per client per second; 0 = off */
};

/* Fills cfg with defaults, reads path (NULL = no file), then the environment.
 * Returns 0, or -1 with a message in err. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);
/* The source tree (AUTHZ_SRCDIR) when this program runs from its build tree
 * and the sources are there; NULL for an installed program. */
const char *config_source_dir(void);
/* The default configuration file: $(sysconfdir)/authz/authzd.conf of the
 * installation, or etc/authzd.conf of the source tree when run from its build
 * tree; NULL when none exists. */
const char *config_default_path(void);
/* The directory holding migrations/: $AUTHZ_DATA_DIR when set, else the
 * source tree when run from it, else the installed $(datadir)/authz. */
const char *config_data_dir(void);

extern int log_level_num; /* 0 debug, 1 info, 2 warn, 3 error */
extern const struct config *g_config; /* the running configuration */

#endif
