/*
 * outbox.h: the outbox delivery thread (authz/notify/outbox.c).
 */
#ifndef AUTHZ_NOTIFY_OUTBOX_H
#define AUTHZ_NOTIFY_OUTBOX_H

struct config;

void outbox_start(const struct config *cfg);
void outbox_shutdown(void);
/* Wakes the delivery thread (NOTIFY authz_outbox). */
void outbox_wake(void);

#endif
