/*
 * log.h: authzd's logging. Every line on stderr is one JSON object: the
 * access log (one line per request, with its request id) and operational
 * messages. Never pass a secret, token or password to these functions.
 */
#ifndef AUTHZ_LOG_H
#define AUTHZ_LOG_H

#include <stdint.h>

enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

#include <stdbool.h>

struct strbuf;
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether lines of this level are written. */
bool log_enabled(int level);
/* Writes one line: the time, then `fields` (JSON object members, without
 * braces, already escaped; consumed). The access log line is built this
 * way by the http layer (http/access_log.c). */
void log_fields(struct strbuf *fields);

#endif
