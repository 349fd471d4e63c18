/*
 * csg_json_escape.c — see csg_json_escape.h.
 */
#include "csg_json_escape.h"

#include <string.h>

#include "csg_utf8.h"

static void put(char *buf, size_t cap, size_t *pos, char c)
{
    if (*pos + 1 < cap)
        buf[*pos] = c;
    (*pos)++;
}

static void put_str(const char *s, char *buf, size_t cap, size_t *pos)
{
    while (*s)
        put(buf, cap, pos, *s++);
}

void csg_json_escape(const char *s, size_t len, char *buf, size_t cap, size_t *pos)
{
    static const char hex[] = "0123456789abcdef";
    put(buf, cap, pos, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            put(buf, cap, pos, '\\');
            put(buf, cap, pos, (char)c);
        } else if (c < 0x20) {
            put(buf, cap, pos, '\\');
            put(buf, cap, pos, 'u');
            put(buf, cap, pos, '0');
            put(buf, cap, pos, '0');
            put(buf, cap, pos, hex[c >> 4]);
            put(buf, cap, pos, hex[c & 15]);
        } else if (c < 0x80) {
            put(buf, cap, pos, (char)c);
        } else {
            /* Client bytes quoted in a message need not be UTF-8; the JSON
             * written here must be: a broken sequence becomes U+FFFD. */
            size_t k = csg_utf8_seq((const unsigned char *)s + i, len - i);
            if (k == 0) {
                put_str("\\ufffd", buf, cap, pos);
                continue;
            }
            for (size_t j = 0; j < k; j++)
                put(buf, cap, pos, s[i + j]);
            i += k - 1;
        }
    }
    put(buf, cap, pos, '"');
}

size_t csg_json_error(const char *code, const char *message, const char *field, char *buf,
                      size_t cap)
{
    size_t pos = 0;
    put_str("{\"error\":{\"code\":", buf, cap, &pos);
    csg_json_escape(code, strlen(code), buf, cap, &pos);
    put_str(",\"message\":", buf, cap, &pos);
    csg_json_escape(message, strlen(message), buf, cap, &pos);
    if (field && *field) {
        put_str(",\"field\":", buf, cap, &pos);
        csg_json_escape(field, strlen(field), buf, cap, &pos);
    }
    put_str("}}", buf, cap, &pos);
    if (cap)
        buf[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}

