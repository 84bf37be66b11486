/*
 * text.h: the one check of text that people and clients give authz and that
 * it shows back (consent and approval pages, the admin API, audit details,
 * logs): well-formed UTF-8 (RFC 3629) without control characters (C0 and
 * DEL: a newline or an escape sequence in a log line or a page is never
 * wanted). Unit-tested in tests/unit/test_text.c.
 */
#ifndef AUTHZ_TEXT_H
#define AUTHZ_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* s is well-formed UTF-8 without control characters and holds at most
 * max_bytes bytes; "" passes (callers that need text say so). */
bool text_printable(const char *s, size_t max_bytes);
/* s is text_printable and holds 1 to max_chars characters (code points, as
 * PostgreSQL's length() and JSON Schema's maxLength count them). */
bool text_printable_chars(const char *s, size_t max_chars);
/* A uuid as text: 8-4-4-4-12 hex digits, nothing else; in lower case only
 * when lower_only (as PostgreSQL prints it), else in either case. */
bool text_uuid(const char *s, bool lower_only);

/* arr is a JSON array with the string s among its entries (false for
 * anything that is not an array, and for s NULL). */
bool json_array_has_string(const json_t *arr, const char *s);

#endif
