"""No secrets in logs (issue 11 part 5). Runs last in the fault suite, after every
service has started, failed, reconnected and stopped many times: the PostgreSQL
passwords (the only secrets CSG holds, kept in the pass files scripts/postgres writes
beside each cluster's data directory) appear in no log under var/ nor in the
PostgreSQL server logs. A failed login with a wrong password is provoked first, so the
error path is covered too.

What is scanned: every *.log file under var/ and everything under var/**/log(s)/,
except Kafka's data directories (their "logs" folder holds topic segments, not log
lines); plus /var/tmp/csg/pg-*/server.log and the initdb logs."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import faultlib as fl
from conftest import Stack

PG_ROOT = Path("/var/tmp/csg")
MAX_BYTES = 64 << 20


def passwords() -> dict[str, str]:
    """password → where it comes from (pass file:role)."""
    out = {}
    for f in sorted(PG_ROOT.glob("*.pgpass")):
        try:
            text = f.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            parts = line.split(":")
            if len(parts) >= 5 and len(parts[4]) >= 8:
                out[parts[4]] = f"{f.name}:{parts[3]}"
    return out


def kafka_data_dir(p: Path) -> bool:
    """p lies inside a Kafka broker's data directory (…/<dir with server.properties>/logs/…)."""
    parts = p.parts
    for i, part in enumerate(parts[:-1]):
        if part == "logs" and (Path(*parts[:i]) / "server.properties").exists():
            return True
    return False


def log_files() -> list[Path]:
    out = []
    for p in (fl.ROOT / "var").rglob("*"):
        if not p.is_file() or p.is_symlink():
            continue
        under_log_dir = any(x in ("log", "logs") for x in p.relative_to(fl.ROOT).parts[:-1])
        if not (p.name.endswith(".log") or re.search(r"\.log\.\d+$", p.name) or under_log_dir):
            continue
        if kafka_data_dir(p):
            continue
        out.append(p)
    out += sorted(PG_ROOT.glob("pg-*/server.log")) + sorted(PG_ROOT.glob("*.initdb.log"))
    return out


def test_no_secrets_in_logs(stack: Stack, tmp_path: Path) -> None:
    # A wrong password on purpose: the failure must not echo it anywhere.
    wrong = f"wrong-{uuid.uuid4().hex}"
    bad = tmp_path / "bad.pgpass"
    bad.write_text(f"127.0.0.1:{stack.pg.port}:*:csg_app:{wrong}\n")
    bad.chmod(0o600)
    r = subprocess.run([str(fl.PERSIST_BIN), "migrate", "--db", stack.pg.url()],
                       env={**stack.pg.env(), "PGPASSFILE": str(bad)},
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode != 0, "a wrong password was accepted"
    assert wrong not in r.stdout + r.stderr, "csg-persist printed the password it was given"
    assert "password" in (r.stdout + r.stderr).lower(), r.stderr  # a clear error, though

    secrets = passwords()
    assert secrets, f"no pass files with passwords under {PG_ROOT}"
    secrets[wrong] = "the wrong password above"
    files = log_files()
    assert any(p.is_relative_to(fl.VAR) for p in files), "the fault suite's logs were not found"
    leaks = []
    scanned = 0
    for p in files:
        try:
            with open(p, "rb") as f:
                data = f.read(MAX_BYTES)
        except OSError:
            continue
        scanned += len(data)
        for pw, origin in secrets.items():
            if pw.encode() in data:
                leaks.append(f"{p}: password of {origin}")
    print(f"\nSECRETS: {len(secrets)} password(s) checked against {len(files)} log files "
          f"({scanned / 1e6:.1f} MB): {len(leaks)} leak(s)")
    assert not leaks, "\n".join(leaks)
