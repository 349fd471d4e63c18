/* grpcload — closed-loop unary gRPC client for CSG's grpc.so (csg.v1.CreditScoring/Score):
 * one HTTP/2 connection (like ghz's default), --outstanding N calls always in flight, each
 * finished call immediately replaced. Counts OK and non-OK statuses in the measured window
 * (after --warmup), samples closed-loop latencies. One line of key=value output.
 *
 * Why it speaks HTTP/2 itself instead of using the gRPC C core: the bench pins the load
 * generator, the model stubs and the broker on one core, so the client's own CPU per call
 * caps the rate it can measure. The C core client cost 19-33 us of CPU per call there
 * (wrk: 9-13 us per HTTP request; this client: 3.5-7 us), so "gRPC max rate" measured
 * the client more than the gateway.
 * This client does what wrk does for HTTP/1.1: pre-encoded requests, one non-blocking
 * socket, batched reads and writes. It is a real gRPC client on the wire: HTTP/2 preface,
 * SETTINGS, flow control both ways (connection send window honoured, receive windows
 * replenished), PING acks, HPACK with the server's dynamic table, and the call outcome is
 * the `grpc-status` trailer plus a received message, as a gRPC library would report it.
 *
 * HPACK: requests index their constant headers once (as the C core does), so later
 * requests are 7 bytes of header block. Responses are decoded with a dynamic table;
 * Huffman-coded strings are not decoded (gRPC's C core sends non-binary metadata as raw
 * strings), so a Huffman-coded `grpc-status` would count as an error, never as OK.
 * The ScoreRequest is encoded by hand (proto3 wire format) from bench_common.h's
 * application, only the applicant id varying. --payload fields (the default): fields
 * 1-4, the brief's application (what older gRPC clients send). --payload map
 * (BENCH_GRPC_PAYLOAD_MAP): field 1 plus all 13 features in `map<string, FeatureValue>
 * features = 5` with fields 2-4 unset (what bench/run sends, like the JSON paths). */
#include "bench_common.h"

#include <getopt.h>
#include <poll.h>

#define MAXSAMPLES 4000000
#define RBUF_CAP (1u << 20)
#define WBUF_CAP (1u << 20)
#define HBLOCK_CAP (64u * 1024) /* one header block (HEADERS + CONTINUATION) */
#define DYN_MAX 128             /* dynamic-table entries kept (4096 bytes / 32 min) */
#define STATIC_ENTRIES 61
#define OUR_STREAM_WINDOW (1u << 24)
#define CONN_WINDOW_BUMP (1u << 30)

enum { F_DATA = 0, F_HEADERS = 1, F_RST = 3, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7,
       F_WINDOW = 8, F_CONT = 9 };
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4, FL_PADDED = 0x8,
       FL_PRIORITY = 0x20 };

struct slot {
    uint32_t sid; /* 0: idle */
    int status;   /* grpc-status, -1 until seen */
    int got_msg;
    uint64_t t;
};

struct dyn_entry {
    char *name, *value; /* NULL when the string was Huffman-coded (not decoded) */
    size_t size;        /* RFC 7541 §4.1: name + value + 32 */
};

static int fd = -1;
static uint8_t *rbuf, *wbuf, *hblock;
static size_t rlen, wlen, hlen;
static uint32_t hblock_sid; /* stream whose header block is being collected */
static int hblock_end_stream, hblock_open;
static int64_t send_window = 65535;     /* connection-level, for our DATA */
static int64_t peer_stream_window = 65535;
static uint32_t peer_max_streams = UINT32_MAX;
static uint64_t recv_unacked;
static uint32_t next_sid = 1;
static int headers_indexed; /* the first request inserted our constant headers */
static struct dyn_entry dyn[DYN_MAX];
static size_t ndyn, dyn_bytes, dyn_max = 4096; /* dyn[0] is the newest */
static char authority[64];
static uint64_t seq;
static int ids = 100000;
/* --payload: how the application goes on the wire (see the top comment). */
enum { BENCH_GRPC_PAYLOAD_FIELDS = 0, BENCH_GRPC_PAYLOAD_MAP = 1 };
static int payload = BENCH_GRPC_PAYLOAD_FIELDS;
static unsigned char features_pb[1024]; /* the encoded fields 2-4, or the field-5 map */
static size_t features_pb_len;

