/*
 * tls.h: native TLS (OpenSSL 3 through libevent's bufferevent_openssl) when
 * tls_cert and tls_key are configured: TLS 1.2 and 1.3 only, modern ciphers,
 * certificate and key reloaded on SIGHUP without dropping connections.
 */
#ifndef AUTHZ_TLS_H
#define AUTHZ_TLS_H

#include <openssl/ssl.h>

struct config;
/* Loads the certificate and key; 0 when TLS is off or loaded, -1 on error. */
int tls_init(const struct config *cfg);
/* Re-reads certificate and key; new connections use them. 0 or -1. */
int tls_reload(void);
/* A new server SSL for an accepted connection, or NULL when TLS is off. */
SSL *tls_new_ssl(void);
int tls_enabled(void);

#endif
