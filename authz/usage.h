/*
 * usage.h: when each client and each client secret was last used (SPEC §13
 * last_used_at), gathered in memory and written in batches: a successful
 * client authentication costs a lookup under a mutex, never a database
 * write. The LISTEN thread writes what has gathered every
 * AUTHZ_USAGE_FLUSH_SECONDS and at drain (authz/usage.c).
 */
#ifndef AUTHZ_USAGE_H
#define AUTHZ_USAGE_H

#include <libpq-fe.h>
#include <stdint.h>

/* The client (and the secret that authenticated it, or NULL) was used now. */
void usage_note(const char *client_id, const char *secret_id);
/* Writes every use gathered so far on c (blocking; the LISTEN thread's own
 * connection). What could not be written is gathered again. 0 or -1. */
int usage_flush(PGconn *c);
/* How many uses wait (tests, metrics). */
int usage_pending(void);

#endif