static void die(const char *what)
{
    fprintf(stderr, "grpcload: %s\n", what);
    _exit(1);
}

static void put_frame_header(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
    p[0] = (uint8_t)(len >> 16), p[1] = (uint8_t)(len >> 8), p[2] = (uint8_t)len;
    p[3] = type, p[4] = flags;
    p[5] = (uint8_t)(sid >> 24) & 0x7f, p[6] = (uint8_t)(sid >> 16), p[7] = (uint8_t)(sid >> 8);
    p[8] = (uint8_t)sid;
}

static uint8_t *wreserve(size_t n)
{
    if (wlen + n > WBUF_CAP)
        die("write buffer full (server not reading)");
    uint8_t *p = wbuf + wlen;
    wlen += n;
    return p;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------------ requests */

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static size_t put_double(unsigned char *p, unsigned char tag, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    p[0] = tag;
    for (int i = 0; i < 8; i++)
        p[1 + i] = (unsigned char)(u >> (8 * i));
    return 9;
}

/* A length-delimited field: tag, length (< 128 here), bytes. */
static size_t put_bytes(unsigned char *p, unsigned char tag, const void *b, size_t len)
{
    p[0] = tag;
    p[1] = (unsigned char)len;
    memcpy(p + 2, b, len);
    return len + 2;
}

/* Everything of the ScoreRequest after applicant_id, the same for every call. Fields:
 * income = 2 (double), loan_amount = 3 (double), credit_history = 4 (int32); or map
 * entries of field 5, each {key = 1: name, value = 2: FeatureValue {number = 1 (double)
 * | category = 2 (string)}}. */
static void encode_features(void)
{
    size_t n = 0;
    if (payload == BENCH_GRPC_PAYLOAD_FIELDS) {
        n += put_double(features_pb + n, 0x11, bench_features[0].number); /* income */
        n += put_double(features_pb + n, 0x19, bench_features[1].number); /* loan_amount */
        features_pb[n++] = 0x20; /* field 4, varint: credit_history */
        n += put_varint(features_pb + n, (uint64_t)bench_features[2].number);
        features_pb_len = n;
        return;
    }
    for (size_t i = 0; i < BENCH_FEATURES; i++) {
        const struct bench_feature *f = &bench_features[i];
        unsigned char value[64], entry[128];
        size_t vl = f->category ? put_bytes(value, 0x12, f->category, strlen(f->category))
                                : put_double(value, 0x09, f->number);
        size_t el = put_bytes(entry, 0x0a, f->name, strlen(f->name));
        el += put_bytes(entry + el, 0x12, value, vl);
        n += put_bytes(features_pb + n, 0x2a, entry, el); /* field 5, one map entry */
    }
    features_pb_len = n;
}

/* The gRPC message (5-byte prefix + ScoreRequest) for call i; returns its length. */
static size_t encode_request(unsigned char *buf, uint64_t i)
{
    char id[24];
    int idl = snprintf(id, sizeof id, "g%08llu", (unsigned long long)(i % (uint64_t)ids));
    size_t n = 5;
    n += put_bytes(buf + n, 0x0a, id, (size_t)idl); /* field 1: applicant_id */
    memcpy(buf + n, features_pb, features_pb_len);
    n += features_pb_len;
    buf[0] = 0; /* not compressed */
    put_u32(buf + 1, (uint32_t)(n - 5));
    return n;
}

static size_t put_str(uint8_t *p, const char *s)
{
    size_t l = strlen(s); /* < 127: a 7-bit length, no Huffman */
    p[0] = (uint8_t)l;
    memcpy(p + 1, s, l);
    return l + 1;
}

/* The request header block. The first one inserts the five constant headers into the
 * server's dynamic table (literal with incremental indexing); later ones refer to them:
 * newest entry is index 62, so grpc-timeout 62, te 63, content-type 64, :authority 65,
 * :path 66. :method POST and :scheme http are static entries 3 and 6. */
static size_t encode_headers(uint8_t *p)
{
    size_t n = 0;
    p[n++] = 0x80 | 3;
    p[n++] = 0x80 | 6;
    if (headers_indexed) {
        p[n++] = 0x80 | 66, p[n++] = 0x80 | 65, p[n++] = 0x80 | 64, p[n++] = 0x80 | 63;
        p[n++] = 0x80 | 62;
        return n;
    }
    p[n++] = 0x40 | 4; /* :path, name from the static table */
    n += put_str(p + n, "/csg.v1.CreditScoring/Score");
    p[n++] = 0x40 | 1; /* :authority */
    n += put_str(p + n, authority);
    p[n++] = 0x40 | 31; /* content-type */
    n += put_str(p + n, "application/grpc");
    p[n++] = 0x40;
    n += put_str(p + n, "te");
    n += put_str(p + n, "trailers");
    p[n++] = 0x40;
    n += put_str(p + n, "grpc-timeout");
    n += put_str(p + n, "5S"); /* the C core client's 5 s deadline */
    headers_indexed = 1;
    return n;
}

/* Start call on slot s; 0, or -1 when flow control does not allow it yet. */
static int start_call(struct slot *s)
{
    unsigned char msg[1100];
    size_t mlen = encode_request(msg, seq);
    if ((int64_t)mlen > send_window || (int64_t)mlen > peer_stream_window)
        return -1;
    if (next_sid > 0x7ffffff0u)
        die("stream ids exhausted");
    seq++;
    s->sid = next_sid;
    next_sid += 2;
    s->status = -1;
    s->got_msg = 0;
    s->t = bench_now_ns();
    uint8_t hb[256];
    size_t hn = encode_headers(hb);
    uint8_t *p = wreserve(9 + hn + 9 + mlen);
    put_frame_header(p, (uint32_t)hn, F_HEADERS, FL_END_HEADERS, s->sid);
    memcpy(p + 9, hb, hn);
    p += 9 + hn;
    put_frame_header(p, (uint32_t)mlen, F_DATA, FL_END_STREAM, s->sid);
    memcpy(p + 9, msg, mlen);
    send_window -= (int64_t)mlen;
    return 0;
}

/* ------------------------------------------------------------------ HPACK decoding */

/* RFC 7541 §5.1 integer with an n-bit prefix; -1 when truncated or too large. */
static int64_t hp_int(const uint8_t **pp, const uint8_t *end, int prefix)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return -1;
    uint64_t max = (1u << prefix) - 1, v = *p++ & max;
    if (v == max) {
        for (int shift = 0;; shift += 7) {
            if (p >= end || shift > 28)
                return -1;
            uint8_t b = *p++;
            v += (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80))
                break;
        }
    }
    *pp = p;
    return (int64_t)v;
}

