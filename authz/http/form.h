/*
 * form.h: strict application/x-www-form-urlencoded bodies (RFC 6749 §3.2,
 * Appendix B). A '%' not followed by two hex digits, invalid UTF-8 after
 * decoding, a NUL byte, or a parameter sent twice (RFC 6749 §3.1: "MUST NOT
 * be included more than once") makes the whole body invalid. Parameters that
 * may repeat (RFC 8707 resource, RFC 8693 audience) are collected as lists.
 */
#ifndef AUTHZ_FORM_H
#define AUTHZ_FORM_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

struct form_param {
    const char *name;
    const char *value;
};

struct form {
    struct form_param *params;
    int n;
};

/* Parses body into f (memory from a). Returns 0, or -1 with *why set to a
 * message fit for error_description. Parameters with an empty value are
 * treated as absent (RFC 6749 §3.1). */
int form_parse(struct arena *a, const char *body, size_t len, struct form *f, const char **why);
/* true when name was sent at all, even with an empty value */
bool form_present(const struct form *f, const char *name);
/* The value of name, or NULL. */
const char *form_get(const struct form *f, const char *name);
/* Every value of a repeatable parameter; returns the count, *out in arena. */
int form_get_all(struct arena *a, const struct form *f, const char *name, const char ***out);
/* Decodes one urlencoded component (also used for Basic credentials, RFC 6749
 * §2.3.1). Returns a NUL-terminated string in the arena or NULL if invalid. */
char *form_decode(struct arena *a, const char *s, size_t len);
/* Splits a path at '/' (empty parts skipped), each part decoded as
 * form_decode does but with '+' kept literal (RFC 3986 paths): the number
 * of parts into seg, or -1 when there are more than max, a part is longer
 * than max_len bytes (0: no limit) or does not decode. */
int path_segments(struct arena *a, const char *path, char **seg, int max, size_t max_len);

#endif
