/*
 * listener.c: LISTEN/NOTIFY. One connection per authzd listens on the
 * channels of the table below and calls each channel's handler with the
 * notification's payload; every authzd sharing the database so learns
 * within milliseconds what another one changed. On (re)connecting it
 * reloads what it may have missed; on losing the database it drops every
 * cache and has every kept connection replaced.
 */
#include "runtime/runtime.h"
#include "notify/outbox.h"
#include "storage/db.h"
#include "cache.h"
#include "revset.h"
#include "baseline.h"
#include "log.h"
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void wake_outbox(const char *payload)
{
    (void)payload;
    outbox_wake();
}

/* NOTIFY channel -> what it changes here */
static const struct channel {
    const char *name;
    void (*handler)(const char *payload);
} channels[] = {
    {"authz_cache", cache_invalidate_tenant},      /* tenants, clients, keys, people, resources */
    {"authz_revoke", revset_notify},               /* a new revocation */
    {"authz_consent", cache_invalidate_consents},  /* consents granted or withdrawn */
    {"authz_outbox", wake_outbox},                 /* a message to deliver */
    {"authz_baseline", baseline_invalidate},       /* an agent's drift baseline */
};

/* everything cached from the database, when notifications may be lost */
static void drop_caches(void)
{
    cache_invalidate_all();
    baseline_invalidate(NULL);
}

static pthread_t listener_thread;
static atomic_bool listener_stop;

static void dispatch(const char *channel, const char *payload)
{
    for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++)
        if (!strcmp(channels[i].name, channel)) {
            channels[i].handler(payload);
            return;
        }
}

/* A new listening connection, with what was missed reloaded; NULL when the
 * database cannot be reached. */
static PGconn *listen_connect(void)
{
    PGconn *conn = db_connect(runtime_config()->database_url, NULL, 0);
    if (!conn)
        return NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof channels / sizeof channels[0]; i++)
        ok = store_listen(conn, channels[i].name) == 0;
    /* revocations made while we were not listening */
    if (ok && revset_reload(conn) < 0)
        ok = false;
    if (!ok) {
        PQfinish(conn);
        return NULL;
    }
    /* notifications may have been missed while we were away */
    drop_caches();
    return conn;
}

static void lost(PGconn **conn)
{
    PQfinish(*conn);
    *conn = NULL;
    /* the pool's connections went with it (a restart, a failover): each is
     * replaced at its next use instead of failing it */
    conn_lost_all();
    drop_caches();
}

static void *listener_main(void *arg)
{
    (void)arg;
    runtime_block_signals();
    PGconn *conn = NULL;
    time_t last_prune = time(NULL);
    while (!atomic_load(&listener_stop)) {
        if (!conn && !(conn = listen_connect())) {
            drop_caches();
            sleep(1);
            continue;
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        int pr = poll(&pfd, 1, 250);
        if ((pr < 0 && errno != EINTR) || (pr > 0 && !PQconsumeInput(conn))) {
            log_msg(LOG_WARN, "listener lost the database; reconnecting");
            lost(&conn);
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(conn)) != NULL) {
            dispatch(n->relname, n->extra);
            PQfreemem(n);
        }
        time_t now = time(NULL);
        if (now - last_prune >= 60) {
            revset_prune((int64_t)now);
            last_prune = now;
        }
        if (PQstatus(conn) != CONNECTION_OK)
            lost(&conn);
    }
    PQfinish(conn);
    return NULL;
}

int listener_start(void);
int listener_start(void)
{
    return pthread_create(&listener_thread, NULL, listener_main, NULL) == 0 ? 0 : -1;
}

void listener_shutdown(void);
void listener_shutdown(void)
{
    atomic_store(&listener_stop, true);
    pthread_join(listener_thread, NULL);
}
