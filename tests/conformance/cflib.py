"""Conformance helpers: one csg-gateway with all three transports in front of both
csg-model services, and a small client per protocol that returns comparable results.

A result is a dict: for a success the reply's fields, for a failure
{"error": <error class>} where the class is transport-neutral:
"invalid_json", "invalid_field:<field>", "payload_too_large", "champion_error", …
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import harness
from harness import BUILD, ROOT, SLOW, TEST_VAR, UNDER_SANITIZER, free_port
from harness.waits import NOT_YET
from transports import protogen

VAR = TEST_VAR / "conformance"

pb, health_pb = protogen.load()
GRPC_OPTS = [("grpc.use_local_subchannel_pool", 1)]


def wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    """harness.wait_for where a gRPC error also means "not yet" (a server starting)."""
    harness.wait_for(pred, timeout, what, retry_on=(*NOT_YET, grpc.RpcError))


def shipped_application_block(unknown_fields: str = "ignore") -> str:
    """The `application:` block of config/experiments.yaml (the 13 characteristics),
    with unknown_fields set as asked."""
    text = (ROOT / "config" / "experiments.yaml").read_text()
    block = text[text.index("\napplication:") + 1:text.index("\nexperiment:") + 1]
    return re.sub(r"unknown_fields: \w+", f"unknown_fields: {unknown_fields}", block)


def applications(n: int) -> list[dict[str, Any]]:
    """n distinct applications: the hold-out rows, then seeded synthetic ones."""
    rows: list[dict[str, Any]] = []
    with open(ROOT / "models" / "holdout.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows.append({"applicant_id": r["applicant_id"], "income": float(r["income"]),
                         "loan_amount": float(r["loan_amount"]),
                         "credit_history": int(r["credit_history"])})
    rng = random.Random(5)
    i = 0
    while len(rows) < n:
        rows.append({"applicant_id": f"conf-{i}", "income": round(rng.uniform(0, 400), 2),
                     "loan_amount": round(rng.uniform(100, 5000), 2),
                     "credit_history": rng.randint(0, 3)})
        i += 1
    return rows[:n]


# --------------------------------------------------------------------------
# Processes


class Proc(harness.Proc):
    """harness.Proc with its log in this suite's VAR."""

    def __init__(self, name: str, argv: list[str]) -> None:
        super().__init__(name, argv, log_dir=VAR)


@dataclass
class Stack:
    http: int
    tcp: int
    grpc: int
    events: Path
    gateway: Proc
    models: list[Proc]
    idle_timeout_ms: int
    max_line: int
    max_body: int
    champion: int  # csg-model port, for direct comparisons

    def read_events(self) -> list[dict[str, Any]]:
        return harness.read_events(self.events)


def http_ok(port: int, path: str) -> bool:
    c = HttpClient(port, timeout=1)
    try:
        return c.request("GET", path)[0] == 200
    finally:
        c.close()


