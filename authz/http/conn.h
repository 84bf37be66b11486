/*
 * conn.h: what the loops (server.c) and the connections (conn.c) share.
 * Internal to the transport: handlers see struct req and http.h only.
 *
 * A loop is one worker thread with its event_base and its SO_REUSEPORT
 * listener; it owns the connections it accepted, and takes finished
 * requests back from other threads through its done queue.
 */
#ifndef AUTHZ_HTTP_CONN_H
#define AUTHZ_HTTP_CONN_H

#include <pthread.h>
#include <stdbool.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "http/http.h"

struct loop {
    int idx;
    struct event_base *base;
    struct evconnlistener *listener;
    pthread_t thread;
    pthread_mutex_t mu;
    struct req *done_head, *done_tail;
    struct event *done_ev;
    struct event *drain_ev;
    bool draining;
    int nconns;
    struct conn *conns;   /* every open connection of this loop */
};

/* ---- conn.c ---- */
/* The limits and timeouts connections use (before the first accept). */
void conn_configure(const struct config *cfg);
/* The listener's callback: a new connection on loop arg. */
void conn_accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen,
                    void *arg);
/* Draining: closes the loop's connections that wait for a request and
 * have received nothing of one. */
void conn_close_idle(struct loop *l);
/* Releases what the handler held and sends the answer (loop thread). */
void http_finish_on_loop(struct req *r);
/* Open connections, all loops. */
int http_active_connections(void);

/* ---- server.c ---- */
/* Ends the loop once it is draining and has no connection left. */
void loop_maybe_exit(struct loop *l);
/* Waits for every loop to end (after http_server_drain). */
void http_server_join(void);

#endif
