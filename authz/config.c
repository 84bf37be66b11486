/*
 * config.c: reading etc/authzd.conf and AUTHZ_* overrides into struct config.
 * One table lists every key with its type, default and bounds; the file
 * parser and the environment both go through it, so a key cannot be known to
 * one and not the other.
 */
#include "config.h"
#include "util/limits.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int log_level_num = 1;

enum ktype { K_STR, K_INT, K_SIZE };

struct key {
    const char *name;
    enum ktype type;
    size_t off;
    const char *def;
    long min, max;
};

#define O(f) offsetof(struct config, f)
static const struct key keys[] = {
    {"listen", K_STR, O(listen), "127.0.0.1:8080", 0, 0},
    {"public_url", K_STR, O(public_url), "", 0, 0},
    {"database_url", K_STR, O(database_url), "dbname=authz", 0, 0},
    {"threads", K_INT, O(threads), "0", 0, 256},
    {"master_key_file", K_STR, O(master_key_file), "", 0, 0},
    {"tls_cert", K_STR, O(tls_cert), "", 0, 0},
    {"tls_key", K_STR, O(tls_key), "", 0, 0},
    {"log_level", K_STR, O(log_level), "info", 0, 0},
    {"db_pool_size", K_INT, O(db_pool_size), "8", 1, 256},
    {"max_body_bytes", K_SIZE, O(max_body_bytes), AUTHZ_STR(AUTHZ_MAX_BODY_BYTES_DEFAULT), 1024, 16 * 1024 * 1024},
    {"max_header_bytes", K_INT, O(max_header_bytes),
     AUTHZ_STR(AUTHZ_MAX_HEADER_BYTES_DEFAULT), 1024, 1024 * 1024},
    {"max_connections", K_INT, O(max_connections), "10000", 1, 1000000},
    {"read_timeout", K_INT, O(read_timeout), "10", 1, 3600},
    {"idle_timeout", K_INT, O(idle_timeout), "60", 1, 3600},
    {"write_timeout", K_INT, O(write_timeout), "30", 1, 3600},
    {"argon2_t_cost", K_INT, O(argon2_t_cost), AUTHZ_STR(AUTHZ_ARGON2_T_COST_DEFAULT), 1, 100},
    {"argon2_m_cost_kib", K_INT, O(argon2_m_cost_kib),
     AUTHZ_STR(AUTHZ_ARGON2_M_COST_KIB_DEFAULT), 8, 4 * 1024 * 1024},
    {"argon2_parallelism", K_INT, O(argon2_parallelism),
     AUTHZ_STR(AUTHZ_ARGON2_PARALLELISM_DEFAULT), 1, 64},
    {"max_act_depth", K_INT, O(max_act_depth), AUTHZ_STR(AUTHZ_MAX_ACT_DEPTH_DEFAULT), 1, 64},
    {"token_rate_limit", K_INT, O(token_rate_limit), "0", 0, 10000000},
};
#undef O

