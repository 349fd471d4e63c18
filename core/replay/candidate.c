/*
 * candidate.c — csg-replay's candidate child and the parent's end of its pipes (see
 * candidate.h). The child runs the adapter exactly as a gateway worker does: plugin
 * registry, option validation, create on an event_base, score_async, the core's reason
 * checks (csg_reasons_take).
 */
#include "candidate.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "application.h"
#include "config.h"
#include "csg_clock.h"
#include "csg_error.h"
#include "gateway_state.h"
#include "model_adapter.h"

#define LINE_MAX_BYTES (1u << 20) /* one application or answer line */

/* ---- child ---------------------------------------------------------------------------- */

typedef struct child {
    struct event_base *base;
    csg_config *cfg;
    const csg_cfg_model *model;
    void *inst;
    struct bufferevent *in, *out;
    unsigned inflight;
    bool eof;
} child;

typedef struct call {
    child *ch;
    uint64_t seq;
    double t0;
} call;

static void child_write(child *ch, uint64_t seq, const char *status, const csg_score_result *r,
                        const csg_reason_codes *codes, double latency, const char *error)
{
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "latency_ms", json_real(latency));
    if (r && codes) {
        json_object_set_new(o, "score", json_real(r->score));
        json_object_set_new(o, "decision", json_string(csg_decision_name(r->decision)));
        json_t *a = json_array();
        for (unsigned i = 0; i < codes->count; i++)
            json_array_append_new(a, json_string(codes->code[i]));
        json_object_set_new(o, "reasons", a);
    }
    if (error)
        json_object_set_new(o, "error", json_string(error));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text) {
        evbuffer_add_printf(bufferevent_get_output(ch->out), "%s\n", text);
        free(text);
    }
}

static void child_maybe_exit(child *ch)
{
    if (ch->eof && ch->inflight == 0)
        event_base_loopexit(ch->base, NULL);
}

static void on_score(void *ctx, const csg_score_result *r)
{
    call *c = ctx;
    child *ch = c->ch;
    double latency = csg_now_ms() - c->t0;
    csg_reason_codes codes = {0};
    if (r->status == CSG_SCORE_OK) {
        const char *bad = csg_reasons_take(r, &codes, NULL);
        bool decided = r->decision == CSG_DECISION_APPROVE || r->decision == CSG_DECISION_DECLINE;
        if (bad || !(r->score >= 0.0 && r->score <= 1.0) || !decided)
            child_write(ch, c->seq, "error", NULL, NULL, latency,
                        bad ? bad : "the model returned an invalid score or decision");
        else
            child_write(ch, c->seq, "ok", r, &codes, latency, NULL);
    } else {
        child_write(ch, c->seq, r->status == CSG_SCORE_TIMEOUT ? "timeout" : "error", NULL, NULL,
                    latency, r->error ? r->error : "model error");
    }
    free(c);
    ch->inflight--;
    child_maybe_exit(ch);
}

static void child_line(child *ch, char *line, size_t len)
{
    char *tab = memchr(line, '\t', len);
    char *end = NULL;
    unsigned long long seq = strtoull(line, &end, 10);
    if (!tab || end != tab) {
        fprintf(stderr, "csg-replay candidate: malformed request line\n");
        return;
    }
    const char *json = tab + 1;
    size_t jlen = len - (size_t)(json - line);
    csg_application *app = NULL;
    csg_parse_error perr;
    if (csg_app_parse(ch->cfg->schema, json, jlen, &app, NULL, &perr) != CSG_PARSE_OK) {
        child_write(ch, seq, "error", NULL, NULL, 0.0, perr.message);
        return;
    }
    call *c = malloc(sizeof *c);
    if (!c) {
        csg_app_free(app);
        child_write(ch, seq, "error", NULL, NULL, 0.0, "out of memory");
        return;
    }
    *c = (call){.ch = ch, .seq = seq, .t0 = csg_now_ms()};
    ch->inflight++;
    ch->model->plugin->adapter->score_async(ch->inst, app, on_score, c);
    csg_app_free(app); /* valid only during score_async (csg/plugin.h) */
}

static void child_read(struct bufferevent *bev, void *arg)
{
    child *ch = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len;
    char *line;
    while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
        child_line(ch, line, len);
        free(line);
    }
    if (evbuffer_get_length(in) > LINE_MAX_BYTES) {
        fprintf(stderr, "csg-replay candidate: request line over %u bytes\n", LINE_MAX_BYTES);
        exit(2);
    }
}

static void child_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    child *ch = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        ch->eof = true;
        bufferevent_disable(ch->in, EV_READ);
        child_maybe_exit(ch);
    }
}

