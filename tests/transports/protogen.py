"""Generate Python message classes for csg.v1 and grpc.health.v1 at test time.

The modules go to var/ (never committed). Calls are made with
channel.unary_unary and these classes, so no generated service stubs are
needed. health.proto is compiled from a copy under a directory named
csg_health/ so that the generated module does not shadow the grpc package
(the proto package, grpc.health.v1, is unchanged).

    pb, health_pb = protogen.load()
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("CSG_TEST_VAR", ROOT / "var" / "test")) / "pygen"
HEALTH_DIRS = [Path("/usr/share/grpc-proto"), Path("/usr/include")]
SCORE_METHOD = "/csg.v1.CreditScoring/Score"
HEALTH_METHOD = "/grpc.health.v1.Health/Check"


def _health_proto() -> Path:
    for d in HEALTH_DIRS:
        p = d / "grpc/health/v1/health.proto"
        if p.exists():
            return p
    raise FileNotFoundError("grpc/health/v1/health.proto (Debian grpc-proto) not found")


def load() -> tuple[ModuleType, ModuleType]:
    from grpc_tools import protoc  # imported late: only tests that need gRPC pay for it

    src = OUT / "src"
    (src / "csg_health/v1").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_health_proto(), src / "csg_health/v1/health.proto")
    for inc, proto in ((ROOT / "proto", "csg/v1/credit_score.proto"),
                       (src, "csg_health/v1/health.proto")):
        if protoc.main(["protoc", f"-I{inc}", f"--python_out={OUT}", proto]) != 0:
            raise RuntimeError(f"protoc failed for {proto}")
    for pkg in ("csg", "csg/v1", "csg_health", "csg_health/v1"):
        (OUT / pkg / "__init__.py").touch()
    if str(OUT) not in sys.path:
        sys.path.append(str(OUT))
    pb = importlib.import_module("csg.v1.credit_score_pb2")
    health_pb = importlib.import_module("csg_health.v1.health_pb2")
    return pb, health_pb


def load_old() -> ModuleType:
    """csg.v1's ScoreResponse as a client generated before reasons (field 7) existed:
    the shipped proto without `message Reason` and field 7, in a package of its own
    (csg_old.v1, so both live in one descriptor pool; the wire format is the same)."""
    from grpc_tools import protoc

    text = (ROOT / "proto/csg/v1/credit_score.proto").read_text()
    old = "\n".join(ln for ln in text.splitlines()
                    if not ln.startswith("message Reason ") and "Reason reasons = 7" not in ln)
    old = old.replace("string request_id = 6;", "string request_id = 6; }")
    old = old.replace("package csg.v1;", "package csg_old.v1;")
    if old.count("{") != old.count("}") or "Reason" in old.replace("// Reasons", ""):
        raise RuntimeError("load_old: the proto's layout changed; update the edit")
    src = OUT / "src-old"
    (src / "csg_old/v1").mkdir(parents=True, exist_ok=True)
    (src / "csg_old/v1/credit_score.proto").write_text(old)
    if protoc.main(["protoc", f"-I{src}", f"--python_out={OUT}",
                    "csg_old/v1/credit_score.proto"]) != 0:
        raise RuntimeError("protoc failed for the old credit_score.proto")
    for pkg in ("csg_old", "csg_old/v1"):
        (OUT / pkg / "__init__.py").touch()
    if str(OUT) not in sys.path:
        sys.path.append(str(OUT))
    return importlib.import_module("csg_old.v1.credit_score_pb2")


def score_callable(channel: object, pb: ModuleType) -> object:
    """channel.unary_unary for Score with the generated message classes."""
    return channel.unary_unary(  # type: ignore[attr-defined]
        SCORE_METHOD,
        request_serializer=pb.ScoreRequest.SerializeToString,
        response_deserializer=pb.ScoreResponse.FromString,
    )


def health_callable(channel: object, health_pb: ModuleType) -> object:
    return channel.unary_unary(  # type: ignore[attr-defined]
        HEALTH_METHOD,
        request_serializer=health_pb.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb.HealthCheckResponse.FromString,
    )
