/*
 * log.h: authzd's logging. Every line on stderr is one JSON object: the
 * access log (one line per request, with its request id) and operational
 * messages. Never pass a secret, token or password to these functions.
 */
#ifndef AUTHZ_LOG_H
#define AUTHZ_LOG_H

#include <stdint.h>

enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

struct req;
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_request(const struct req *r, uint64_t dur_ns);

#endif