/* A string literal: *s points into the block (NULL when Huffman-coded). */
static int hp_str(const uint8_t **pp, const uint8_t *end, const char **s, size_t *len)
{
    if (*pp >= end)
        return -1;
    int huff = **pp & 0x80;
    int64_t l = hp_int(pp, end, 7);
    if (l < 0 || l > end - *pp)
        return -1;
    *s = huff ? NULL : (const char *)*pp;
    *len = (size_t)l;
    *pp += l;
    return 0;
}

static void dyn_evict_to(size_t max)
{
    while (ndyn && dyn_bytes > max) {
        struct dyn_entry *e = &dyn[--ndyn];
        dyn_bytes -= e->size;
        free(e->name);
        free(e->value);
    }
}

static char *dup_or_null(const char *s, size_t l)
{
    if (!s)
        return NULL;
    char *d = malloc(l + 1);
    if (!d)
        die("out of memory");
    memcpy(d, s, l);
    d[l] = '\0';
    return d;
}

static void dyn_insert(const char *name, size_t nl, const char *value, size_t vl)
{
    size_t size = nl + vl + 32;
    dyn_evict_to(size > dyn_max ? 0 : dyn_max - size);
    if (size > dyn_max)
        return; /* §4.4: an entry larger than the table empties it */
    if (ndyn == DYN_MAX)
        dyn_evict_to(dyn_bytes - dyn[ndyn - 1].size);
    memmove(&dyn[1], &dyn[0], ndyn * sizeof dyn[0]);
    dyn[0].name = dup_or_null(name, nl);
    dyn[0].value = dup_or_null(value, vl);
    dyn[0].size = size;
    ndyn++;
    dyn_bytes += size;
}

/* RFC 7541 Appendix A names: needed for the size of entries inserted with a static
 * name (sizes must match the server's table exactly). Static values are never gRPC's. */
