/*
 * client.h: a small blocking HTTP/1.1 client for worker threads (outbox
 * deliveries: CIBA pings and approval webhooks). https is verified against
 * the system CA store and the host name; plain http is allowed only to a
 * loopback host. Explicit timeouts and a response size limit.
 */
#ifndef AUTHZ_HTTP_CLIENT_H
#define AUTHZ_HTTP_CLIENT_H

#include <stddef.h>

struct http_response {
    int status;
    char *body;       /* malloc'd, NUL-terminated */
    size_t len;
};

/* true for https URLs and for http URLs whose host is 127.0.0.1, [::1] or
 * localhost. */
int http_url_allowed(const char *url);

/* Sends one request; extra_headers are full "Name: value" lines (NULL
 * terminated). 0 with resp filled (caller frees resp->body), or -1 with a
 * reason in err. */
int http_request(const char *method, const char *url, const char *const *extra_headers,
                 const char *body, size_t bodylen, int timeout_secs, size_t max_response,
                 struct http_response *resp, char *err, size_t errlen);

#endif
