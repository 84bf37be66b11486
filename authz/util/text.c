/*
 * text.c: printable text (see text.h). UTF-8 validity and counting are
 * arena.c's utf8_valid and utf8_chars, shared with the JSON writer.
 */
#include "util/text.h"
#include "util/arena.h"

#include <string.h>

bool text_printable(const char *s, size_t max_bytes)
{
    if (!s)
        return false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
        if (*p < 0x20 || *p == 0x7f || n >= max_bytes)
            return false;
    return utf8_valid(s, n);
}

bool text_uuid(const char *s, bool lower_only)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (!lower_only && c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

bool text_printable_chars(const char *s, size_t max_chars)
{
    if (!s || !*s || !text_printable(s, strlen(s)))
        return false;
    return utf8_chars(s) <= max_chars;
}

bool json_array_has_string(const json_t *arr, const char *s)
{
    if (!s || !json_is_array(arr))
        return false;
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e) && !strcmp(json_string_value(e), s))
            return true;
    }
    return false;
}
