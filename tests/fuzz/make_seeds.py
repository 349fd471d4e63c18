#!/usr/bin/env python3
"""Write the seed corpora of fuzz_app_scan, fuzz_http, fuzz_tcp, fuzz_proto, fuzz_score_wire, fuzz_event,
fuzz_rest_query and fuzz_model_reply.

Seeds are committed; rerun this only to change them (it never deletes files, so
crash fixtures kept in the same folders stay). Transport seeds start with the
two header bytes of tests/fuzz/transport_harness.h: flags, chunk size.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"

MODE_NEXT, MODE_REVERSE, MODE_DELAY, MODE_HOLD = 0, 1, 2, 3
HALF_CLOSE, NOT_READY, READ_SLOWLY = 0x04, 0x08, 0x10
WHOLE = 255  # chunk byte: 64 KiB per send

APP = {"applicant_id": "cd-0002", "income": 131, "loan_amount": 1000, "credit_history": 1}


def seed(kind: str, name: str, flags: int, chunk: int, body: bytes) -> None:
    d = CORPUS / kind
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(bytes([flags, chunk]) + body)


def req(method: str, path: str, body: bytes | None = None, headers: dict | None = None,
        version: str = "HTTP/1.1") -> bytes:
    h = {"Host": "x"}
    if body is not None:
        h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    head = f"{method} {path} {version}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in h.items() if v is not None)
    return head.encode() + b"\r\n" + (body or b"")


def app(i: int = 0, **kw: object) -> bytes:
    return json.dumps({**APP, "applicant_id": f"cd-{i:04d}", **kw}).encode()


def http_seeds() -> None:
    seed("http", "score", MODE_NEXT, WHOLE, req("POST", "/v1/score", app()))
    seed("http", "score-alias-rid", MODE_NEXT, 9,
         req("POST", "/score", app(1), {"X-Request-Id": "req-1"}))
    seed("http", "pipeline-mixed", MODE_REVERSE, 7,
         req("POST", "/v1/score", app(2)) + req("GET", "/healthz") + req("GET", "/metrics")
         + req("GET", "/readyz") + req("POST", "/v1/score", app(3)))
    seed("http", "pipeline-20-hold", MODE_HOLD | READ_SLOWLY, WHOLE,
         b"".join(req("POST", "/v1/score", app(i)) for i in range(20)))
    seed("http", "pipeline-delay", MODE_DELAY, 33,
         b"".join(req("POST", "/v1/score", app(i)) for i in range(6)))
    chunked = b"5\r\n" + app(4)[:5] + b"\r\n" + f"{len(app(4)) - 5:x}".encode() + b"\r\n" \
        + app(4)[5:] + b"\r\n0\r\n\r\n"
    seed("http", "chunked", MODE_NEXT, 3, req("POST", "/v1/score", None, {
        "Content-Type": "application/json", "Transfer-Encoding": "chunked"}) + chunked)
    seed("http", "gzip-chunked-pipelined", MODE_NEXT, 3, req("POST", "/v1/score", None, {
        "Content-Type": "application/json", "Transfer-Encoding": "gzip, chunked"}) + chunked
        + req("GET", "/healthz"))
    seed("http", "chunked-gzip", MODE_NEXT, WHOLE, req("POST", "/v1/score", None, {
        "Content-Type": "application/json", "Transfer-Encoding": "chunked, gzip"}) + chunked)
    big_chunk = b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n"
    seed("http", "chunked-too-big", MODE_NEXT, WHOLE, req("POST", "/v1/score", None, {
        "Content-Type": "application/json", "Transfer-Encoding": "chunked"}) + big_chunk)
    seed("http", "expect-continue", MODE_NEXT, 50, req("POST", "/v1/score", app(5), {
        "Expect": "100-continue"}))
    seed("http", "expect-continue-415", MODE_NEXT, WHOLE, req("POST", "/v1/score", app(5), {
        "Expect": "100-continue", "Content-Type": "text/plain"}))
    seed("http", "too-large", MODE_NEXT, WHOLE, req("POST", "/v1/score", b"{}", {
        "Content-Length": "100000"}))
    seed("http", "not-found-405-415", MODE_NEXT, 11,
         req("GET", "/nope") + req("GET", "/v1/score") + req("POST", "/healthz", b"{}")
         + req("POST", "/v1/score", app(6), {"Content-Type": "application/x-www-form-urlencoded"}))
    seed("http", "bad-bodies", MODE_NEXT, WHOLE,
         req("POST", "/v1/score", b'{"applicant_id":')
         + req("POST", "/v1/score", b'{"applicant_id":"x","income":-1,"loan_amount":1,'
               b'"credit_history":1}')
         + req("POST", "/v1/score", b"")
         + req("POST", "/v1/score", app(7), {"X-Request-Id": "a b"}))
    seed("http", "malformed", MODE_NEXT, WHOLE, b"POST /v1/score HTTP/1.1\r\nHost x\r\n\r\n")
    seed("http", "garbage", MODE_NEXT, 1, b"\x00\xff GET / \r\n\r\n")
    seed("http", "close-then-more", MODE_NEXT, WHOLE,
         req("GET", "/healthz", None, {"Connection": "close"}) + req("GET", "/healthz"))
    seed("http", "http10", MODE_NEXT, WHOLE, req("GET", "/healthz", None, None, "HTTP/1.0"))
    seed("http", "not-ready-half-close", NOT_READY | HALF_CLOSE, WHOLE,
         req("GET", "/readyz") + req("POST", "/v1/score", app(8)))
    seed("http", "headers-too-large", MODE_NEXT, WHOLE,
         b"GET /healthz HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 33000 + b"\r\n\r\n")
    seed("http", "long-url", MODE_NEXT, WHOLE, req("GET", "/" + "u" * 600))
    seed("http", "upgrade", MODE_NEXT, WHOLE, req("GET", "/healthz", None, {
        "Connection": "Upgrade", "Upgrade": "websocket"}) + b"after")
    seed("http", "upgrade-score-pipelined", MODE_DELAY, 17, req("POST", "/v1/score", app(9), {
        "Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABk"})
        + req("GET", "/healthz"))
    seed("http", "connect-pipelined", MODE_NEXT, WHOLE,
         b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
         + req("GET", "/healthz"))
    seed("http", "fallback-statuses", MODE_REVERSE, WHOLE,
         b"".join(req("POST", "/v1/score", app(i * 7 + 3)) for i in range(10)))


def tcp_seeds() -> None:
    line = app(0) + b"\n"
    seed("tcp", "one", MODE_NEXT, WHOLE, line)
    seed("tcp", "rid", MODE_NEXT, 5, app(1, request_id="t-1") + b"\n")
    seed("tcp", "pipeline-reverse", MODE_REVERSE, 13, b"".join(app(i) + b"\n" for i in range(8)))
    seed("tcp", "pipeline-hold", MODE_HOLD | READ_SLOWLY, WHOLE,
         b"".join(app(i) + b"\n" for i in range(40)))
    seed("tcp", "blank-cr", MODE_DELAY, 4, b"\n\r\n" + app(2) + b"\r\n\n" + app(3) + b"\n")
    seed("tcp", "overlong-resync", MODE_NEXT, 64, b"{" + b"x" * 600 + b"\n" + app(4) + b"\n")
    seed("tcp", "bad-lines", MODE_NEXT, WHOLE,
         b'{"applicant_id":\n[1]\n{"applicant_id":"x","income":1,"loan_amount":0,'
         b'"credit_history":1}\n' + app(5, request_id="a b") + b"\n" + b"\x00\xff\n")
    seed("tcp", "no-newline-half-close", HALF_CLOSE, WHOLE, app(6))
    seed("tcp", "statuses", MODE_NEXT, WHOLE, b"".join(app(i * 7 + 3) + b"\n" for i in range(10)))


def pb_str(field: int, s: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(s)) + s


def pb_double(field: int, d: float) -> bytes:
    return varint(field << 3 | 1) + struct.pack("<d", d)


def varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_int(field: int, v: int) -> bytes:
    return varint(field << 3) + varint(v)


def pb_feature(key: bytes, kind: str | None, v: object = None) -> bytes:
    """One features-map entry (field 5): key, then a FeatureValue (oneof number = 1,
    category = 2, flag = 3; kind None: an empty FeatureValue)."""
    value = b""
    if kind == "number":
        value = pb_double(1, float(v))  # type: ignore[arg-type]
    elif kind == "category":
        value = pb_str(2, v)  # type: ignore[arg-type]
    elif kind == "flag":
        value = pb_int(3, int(bool(v)))
    return pb_str(5, pb_str(1, key) + pb_str(2, value))


# The shipped 13-feature application (DESIGN §9), every feature present.
FEATURES13 = [(b"income", "number", 131), (b"loan_amount", "number", 1000),
              (b"credit_history", "number", 1), (b"seniority_years", "number", 9),
              (b"home", "category", b"rent"), (b"term_months", "number", 60),
              (b"age", "number", 30), (b"marital", "category", b"married"),
              (b"job", "category", b"freelance"), (b"expenses", "number", 73),
              (b"assets", "number", 0), (b"debt", "number", 0),
              (b"purchase_price", "number", 1200.5)]


def proto_seeds() -> None:
    d = CORPUS / "proto"
    d.mkdir(parents=True, exist_ok=True)
    good = pb_str(1, b"cd-0002") + pb_double(2, 131) + pb_double(3, 1000) + pb_int(4, 1)
    feats = pb_str(1, b"cd-0002") + b"".join(pb_feature(*f) for f in FEATURES13)
    cases = {
        "good": good,
        "empty": b"",
        "negative-history": pb_str(1, b"x") + pb_double(3, 1) + pb_int(4, -1),
        "nan": pb_str(1, b"x") + pb_double(2, float("nan")) + pb_double(3, float("inf")),
        "unknown-fields": good + pb_str(15, b"extra") + pb_int(99, 7),
        "repeated-field": good + pb_str(1, b"second"),
        "non-utf8": pb_str(1, b"\xff\xfe") + pb_double(3, 1),
        "truncated": good[:-3],
        # the features map (field 5)
        "features-13": feats,
        "features-flag": feats + pb_feature(b"owner", "flag", True),
        "features-and-fields": feats + pb_double(2, 5),
        "features-duplicate-key": feats + pb_feature(b"age", "number", float("nan"))
        + pb_feature(b"age", "number", 41),
        "features-empty-value": feats + pb_feature(b"age", None),
        "features-no-value": feats + pb_str(5, pb_str(1, b"age")),
        "features-bad-key": feats + pb_feature(b"Bad Key", "number", 1),
        "features-nul-key": feats + pb_feature(b"ag\x00e", "number", 1),
        "features-long-key": feats + pb_feature(b"a" * 33, "number", 1),
        "features-nan": feats + pb_feature(b"debt", "number", float("inf")),
        "features-nul-category": feats + pb_feature(b"home", "category", b"re\x00nt"),
        "features-bad-utf8": feats + pb_feature(b"home", "category", b"\xc0\xaf"),
        "features-escapes": feats + pb_feature(b"note", "category", b'q"\\\x01\n\x7f\xc3\xa9'),
        "features-applicant-id": feats + pb_feature(b"applicant_id", "category", b"x"),
        "features-request-id": feats + pb_feature(b"request_id", "category", b"a b"),
        # value field repeated inside one entry (protobuf merges the two FeatureValues)
        "features-merged-value": feats + pb_str(5, pb_str(1, b"home") + pb_str(2, pb_str(2, b"own"))
                                                + pb_str(2, b"")),
        "features-many": pb_str(1, b"m") + b"".join(
            pb_feature(f"f{i % 40}".encode(), "number", i) for i in range(200)),
    }
    for name, body in cases.items():
        (d / f"seed-{name}").write_bytes(body)


def score_wire_seeds() -> None:
    """protobuf-c 1.4.1's corners that plugins/grpc/score_wire.c copies (its top comment);
    fuzz_score_wire also starts from fuzz_proto's corpus."""
    d = CORPUS / "score_wire"
    d.mkdir(parents=True, exist_ok=True)
    head = pb_str(1, b"w")

    def entry(*fields: bytes) -> bytes:  # a map entry "home" with these fields after its key
        return pb_str(5, pb_str(1, b"home") + b"".join(fields))

    def val(body: bytes) -> bytes:  # an entry's value field holding this FeatureValue
        return pb_str(2, body)

    cases = {
        # a value given twice is merged: kind-less after a category drops it, after a
        # number keeps it, after nothing is refused
        "merge-category-then-empty": head + entry(val(pb_str(2, b"own")), val(b"")),
        "merge-number-then-empty": head + entry(val(pb_double(1, 2.5)), val(b"")),
        "merge-flag-then-empty": head + entry(val(pb_int(3, 1)), val(b"")),
        "merge-empty-then-empty": head + entry(val(b""), val(b"")),
        "merge-empty-then-number": head + entry(val(b""), val(pb_double(1, 7))),
        "oneof-last-wins": head + entry(val(pb_str(2, b"own") + pb_double(1, 3) + pb_int(3, 0))),
        # a bool reads whatever its field spans, whatever the wire type
        "flag-as-length": head + entry(val(pb_str(3, b""))),
        "flag-as-length-1": head + entry(val(pb_str(3, b"\x00"))),
        "flag-as-fixed64": head + entry(val(bytes([3 << 3 | 1]) + bytes(8))),
        "flag-as-fixed32": head + entry(val(bytes([3 << 3 | 5]) + b"\x00\x00\x80\x00")),
        "flag-varint-0x80": head + entry(val(bytes([3 << 3, 0x80, 0x00]))),
        # wrong wire types of known fields are refused
        "number-as-varint": head + entry(val(pb_int(1, 5))),
        "id-as-varint": pb_int(1, 5),
        "history-as-double": head + pb_double(4, 1),
        "features-as-varint": head + pb_int(5, 1),
        # tags: field 0 in one byte refused, in two bytes an unknown field; 5 bytes at most
        "tag-zero": b"\x02\x00" + head,
        "tag-zero-long": b"\x82\x00\x00" + head,
        "tag-5-bytes": b"\x8a\x80\x80\x80\x00\x01w",
        "tag-6-bytes": b"\x8a\x80\x80\x80\x80\x00\x01w",
        "tag-high-bits": b"\xfa\xff\xff\xff\x7f\x00" + head,
        "group": head + bytes([6 << 3 | 3]),
        "wire-type-7": head + bytes([6 << 3 | 7]),
        # varints of 10 and 11 bytes, length prefixes of 5 and 6 bytes
        "history-10-bytes": head + bytes([4 << 3]) + b"\xff" * 9 + b"\x01",
        "history-11-bytes": head + bytes([4 << 3]) + b"\xff" * 10 + b"\x01",
        "history-negative": head + pb_int(4, -7),
        "length-5-bytes": bytes([1 << 3 | 2]) + b"\x81\x80\x80\x80\x00w",
        "length-6-bytes": bytes([1 << 3 | 2]) + b"\x81\x80\x80\x80\x80\x00w",
        "length-over-int-max": bytes([1 << 3 | 2]) + b"\xff\xff\xff\xff\x0f",
        "key-repeated": head + pb_str(5, pb_str(1, b"home") + pb_str(1, b"age")
                                      + pb_str(2, pb_double(1, 30))),
        "unknown-in-entry-and-value": head + pb_str(5, pb_str(1, b"age") + pb_int(9, 1)
                                                    + pb_str(2, pb_double(1, 30) + pb_str(7, b"x"))),
    }
    for name, body in cases.items():
        (d / f"seed-{name}").write_bytes(body)


