/*
 * csg_utf8.h — well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF), header-only, for everything that writes or checks JSON strings:
 * a JSON text must be UTF-8 (RFC 8259 §8.1), and text from outside (a client's
 * bytes quoted in an error message, a protobuf string) need not be.
 */
#ifndef CSG_UTF8_H
#define CSG_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the well-formed UTF-8 sequence at s[0..n), n > 0; 0 when
 * the bytes there are not one. */
static inline size_t csg_utf8_seq(const unsigned char *s, size_t n)
{
    static const unsigned min_cp[] = {0, 0x80, 0x800, 0x10000};
    unsigned c = s[0];
    size_t more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
    if (more == 0)
        return 1;
    if (more == 4 || more >= n)
        return 0;
    unsigned cp = c & (0x3fu >> more);
    for (size_t k = 1; k <= more; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3fu);
    }
    if (cp < min_cp[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return more + 1;
}

/* True when all of s[0..n) is well-formed UTF-8. */
static inline bool csg_utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = csg_utf8_seq(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

#endif /* CSG_UTF8_H */