def start_stack(idle_timeout_ms: int = 2000, weight: float = 0.5,
                champion_args: tuple[str, ...] = (), champion_timeout_ms: int = 0,
                wait_ready: bool = True, application: str = "",
                model_ports: tuple[int, int] | None = None, fallback: str = "") -> Stack:
    """Models and a gateway on free ports. wait_ready: until the champion answered
    the gateway's probe (/readyz, gRPC health SERVING); else until all three
    transports answer at all (for a champion that is meant to fail).
    application: an `application:` block (YAML text) for the gateway; "" = none
    (the default schema). model_ports: the champion's and challenger's ports of model
    servers the caller runs (fake models, e.g. gwlib.TinyModel); None = start both
    csg-model services. fallback: the champion's fallback_decision ("" = none)."""
    ports = {k: free_port() for k in ("http", "tcp", "grpc", "champion", "challenger")}
    if model_ports:
        ports["champion"], ports["challenger"] = model_ports
    run = VAR / f"run-{os.getpid()}-{ports['http']}"
    run.mkdir(parents=True, exist_ok=True)
    events = run / "events.ndjson"
    events.unlink(missing_ok=True)
    models = []
    for kind in () if model_ports else ("champion", "challenger"):
        extra = list(champion_args) if kind == "champion" else []
        models.append(Proc(f"model-{kind}", [str(BUILD / "bin" / "csg-model"), "--model",
                                             str(ROOT / "models" / f"{kind}.json"), "--port",
                                             str(ports[kind]), *extra]))
    for m, kind in zip(models, ("champion", "challenger")):
        m.ready(lambda k=kind: http_ok(ports[k], "/healthz"), 15, f"csg-model {kind}")
    max_line, max_body = 16384, 65536
    champion_timeout_ms = champion_timeout_ms or int(2000 * SLOW)
    cfg = run / "gateway.yaml"
    cfg.write_text(f"""# written by tests/conformance
gateway:
  workers: 2
  plugin_dir: {BUILD / "lib" / "csg"}
  lock_dir: {run}
transports:
  - {{ plugin: http.so, listen: "127.0.0.1:{ports["http"]}" }}
  - {{ plugin: tcp.so,  listen: "127.0.0.1:{ports["tcp"]}" }}
  - {{ plugin: grpc.so, listen: "127.0.0.1:{ports["grpc"]}" }}
{application}experiment:
  id: exp-conformance
  salt: "conformance"
  assignment: hash
  reply: after_champion
champion:
  name: champion-scorecard-v2
  adapter: rest.so
  url: http://127.0.0.1:{ports["champion"]}/score
  timeout_ms: {champion_timeout_ms}
{f"  fallback_decision: {fallback}" if fallback else ""}
challengers:
  - name: challenger-gbm-v2
    adapter: rest.so
    url: http://127.0.0.1:{ports["challenger"]}/score
    weight: {weight}
    timeout_ms: {int(2000 * SLOW)}
events:
  sink: file:{events}
limits:
  max_body_bytes: {max_body}
  max_line_bytes: {max_line}
  max_connections: 20000
  idle_timeout_ms: {idle_timeout_ms}
""")
    gw = Proc("gateway", [str(BUILD / "bin" / "csg-gateway"), "--config", str(cfg)])
    stack = Stack(ports["http"], ports["tcp"], ports["grpc"], events, gw, models,
                  idle_timeout_ms, max_line, max_body, ports["champion"])
    try:
        if wait_ready:
            wait_until(lambda: http_ok(ports["http"], "/readyz"), 20, "gateway /readyz")
            wait_until(lambda: grpc_health(ports["grpc"]) == "SERVING", 20, "gRPC health")
        else:
            wait_until(lambda: http_ok(ports["http"], "/healthz"), 20, "gateway /healthz")
            wait_until(lambda: bool(grpc_health(ports["grpc"])), 20, "gRPC health answers")
        socket.create_connection(("127.0.0.1", ports["tcp"]), timeout=5).close()
    except AssertionError:
        stop_stack(stack)
        raise RuntimeError(f"gateway did not start:\n{gw.log()[-3000:]}") from None
    return stack


def stop_stack(stack: Stack) -> int:
    rc = stack.gateway.stop()
    for m in stack.models:
        m.stop()
    return rc


def stop_stack_checked(stack: Stack) -> None:
    """Stop a module's stack: the gateway exits 0 on SIGTERM and, under the
    sanitizer, its log holds no report."""
    log = stack.gateway.log()
    rc = stop_stack(stack)
    assert rc == 0, f"gateway exited {rc} on SIGTERM:\n{log[-3000:]}"
    if UNDER_SANITIZER:
        text = stack.gateway.log_path.read_text(errors="replace")
        assert "ERROR: AddressSanitizer" not in text and "runtime error:" not in text, text[-4000:]


def grpc_health(port: int) -> str:
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=GRPC_OPTS) as ch:
        r = protogen.health_callable(ch, health_pb)(health_pb.HealthCheckRequest(), timeout=2)
        return health_pb.HealthCheckResponse.ServingStatus.Name(r.status)


# --------------------------------------------------------------------------
# Clients: each maps a reply to the transport-neutral result described above.


def json_error_class(obj: dict[str, Any]) -> str:
    e = obj["error"]
    return f"{e['code']}:{e['field']}" if e.get("field") else e["code"]


class TcpClient:
    def __init__(self, port: int, timeout: float = 20.0) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
        self.buf = b""

    def close(self) -> None:
        self.s.close()

    def send(self, data: bytes) -> None:
        self.s.sendall(data)

    def readline(self) -> bytes | None:
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self) -> dict[str, Any]:
        line = self.readline()
        if line is None:
            raise ConnectionError("closed before the reply")
        return json.loads(line)

    def score_many(self, apps: list[dict[str, Any]], rids: list[str]) -> list[dict[str, Any]]:
        """All lines pipelined in one write, then every reply read in order."""
        self.send(b"".join(json.dumps({**a, "request_id": r}).encode() + b"\n"
                           for a, r in zip(apps, rids, strict=True)))
        return [result_of_json(self.reply()) for _ in apps]


def result_of_json(obj: dict[str, Any]) -> dict[str, Any]:
    return {"error": json_error_class(obj)} if "error" in obj else obj


