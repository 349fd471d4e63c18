/* fuzz_score_wire.c — libFuzzer target for grpc.so's hand-written ScoreRequest
 * reader (plugins/grpc/score_wire.c) against protobuf-c, the decoder it
 * replaced on the request path: the same inputs accepted, the same values
 * read, bit for bit (tests/unit/score_wire_diff.h). Starts from
 * fuzz_proto's corpus too (CMakeLists: fuzz_corpus_score_wire); fuzz_proto
 * checks what follows the reader (the JSON translation, transport parity). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "score_wire_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = swd_compare(data, size);
    if (why) {
        fprintf(stderr, "fuzz_score_wire: %s\n", why);
        __builtin_trap();
    }
    return 0;
}
