/*
 * pages.c: rendering the HTML pages. Templates are plain HTML files with
 * {{name}} placeholders (HTML-escaped values) and {{&name}} placeholders
 * (fragments the handlers built with web_escape), read once from disk: the
 * source tree's authz/web/templates when authzd runs from it, else the
 * installed $(datadir)/authz/templates. No JavaScript anywhere: the pages
 * are forms, and the Content-Security-Policy forbids scripts outright.
 */
#include "web/web.h"
#include "cache.h"
#include "config.h"
#include "log.h"
#include "storage/db.h"
#include "util/arena.h"
#include "policy/details.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef AUTHZ_DATADIR
#define AUTHZ_DATADIR "/usr/local/share"
#endif

#define TEMPLATE_MAX_BYTES (64 * 1024)

struct template {
    const char *name;
    char *text;      /* NULL when it could not be read */
};

static struct template templates[] = {
    {"login", NULL},
    {"consent", NULL},
    {"message", NULL},
    {"approvals", NULL},
    {"approval", NULL},
    {"console", NULL},
};
static pthread_once_t templates_once = PTHREAD_ONCE_INIT;

static const char *template_dir(void)
{
    static char dir[4096];
    const char *src = config_source_dir();
    if (src) {
        snprintf(dir, sizeof dir, "%s/authz/web/templates", src);
        if (access(dir, R_OK | X_OK) == 0)
            return dir;
    }
    snprintf(dir, sizeof dir, "%s/authz/templates", AUTHZ_DATADIR);
    return dir;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(TEMPLATE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, TEMPLATE_MAX_BYTES + 1, f) : 0;
    bool ok = buf && !ferror(f) && n <= TEMPLATE_MAX_BYTES;
    fclose(f);
    if (!ok) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static void templates_load(void)
{
    const char *dir = template_dir();
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.html", dir, templates[i].name);
        templates[i].text = read_file(path);
        if (!templates[i].text)
            log_msg(LOG_ERROR, "cannot read the page template %s", path);
    }
}

static const char *template_text(const char *name)
{
    pthread_once(&templates_once, templates_load);
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        if (strcmp(templates[i].name, name) == 0)
            return templates[i].text;
    return NULL;
}

void web_escape_into(struct strbuf *sb, const char *s)
{
    if (!s)
        return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *e;
        switch (*p) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default: continue;
        }
        sb_append(sb, run, (size_t)(p - run));
        sb_puts(sb, e);
        run = p + 1;
    }
    sb_puts(sb, run);
}

char *web_escape(struct arena *a, const char *s)
{
    struct strbuf sb;
    sb_init(&sb);
    web_escape_into(&sb, s);
    char *out = arena_strdup(a, sb.buf ? sb.buf : "");
    sb_free(&sb);
    return out;
}

void web_hidden_input(struct strbuf *sb, const char *name, const char *value)
{
    sb_puts(sb, "<input type=\"hidden\" name=\"");
    web_escape_into(sb, name);
    sb_puts(sb, "\" value=\"");
    web_escape_into(sb, value);
    sb_puts(sb, "\">\n");
}

void web_headers(struct req *r)
{
    /* no form-action: Chromium applies it to the redirect that follows a
     * form submission, which would block the return to the client */
    resp_header(r, "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                "frame-ancestors 'none'; base-uri 'none'");
    resp_header(r, "X-Frame-Options", "DENY");
    resp_header(r, "Cache-Control", "no-store");
    resp_header(r, "Pragma", "no-cache");
    resp_header(r, "Referrer-Policy", "no-referrer");
    resp_header(r, "X-Content-Type-Options", "nosniff");
}

static const char *var_value(const struct page_var *vars, int nvars, const char *name, size_t len)
{
    for (int i = 0; i < nvars; i++)
        if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0)
            return vars[i].value;
    return NULL;
}

void web_page(struct req *r, int status, const char *name, const struct page_var *vars, int nvars)
{
    const char *t = template_text(name);
    if (!t) {
        resp_error(r, 500, "server_error", "this page cannot be shown: its template is missing");
        web_headers(r);
        return;
    }
    struct strbuf sb;
    sb_init(&sb);
    const char *p = t;
    for (;;) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!close) {
            sb_puts(&sb, p);
            break;
        }
        sb_append(&sb, p, (size_t)(open - p));
        const char *n = open + 2;
        bool raw = *n == '&';
        if (raw)
            n++;
        const char *v = var_value(vars, nvars, n, (size_t)(close - n));
        if (raw)
            sb_puts(&sb, v ? v : "");
        else
            web_escape_into(&sb, v);
        p = close + 2;
    }
    size_t len;
    char *body = sb_steal(&sb, &len);
    resp_set(r, status, "text/html; charset=utf-8", body, len);
    web_headers(r);
}

void web_message(struct req *r, int status, const char *title, const char *message)
{
    const struct page_var v[] = {
        {"title", title},
        {"message", message},
        {"tenant", r->tenant ? r->tenant->display_name : "authz"},
    };
    web_page(r, status, "message", v, 3);
}

void web_storage_failed(struct req *r)
{
    db_rollback(&r->tx);
    resp_reset(r);
    if (!r->tx.down)
        web_message(r, 500, "Something went wrong",
                    "This could not be completed. Please try again.");
}

void web_redirect(struct req *r, const char *location)
{
    resp_set(r, 303, NULL, NULL, 0);
    resp_header(r, "Location", location);
    web_headers(r);
}

bool web_is_form(const struct req *r)
{
    const char *ct = req_header(r, "content-type");
    if (!ct)
        return false;
    static const char want[] = "application/x-www-form-urlencoded";
    size_t l = sizeof want - 1;
    if (strncasecmp(ct, want, l) != 0)
        return false;
    return ct[l] == '\0' || ct[l] == ';' || ct[l] == ' ';
}

const char *web_details_html(struct req *r, const struct details *d)
{
    if (!d || d->n == 0)
        return "";
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "<h2>Task: tools you approve</h2>\n<ul id=\"details\">\n");
    for (int i = 0; i < d->n; i++) {
        sb_puts(&sb, "<li class=\"detail\">On <code class=\"location\">");
        web_escape_into(&sb, d->v[i].location);
        sb_puts(&sb, "</code>:<ul>\n");
        for (int k = 0; k < d->v[i].tools.n; k++) {
            sb_puts(&sb, "<li class=\"tool\"><code>");
            web_escape_into(&sb, d->v[i].tools.v[k]);
            sb_puts(&sb, "</code></li>\n");
        }
        sb_puts(&sb, "</ul></li>\n");
    }
    sb_puts(&sb, "</ul>\n");
    const char *out = arena_strdup(r->arena, sb.buf);
    sb_free(&sb);
    return out;
}