class HttpClient:
    """Raw HTTP/1.1 keep-alive client (requests one at a time)."""

    def __init__(self, port: int, timeout: float = 20.0) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.s.close()

    def _fill(self) -> None:
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionError("closed by server")
        self.buf += chunk

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        h = {"Host": "127.0.0.1"}
        if body is not None:
            h["Content-Type"] = "application/json"
            h["Content-Length"] = str(len(body))
        h.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        self.s.sendall(head.encode() + b"\r\n" + (body or b""))
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        while len(self.buf) < length:
            self._fill()
        out, self.buf = self.buf[:length], self.buf[length:]
        return status, out

    def score(self, body: bytes, rid: str | None = None) -> dict[str, Any]:
        status, out = self.request("POST", "/v1/score", body,
                                   {"X-Request-Id": rid} if rid else None)
        obj = json.loads(out)
        if status != 200:
            obj = {"error": json_error_class(obj), "status": status}
        return obj

    def score_many(self, apps: list[dict[str, Any]], rids: list[str]) -> list[dict[str, Any]]:
        return [self.score(json.dumps(a).encode(), r) for a, r in zip(apps, rids, strict=True)]


GRPC_CLASS = {
    grpc.StatusCode.RESOURCE_EXHAUSTED: "payload_too_large",
    grpc.StatusCode.UNAVAILABLE: "champion_error",
    grpc.StatusCode.DEADLINE_EXCEEDED: "champion_timeout",
}


def grpc_error_class(e: grpc.RpcError) -> str:
    code, details = e.code(), e.details() or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        field, sep, _ = details.partition(":")
        if sep and " " not in field:
            return f"invalid_field:{field}"
        return "invalid_json"  # the message itself did not decode
    return GRPC_CLASS.get(code, code.name)


def feature_value(v: Any) -> Any:
    """A Python value as a FeatureValue: bool → flag, number → number, str → category,
    None → no oneof member set."""
    if v is None:
        return pb.FeatureValue()
    if isinstance(v, bool):
        return pb.FeatureValue(flag=v)
    if isinstance(v, int | float):
        return pb.FeatureValue(number=float(v))
    return pb.FeatureValue(category=v)


def grpc_message(app: dict[str, Any]) -> Any:
    """A ScoreRequest from ScoreRequest fields; a "features" dict becomes the map."""
    fields = {k: v for k, v in app.items() if k != "features"}
    m = pb.ScoreRequest(**fields)
    for k, v in app.get("features", {}).items():
        m.features[k].CopyFrom(feature_value(v))
    return m


def as_features(app: dict[str, Any]) -> dict[str, Any]:
    """The same JSON application with every member but applicant_id in the features map."""
    return {"applicant_id": app["applicant_id"],
            "features": {k: v for k, v in app.items() if k != "applicant_id"}}


def reasons_of_grpc(r: Any) -> list[dict[str, Any]]:
    """ScoreResponse.reasons as the JSON replies carry them (feature "" is JSON null)."""
    return [{"code": x.code, "feature": x.feature or None, "text": x.text} for x in r.reasons]


class GrpcClient:
    def __init__(self, port: int) -> None:
        self.ch = grpc.insecure_channel(f"127.0.0.1:{port}", options=GRPC_OPTS)
        self.call = protogen.score_callable(self.ch, pb)

    def close(self) -> None:
        self.ch.close()

    def score_many(self, apps: list[dict[str, Any]], rids: list[str],
                   timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every call started at once (futures), results in order."""
        futs = [self.call.future(grpc_message(a), timeout=timeout * SLOW,
                                 metadata=[("x-request-id", r)])
                for a, r in zip(apps, rids, strict=True)]
        out = []
        for f in futs:
            try:
                r = f.result()
                out.append({"applicant_id": r.applicant_id, "score": r.score,
                            "decision": r.decision, "model": r.model,
                            "experiment_id": r.experiment_id, "request_id": r.request_id,
                            "reasons": reasons_of_grpc(r), "arm": r.arm})
            except grpc.RpcError as e:
                out.append({"error": grpc_error_class(e)})
        return out

    def raw(self, payload: bytes, timeout: float = 10.0) -> dict[str, Any]:
        call = self.ch.unary_unary(protogen.SCORE_METHOD)
        try:
            r = pb.ScoreResponse.FromString(call(payload, timeout=timeout * SLOW))
            return {"applicant_id": r.applicant_id}
        except grpc.RpcError as e:
            return {"error": grpc_error_class(e)}
