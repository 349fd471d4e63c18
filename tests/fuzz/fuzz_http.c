/* fuzz_http.c — libFuzzer target for http.so's request handling: the real
 * plugin (build/lib/csg/http.so, loaded as the gateway loads it: llhttp,
 * pipelining ring, 413/431/415 paths, 100-continue, half-close) driven over
 * loopback by transport_harness.c.
 * Oracle: whatever the bytes, the server's output is a sequence of
 * well-formed HTTP/1.1 responses with exact Content-Length, and every JSON
 * body is an object (a reply or {"error":{"code":…}}). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *find(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(s + i, needle, m) == 0)
            return s + i;
    return NULL;
}

static void check_json_body(const char *body, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(body, n, 0, &e);
    if (!j || !json_is_object(j))
        __builtin_trap();
    json_t *err = json_object_get(j, "error");
    if (err) {
        if (!json_is_string(json_object_get(err, "code")) ||
            !json_is_string(json_object_get(err, "message")))
            __builtin_trap();
    } else if (!json_object_get(j, "status") && !json_is_string(json_object_get(j, "request_id"))) {
        __builtin_trap(); /* neither a health answer nor a score reply */
    }
    json_decref(j);
}

static void check_http(const char *out, size_t len, int complete)
{
    size_t pos = 0;
    while (pos < len) {
        const char *end = find(out + pos, len - pos, "\r\n\r\n");
        if (!end) {
            if (complete)
                __builtin_trap(); /* a truncated response head */
            return;
        }
        const char *head = out + pos;
        size_t hlen = (size_t)(end - head) + 4;
        if (hlen < 13 || memcmp(head, "HTTP/1.1 ", 9) != 0 || head[12] != ' ')
            __builtin_trap();
        int code = atoi(head + 9);
        if (code < 100 || code > 599)
            __builtin_trap();
        pos += hlen;
        if (code == 100)
            continue;
        const char *cl = find(head, hlen, "\r\nContent-Length: ");
        if (!cl)
            __builtin_trap();
        size_t blen = strtoul(cl + 18, NULL, 10);
        if (blen > len - pos) {
            if (complete)
                __builtin_trap(); /* a truncated body */
            return;
        }
        const char *ct = find(head, hlen, "\r\nContent-Type: application/json");
        if (ct)
            check_json_body(out + pos, blen);
        else if (code != 200) /* only /metrics is text/plain, and only with 200 */
            __builtin_trap();
        pos += blen;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fz_transport t = {
        .plugin_file = "http.so",
        .max_body_bytes = 512, /* small, so 413 (header and chunked) is reachable */
        .max_line_bytes = 512,
        .max_connections = 64,
        .check = check_http,
    };
    return fz_transport_run(&t, data, size);
}
