/*
 * log.c: JSON log lines on stderr, written with a single write(2) each so
 * lines from different threads never interleave.
 */
#include "log.h"
#include "config.h"
#include "http/http.h"
#include "util/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void put_time(struct strbuf *sb)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    sb_printf(sb, "{\"ts\":\"%s.%03ldZ\"", buf, ts.tv_nsec / 1000000);
}

static void emit(struct strbuf *sb)
{
    sb_puts(sb, "}\n");
    size_t off = 0;
    while (off < sb->len) {
        ssize_t n = write(2, sb->buf + off, sb->len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    sb_free(sb);
}

void log_msg(int level, const char *fmt, ...)
{
    if (level < log_level_num)
        return;
    static const char *names[] = {"debug", "info", "warn", "error"};
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct strbuf sb;
    sb_init(&sb);
    put_time(&sb);
    sb_printf(&sb, ",\"level\":\"%s\",\"msg\":", names[level & 3]);
    sb_json_str(&sb, msg);
    emit(&sb);
}

void log_request(const struct req *r, uint64_t dur_ns)
{
    if (log_level_num > LOG_INFO)
        return;
    struct strbuf sb;
    sb_init(&sb);
    put_time(&sb);
    sb_puts(&sb, ",\"level\":\"info\",\"msg\":\"request\",\"request_id\":");
    sb_json_str(&sb, r->request_id);
    sb_puts(&sb, ",\"method\":");
    sb_json_str(&sb, r->method_str ? r->method_str : "-");
    /* the path only: query strings can carry codes and states */
    sb_puts(&sb, ",\"path\":");
    sb_json_str(&sb, r->path ? r->path : "-");
    sb_printf(&sb, ",\"status\":%d,\"duration_ms\":%.3f", r->status, (double)dur_ns / 1e6);
    sb_puts(&sb, ",\"remote\":");
    sb_json_str(&sb, r->remote_ip ? r->remote_ip : "");
    if (r->route_name) {
        sb_puts(&sb, ",\"route\":");
        sb_json_str(&sb, r->route_name);
    }
    if (r->log_tenant) {
        sb_puts(&sb, ",\"tenant\":");
        sb_json_str(&sb, r->log_tenant);
    }
    if (r->log_client) {
        sb_puts(&sb, ",\"client_id\":");
        sb_json_str(&sb, r->log_client);
    }
    /* the error code of a 4xx/5xx answer (e.g. invalid_grant), never its
     * description, which can quote what the client sent */
    if (r->status >= 400 && r->log_error) {
        sb_puts(&sb, ",\"error\":");
        sb_json_str(&sb, r->log_error);
    }
    emit(&sb);
}