def event_seeds() -> None:
    d = CORPUS / "event"
    d.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)

    def s(text: bytes) -> bytes:
        return bytes([len(text) - 1]) + text

    base = s(b"7c9e6679-7425-40de-944b-e07fc1f90ae7") + s(b"exp-champion-vs-gbm") + s(b"12345") \
        + s(b"http") + s(b"champion-lr-v1")
    nums = b"".join(struct.pack(">d", x) for x in (0.73, 0.68, 1.84, 2.31, 60000, 25000)) \
        + struct.pack(">Q", 4) + struct.pack(">Q", 1759844142123)
    (d / "seed-no-challenger").write_bytes(base + bytes([0x02 | 0x08, 0]) + nums)
    (d / "seed-both").write_bytes(base + bytes([0x01 | 0x02 | 0x04 | 0x08]) + s(b"challenger-gbm-v1")
                                  + bytes([0]) + nums)
    (d / "seed-challenger-timeout").write_bytes(base + bytes([0x01 | 0x02]) + s(b"gbm")
                                                + bytes([1]) + nums)
    (d / "seed-escapes").write_bytes(s(b'q"\\\x01\t') + s("é€😀".encode()) + s(b"\x7f")
                                     + s(b"tcp") + s(b"m") + bytes([0x21, 4]) + nums)
    (d / "seed-random").write_bytes(bytes(rng.randrange(256) for _ in range(400)))

    # Reason codes (read after the timestamp): a count, then per code its length - 1
    # and each character as an index into [A-Z0-9_].
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

    def codes(*cs: str) -> bytes:
        return bytes([len(cs)]) + b"".join(
            bytes([len(c) - 1]) + bytes(alphabet.index(ch) for ch in c) for c in cs)

    (d / "seed-reasons").write_bytes(
        base + bytes([0x01 | 0x02 | 0x04]) + s(b"challenger-gbm-v2") + bytes([0]) + nums
        + struct.pack(">Q", 1759844142123) + codes("INCOME", "DEBT", "RECORDS", "LOAN_AMOUNT")
        + codes("ABCDEFGHIJKLMNOP", "A_9"))


