/*
 * ctl.c: authzctl, the operator CLI: migrate the schema, create a root
 * token, create a tenant, rotate a tenant's signing key. It uses the same
 * configuration (and AUTHZ_* overrides) as authzd. Every change it makes
 * leaves an admin.changed audit row, as the admin API's do, with source
 * "authzctl" (SPEC §13).
 */
#include "boot.h"
#include "cache.h"
#include "config.h"
#include "storage/admin.h"
#include "storage/db.h"
#include "storage/store.h"

#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: authzctl [-c FILE] COMMAND\n"
    "\n"
    "  migrate                           apply pending schema migrations (safe to run twice)\n"
    "  root-token                        print a new operator root token for the admin API\n"
    "  tenant create SLUG [DISPLAY_NAME] create a tenant (issuer {public_url}/t/SLUG)\n"
    "  keys rotate SLUG                  give the tenant a new signing key\n"
    "\n"
    "  -c FILE     configuration file (default: the installation's authzd.conf);\n"
    "              AUTHZ_<KEY> environment variables override it\n"
    "  -h, --help  this text\n";

static int usage(FILE *to, int rc)
{
    fputs(usage_text, to);
    return rc;
}

/*
 * Writes the admin.changed audit row of a change made here: details
 * {"action", "by": "authzctl", "os_user", "target"} like the admin API's
 * {"action", "by", "target"}, source "authzctl". tenant_id NULL for changes
 * that belong to no tenant (root tokens). 0 on success.
 */
static int ctl_audit(PGconn *c, const char *tenant_id, const char *action, const char *target)
{
    const struct passwd *pw = getpwuid(getuid());
    json_t *d = json_pack("{s:s, s:s}", "action", action, "by", "authzctl");
    if (!d)
        return -1;
    if (pw && pw->pw_name)
        json_object_set_new(d, "os_user", json_string(pw->pw_name));
    if (target)
        json_object_set_new(d, "target", json_string(target));
    char *details = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    if (!details)
        return -1;
    struct audit_event e = {
        .tenant_id = tenant_id,
        .event = "admin.changed",
        .success = true,
        .source = "authzctl",
        .details = details,
    };
    int rc = audit_insert(c, &e, 1);
    free(details);
    return rc;
}

enum cmd { CMD_MIGRATE, CMD_ROOT_TOKEN, CMD_TENANT_CREATE, CMD_KEYS_ROTATE };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *conf = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
        if (opt == 'c')
            conf = optarg;
        else if (opt == 'h')
            return usage(stdout, 0);
        else
            return usage(stderr, 2);
    }
    argc -= optind;
    argv += optind;
    if (argc < 1)
        return usage(stderr, 2);

    /* The command is checked before anything is read or connected to. */
    enum cmd cmd;
    if (!strcmp(argv[0], "help") && argc == 1) {
        return usage(stdout, 0);
    } else if (!strcmp(argv[0], "migrate") && argc == 1) {
        cmd = CMD_MIGRATE;
    } else if (!strcmp(argv[0], "root-token") && argc == 1) {
        cmd = CMD_ROOT_TOKEN;
    } else if (!strcmp(argv[0], "tenant") && argc >= 3 && argc <= 4 && !strcmp(argv[1], "create")) {
        cmd = CMD_TENANT_CREATE;
        if (!store_tenant_slug_valid(argv[2])) { /* SPEC §1 */
            fprintf(stderr, "authzctl: tenant create: the slug must match " TENANT_SLUG_PATTERN "\n");
            return 2;
        }
        if (argc == 4 && !store_tenant_display_name_valid(argv[3])) {
            fprintf(stderr, "authzctl: tenant create: the display name must be 1 to 200 "
                            "characters, none of them control characters\n");
            return 2;
        }
    } else if (!strcmp(argv[0], "keys") && argc == 3 && !strcmp(argv[1], "rotate")) {
        cmd = CMD_KEYS_ROTATE;
    } else {
        fprintf(stderr, "authzctl: unknown command or wrong arguments: %s\n", argv[0]);
        return usage(stderr, 2);
    }

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
    switch (cmd) {
    case CMD_MIGRATE:
        if (store_migrate(c, config_data_dir(), err, sizeof err) < 0) {
            fprintf(stderr, "authzctl: migrate: %s\n", err);
            rc = 1;
        }
        break;
    case CMD_ROOT_TOKEN: {
        /* the token and its audit row commit together; printed only then */
        char tok[80];
        snprintf(err, sizeof err, "%s", PQerrorMessage(c));
        if (!pq_begin(c) || store_root_token_create(c, tok, sizeof tok, err, sizeof err) < 0) {
            fprintf(stderr, "authzctl: root-token: %s\n", err);
            rc = 1;
        } else if (ctl_audit(c, NULL, "root_token.create", NULL) < 0 || !pq_commit(c)) {
            fprintf(stderr, "authzctl: root-token: the audit row could not be written: %s",
                    PQerrorMessage(c));
            rc = 1;
        } else {
            printf("%s\n", tok);
        }
        if (rc)
            pq_rollback(c);
        break;
    }
    case CMD_TENANT_CREATE: {
        const char *slug = argv[2];
        char id[40];
        int r = store_tenant_create(c, slug, argc == 4 ? argv[3] : slug, id, err, sizeof err);
        if (r != 0) {
            fprintf(stderr, "authzctl: tenant create: %s\n", err);
            rc = 1;
            break;
        }
        /* store_tenant_create commits by itself (as for the admin API, whose
         * row is written right after it too) */
        if (ctl_audit(c, id, "tenant.create", slug) < 0) {
            fprintf(stderr, "authzctl: tenant create: tenant %s was created, but its audit row "
                            "could not be written: %s",
                    slug, PQerrorMessage(c));
            rc = 1;
        }
        printf("tenant %s created (id %s), issuer %s/t/%s\n", slug, id, cfg.public_url, slug);
        break;
    }
    case CMD_KEYS_ROTATE: {
        char id[40], alg[16];
        if (store_tenant_find(c, argv[2], id, alg, err, sizeof err) != 1) {
            fprintf(stderr, "authzctl: keys rotate: no tenant '%s'\n", argv[2]);
            rc = 1;
        } else {
            /* the key and its audit row commit together */
            char kid[64];
            snprintf(err, sizeof err, "%s", PQerrorMessage(c));
            if (!pq_begin(c) || store_key_rotate(c, id, alg, kid, err, sizeof err) < 0) {
                fprintf(stderr, "authzctl: keys rotate: %s\n", err);
                rc = 1;
            } else if (ctl_audit(c, id, "keys.rotate", kid) < 0 || !pq_commit(c)) {
                fprintf(stderr, "authzctl: keys rotate: %s", PQerrorMessage(c));
                rc = 1;
            } else {
                printf("tenant %s: new signing key %s\n", argv[2], kid);
            }
            if (rc)
                pq_rollback(c);
        }
        break;
    }
    }
    PQfinish(c);
    config_free(&cfg);
    return rc;
}
