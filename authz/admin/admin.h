/*
 * admin.h: the tenant admin API and the metadata checks it shares with
 * dynamic client registration.
 */
#ifndef AUTHZ_ADMIN_H
#define AUTHZ_ADMIN_H

#include <stdbool.h>

/* RFC 8252 / RFC 9700: https, or http on a loopback host; no fragment. */
bool redirect_uri_valid(const char *uri);

#endif
