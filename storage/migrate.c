/*
 * migrate.c: numbered SQL files in migrations/ (NNN_what.sql), applied in
 * order, each in its own transaction together with its row in
 * schema_migrations. An advisory lock makes two concurrent `authzctl migrate`
 * runs safe; running it twice applies nothing the second time.
 */
#include "storage/store.h"
#include "storage/db.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mig {
    int version;
    char name[256];
};

static int cmp(const void *a, const void *b)
{
    return ((const struct mig *)a)->version - ((const struct mig *)b)->version;
}

static int list_migrations(const char *dir, struct mig **out, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/migrations", dir);
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "cannot open %s", path);
        return -1;
    }
    int n = 0, cap = 16;
    struct mig *m = malloc(sizeof(*m) * (size_t)cap);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 8 || strcmp(e->d_name + l - 4, ".sql") != 0 || e->d_name[0] < '0' ||
            e->d_name[0] > '9' || l >= sizeof m[0].name)
            continue;
        if (n == cap) {
            cap *= 2;
            m = realloc(m, sizeof(*m) * (size_t)cap);
        }
        m[n].version = atoi(e->d_name);
        snprintf(m[n].name, sizeof m[n].name, "%s", e->d_name);
        n++;
    }
    closedir(d);
    qsort(m, (size_t)n, sizeof(*m), cmp);
    *out = m;
    return n;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static int exec_simple(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

int store_migrate(PGconn *c, const char *dir, char *err, size_t errlen)
{
    struct mig *m;
    int n = list_migrations(dir, &m, err, errlen);
    if (n < 0)
        return -1;
    int rc = -1;
    if (exec_simple(c, "SELECT pg_advisory_lock(7263150)", err, errlen) < 0)
        goto out;
    if (exec_simple(c,
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                    "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                    err, errlen) < 0)
        goto unlock;
    int applied = 0;
    for (int i = 0; i < n; i++) {
        char ver[16];
        snprintf(ver, sizeof ver, "%d", m[i].version);
        const char *v[2] = {ver, m[i].name};
        PGresult *res = pq_exec(c, "SELECT 1 FROM schema_migrations WHERE version = $1::int", 1, v,
                                err, errlen);
        if (!res)
            goto unlock;
        int have = PQntuples(res) > 0;
        PQclear(res);
        if (have)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/migrations/%s", dir, m[i].name);
        char *sql = read_all(path);
        if (!sql) {
            snprintf(err, errlen, "cannot read %s", path);
            goto unlock;
        }
        if (exec_simple(c, "BEGIN", err, errlen) < 0) {
            free(sql);
            goto unlock;
        }
        char e2[1024];
        if (exec_simple(c, sql, e2, sizeof e2) < 0) {
            snprintf(err, errlen, "%s: %s", m[i].name, e2);
            free(sql);
            exec_simple(c, "ROLLBACK", e2, sizeof e2);
            goto unlock;
        }
        free(sql);
        res = pq_exec(c, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)", 2, v,
                      err, errlen);
        if (!res) {
            exec_simple(c, "ROLLBACK", e2, sizeof e2);
            goto unlock;
        }
        PQclear(res);
        if (exec_simple(c, "COMMIT", err, errlen) < 0)
            goto unlock;
        printf("applied %s\n", m[i].name);
        applied++;
    }
    if (!applied)
        printf("schema is current (%d migrations)\n", n);
    rc = 0;
unlock:;
    char e3[256];
    exec_simple(c, "SELECT pg_advisory_unlock(7263150)", e3, sizeof e3);
out:
    free(m);
    return rc;
}

int store_schema_check(PGconn *c, const char *dir, char *err, size_t errlen)
{
    struct mig *m;
    int n = list_migrations(dir, &m, err, errlen);
    if (n < 0)
        return -1;
    PGresult *res = PQexec(c, "SELECT version FROM schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        free(m);
        snprintf(err, errlen, "the database has no authz schema yet");
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        bool have = false;
        for (int k = 0; k < PQntuples(res); k++)
            if (atoi(PQgetvalue(res, k, 0)) == m[i].version)
                have = true;
        if (!have) {
            snprintf(err, errlen, "migration %s has not been applied", m[i].name);
            rc = 1;
        }
    }
    PQclear(res);
    free(m);
    return rc;
}
