/*
 * candidate.h — the candidate adapter of csg-replay, in a child process of its own.
 *
 * The child is csg-replay itself, re-executed with the hidden --candidate-child flag: it
 * loads the configuration through the core's plugin registry and loader, creates only the
 * named challenger's adapter (never the champion's) and scores the applications it reads
 * on stdin through the adapter ABI (score_async on a libevent loop), exactly as a gateway
 * worker does. A candidate that crashes or hangs takes only the child down; the parent
 * sees EOF or a missed deadline and reports it.
 *
 * Pipe protocol (one line each way per application):
 *   parent → child: "<seq>\t<application JSON>\n"
 *   child → parent: {"seq":N,"status":"ok|error|timeout","score","decision","latency_ms",
 *                    "reasons":[codes],"error"?}\n
 */
#ifndef CSG_REPLAY_CANDIDATE_H
#define CSG_REPLAY_CANDIDATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "csg/plugin.h"
#include "reasons.h"

/* One answer of the candidate. */
typedef struct rp_answer {
    uint64_t seq;
    csg_score_status status;
    double score;
    csg_decision decision;
    double latency_ms;
    csg_reason_codes reasons;
    char error[128];
} rp_answer;

typedef struct rp_candidate rp_candidate;

/* Start the child: self is the csg-replay executable, config and name what the child
 * loads. 0 and *out, or -CSG_E… and err. */
int rp_candidate_start(const char *self, const char *config, const char *name,
                       rp_candidate **out, csg_error *err);

/* Queue one application line for the child (copied; written as the pipe takes it). */
int rp_candidate_send(rp_candidate *c, uint64_t seq, const char *json, size_t len);

/* Wait up to timeout_ms for the pipe: write what is queued, read answers. For each
 * complete answer calls on_answer(ctx, a). Returns 0, or 1 when the child has gone
 * (EOF): *why then says how ("exited with status 3", "killed by signal 11"). */
int rp_candidate_poll(rp_candidate *c, int timeout_ms,
                      void (*on_answer)(void *ctx, const rp_answer *a), void *ctx, char *why,
                      size_t why_size);

/* Kill (SIGKILL) and reap the child, free everything; NULL is fine. */
void rp_candidate_kill(rp_candidate *c);
/* Close the child's stdin, wait up to timeout_ms for it to exit (then kill), free. */
void rp_candidate_finish(rp_candidate *c, int timeout_ms);

/* The child's main (argv: --candidate-child CONFIG NAME). Returns the exit status. */
int rp_candidate_child_main(const char *config, const char *name);

#endif /* CSG_REPLAY_CANDIDATE_H */