static const char *const static_names[STATIC_ENTRIES + 1] = {
    "", ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme",
    ":status", ":status", ":status", ":status", ":status", ":status", ":status",
    "accept-charset", "accept-encoding", "accept-language", "accept-ranges", "accept",
    "access-control-allow-origin", "age", "allow", "authorization", "cache-control",
    "content-disposition", "content-encoding", "content-language", "content-length",
    "content-location", "content-range", "content-type", "cookie", "date", "etag", "expect",
    "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
    "if-unmodified-since", "last-modified", "link", "location", "max-forwards",
    "proxy-authenticate", "proxy-authorization", "range", "referer", "refresh", "retry-after",
    "server", "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent",
    "vary", "via", "www-authenticate"};

/* Name (and value) of table index idx; static values are never needed. */
static int hp_lookup(int64_t idx, const char **name, const char **value)
{
    *name = *value = NULL;
    if (idx < 1)
        return -1;
    if (idx <= STATIC_ENTRIES) {
        *name = static_names[idx];
        return 0;
    }
    if ((size_t)(idx - STATIC_ENTRIES - 1) >= ndyn)
        return -1;
    const struct dyn_entry *e = &dyn[idx - STATIC_ENTRIES - 1];
    *name = e->name;
    *value = e->value;
    return 0;
}

static void on_field(struct slot *s, const char *name, size_t nl, const char *value, size_t vl)
{
    if (!s || !name || nl != 11 || memcmp(name, "grpc-status", 11) != 0)
        return;
    int st = 0;
    if (!value || vl == 0 || vl > 3)
        st = 2; /* undecodable: UNKNOWN, counted as an error */
    for (size_t i = 0; value && i < vl && i < 3; i++)
        st = (value[i] >= '0' && value[i] <= '9') ? st * 10 + (value[i] - '0') : 2;
    s->status = st;
}

/* Decode one complete header block for slot s (NULL: stream we no longer track). */
static void hp_block(struct slot *s, const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        uint8_t b = *p;
        const char *name = NULL, *value = NULL;
        size_t nl = 0, vl = 0;
        if (b & 0x80) { /* indexed field */
            int64_t idx = hp_int(&p, end, 7);
            if (hp_lookup(idx, &name, &value) < 0)
                die("HPACK: bad index");
            on_field(s, name, name ? strlen(name) : 0, value, value ? strlen(value) : 0);
            continue;
        }
        if ((b & 0xe0) == 0x20) { /* dynamic table size update */
            int64_t sz = hp_int(&p, end, 5);
            if (sz < 0 || sz > 4096)
                die("HPACK: bad table size update");
            dyn_max = (size_t)sz;
            dyn_evict_to(dyn_max);
            continue;
        }
        int incremental = (b & 0xc0) == 0x40;
        int64_t idx = hp_int(&p, end, incremental ? 6 : 4);
        if (idx < 0)
            die("HPACK: truncated");
        if (idx) {
            const char *ignored;
            if (hp_lookup(idx, &name, &ignored) < 0)
                die("HPACK: bad name index");
            nl = name ? strlen(name) : 0;
        } else if (hp_str(&p, end, &name, &nl) < 0) {
            die("HPACK: truncated name");
        }
        char namebuf[256]; /* a dynamic-table name may be evicted by the insert below */
        if (name && nl < sizeof namebuf) {
            memcpy(namebuf, name, nl);
            name = namebuf;
        } else if (incremental) {
            die("HPACK: indexed header with a Huffman-coded or long name (unsupported)");
        }
        if (hp_str(&p, end, &value, &vl) < 0)
            die("HPACK: truncated value");
        if (incremental && !value)
            die("HPACK: indexed header with a Huffman-coded value (unsupported)");
        on_field(s, name, nl, value, vl);
        if (incremental)
            dyn_insert(name, nl, value, vl);
    }
}

/* ------------------------------------------------------------------ frames */

static struct slot *slots;
static int outstanding = 64, active;
static uint64_t mstart, mend;
static long okc, bad, first_bad_status = -1;
static uint64_t *samples;
static size_t ns;

static struct slot *find(uint32_t sid)
{
    for (int k = 0; k < outstanding; k++)
        if (slots[k].sid == sid)
            return &slots[k];
    return NULL;
}

static void finish(struct slot *s, int status)
{
    uint64_t now = bench_now_ns();
    if (now >= mstart && now < mend) {
        if (status == 0 && s->got_msg) {
            okc++;
            if (ns < MAXSAMPLES)
                samples[ns++] = now - s->t;
        } else {
            bad++;
            if (first_bad_status < 0)
                first_bad_status = status;
        }
    }
    s->sid = 0;
    active--;
}