# Endpoint byte of fuzz_rest_query (persistence/query.h csgp_query_kind).
SUMMARY, LATENCY, DISTRIBUTION, SEGMENTS, EVENTS, PERFORMANCE, REASONS = range(7)


def rest_query_seeds() -> None:
    """Byte 0 = endpoint, then the query string as it follows '?' in the request."""
    d = CORPUS / "rest_query"
    d.mkdir(parents=True, exist_ok=True)
    filters = ("from=2026-11-25T10:00:00%2B01:00&to=2026-11-25T11:00:00.5-02:00"
               "&experiment_id=exp-champion-vs-gbm&challenger_model=challenger-gbm-v1"
               "&applicant_id=cd-0001&min_income=1e3&max_income=250000.5")
    seeds = {
        "empty": (SUMMARY, ""),
        "filters": (SUMMARY, filters),
        "epoch": (PERFORMANCE, "from=1764061200&to=1764064800.25"),
        "latency": (LATENCY, "bucket=10s&from=2026-11-25T10:00:00Z"),
        "distribution": (DISTRIBUTION, "bins=1000&challenger_model=m"),
        "segments": (SEGMENTS, "by=loan_amount&bands=0,1000,5000.5,1e4"),
        "segments-default": (SEGMENTS, "by=credit_history&bands="),
        "events": (EVENTS, "limit=1000&offset=999999999&" + filters),
        "encoded": (EVENTS, "applicant_id=caf%C3%A9+x%2Fy&experiment%5Fid=a%zz%4"),
        "repeated": (SUMMARY, "experiment_id=a&experiment_id=b"),
        "malformed": (SUMMARY, "from=1&&to=2"),
        "nul": (SUMMARY, "applicant_id=a%00b"),
        "bad-utf8": (SUMMARY, "challenger_model=%FF%FE"),
        "unknown": (LATENCY, "bins=5&bogus=%E2%82"),
        "order": (SUMMARY, "from=2026-11-25T11:00:00Z&to=2026-11-25T10:00:00Z"),
        "bands-51": (SEGMENTS, "bands=" + ",".join(str(i) for i in range(51))),
        "long-value": (EVENTS, "applicant_id=" + "x" * 1025),
        "reasons": (REASONS, filters + "&f.home=rent&f.age.min=30"),
    }
    for name, (kind, query) in seeds.items():
        (d / f"seed-{name}").write_bytes(bytes([kind]) + query.encode())


