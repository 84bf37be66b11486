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
#include "storage/lifecycle.h"
#include "storage/store.h"
#include "storage/tools.h"
#include "admin/admin.h"
#include "admin/lifecycle.h"
#include "http/http.h"
#include "util/arena.h"

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
    "  tenants list                      every tenant: slug, id, status, display name, created\n"
    "  tenants show SLUG                 one tenant's settings (never a secret)\n"
    "  tenants disable SLUG              the tenant is as unknown: every token of it ends\n"
    "  tenants enable SLUG\n"
    "  clients list SLUG                 the tenant's clients: id, status, owner, last used, name\n"
    "                                    (owner '-': an agent without an owner)\n"
    "  clients show SLUG CLIENT_ID       one client (never its secrets)\n"
    "  clients disable SLUG CLIENT_ID [REASON]\n"
    "                                    end every token, refresh token, session and right\n"
    "                                    of the client on every authzd; it gets invalid_client\n"
    "  clients enable SLUG CLIENT_ID\n"
    "  users list SLUG                   the tenant's people: sub, username, status, created\n"
    "  users show SLUG USERNAME          one person and the agents the person owns\n"
    "  users disable SLUG USERNAME [REASON]\n"
    "                                    offboard: end everything of the person and disable\n"
    "                                    every agent the person owns\n"
    "  users enable SLUG USERNAME        (agents stay disabled)\n"
    "  audit tail SLUG [-n N] [-f]       the tenant's last N audit rows (default 20) as JSON\n"
    "                                    lines, oldest first; -f: keep printing new ones\n"
    "  tools list SLUG RESOURCE          the resource's tool catalog (JSON), as the PDP decides\n"
    "                                    on it; the admin API changes it\n"
    "  tools show SLUG RESOURCE TOOL     one tool of it\n"
    "  baseline SLUG CLIENT_ID           the agent's drift baseline: the (server, tool) pairs\n"
    "                                    it used in the tenant's drift window (JSON)\n"
    "\n"
    "  Every change is audited like the admin API's, with source \"authzctl\".\n"
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

enum cmd { CMD_MIGRATE, CMD_ROOT_TOKEN, CMD_TENANT_CREATE, CMD_KEYS_ROTATE, CMD_LIFECYCLE };

static void print_rows(PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++) {
        for (int k = 0; k < PQnfields(res); k++)
            printf("%s%s", k ? "\t" : "", PQgetvalue(res, i, k));
        putchar('\n');
    }
}

