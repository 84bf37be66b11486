/*
 * form.c: the urlencoded body parser. One pass splits on '&' and '=', one
 * decoder handles '+' and %XX, and a final check refuses repeated names
 * except for the parameters that the RFCs allow to repeat.
 */
#include "http/form.h"
#include "util/arena.h"

#include <string.h>

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

char *form_decode(struct arena *a, const char *s, size_t len)
{
    char *out = arena_alloc(a, len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= len)
                return NULL;
            int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
            if (h < 0 || l < 0)
                return NULL;
            out[o++] = (char)(h << 4 | l);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    if (!utf8_valid(out, o))
        return NULL;
    return out;
}

static int repeatable(const char *name)
{
    return strcmp(name, "resource") == 0 || strcmp(name, "audience") == 0;
}

int form_parse(struct arena *a, const char *body, size_t len, struct form *f, const char **why)
{
    f->n = 0;
    int cap = 0;
    for (size_t i = 0; i < len; i++)
        if (body[i] == '&')
            cap++;
    cap += 1;
    if (cap > 256) {
        *why = "too many parameters";
        return -1;
    }
    f->params = arena_alloc(a, sizeof(struct form_param) * (size_t)cap);
    size_t pos = 0;
    while (pos < len) {
        const char *seg = body + pos;
        const char *amp = memchr(seg, '&', len - pos);
        size_t sl = amp ? (size_t)(amp - seg) : len - pos;
        pos += sl + 1;
        if (sl == 0)
            continue;
        const char *eq = memchr(seg, '=', sl);
        size_t nl = eq ? (size_t)(eq - seg) : sl;
        char *name = form_decode(a, seg, nl);
        char *value = eq ? form_decode(a, eq + 1, sl - nl - 1) : arena_strdup(a, "");
        if (!name || !value) {
            *why = "malformed form encoding (bad percent-escape or invalid UTF-8)";
            return -1;
        }
        if (name[0] == '\0') {
            *why = "malformed form encoding (empty parameter name)";
            return -1;
        }
        for (int k = 0; k < f->n; k++)
            if (strcmp(f->params[k].name, name) == 0 && !repeatable(name)) {
                *why = "a parameter was sent more than once";
                return -1;
            }
        f->params[f->n].name = name;
        f->params[f->n].value = value;
        f->n++;
    }
    return 0;
}

const char *form_get(const struct form *f, const char *name)
{
    /* RFC 6749 §3.1: parameters sent without a value are treated as omitted */
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->params[i].name, name) == 0)
            return f->params[i].value[0] ? f->params[i].value : NULL;
    return NULL;
}

int form_get_all(struct arena *a, const struct form *f, const char *name, const char ***out)
{
    int n = 0;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->params[i].name, name) == 0 && f->params[i].value[0])
            n++;
    const char **v = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
    int k = 0;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->params[i].name, name) == 0 && f->params[i].value[0])
            v[k++] = f->params[i].value;
    *out = v;
    return n;
}

bool form_present(const struct form *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->params[i].name, name) == 0)
            return true;
    return false;
}

int path_segments(struct arena *a, const char *path, char **seg, int max, size_t max_len)
{
    int n = 0;
    const char *p = path;
    while (*p) {
        if (*p == '/') {
            p++;
            continue;
        }
        size_t l = strcspn(p, "/");
        if (n == max || (max_len && l > max_len))
            return -1;
        seg[n] = form_decode(a, p, l);
        if (!seg[n] || !*seg[n])
            return -1;
        /* '+' is literal in paths */
        for (size_t i = 0, k = 0; i < l; i++, k++)
            if (p[i] == '+')
                seg[n][k] = '+';
            else if (p[i] == '%')
                i += 2;
        n++;
        p += l;
    }
    return n;
}
