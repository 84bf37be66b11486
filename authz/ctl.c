/*
 * ctl.c: authzctl, the operator CLI: migrate the schema, create a root
 * token, create a tenant, rotate a tenant's signing key. It uses the same
 * configuration (and AUTHZ_* overrides) as authzd.
 */
#include "boot.h"
#include "cache.h"
#include "config.h"
#include "storage/db.h"
#include "storage/store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: authzctl [-c FILE] migrate\n"
                    "       authzctl [-c FILE] root-token\n"
                    "       authzctl [-c FILE] tenant create SLUG [DISPLAY_NAME]\n"
                    "       authzctl [-c FILE] keys rotate SLUG\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "+c:h")) != -1) {
        if (opt == 'c')
            conf = optarg;
        else
            return usage();
    }
    argc -= optind;
    argv += optind;
    if (argc < 1)
        return usage();
    struct config cfg;
    if (boot(&cfg, conf, "authzctl") < 0) {
        config_free(&cfg);
        return 1;
    }
    char err[1024];
    PGconn *c = db_connect(cfg.database_url, err, sizeof err);
    if (!c) {
        fprintf(stderr, "authzctl: cannot reach the database: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    int rc = 0;
    if (!strcmp(argv[0], "migrate") && argc == 1) {
        if (store_migrate(c, config_data_dir(), err, sizeof err) < 0) {
            fprintf(stderr, "authzctl: migrate: %s\n", err);
            rc = 1;
        }
    } else if (!strcmp(argv[0], "root-token") && argc == 1) {
        char tok[80];
        if (store_root_token_create(c, tok, sizeof tok, err, sizeof err) < 0) {
            fprintf(stderr, "authzctl: root-token: %s\n", err);
            rc = 1;
        } else {
            printf("%s\n", tok);
        }
    } else if (!strcmp(argv[0], "tenant") && argc >= 3 && argc <= 4 && !strcmp(argv[1], "create")) {
        const char *slug = argv[2];
        char id[40];
        int r = store_tenant_create(c, slug, argc == 4 ? argv[3] : slug, id, err, sizeof err);
        if (r != 0) {
            fprintf(stderr, "authzctl: tenant create: %s\n", err);
            rc = 1;
        } else {
            printf("tenant %s created (id %s), issuer %s/t/%s\n", slug, id, cfg.public_url, slug);
        }
    } else if (!strcmp(argv[0], "keys") && argc == 3 && !strcmp(argv[1], "rotate")) {
        const char *v[1] = {argv[2]};
        PGresult *res = pq_exec(c, "SELECT id, signing_alg FROM tenants WHERE slug = $1", 1, v, err,
                                sizeof err);
        if (!res || PQntuples(res) != 1) {
            fprintf(stderr, "authzctl: keys rotate: no tenant '%s'\n", argv[2]);
            rc = 1;
        } else {
            char kid[64];
            PQclear(PQexec(c, "BEGIN"));
            if (store_key_rotate(c, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), kid, err,
                                 sizeof err) < 0) {
                PQclear(PQexec(c, "ROLLBACK"));
                fprintf(stderr, "authzctl: keys rotate: %s\n", err);
                rc = 1;
            } else {
                PQclear(PQexec(c, "COMMIT"));
                printf("tenant %s: new signing key %s\n", argv[2], kid);
            }
        }
        PQclear(res);
    } else {
        rc = usage();
    }
    PQfinish(c);
    config_free(&cfg);
    return rc;
}