static int set_key(struct config *cfg, const struct key *k, const char *val, const char *where,
                   char *err, size_t errlen)
{
    char *field = (char *)cfg + k->off;
    if (k->type == K_STR) {
        char **dst = (char **)field;
        free(*dst);
        *dst = strdup(val);
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end != '\0' || v < k->min || v > k->max) {
        snprintf(err, errlen, "%s: %s must be a whole number from %ld to %ld, not '%s'", where,
                 k->name, k->min, k->max, val);
        return -1;
    }
    if (k->type == K_INT)
        *(int *)field = (int)v;
    else
        *(size_t *)field = (size_t)v;
    return 0;
}

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int read_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        char where[600];
        snprintf(where, sizeof where, "%.500s:%d", path, lineno);
        if (!eq) {
            snprintf(err, errlen, "%s: expected 'key = value'", where);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        char *name = trim(s), *val = trim(eq + 1);
        const struct key *k = find_key(name);
        if (!k) {
            snprintf(err, errlen, "%s: unknown key '%s'", where, name);
            fclose(f);
            return -1;
        }
        if (set_key(cfg, k, val, where, err, errlen) < 0) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

extern char **environ;

/* libpq quotes the part of a connection string it stumbled on, which can be
 * a piece of a password ("password=my secret" -> missing "=" after
 * "secret"): a quoted word is kept only when it is one of libpq's keywords
 * (or the "=" it missed), anything else becomes "...". */
static void conninfo_reason_redacted(const char *reason, char *out, size_t outlen)
{
    PQconninfoOption *kw = PQconndefaults();
    size_t o = 0;
    const char *p = reason;
    while (*p && o + 1 < outlen) {
        const char *q = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (!q) {
            if (*p != '\n')
                out[o++] = *p;
            p++;
            continue;
        }
        size_t n = (size_t)(q - p - 1);
        bool keep = n == 1 && p[1] == '=';
        for (PQconninfoOption *k = kw; k && k->keyword && !keep; k++)
            keep = strlen(k->keyword) == n && !strncmp(k->keyword, p + 1, n);
        int w = snprintf(out + o, outlen - o, "\"%.*s\"", keep ? (int)n : 3, keep ? p + 1 : "...");
        o = w < 0 || (size_t)w >= outlen - o ? outlen - 1 : o + (size_t)w;
        p = q + 1;
    }
    out[o] = '\0';
    PQconninfoFree(kw);
}

/* SPEC §10: database_url is "a libpq connection string". One that is not
 * would otherwise be taken by libpq as a database name and fail later with
 * a misleading socket error; say what it is instead, never echoing it (it
 * may hold a password). */
static int check_database_url(const char *url, char *err, size_t errlen)
{
    char *reason = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &reason);
    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    char safe[256];
    conninfo_reason_redacted(reason ? reason : "out of memory", safe, sizeof safe);
    PQfreemem(reason);
    snprintf(err, errlen,
             "database_url is not a valid libpq connection string (%s): write it as key=value "
             "pairs, e.g. \"host=127.0.0.1 port=5432 dbname=authz user=authz\", or as a "
             "postgresql:// URI",
             safe);
    return -1;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (set_key(cfg, &keys[i], keys[i].def, "default", err, errlen) < 0)
            return -1;
    if (path && read_file(cfg, path, err, errlen) < 0)
        return -1;
    /* AUTHZ_<KEY> wins over the file; an AUTHZ_ variable naming no key is an
     * error too, so a typo cannot silently leave a default in place. */
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "AUTHZ_", 6) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char name[128];
        size_t n = (size_t)(eq - (*e + 6));
        if (n == 0 || n >= sizeof name)
            continue;
        for (size_t i = 0; i < n; i++)
            name[i] = (char)tolower((unsigned char)(*e)[6 + i]);
        name[n] = '\0';
        const struct key *k = find_key(name);
        if (!k) {
            /* variables of the tooling around authzd, not configuration keys */
            if (strcmp(name, "migrations_dir") == 0 || strncmp(name, "dev_", 4) == 0 ||
                strncmp(name, "test_", 5) == 0 || strcmp(name, "build_dir") == 0 ||
                strcmp(name, "base_url") == 0 || strcmp(name, "root_token") == 0 ||
                strcmp(name, "data_dir") == 0)
                continue;
            snprintf(err, errlen, "environment: unknown key AUTHZ_%.*s", (int)n, *e + 6);
            return -1;
        }
        char where[160];
        snprintf(where, sizeof where, "environment AUTHZ_%.*s", (int)n, *e + 6);
        if (set_key(cfg, k, eq + 1, where, err, errlen) < 0)
            return -1;
    }
    if (cfg->threads == 0) {
        /* two event loops per online core: a loop signing a token or
         * answering a batch of commits leaves the core to the other, and
         * PostgreSQL, often on the same machine, gets its share between
         * (bench/cc.sh: about 10% more tokens/s than one per core, same
         * p99; doc/DESIGN-NOTES.md) */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->threads = n > 0 ? (int)(n > 128 ? 256 : 2 * n) : 2;
    }
    if (!strcmp(cfg->log_level, "debug"))
        log_level_num = 0;
    else if (!strcmp(cfg->log_level, "info"))
        log_level_num = 1;
    else if (!strcmp(cfg->log_level, "warn"))
        log_level_num = 2;
    else if (!strcmp(cfg->log_level, "error"))
        log_level_num = 3;
    else {
        snprintf(err, errlen, "log_level must be debug, info, warn or error, not '%s'",
                 cfg->log_level);
        return -1;
    }
    if (cfg->public_url[0] == '\0') {
        free(cfg->public_url);
        size_t l = strlen(cfg->listen) + 8;
        cfg->public_url = malloc(l);
        snprintf(cfg->public_url, l, "http://%s", cfg->listen);
    }
    size_t ul = strlen(cfg->public_url);
    while (ul > 0 && cfg->public_url[ul - 1] == '/')
        cfg->public_url[--ul] = '\0';
    if (strncmp(cfg->public_url, "http://", 7) != 0 && strncmp(cfg->public_url, "https://", 8) != 0) {
        snprintf(err, errlen, "public_url must start with http:// or https://");
        return -1;
    }
    if ((cfg->tls_cert[0] != '\0') != (cfg->tls_key[0] != '\0')) {
        snprintf(err, errlen, "tls_cert and tls_key go together: set both or neither");
        return -1;
    }
    if (check_database_url(cfg->database_url, err, errlen) < 0)
        return -1;
    return 0;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (keys[i].type == K_STR) {
            char **p = (char **)((char *)cfg + keys[i].off);
            free(*p);
            *p = NULL;
        }
}

