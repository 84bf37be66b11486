/*
 * pgarray.h: PostgreSQL text[] literals, the one builder and the one parser.
 *
 * authz passes arrays to PostgreSQL as text parameters cast to text[] and
 * reads them back as `col::text`: the array_in / array_out text form of a
 * one-dimensional array (PostgreSQL manual, "8.15.6. Array Input and Output
 * Syntax"): '{' elements separated by ',' '}', an element either bare or in
 * double quotes with '"' and '\' backslash-escaped. The builder quotes every
 * element, so commas, braces, quotes, spaces and the word NULL inside an
 * element are never read as syntax; the parser takes both forms (array_out
 * writes bare elements when nothing needs quoting). Unit-tested in
 * tests/unit/test_pgarray.c.
 */
#ifndef AUTHZ_PGARRAY_H
#define AUTHZ_PGARRAY_H

struct arena;
struct strbuf;

/* Appends one element, quoted and escaped ("a\"b"). */
void pgarray_append_elem(struct strbuf *sb, const char *s);
/* Appends the literal of v[0..n): {"a","b"}; {} when n is 0. */
void pgarray_append(struct strbuf *sb, const char *const *v, int n);
/* The literal of v[0..n), in the arena. */
char *pgarray_build(struct arena *a, const char *const *v, int n);
/* The same, malloc'd (the caller frees). */
char *pgarray_build_heap(const char *const *v, int n);

/* Parses a literal into the arena: the number of elements, with *out an
 * array of them (NULL-terminated). 0 and *out NULL for NULL or anything
 * that does not start with '{'. */
int pgarray_parse(struct arena *a, const char *lit, const char ***out);
/* The same on the heap (for cached snapshots that outlive a request): each
 * element and the array malloc'd, the caller frees them. */
int pgarray_parse_heap(const char *lit, char ***out);

#endif