static void on_frame(uint8_t type, uint8_t flags, uint32_t sid, const uint8_t *p, uint32_t len)
{
    switch (type) {
    case F_DATA: {
        recv_unacked += len;
        struct slot *s = sid ? find(sid) : NULL;
        if (!s)
            return;
        uint32_t pad = (flags & FL_PADDED) && len ? p[0] + 1u : 0;
        if (len >= pad + 5)
            s->got_msg = 1;
        if (flags & FL_END_STREAM) /* no trailers: the status never came */
            finish(s, s->status >= 0 ? s->status : 2);
        return;
    }
    case F_HEADERS: {
        if (hblock_open)
            die("HEADERS while a header block is open");
        uint32_t off = 0, pad = 0;
        if (flags & FL_PADDED) {
            if (len < 1)
                die("bad HEADERS padding");
            pad = p[0];
            off = 1;
        }
        if (flags & FL_PRIORITY)
            off += 5;
        if (off + pad > len)
            die("bad HEADERS frame");
        hblock_sid = sid;
        hblock_end_stream = flags & FL_END_STREAM;
        if (len - off - pad > HBLOCK_CAP)
            die("header block too large");
        memcpy(hblock, p + off, len - off - pad);
        hlen = len - off - pad;
        hblock_open = !(flags & FL_END_HEADERS);
        if (hblock_open)
            return;
        break;
    }
    case F_CONT:
        if (!hblock_open || sid != hblock_sid || hlen + len > HBLOCK_CAP)
            die("unexpected CONTINUATION");
        memcpy(hblock + hlen, p, len);
        hlen += len;
        hblock_open = !(flags & FL_END_HEADERS);
        if (hblock_open)
            return;
        break;
    case F_RST: {
        struct slot *s = find(sid);
        if (s)
            finish(s, 14); /* reset: UNAVAILABLE, as the C core reports REFUSED_STREAM */
        return;
    }
    case F_SETTINGS:
        if (flags & FL_ACK)
            return;
        for (uint32_t i = 0; i + 6 <= len; i += 6) {
            uint16_t id = (uint16_t)(p[i] << 8 | p[i + 1]);
            uint32_t v = get_u32(p + i + 2);
            if (id == 1 && v < 4096)
                die("server HEADER_TABLE_SIZE < 4096 not supported");
            if (id == 3)
                peer_max_streams = v;
            if (id == 4) {
                if (v > 0x7fffffffu)
                    die("bad INITIAL_WINDOW_SIZE");
                peer_stream_window = v;
            }
        }
        put_frame_header(wreserve(9), 0, F_SETTINGS, FL_ACK, 0);
        return;
    case F_PING:
        if (!(flags & FL_ACK) && len == 8) {
            uint8_t *w = wreserve(17);
            put_frame_header(w, 8, F_PING, FL_ACK, 0);
            memcpy(w + 9, p, 8);
        }
        return;
    case F_GOAWAY:
        die("GOAWAY from the server");
        return;
    case F_WINDOW:
        if (sid == 0 && len == 4)
            send_window += get_u32(p) & 0x7fffffffu;
        return;
    default:
        return; /* PRIORITY, PUSH_PROMISE (disabled), unknown: ignore */
    }
    /* a complete header block (HEADERS [+ CONTINUATION]) */
    struct slot *s = find(hblock_sid);
    hp_block(s, hblock, hblock + hlen);
    hlen = 0;
    if (s && hblock_end_stream)
        finish(s, s->status >= 0 ? s->status : 2);
}

static void flush(void)
{
    size_t off = 0;
    while (off < wlen) {
        ssize_t n = write(fd, wbuf + off, wlen - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            die("write failed");
        }
        off += (size_t)n;
    }
    memmove(wbuf, wbuf + off, wlen - off);
    wlen -= off;
}

static void refill(void)
{
    for (int k = 0; k < outstanding && (uint32_t)active < peer_max_streams; k++) {
        if (slots[k].sid)
            continue;
        if (start_call(&slots[k]) < 0)
            return; /* flow control: wait for WINDOW_UPDATE */
        active++;
    }
}