/* The tenant's id by slug into id (40 bytes): 0, or 1 with a message. */
static int tenant_id(PGconn *c, const char *slug, char id[40])
{
    char err[512] = "";
    PGresult *res = store_ctl_tenant(c, slug, err, sizeof err);
    if (!res || PQntuples(res) != 1) {
        fprintf(stderr, "authzctl: no tenant '%s'%s%s\n", slug, *err ? ": " : "", err);
        PQclear(res);
        return 1;
    }
    snprintf(id, 40, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* clients|users disable|enable through admin/lifecycle.c, the admin API's
 * own cascade: a unit of work on this connection standing for a request
 * from "authzctl" (the audit rows' source and by). */
static int set_status(PGconn *c, const char *tid, bool client, const char *key, bool disabled,
                      const char *reason)
{
    struct req r;
    memset(&r, 0, sizeof r);
    r.arena = arena_new();
    r.tx.conn = c;
    r.tx.arena = r.arena;
    r.remote_ip = "authzctl";
    r.can_block = true;
    struct tenant t;
    memset(&t, 0, sizeof t);
    t.id = (char *)tid;
    struct caller who = {.by = "authzctl"};
    const char *id = key;
    int rc = 0;
    if (!client) {
        /* people are named by username at a shell; the cascade takes the sub */
        char err[512] = "";
        PGresult *res = store_ctl_user(c, tid, key, err, sizeof err);
        if (!res || PQntuples(res) != 1) {
            PQclear(res);
            rc = 404;
        } else {
            id = arena_strdup(r.arena, PQgetvalue(res, 0, 1));
            PQclear(res);
        }
    }
    if (!rc)
        rc = client ? lifecycle_client_set_status_by(&r, &who, &t, id, disabled, reason)
                    : lifecycle_person_set_status_by(&r, &who, &t, id, disabled, reason);
    dbtx_end(&r.tx);
    arena_free(r.arena);
    if (rc == 404)
        fprintf(stderr, "authzctl: no such %s '%s'\n", client ? "client" : "user", key);
    else if (rc)
        fprintf(stderr, "authzctl: the change could not be made (%d): %s", rc, PQerrorMessage(c));
    else
        printf("%s %s %s\n", client ? "client" : "user", key, disabled ? "disabled" : "enabled");
    return rc ? 1 : 0;
}

static int audit_tail(PGconn *c, const char *tid, int n, bool follow)
{
    char err[512] = "";
    long long last = 0;
    for (;;) {
        PGresult *res = store_ctl_audit(c, tid, last, last ? 1000 : n, err, sizeof err);
        if (!res) {
            fprintf(stderr, "authzctl: audit tail: %s\n", err);
            return 1;
        }
        for (int i = 0; i < PQntuples(res); i++) {
            puts(PQgetvalue(res, i, 1));
            last = atoll(PQgetvalue(res, i, 0));
        }
        PQclear(res);
        fflush(stdout);
        if (!follow)
            return 0;
        if (!last)
            last = 0; /* nothing yet: the next round takes everything after 0 */
        sleep(1);
    }
}

/* tools list|show, baseline: what the PDP decides on (SPEC §12), read */
static int pdp_cmd(PGconn *c, const char *tid, int argc, char **argv)
{
    struct dbtx tx = {.conn = c};
    tx.arena = arena_new();
    const char *json = NULL;
    int rc;
    if (!strcmp(argv[0], "baseline")) {
        /* the tenant's window, as GET .../baseline lists it */
        int window = 14;
        char err[512] = "";
        PGresult *res = store_ctl_tenant(c, argv[1], err, sizeof err);
        json_t *t = res && PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 1), 0, NULL) : NULL;
        json_t *w = json_object_get(t, "drift_window_days");
        if (json_is_integer(w))
            window = (int)json_integer_value(w);
        json_decref(t);
        PQclear(res);
        rc = store_baseline_list(&tx, tid, argv[2], window, &json) == 0 ? 1 : -1;
    } else if (!strcmp(argv[1], "list")) {
        rc = store_tool_list(&tx, tid, argv[3], &json);
    } else {
        rc = store_tool_get(&tx, tid, argv[3], argv[4], &json);
    }
    if (rc == 1)
        puts(json);
    else if (rc == 0)
        fprintf(stderr, "authzctl: no such %s\n", argc == 4 ? "resource" : "tool");
    else
        fprintf(stderr, "authzctl: %s", PQerrorMessage(c));
    dbtx_end(&tx);
    arena_free(tx.arena);
    return rc == 1 ? 0 : 1;
}

/* tenants|clients|users list|show|disable|enable, audit tail, tools, baseline */
static int lifecycle_cmd(PGconn *c, int argc, char **argv)
{
    char err[512] = "", tid[40];
    const char *noun = argv[0], *verb = argv[1];
    if (!strcmp(noun, "tenants")) {
        if (!strcmp(verb, "list")) {
            PGresult *res = store_ctl_tenants(c, err, sizeof err);
            if (!res) {
                fprintf(stderr, "authzctl: %s\n", err);
                return 1;
            }
            print_rows(res);
            PQclear(res);
            return 0;
        }
        if (!strcmp(verb, "show")) {
            PGresult *res = store_ctl_tenant(c, argv[2], err, sizeof err);
            int rc = res && PQntuples(res) == 1 ? 0 : 1;
            if (rc)
                fprintf(stderr, "authzctl: no tenant '%s'\n", argv[2]);
            else
                puts(PQgetvalue(res, 0, 1));
            PQclear(res);
            return rc;
        }
        bool disabled = !strcmp(verb, "disable");
        /* the change and its audit row commit together */
        struct dbtx tx = {.conn = c};
        tx.arena = arena_new();
        int rc = db_begin(&tx);
        PGresult *res = rc ? NULL
                           : store_ctl_tenant_status(c, argv[2], disabled ? "disabled" : "active",
                                                     err, sizeof err);
        if (res && PQntuples(res) == 1) {
            snprintf(tid, sizeof tid, "%s", PQgetvalue(res, 0, 0));
            if (ctl_audit(c, tid, disabled ? "tenant.disable" : "tenant.enable", argv[2]) < 0 ||
                db_commit(&tx) < 0) {
                fprintf(stderr, "authzctl: %s", PQerrorMessage(c));
                rc = -1;
            }
        } else {
            fprintf(stderr, "authzctl: no tenant '%s'\n", argv[2]);
            rc = -1;
        }
        PQclear(res);
        if (rc)
            db_rollback(&tx);
        dbtx_end(&tx);
        arena_free(tx.arena);
        if (rc)
            return 1;
        printf("tenant %s %s\n", argv[2], disabled ? "disabled" : "enabled");
        return 0;
    }
    if (!strcmp(noun, "baseline"))
        return tenant_id(c, argv[1], tid) ? 1 : pdp_cmd(c, tid, argc, argv);
    if (tenant_id(c, argv[2], tid))
        return 1;
    if (!strcmp(noun, "tools"))
        return pdp_cmd(c, tid, argc, argv);
    if (!strcmp(noun, "audit")) {
        int n = 20;
        bool follow = false;
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "-f"))
                follow = true;
            else if (!strcmp(argv[i], "-n") && i + 1 < argc && atoi(argv[i + 1]) > 0 &&
                     atoi(argv[i + 1]) <= 1000)
                n = atoi(argv[++i]);
            else
                return usage(stderr, 2);
        }
        return audit_tail(c, tid, n, follow);
    }
    bool client = !strcmp(noun, "clients");
    if (!strcmp(verb, "list")) {
        PGresult *res = client ? store_ctl_clients(c, tid, err, sizeof err)
                               : store_ctl_users(c, tid, err, sizeof err);
        if (!res) {
            fprintf(stderr, "authzctl: %s\n", err);
            return 1;
        }
        print_rows(res);
        PQclear(res);
        return 0;
    }
    if (!strcmp(verb, "show")) {
        PGresult *res = client ? store_ctl_client(c, tid, argv[3], err, sizeof err)
                               : store_ctl_user(c, tid, argv[3], err, sizeof err);
        int rc = res && PQntuples(res) == 1 ? 0 : 1;
        if (rc)
            fprintf(stderr, "authzctl: no such %s '%s'\n", client ? "client" : "user", argv[3]);
        else
            puts(PQgetvalue(res, 0, 0));
        PQclear(res);
        return rc;
    }
    return set_status(c, tid, client, argv[3], !strcmp(verb, "disable"), argc == 5 ? argv[4] : NULL);
}

