/*
 * transport_harness.h — drive a real transport plugin (http.so, tcp.so),
 * loaded from the build's plugin directory exactly as the gateway loads it
 * (the test host, tests/lib/csg_test_host.h: the core's registry, loader
 * and option code), through its public ABI, over a real loopback
 * connection, one fuzz input per connection.
 *
 * Why a socket and not a parse function: the parser of both transports is
 * woven into connection state (pipelining ring, pause/resume, stash, 413 from
 * headers, half-close, back-pressure), and those paths are where a hostile
 * byte stream does damage. Driving the plugin as the gateway does covers them
 * all without editing the plugins or re-implementing anything.
 *
 * Input layout: byte 0 = flags (FZ_*), byte 1 = write chunk size (1 + b,
 * bytes per send between event-loop turns), then the byte stream itself.
 */
#ifndef CSG_FUZZ_TRANSPORT_HARNESS_H
#define CSG_FUZZ_TRANSPORT_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "csg/plugin.h"

enum {
    FZ_REPLY_MODE = 0x03,   /* 0 next turn, 1 reverse batch, 2 random delay, 3 hold until input end */
    FZ_HALF_CLOSE = 0x04,   /* shutdown(SHUT_WR) after the last byte */
    FZ_NOT_READY = 0x08,    /* core_api->is_ready() returns false */
    FZ_READ_SLOWLY = 0x10,  /* client reads its replies only after the whole input is sent */
};

/* What the output stream must look like; returns 0 or aborts. */
typedef void (*fz_check_fn)(const char *out, size_t len, int complete);

typedef struct fz_transport {
    const char *plugin_file;  /* e.g. "tcp.so", in $CSG_PLUGIN_DIR or the build's lib/csg */
    const char *const *opts;  /* "name=value" options, as a config block gives them */
    size_t n_opts;
    size_t max_body_bytes, max_line_bytes;
    unsigned max_connections;
    fz_check_fn check; /* NULL: no output oracle */
} fz_transport;

/* Run one input; the plugin instance is created on the first call. */
int fz_transport_run(const fz_transport *t, const uint8_t *data, size_t size);

#endif
