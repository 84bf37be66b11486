/*
 * server.c: the HTTP/1.1 server's threads. Worker threads each run one
 * event_base with their own SO_REUSEPORT listener (binding, and refusing an
 * address another process serves, SPEC §9), take finished requests back
 * from database workers and the committer (http_complete, the done queue),
 * and drain on shutdown. What happens on a connection is conn.c's; the head
 * parser is parse.c; answers and the error mapper are response.c.
 */
#include "http/conn.h"
#include "http/http.h"
#include "config.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

static struct loop *g_loops;
static int g_nloops;

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void loop_maybe_exit(struct loop *l)
{
    if (l->draining && l->nconns == 0)
        event_base_loopexit(l->base, NULL);
}

void http_complete(struct req *r)
{
    struct loop *l = r->loop;
    pthread_mutex_lock(&l->mu);
    r->next = NULL;
    if (l->done_tail)
        l->done_tail->next = r;
    else
        l->done_head = r;
    l->done_tail = r;
    pthread_mutex_unlock(&l->mu);
    event_active(l->done_ev, EV_READ, 0);
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *l = arg;
    pthread_mutex_lock(&l->mu);
    struct req *r = l->done_head;
    l->done_head = l->done_tail = NULL;
    pthread_mutex_unlock(&l->mu);
    while (r) {
        struct req *n = r->next;
        /* an answer that waited for its group commit is built here, on the
         * request's own loop (router.c's job_done) */
        void (*after)(struct req *) = r->after_commit;
        r->after_commit = NULL;
        if (after && !r->tx.down)
            after(r);
        http_finish_on_loop(r);
        r = n;
    }
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *l = arg;
    l->draining = true;
    if (l->listener)
        evconnlistener_disable(l->listener);
    /* idle keep-alive connections are closed now; busy ones close after
     * their answer is written (conn_send clears keepalive while draining) */
    conn_close_idle(l);
    loop_maybe_exit(l);
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    sigset_t set;
    sigfillset(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *sslen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535)
        return -1;
    memset(ss, 0, sizeof *ss);
    char *h = host;
    if (h[0] == '[') {
        h++;
        h[strlen(h) - 1] = '\0';
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *sslen = sizeof *in4;
    } else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof *in6;
    } else if (strcmp(h, "localhost") == 0) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *sslen = sizeof *in4;
    } else {
        return -1;
    }
    return 0;
}

static void libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN)
        log_msg(LOG_WARN, "libevent: %s", msg);
}

/* SPEC §9: "authzd refuses to start on an address that another process
 * already serves ... with a message saying so". The loops' listeners share
 * their port through SO_REUSEPORT, which Linux grants just as readily to
 * another process of the same user: a second authzd would silently take a
 * share of the connections. So before the listeners are bound:
 *  - an abstract unix socket named after the address, held for the life of
 *    the process, admits one authzd per address even when two start at the
 *    same moment;
 *  - a probe bound without SO_REUSEPORT fails with EADDRINUSE when any
 *    process listens there (whatever its options). */
static int g_addr_lock = -1;

static int listen_address_free(const struct sockaddr *sa, socklen_t salen, const char *listen,
                               char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
        port = ntohs(in4->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    int nl = snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "authzd-listen [%s]:%d", host, port);
    int lk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lk < 0 || bind(lk, (struct sockaddr *)&un,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)nl)) < 0) {
        int e = errno;
        if (lk >= 0)
            close(lk);
        if (e == EADDRINUSE)
            snprintf(err, errlen,
                     "cannot listen on %s: the address is in use: another authzd already serves it",
                     listen);
        else
            snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(e));
        return -1;
    }
    int probe = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (probe < 0 || setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(probe, sa, salen) < 0) {
        int e = errno;
        if (probe >= 0)
            close(probe);
        close(lk);
        if (e == EADDRINUSE)
            snprintf(err, errlen,
                     "cannot listen on %s: the address is already in use by another process", listen);
        else
            snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(e));
        return -1;
    }
    close(probe);
    g_addr_lock = lk;
    return 0;
}

int http_server_bind(const struct config *cfg, char *err, size_t errlen)
{
    if (g_loops)
        return 0;
    conn_configure(cfg);
    evthread_use_pthreads();
    event_set_log_callback(libevent_log);
    struct sockaddr_storage ss;
    int sslen;
    if (parse_listen(cfg->listen, &ss, &sslen) < 0) {
        snprintf(err, errlen, "listen = %s: expected host:port with a numeric address", cfg->listen);
        return -1;
    }
    if (listen_address_free((struct sockaddr *)&ss, (socklen_t)sslen, cfg->listen, err, errlen) < 0)
        return -1;
    g_nloops = cfg->threads;
    g_loops = calloc((size_t)g_nloops, sizeof(struct loop));
    if (!g_loops) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < g_nloops; i++) {
        struct loop *l = &g_loops[i];
        l->idx = i;
        pthread_mutex_init(&l->mu, NULL);
        l->base = event_base_new();
        if (!l->base) {
            snprintf(err, errlen, "cannot create an event loop");
            return -1;
        }
        /* woken with event_active from other threads, never by an fd */
        l->done_ev = event_new(l->base, -1, 0, done_cb, l);
        l->drain_ev = event_new(l->base, -1, 0, drain_cb, l);
        /* the loops of this process share the port (the kernel spreads the
         * connections among them); no other process can (see above) */
        l->listener = evconnlistener_new_bind(
            l->base, conn_accept_cb, l,
            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT, 1024,
            (struct sockaddr *)&ss, sslen);
        if (!l->listener) {
            snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int http_server_start(const struct config *cfg)
{
    char err[512];
    if (http_server_bind(cfg, err, sizeof err) < 0) {
        log_msg(LOG_ERROR, "%s", err);
        return -1;
    }
    for (int i = 0; i < g_nloops; i++)
        pthread_create(&g_loops[i].thread, NULL, loop_main, &g_loops[i]);
    return 0;
}

void http_server_drain(void)
{
    for (int i = 0; i < g_nloops; i++)
        event_active(g_loops[i].drain_ev, EV_READ, 0);
}

void http_server_join(void)
{
    for (int i = 0; i < g_nloops; i++)
        pthread_join(g_loops[i].thread, NULL);
}