#ifndef AUTHZ_SYSCONFDIR
#define AUTHZ_SYSCONFDIR "/usr/local/etc"
#endif
#ifndef AUTHZ_DATADIR
#define AUTHZ_DATADIR "/usr/local/share"
#endif
#ifndef AUTHZ_SRCDIR
#define AUTHZ_SRCDIR "."
#endif

/* Whether this program is the one built in the build tree (authzd and
 * authzctl at its top, the unit tests under tests/), as opposed to an
 * installed copy: an authzd installed by `make install` reads the installed
 * configuration and data even while the tree it was built from still exists.
 * Where /proc/self/exe cannot be read, the source tree wins when present. */
static bool run_from_build_tree(void)
{
#ifdef AUTHZ_BUILDDIR
    char exe[PATH_MAX], build[PATH_MAX];
    if (!realpath("/proc/self/exe", exe))
        return true;
    if (!realpath(AUTHZ_BUILDDIR, build))
        return false; /* the build tree is gone: this is an installed copy */
    char *slash = strrchr(exe, '/');
    if (!slash)
        return true;
    *slash = '\0';
    size_t bl = strlen(build);
    return strcmp(exe, build) == 0 ||
           (strncmp(exe, build, bl) == 0 && strncmp(exe + bl, "/tests/", 7) == 0);
#else
    return true;
#endif
}

const char *config_source_dir(void)
{
    static char buf[PATH_MAX + 32];
    if (!run_from_build_tree())
        return NULL;
    snprintf(buf, sizeof buf, "%s/migrations", AUTHZ_SRCDIR);
    return access(buf, R_OK) == 0 ? AUTHZ_SRCDIR : NULL;
}

const char *config_default_path(void)
{
    static char buf[4096];
    const char *src = config_source_dir();
    if (src) {
        snprintf(buf, sizeof buf, "%s/etc/authzd.conf", src);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    snprintf(buf, sizeof buf, "%s/authz/authzd.conf", AUTHZ_SYSCONFDIR);
    if (access(buf, R_OK) == 0)
        return buf;
    return NULL;
}

const char *config_data_dir(void)
{
    static char buf[4096];
    const char *env = getenv("AUTHZ_DATA_DIR");
    if (env && *env)
        return env;
    const char *src = config_source_dir();
    if (src)
        return src;
    snprintf(buf, sizeof buf, "%s/authz", AUTHZ_DATADIR);
    return buf;
}

const struct config *g_config;
