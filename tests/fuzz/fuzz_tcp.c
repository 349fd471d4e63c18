/* fuzz_tcp.c — libFuzzer target for tcp.so's line framing: the real plugin
 * (build/lib/csg/tcp.so, loaded as the gateway loads it: framing at '\n',
 * overlong-line resync, blank/CR lines, pipelining and back-pressure with
 * small limits, half-close) driven over loopback by transport_harness.c
 * through its public ABI only.
 * Oracle: every line the server writes is one JSON object — a reply with a
 * request_id, or {"error":{"code","message"}} — and nothing is half-written. */
#include <jansson.h>
#include <string.h>

#include "transport_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *s, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(s, n, 0, &e);
    if (!j || !json_is_object(j))
        __builtin_trap();
    json_t *err = json_object_get(j, "error");
    if (err) {
        if (!json_is_string(json_object_get(err, "code")) ||
            !json_is_string(json_object_get(err, "message")))
            __builtin_trap();
    } else if (!json_is_string(json_object_get(j, "request_id")) ||
               !json_is_string(json_object_get(j, "applicant_id"))) {
        __builtin_trap();
    }
    json_decref(j);
}

static void check_tcp(const char *out, size_t len, int complete)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(out + pos, '\n', len - pos);
        if (!nl) {
            if (complete)
                __builtin_trap(); /* a reply line without its newline */
            return;
        }
        check_line(out + pos, (size_t)(nl - (out + pos)));
        pos = (size_t)(nl - out) + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Small, so back-pressure engages within one input; by name, as a
     * config file sets them. */
    static const char *const opts[] = {"max_pipeline=4", "max_output_bytes=4096"};
    static const fz_transport t = {
        .plugin_file = "tcp.so",
        .opts = opts,
        .n_opts = 2,
        .max_body_bytes = 512,
        .max_line_bytes = 256, /* so overlong lines and resync are reachable */
        .max_connections = 64,
        .check = check_tcp,
    };
    return fz_transport_run(&t, data, size);
}