int rp_candidate_child_main(const char *config, const char *name)
{
    /* The parent decides when to stop (Ctrl-C reaches the whole process group). */
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    child ch = {0};
    csg_errlist errs = {0};
    csg_registry *reg = csg_registry_new();
    int status = 2;
    if (!reg || csg_config_load(config, reg, &ch.cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.items[i]);
        goto out;
    }
    for (size_t i = 0; i < ch.cfg->n_challengers; i++)
        if (!strcmp(ch.cfg->challengers[i].name, name))
            ch.model = &ch.cfg->challengers[i];
    if (!ch.model) {
        fprintf(stderr, "%s: no challenger named %s\n", config, name);
        goto out;
    }
    csg_core_api_bind(NULL, ch.cfg); /* no gateway: the table's context-free parts */
    ch.base = event_base_new();
    csg_error err = {{0}};
    if (!ch.base || csg_model_adapter_create(ch.cfg, ch.model, csg_gateway_api(), ch.base,
                                             &ch.inst, &err) != 0) {
        fprintf(stderr, "%s\n", err.message[0] ? err.message : "out of memory");
        goto out;
    }
    ch.in = bufferevent_socket_new(ch.base, STDIN_FILENO, 0);
    ch.out = bufferevent_socket_new(ch.base, STDOUT_FILENO, 0);
    if (!ch.in || !ch.out)
        goto out;
    evutil_make_socket_nonblocking(STDIN_FILENO);
    evutil_make_socket_nonblocking(STDOUT_FILENO);
    bufferevent_setcb(ch.in, child_read, NULL, child_event, &ch);
    bufferevent_enable(ch.in, EV_READ);
    bufferevent_enable(ch.out, EV_WRITE);
    event_base_dispatch(ch.base);
    /* Answers still buffered: write them out before leaving. */
    struct evbuffer *ob = bufferevent_get_output(ch.out);
    fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) & ~O_NONBLOCK);
    while (evbuffer_get_length(ob) > 0 && evbuffer_write(ob, STDOUT_FILENO) > 0) {
    }
    ch.model->plugin->adapter->destroy(ch.inst);
    ch.inst = NULL;
    status = 0;
out:
    if (ch.in)
        bufferevent_free(ch.in);
    if (ch.out)
        bufferevent_free(ch.out);
    if (ch.inst && ch.model)
        ch.model->plugin->adapter->destroy(ch.inst);
    if (ch.base)
        event_base_free(ch.base);
    csg_errlist_free(&errs);
    csg_config_unref(ch.cfg);
    csg_registry_unref(reg);
    return status;
}

/* ---- parent ----------------------------------------------------------------------------- */

struct rp_candidate {
    pid_t pid;
    int to_child, from_child; /* -1 when closed */
    char *out;                /* queued request bytes */
    size_t out_len, out_cap;
    char *in; /* answer bytes not yet a whole line */
    size_t in_len, in_cap;
};

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 65536;
    while (nc < need)
        nc *= 2;
    char *nb = realloc(*buf, nc);
    if (!nb)
        return -CSG_ENOMEM;
    *buf = nb;
    *cap = nc;
    return 0;
}

int rp_candidate_start(const char *self, const char *config, const char *name,
                       rp_candidate **out, csg_error *err)
{
    int req[2], ans[2];
    if (pipe2(req, O_CLOEXEC))
        return csg_fail(err, CSG_EIO, "pipe: %s", strerror(errno));
    if (pipe2(ans, O_CLOEXEC)) {
        close(req[0]);
        close(req[1]);
        return csg_fail(err, CSG_EIO, "pipe: %s", strerror(errno));
    }
    rp_candidate *c = calloc(1, sizeof *c);
    pid_t pid = c ? fork() : -1;
    if (pid == 0) {
        /* Child: stdin/stdout become the pipes (dup2 clears O_CLOEXEC), then exec. */
        dup2(req[0], STDIN_FILENO);
        dup2(ans[1], STDOUT_FILENO);
        execl(self, self, "--candidate-child", config, name, (char *)NULL);
        fprintf(stderr, "csg-replay: cannot run %s: %s\n", self, strerror(errno));
        _exit(127);
    }
    close(req[0]);
    close(ans[1]);
    if (pid < 0) {
        close(req[1]);
        close(ans[0]);
        free(c);
        return csg_fail(err, CSG_EIO, "fork: %s", strerror(errno));
    }
    c->pid = pid;
    c->to_child = req[1];
    c->from_child = ans[0];
    fcntl(c->to_child, F_SETFL, O_NONBLOCK);
    fcntl(c->from_child, F_SETFL, O_NONBLOCK);
    *out = c;
    return 0;
}

int rp_candidate_send(rp_candidate *c, uint64_t seq, const char *json, size_t len)
{
    char head[32];
    int hl = snprintf(head, sizeof head, "%llu\t", (unsigned long long)seq);
    if (grow(&c->out, &c->out_cap, c->out_len + (size_t)hl + len + 1))
        return -CSG_ENOMEM;
    memcpy(c->out + c->out_len, head, (size_t)hl);
    memcpy(c->out + c->out_len + hl, json, len);
    c->out_len += (size_t)hl + len;
    c->out[c->out_len++] = '\n';
    return 0;
}

