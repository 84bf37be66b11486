/*
 * main.c: authzd. Reads the configuration, checks the schema is current,
 * starts the database threads and the HTTP loops, then waits for signals:
 * SIGTERM/SIGINT drain (stop accepting, finish requests in flight, flush the
 * pending audit commits, exit 0), SIGHUP reloads the TLS certificate and key.
 */
#include "boot.h"
#include "config.h"
#include "log.h"
#include "http/http.h"
#include "http/tls.h"
#include "storage/db.h"
#include "storage/store.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void http_server_join(void);

/* Opens each tenant's active signing key with the master key; prints why
 * and returns -1 when it cannot. An installation without tenants passes. */
static int master_key_check(PGconn *c, const struct config *cfg)
{
    char err[512], bad[256];
    int checked = 0;
    int nbad = store_keys_check(c, 0, &checked, bad, sizeof bad, err, sizeof err);
    if (nbad < 0) {
        fprintf(stderr, "authzd: cannot read the tenants' signing keys: %s\n", err);
        return -1;
    }
    if (nbad > 0) {
        fprintf(stderr,
                "authzd: the master key in %s cannot open the signing keys of %d of %d tenants "
                "(%s%s): it is not the master key they were sealed with. Start authzd with this "
                "installation's own master key file (restore it from its backup); a new key "
                "cannot open keys sealed with another.\n",
                cfg->master_key_file, nbad, checked, bad, nbad > 5 ? ", ..." : "");
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: authzd [-c FILE]\n");
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:h")) != -1) {
        if (opt == 'c')
            conf = optarg;
        else {
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (optind != argc) {
        usage();
        return 2;
    }
    struct config cfg;
    if (boot(&cfg, conf, "authzd") < 0) {
        config_free(&cfg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    /* the address first: one that another process serves is refused at once
     * (SPEC §9); nothing is accepted before the loops start below */
    char err[1024];
    if (http_server_bind(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "authzd: %s\n", err);
        config_free(&cfg);
        return 1;
    }

    /* refuse a schema that is behind: say which command fixes it */
    PGconn *c = db_connect(cfg.database_url, err, sizeof err);
    if (!c) {
        fprintf(stderr, "authzd: cannot reach the database: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    int rc = store_schema_check(c, config_data_dir(), err, sizeof err);
    if (rc != 0) {
        PQfinish(c);
        fprintf(stderr, "authzd: the database schema is behind (%s); run `authzctl migrate`\n", err);
        config_free(&cfg);
        return 1;
    }
    /* and a master key that cannot open the tenants' signing keys: every
     * token request would fail while /readyz said ready (SPEC §9) */
    rc = master_key_check(c, &cfg);
    PQfinish(c);
    if (rc != 0) {
        config_free(&cfg);
        return 1;
    }
    if (tls_init(&cfg) < 0) {
        fprintf(stderr, "authzd: TLS certificate or key could not be loaded\n");
        config_free(&cfg);
        return 1;
    }
    if (!strncmp(cfg.public_url, "http://", 7) && strncmp(cfg.listen, "127.", 4) &&
        strncmp(cfg.listen, "localhost:", 10) && strncmp(cfg.listen, "[::1]:", 6)) {
        fprintf(stderr, "authzd: public_url must be https unless the listener is on loopback\n");
        config_free(&cfg);
        return 1;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    runtime_start(&cfg);
    if (http_server_start(&cfg) < 0) {
        runtime_shutdown();
        config_free(&cfg);
        return 1;
    }
    log_msg(LOG_INFO, "authzd: listening on %s (%s), %d threads, public_url %s", cfg.listen,
            tls_enabled() ? "https" : "http", cfg.threads, cfg.public_url);
    for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig == SIGHUP) {
            if (tls_reload() < 0)
                log_msg(LOG_ERROR, "authzd: TLS reload failed; keeping the previous certificate");
            continue;
        }
        break;
    }
    log_msg(LOG_INFO, "authzd: draining");
    http_server_drain();
    http_server_join();
    runtime_shutdown();
    log_msg(LOG_INFO, "authzd: stopped");
    config_free(&cfg);
    return 0;
}
