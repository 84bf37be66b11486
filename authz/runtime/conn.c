/*
 * conn.c: connections of the runtime's threads, made, checked and replaced
 * in one place. A connection the server closed while it sat idle (a
 * restart, a terminated backend) is found before it is used, and every kept
 * connection is replaced once the listener has seen the database go.
 */
#include "runtime/runtime.h"
#include "storage/db.h"
#include "config.h"

#include <poll.h>
#include <stdatomic.h>

/* Bumped when the listener loses the database: every connection made
 * before is replaced at its next use. */
static atomic_uint generation;

void conn_lost_all(void)
{
    atomic_fetch_add(&generation, 1);
}

/* Whether c still has its server. One the server closed while it sat idle
 * has the server's goodbye (an error and the end of the stream) waiting on
 * its socket: reading it marks c bad. A poll that does not wait, no round
 * trip: a healthy idle connection has nothing to read. */
static bool conn_alive(PGconn *c)
{
    if (!c || PQstatus(c) != CONNECTION_OK)
        return false;
    struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
    if (poll(&pfd, 1, 0) > 0 && (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK))
        return false;
    return true;
}

PGconn *conn_ensure(PGconn *c, const char *app, unsigned *gen, bool *fresh, char *err,
                    size_t errlen)
{
    unsigned g = atomic_load(&generation);
    *fresh = false;
    if (c && (*gen != g || !conn_alive(c))) {
        PQfinish(c);
        c = NULL;
    }
    if (!c) {
        c = db_connect_as(runtime_config()->database_url, app, err, errlen);
        *gen = g;
        *fresh = c != NULL;
    }
    return c;
}
