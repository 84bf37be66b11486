/*
 * tls.c: the server's TLS context. The current SSL_CTX is swapped atomically
 * under a mutex on reload; connections keep the context they started with
 * (SSL objects hold a reference), so a reload drops nothing.
 */
#include "http/tls.h"
#include "config.h"
#include "log.h"

#include <openssl/err.h>
#include <pthread.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *current;
static char *cert_path, *key_path;

static SSL_CTX *make_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                 "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                 "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        char buf[256];
        ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
        log_msg(LOG_ERROR, "tls: cannot load %s / %s: %s", cert_path, key_path, buf);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int tls_init(const struct config *cfg)
{
    if (!cfg->tls_cert[0])
        return 0;
    cert_path = strdup(cfg->tls_cert);
    key_path = strdup(cfg->tls_key);
    current = make_ctx();
    return current ? 0 : -1;
}

int tls_reload(void)
{
    if (!cert_path)
        return 0;
    SSL_CTX *ctx = make_ctx();
    if (!ctx)
        return -1;
    pthread_mutex_lock(&mu);
    SSL_CTX *old = current;
    current = ctx;
    pthread_mutex_unlock(&mu);
    SSL_CTX_free(old);
    log_msg(LOG_INFO, "tls: certificate and key reloaded");
    return 0;
}

SSL *tls_new_ssl(void)
{
    if (!cert_path)
        return NULL;
    pthread_mutex_lock(&mu);
    SSL *ssl = SSL_new(current);
    pthread_mutex_unlock(&mu);
    return ssl;
}

int tls_enabled(void)
{
    return cert_path != NULL;
}