static bool parse_answer(const char *line, size_t len, rp_answer *a)
{
    json_t *o = json_loadb(line, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return false;
    }
    memset(a, 0, sizeof *a);
    a->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
    const char *st = json_string_value(json_object_get(o, "status"));
    a->status = st && !strcmp(st, "ok")        ? CSG_SCORE_OK
                : st && !strcmp(st, "timeout") ? CSG_SCORE_TIMEOUT
                                               : CSG_SCORE_ERROR;
    a->latency_ms = json_number_value(json_object_get(o, "latency_ms"));
    a->score = json_number_value(json_object_get(o, "score"));
    const char *d = json_string_value(json_object_get(o, "decision"));
    a->decision = d && !strcmp(d, "approve")   ? CSG_DECISION_APPROVE
                  : d && !strcmp(d, "decline") ? CSG_DECISION_DECLINE
                                               : CSG_DECISION_NONE;
    json_t *rs = json_object_get(o, "reasons"), *v;
    size_t i;
    json_array_foreach(rs, i, v)
    {
        const char *code = json_string_value(v);
        if (!code || a->reasons.count >= CSG_REASONS_MAX)
            break;
        snprintf(a->reasons.code[a->reasons.count++], sizeof a->reasons.code[0], "%s", code);
    }
    const char *e = json_string_value(json_object_get(o, "error"));
    if (e)
        snprintf(a->error, sizeof a->error, "%s", e);
    json_decref(o);
    return true;
}

static void describe_exit(pid_t pid, char *why, size_t size)
{
    int st = 0;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        snprintf(why, size, "exited");
    else if (WIFSIGNALED(st))
        snprintf(why, size, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(why, size, "exited with status %d", WEXITSTATUS(st));
}

/* Hand every whole answer line read so far to on_answer; keep the partial rest. */
static void deliver(rp_candidate *c, void (*on_answer)(void *ctx, const rp_answer *a), void *ctx)
{
    size_t start = 0;
    for (size_t i = 0; i < c->in_len; i++)
        if (c->in[i] == '\n') {
            rp_answer a;
            if (parse_answer(c->in + start, i - start, &a))
                on_answer(ctx, &a);
            start = i + 1;
        }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
}

int rp_candidate_poll(rp_candidate *c, int timeout_ms,
                      void (*on_answer)(void *ctx, const rp_answer *a), void *ctx, char *why,
                      size_t why_size)
{
    struct pollfd p[2] = {{.fd = c->from_child, .events = POLLIN},
                          {.fd = c->out_len ? c->to_child : -1, .events = POLLOUT}};
    int n = poll(p, 2, timeout_ms);
    if (n <= 0)
        return 0; /* timeout, or EINTR (Ctrl-C): the caller looks at its flags */
    if (p[1].revents & (POLLOUT | POLLERR)) {
        ssize_t w = write(c->to_child, c->out, c->out_len);
        if (w > 0) {
            memmove(c->out, c->out + w, c->out_len - (size_t)w);
            c->out_len -= (size_t)w;
        }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        return 0;
    for (;;) {
        if (grow(&c->in, &c->in_cap, c->in_len + 65536))
            return 0;
        ssize_t r = read(c->from_child, c->in + c->in_len, c->in_cap - c->in_len);
        if (r > 0) {
            c->in_len += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        /* EOF: hand over whole lines first, then say how the child ended. */
        deliver(c, on_answer, ctx);
        c->in_len = 0;
        describe_exit(c->pid, why, why_size);
        c->pid = 0;
        return 1;
    }
    deliver(c, on_answer, ctx);
    return 0;
}

static void candidate_free(rp_candidate *c)
{
    if (c->to_child >= 0)
        close(c->to_child);
    if (c->from_child >= 0)
        close(c->from_child);
    free(c->out);
    free(c->in);
    free(c);
}

void rp_candidate_kill(rp_candidate *c)
{
    if (!c)
        return;
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    candidate_free(c);
}

void rp_candidate_finish(rp_candidate *c, int timeout_ms)
{
    if (!c)
        return;
    close(c->to_child);
    c->to_child = -1;
    uint64_t deadline = csg_mono_ms() + (uint64_t)timeout_ms;
    while (c->pid > 0 && csg_mono_ms() < deadline) {
        pid_t r = waitpid(c->pid, NULL, WNOHANG);
        if (r == c->pid || (r < 0 && errno != EINTR)) {
            c->pid = 0;
            break;
        }
        struct pollfd p = {.fd = c->from_child, .events = POLLIN};
        char sink[4096];
        if (poll(&p, 1, 20) > 0 && read(c->from_child, sink, sizeof sink) == 0)
            continue; /* EOF: the next waitpid reaps it */
    }
    rp_candidate_kill(c);
}
