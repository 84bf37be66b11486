/*
 * log.c: JSON log lines on stderr, written with a single write(2) each so
 * lines from different threads never interleave.
 */
#include "log.h"
#include "config.h"
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

bool log_enabled(int level)
{
    return level >= log_level_num;
}

void log_fields(struct strbuf *fields)
{
    struct strbuf sb;
    sb_init(&sb);
    put_time(&sb);
    sb_putc(&sb, ',');
    sb_append(&sb, fields->buf ? fields->buf : "", fields->len);
    sb_free(fields);
    emit(&sb);
}