# Flag bits of fuzz_model_reply (tests/fuzz/fuzz_model_reply.c): byte 0.
THEN_EOF, PIPELINE = 0x01, 0x08


def calls(n: int) -> int:
    return (n - 1) << 1


def model_reply_seeds() -> None:
    """Byte 0 = flags (EOF, calls, pipeline), byte 1 = bytes per send, then the stream the
    fake model sends back to rest.so."""
    good = b'{"score": 0.72, "decision": "approve"}'

    def resp(body: bytes = good, status: str = "200 OK", version: str = "HTTP/1.1",
             length: bool = True, extra: str = "") -> bytes:
        head = f"{version} {status}\r\nContent-Type: application/json\r\n{extra}"
        if length:
            head += f"Content-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body

    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               + f"{len(good):x}".encode() + b"\r\n" + good + b"\r\n0\r\n\r\n")
    seeds = {
        "close-delimited-http10": (THEN_EOF, 0, resp(version="HTTP/1.0", length=False)),
        "close-delimited-http11": (THEN_EOF, 3, resp(length=False, extra="Connection: close\r\n")),
        "content-length": (THEN_EOF, 0, resp()),
        "content-length-no-eof": (0, 0, resp()),
        "close-delimited-no-eof": (0, 0, resp(version="HTTP/1.0", length=False)),
        "chunked": (THEN_EOF, 5, chunked),
        "short-content-length": (THEN_EOF, 0, resp()[:-4]),
        "short-chunked": (THEN_EOF, 0, chunked[:-9]),
        "eof-in-headers": (THEN_EOF, 0, b"HTTP/1.1 200 OK\r\nContent-Ty"),
        "eof-before-any-byte": (THEN_EOF, 0, b""),
        "continue-then-close": (THEN_EOF, 0, b"HTTP/1.1 100 Continue\r\n\r\n"
                                + resp(version="HTTP/1.0", length=False)),
        "close-delimited-bad-json": (THEN_EOF, 0, resp(good[:-2], "200 OK", "HTTP/1.0", False)),
        "duplicate-score": (THEN_EOF, 0, resp(b'{"score":0.9,"score":0.1,"decision":"approve"}')),
        "escaped-key": (THEN_EOF, 0, resp(b'{"sc\\u006fre":0.5,"decision":"decline"}')),
        "status-503": (THEN_EOF, 0, resp(b"overloaded", "503 Service Unavailable")),
        "pipelined-3": (THEN_EOF | PIPELINE | calls(3), 0, resp() * 3),
        "pipelined-then-close": (THEN_EOF | PIPELINE | calls(4), 11,
                                 resp() * 2 + resp(version="HTTP/1.0", length=False)),
        "queued-2": (THEN_EOF | calls(2), 0, resp() + resp(b'{"score":0,"decision":"decline"}')),
        "queued-4-close-first": (THEN_EOF | calls(4), 0, resp(version="HTTP/1.0", length=False)),
    }
    # Points and reasons (DESIGN §5): good ones, and each way a list can be malformed.
    r_income = b'{"code":"INCOME","feature":"income","text":"Income insufficient"}'
    r_debt = b'{"code":"DEBT","feature":"debt","text":"Debt \\"high\\" \\u00e9 \xc3\xa9"}'
    decline = b'{"score":0.2,"decision":"decline","points":571.3,"reasons":[%s]}'
    reasons = {
        "decline-2": decline % (r_income + b"," + r_debt),
        "decline-4": decline % b",".join(
            b'{"code":"%s","feature":"f%d","text":"t"}' % (c, i)
            for i, c in enumerate([b"A", b"B", b"C", b"D"])),
        "approve-empty": b'{"score":0.9,"decision":"approve","points":640,"reasons":[ ]}',
        "no-reasons-points-int": b'{"score":0.9,"decision":"approve","points":-12}',
        "five": decline % b",".join(
            b'{"code":"%s","feature":"f","text":"t"}' % c for c in [b"A", b"B", b"C", b"D", b"E"]),
        "approve-with-reasons": b'{"score":0.9,"decision":"approve","reasons":[%s]}' % r_income,
        "bad-code": decline % b'{"code":"income","feature":"income","text":"x"}',
        "long-code": decline % b'{"code":"ABCDEFGHIJKLMNOPQ","feature":"income","text":"x"}',
        "bad-feature": decline % b'{"code":"INCOME","feature":"Income","text":"x"}',
        "no-feature": decline % b'{"code":"INCOME","text":"x"}',
        "control-text": decline % b'{"code":"INCOME","feature":"income","text":"a\\nb"}',
        "empty-text": decline % b'{"code":"INCOME","feature":"income","text":""}',
        "code-twice": decline % (r_income + b"," + r_income),
        "not-array": b'{"score":0.2,"decision":"decline","reasons":"INCOME"}',
        "entry-not-object": decline % b'"INCOME"',
        "points-string": b'{"score":0.2,"decision":"decline","points":"571"}',
        "points-null": b'{"score":0.2,"decision":"decline","points":null}',
        "duplicate-in-reason": decline % b'{"code":"A","code":"B","feature":"f","text":"t"}',
    }
    for name, body in reasons.items():
        seeds[f"reasons-{name}"] = (THEN_EOF, 0, resp(body))
    d = CORPUS / "model_reply"
    d.mkdir(parents=True, exist_ok=True)
    for name, (flags, chunk, stream) in seeds.items():
        (d / f"seed-{name}").write_bytes(bytes([flags, chunk]) + stream)


