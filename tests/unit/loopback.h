/*
 * loopback.h: a small HTTP server on 127.0.0.1 for the unit tests that
 * fetch (test_cimd, test_trust): each connection is handed to the test's
 * own handler, on a thread of its own.
 */
#ifndef AUTHZ_TEST_LOOPBACK_H
#define AUTHZ_TEST_LOOPBACK_H

#include <stddef.h>

/* Listens on a free loopback port; conn gets each accepted socket as
 * (void *)(intptr_t)fd and closes it. The port, or -1. */
int loopback_start(void *(*conn)(void *));
/* Stops accepting and waits for the accepting thread. */
void loopback_stop(void);
/* Sends all n bytes of p (or as many as the peer takes). */
void loopback_send_all(int fd, const char *p, size_t n);

#endif
