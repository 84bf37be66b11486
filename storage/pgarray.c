/*
 * pgarray.c: PostgreSQL text[] literals (see pgarray.h).
 */
#include "storage/pgarray.h"
#include "util/arena.h"

#include <stdlib.h>
#include <string.h>

void pgarray_append_elem(struct strbuf *sb, const char *s)
{
    sb_putc(sb, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_putc(sb, '\\');
        sb_putc(sb, *p);
    }
    sb_putc(sb, '"');
}

void pgarray_append(struct strbuf *sb, const char *const *v, int n)
{
    sb_putc(sb, '{');
    for (int i = 0; i < n; i++) {
        if (i)
            sb_putc(sb, ',');
        pgarray_append_elem(sb, v[i]);
    }
    sb_putc(sb, '}');
}

char *pgarray_build(struct arena *a, const char *const *v, int n)
{
    struct strbuf sb;
    sb_init(&sb);
    pgarray_append(&sb, v, n);
    char *out = arena_strdup(a, sb.buf);
    sb_free(&sb);
    return out;
}

char *pgarray_build_heap(const char *const *v, int n)
{
    struct strbuf sb;
    sb_init(&sb);
    pgarray_append(&sb, v, n);
    return sb_steal(&sb, NULL);
}

/* An upper bound of the number of elements of lit (commas inside quoted
 * elements count too). */
static int elems_max(const char *lit)
{
    int n = 1;
    for (const char *p = lit; *p; p++)
        if (*p == ',')
            n++;
    return n;
}

/* Reads the element at p into sb (emptied first) and returns what follows
 * it and its ',', or NULL at the closing '}' or the end. */
static const char *next_elem(const char *p, struct strbuf *sb)
{
    if (!*p || *p == '}')
        return NULL;
    sb->len = 0;
    sb_append(sb, "", 0);
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            sb_putc(sb, *p++);
        }
        if (*p == '"')
            p++;
    } else {
        while (*p && *p != ',' && *p != '}')
            sb_putc(sb, *p++);
    }
    if (*p == ',')
        p++;
    return p;
}

int pgarray_parse(struct arena *a, const char *lit, const char ***out)
{
    *out = NULL;
    if (!lit || lit[0] != '{')
        return 0;
    const char **v = arena_alloc(a, sizeof(char *) * (size_t)(elems_max(lit) + 1));
    int n = 0;
    struct strbuf sb;
    sb_init(&sb);
    for (const char *p = next_elem(lit + 1, &sb); p; p = next_elem(p, &sb))
        v[n++] = arena_strdup(a, sb.buf);
    sb_free(&sb);
    *out = v;
    return n;
}

int pgarray_parse_heap(const char *lit, char ***out)
{
    *out = NULL;
    if (!lit || lit[0] != '{')
        return 0;
    char **v = calloc((size_t)elems_max(lit) + 1, sizeof(char *));
    int n = 0;
    struct strbuf sb;
    sb_init(&sb);
    for (const char *p = next_elem(lit + 1, &sb); p; p = next_elem(p, &sb))
        v[n++] = strdup(sb.buf);
    sb_free(&sb);
    *out = v;
    return n;
}
