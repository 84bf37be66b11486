/*
 * arena.h: per-request memory (PostgreSQL memory-context style).
 *
 * Every request owns one arena; handlers allocate from it freely and never
 * call free(). The arena is released in one go when the answer has been sent,
 * which is what keeps error paths leak-free. Also: a growable string buffer
 * (strbuf) that lives on the heap, and JSON string escaping.
 */
#ifndef AUTHZ_ARENA_H
#define AUTHZ_ARENA_H

#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);          /* zeroed, 16-byte aligned */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_sprintf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs fn(p) when the arena is freed (last registered first): clean-up
 * owned by the request's memory (PostgreSQL's reset callbacks), e.g. a
 * jansson reference. Nothing happens for a NULL p. */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);

/* Heap string buffer; always NUL-terminated. */
struct strbuf {
    char *buf;
    size_t len, cap;
};
void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_reserve(struct strbuf *sb, size_t extra);
void sb_append(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void sb_json_str(struct strbuf *sb, const char *s);
/* Takes the buffer out of sb (caller frees) and resets sb. */
char *sb_steal(struct strbuf *sb, size_t *len);

/* true when s (n bytes) is well-formed UTF-8 with no NUL byte. */
bool utf8_valid(const char *s, size_t n);
/* The number of characters (code points) of well-formed UTF-8 s, as
 * PostgreSQL's length() and JSON Schema's maxLength count them. */
size_t utf8_chars(const char *s);

#endif