def app_scan_seeds() -> None:
    """Bodies for the scanner-vs-jansson target: a schema byte (fuzz_schemas.h: 1 shipped
    13 features, 2 reject/boolean, 3 all types, none = the 4-field default), then the text.
    Every body of the conformance tables (tests/conformance, tests/unit/test_application.c)
    in spirit, and the corners of jansson's grammar the scanner must agree on."""
    brief = {"applicant_id": "bad-case", "income": 100.0, "loan_amount": 1000.0,
             "credit_history": 1}
    full = {**brief, "seniority_years": 7, "home": "owner", "term_months": 36, "age": 41,
            "marital": "married", "job": "fixed", "expenses": 60.0, "assets": 3000.25,
            "debt": 0.0, "purchase_price": 1500.0}
    b = json.dumps(brief)[1:-1].encode()
    texts: dict[str, bytes] = {
        "brief": json.dumps(brief).encode(),
        "brief-compact": json.dumps(brief, separators=(",", ":")).encode(),
        "rid": json.dumps({**brief, "request_id": "r-1"}).encode(),
        "rid-bad": json.dumps({**brief, "request_id": "a b"}).encode(),
        "rid-number": b"{" + b + b',"request_id":5}',
        "rid-twice": b"{" + b + b',"request_id":"a","request_id":"b"}',
        "unknowns": b"{" + b + b',"x":null,"y":true,"z":-1.5e3,"w":"s","v":0}',
        "unknown-nested": b"{" + b + b',"x":{"a":[1,{"b":2}]},"y":[]}',
        "unknown-dup-nested": b"{" + b + b',"x":{"a":1,"a":2}}',
        "unknown-twice": b"{" + b + b',"x":1,"x":2}',
        "many-unknowns": b"{" + b + b"".join(b',"u%d":%d' % (i, i) for i in range(20)) + b"}",
        "dup-feature": b"{" + b + b',"income":5}',
        "dup-id": b"{" + b + b',"applicant_id":"b"}',
        "escapes": b'{"applicant_id":"a\u00e9\n","inc\u006fme":1,"loan_amount":1,'
                   b'"credit_history":1}',
        "escaped-id": b'{"applicant_id":"a\"b","income":1,"loan_amount":1,"credit_history":1}',
        "nul-id": b'{"applicant_id":"a\u0000b","income":1,"loan_amount":1,"credit_history":1}',
        "utf8-id": '{"applicant_id":"é€😀","income":1,"loan_amount":1,"credit_history":1}'
                   .encode(),
        "bad-utf8": b'{"applicant_id":"\xc3","income":1,"loan_amount":1,"credit_history":1}',
        "overlong": b'{"applicant_id":"\xc0\xaf","income":1,"loan_amount":1,'
                    b'"credit_history":1}',
        "surrogate-utf8": b'{"applicant_id":"\xed\xa0\x80","income":1,"loan_amount":1,'
                          b'"credit_history":1}',
        "control-raw": b'{"applicant_id":"a\x01","income":1,"loan_amount":1,"credit_history":1}',
        "numbers": b'{"applicant_id":"n","income":-0,"loan_amount":1E+2,"credit_history":0}',
        "neg-zero-real": b'{"applicant_id":"n","income":-0.0,"loan_amount":1e-400,'
                         b'"credit_history":1}',
        "big-int": b'{"applicant_id":"n","income":9223372036854775807,"loan_amount":'
                   b'9223372036854775808,"credit_history":1}',
        "min-int": b'{"applicant_id":"n","income":1,"loan_amount":1,"credit_history":1,'
                   b'"x":-9223372036854775808,"y":-9223372036854775809}',
        "overflow": b'{"applicant_id":"n","income":1e400,"loan_amount":1,"credit_history":1}',
        "long-real": b'{"applicant_id":"n","income":1.' + b"1" * 80 + b',"loan_amount":1,'
                     b'"credit_history":1}',
        "leading-zero": b'{"applicant_id":"n","income":01,"loan_amount":1,"credit_history":1}',
        "bare-minus": b'{"applicant_id":"n","income":-,"loan_amount":1,"credit_history":1}',
        "dot-no-digit": b'{"applicant_id":"n","income":1.,"loan_amount":1,"credit_history":1}',
        "exp-no-digit": b'{"applicant_id":"n","income":1e+,"loan_amount":1,"credit_history":1}',
        "truex": b'{"applicant_id":"n","income":1,"loan_amount":1,"credit_history":1,"x":truex}',
        "history-real": b'{"applicant_id":"n","income":1,"loan_amount":1,"credit_history":1.0}',
        "history-int32": b'{"applicant_id":"n","income":1,"loan_amount":1,'
                         b'"credit_history":2147483648}',
        "whitespace": b' \t\r\n{ "applicant_id" : "w" ,\n"income":1 , "loan_amount" :1,'
                      b'"credit_history":1 }\n ',
        "trailing": b"{" + b + b"} x",
        "two-objects": b"{" + b + b"}{}",
        "torn": b'{"applicant_id": "x", ',
        "not-object": b"[1, 2, 3]",
        "scalar": b"5",
        "empty-object": b"{}",
        "empty": b"",
        "empty-key": b"{" + b + b',"":1}',
        "missing-income": json.dumps({k: v for k, v in brief.items() if k != "income"}).encode(),
        "income-string": json.dumps({**brief, "income": "lots"}).encode(),
        "loan-true": json.dumps({**brief, "loan_amount": True}).encode(),
        "id-long": json.dumps({**brief, "applicant_id": "x" * 65}).encode(),
        "id-64": json.dumps({**brief, "applicant_id": "x" * 64}).encode(),
        "id-number": json.dumps({**brief, "applicant_id": 123}).encode(),
        "income-null": json.dumps({**brief, "income": None}).encode(),
        "income-negative": json.dumps({**brief, "income": -1}).encode(),
        "loan-zero": json.dumps({**brief, "loan_amount": 0}).encode(),
        "padding": json.dumps({**brief, "padding": "p" * 3000}).encode(),
    }
    shipped = {
        "full": json.dumps(full).encode(),
        "full-rid": json.dumps({**full, "request_id": "bench-1"}).encode(),
        "age-string": json.dumps({**full, "age": "forty"}).encode(),
        "age-fraction": json.dumps({**full, "age": 40.5}).encode(),
        "age-low": json.dumps({**full, "age": 17}).encode(),
        "home-number": json.dumps({**full, "home": 1}).encode(),
        "home-unknown": json.dumps({**full, "home": "castle"}).encode(),
        "job-astronaut": json.dumps({**full, "job": "astronaut"}).encode(),
        "term-zero": json.dumps({**full, "term_months": 0}).encode(),
        "debt-negative": json.dumps({**full, "debt": -0.01}).encode(),
        "shoe-size": json.dumps({**full, "shoe_size": 44}).encode(),
    }
    typed = {
        "reject-ok": b'{"applicant_id":"t","flag":true,"n":3,"x":-1.4}',
        "reject-unknown": b'{"applicant_id":"t","flag":false,"q":1}',
        "reject-bounds": b'{"applicant_id":"t","flag":false,"n":-3,"x":-1.5}',
        "flag-number": b'{"applicant_id":"t","flag":1}',
    }
    alltypes = {
        "all": b'{"applicant_id":"t","a":-0.0,"b":-7,"c":"y z","d":false}',
        "all-utf8-cat": '{"applicant_id":"t","c":"é-not-allowed-in-config-but-fine-here"}'.encode(),
        "none": b'{"applicant_id":"t"}',
        "cat-escaped": b'{"applicant_id":"t","c":"y\u0020z"}',
    }
    d = CORPUS / "app_scan"
    d.mkdir(parents=True, exist_ok=True)
    for prefix, group in ((b"", texts), (b"\x01", shipped), (b"\x02", typed),
                          (b"\x03", alltypes)):
        for name, text in group.items():
            (d / f"seed-{name}").write_bytes(prefix + text)


if __name__ == "__main__":
    app_scan_seeds()
    http_seeds()
    tcp_seeds()
    proto_seeds()
    score_wire_seeds()
    event_seeds()
    rest_query_seeds()
    model_reply_seeds()