int main(int argc, char **argv)
{
    const char *target = NULL;
    double duration = 5, warmup = 1;
    static const struct option opts[] = {{"target", 1, 0, 't'},   {"outstanding", 1, 0, 'n'},
                                         {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
                                         {"ids", 1, 0, 'i'},      {"payload", 1, 0, 'b'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': target = optarg; break;
        case 'n': outstanding = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'i': ids = atoi(optarg); break;
        case 'b':
            payload = strcmp(optarg, "fields") == 0 ? BENCH_GRPC_PAYLOAD_FIELDS
                      : strcmp(optarg, "map") == 0  ? BENCH_GRPC_PAYLOAD_MAP
                                                    : -1;
            break;
        default: return 2;
        }
    }
    const char *colon = target ? strrchr(target, ':') : NULL;
    if (!target || !colon || colon == target || (size_t)(colon - target) >= 40 ||
        outstanding <= 0 || outstanding > 4096 || ids <= 0 || payload < 0) {
        fprintf(stderr, "usage: grpcload --target 127.0.0.1:P [--outstanding 64] "
                        "[--duration S] [--warmup S] [--payload fields|map]\n");
        return 2;
    }
    encode_features();
    char host[40];
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = '\0';
    snprintf(authority, sizeof authority, "%s", target);
    slots = calloc((size_t)outstanding, sizeof *slots);
    samples = malloc(MAXSAMPLES * sizeof *samples);
    rbuf = malloc(RBUF_CAP);
    wbuf = malloc(WBUF_CAP);
    hblock = malloc(HBLOCK_CAP);
    if (!slots || !samples || !rbuf || !wbuf || !hblock)
        return 2;
    fd = bench_connect(host, atoi(colon + 1));
    if (fd < 0)
        die("cannot connect");
    struct pollfd pc = {.fd = fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (poll(&pc, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
        soerr)
        die("cannot connect");

    /* Preface, our SETTINGS (no push, big stream windows), a big connection window. */
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    memcpy(wreserve(sizeof preface - 1), preface, sizeof preface - 1);
    uint8_t *p = wreserve(9 + 12);
    put_frame_header(p, 12, F_SETTINGS, 0, 0);
    p[9] = 0, p[10] = 2, put_u32(p + 11, 0);                 /* ENABLE_PUSH 0 */
    p[15] = 0, p[16] = 4, put_u32(p + 17, OUR_STREAM_WINDOW); /* INITIAL_WINDOW_SIZE */
    p = wreserve(13);
    put_frame_header(p, 4, F_WINDOW, 0, 0);
    put_u32(p + 9, CONN_WINDOW_BUMP);

    uint64_t start = bench_now_ns();
    mstart = start + (uint64_t)(warmup * 1e9);
    mend = mstart + (uint64_t)(duration * 1e9);
    refill();
    flush();
    for (;;) {
        if (bench_now_ns() >= mend)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLIN | (wlen ? POLLOUT : 0)};
        int pr = poll(&pf, 1, 100);
        if (pr < 0 && errno != EINTR)
            die("poll failed");
        if (pr <= 0)
            continue;
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(fd, rbuf + rlen, RBUF_CAP - rlen);
            if (n == 0)
                die("connection closed by the server");
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                die("read failed");
            if (n > 0)
                rlen += (size_t)n;
            size_t off = 0;
            while (rlen - off >= 9) {
                const uint8_t *h = rbuf + off;
                uint32_t len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
                if (len > RBUF_CAP - 9)
                    die("frame too large");
                if (rlen - off < 9 + (size_t)len)
                    break;
                on_frame(h[3], h[4], get_u32(h + 5) & 0x7fffffffu, h + 9, len);
                off += 9 + len;
            }
            memmove(rbuf, rbuf + off, rlen - off);
            rlen -= off;
            if (recv_unacked >= CONN_WINDOW_BUMP / 2) { /* replenish the connection window */
                uint8_t *w = wreserve(13);
                put_frame_header(w, 4, F_WINDOW, 0, 0);
                put_u32(w + 9, (uint32_t)recv_unacked);
                recv_unacked = 0;
            }
        }
        refill();
        if (wlen)
            flush();
    }
    printf("mode=grpc outstanding=%d ok=%ld errors=%ld first_error_status=%ld rate=%.1f",
           outstanding, okc, bad, first_bad_status, (double)okc / duration);
    bench_print_pcts(samples, ns);
    printf("\n");
    fflush(stdout);
    /* In-flight calls are abandoned on purpose: the process exits, the server sees resets. */
    _exit(0);
}