/* Whether argv is a lifecycle command with the right arguments. */
static bool lifecycle_args_ok(int argc, char **argv)
{
    if (argc < 2)
        return false;
    const char *noun = argv[0], *verb = argv[1];
    if (!strcmp(noun, "audit"))
        return !strcmp(verb, "tail") && argc >= 3;
    if (!strcmp(noun, "baseline"))
        return argc == 3;
    if (!strcmp(noun, "tools"))
        return (!strcmp(verb, "list") && argc == 4) || (!strcmp(verb, "show") && argc == 5);
    bool tenants = !strcmp(noun, "tenants");
    if (!tenants && strcmp(noun, "clients") && strcmp(noun, "users"))
        return false;
    if (!strcmp(verb, "list"))
        return argc == (tenants ? 2 : 3);
    if (!strcmp(verb, "show") || !strcmp(verb, "enable"))
        return argc == (tenants ? 3 : 4);
    if (!strcmp(verb, "disable"))
        return tenants ? argc == 3 : (argc == 4 || argc == 5);
    return false;
}

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
    } else if (lifecycle_args_ok(argc, argv)) {
        cmd = CMD_LIFECYCLE;
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
    case CMD_LIFECYCLE:
        rc = lifecycle_cmd(c, argc, argv);
        break;
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
