/*
 * request.c: reading a parsed request: its header fields, query parameters
 * and cookies. The head itself is parsed by parse.c; these helpers serve
 * the handlers, which see only struct req. Decoded values live in the
 * request's arena.
 */
#include "http/http.h"

#include <string.h>

const char *req_header(const struct req *r, const char *lname)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, lname) == 0)
            return r->headers[i].value;
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *req_query_param(struct req *r, const char *name)
{
    if (!r->query)
        return NULL;
    size_t nl = strlen(name);
    const char *p = r->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = seg - nl - 1;
            char *out = arena_alloc(r->arena, vl + 1);
            size_t o = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] == '+')
                    out[o++] = ' ';
                else if (v[i] == '%') {
                    if (i + 2 >= vl)
                        return NULL;
                    int h = hexval(v[i + 1]), l = hexval(v[i + 2]);
                    if (h < 0 || l < 0)
                        return NULL;
                    out[o++] = (char)(h * 16 + l);
                    i += 2;
                } else
                    out[o++] = v[i];
            }
            out[o] = '\0';
            if (!utf8_valid(out, o))
                return NULL;
            return out;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return NULL;
}

bool req_query_has(const struct req *r, const char *name)
{
    if (!r->query)
        return false;
    size_t nl = strlen(name);
    for (const char *p = r->query; p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, nl) == 0 && (p[nl] == '=' || p[nl] == '&' || p[nl] == '\0'))
            return true;
    return false;
}

const char *req_cookie(struct req *r, const char *name)
{
    const char *c = req_header(r, "cookie");
    if (!c)
        return NULL;
    size_t nl = strlen(name);
    const char *p = c;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
            return arena_strndup(r->arena, p + nl + 1, seg - nl - 1);
        if (!end)
            break;
        p = end + 1;
    }
    return NULL;
}
