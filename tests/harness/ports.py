"""free_port(): a loopback TCP port that the OS chose and that stays ours until a child
binds it — no check-then-use race.

How: bind port 0 (the OS picks a port nobody holds, from the ephemeral range 32768-60999,
so never one of the fixed ports the suites use: Kafka/PostgreSQL test ports, the fault
suite's 3-broker cluster on 19192/29192/31192), connect to it and close the accepted side
first. The port then sits in TIME_WAIT for 60 s: the kernel hands it to no other bind(0)
nor to an outgoing connection, while a server that sets SO_REUSEADDR — every listener we
start does (lib/csg_net.c, libevent's evhttp for csg-model and csg-persist, gRPC, Python's
http.server, streamlit) — binds it at once. A server that does not set SO_REUSEADDR cannot
use these ports: give it port 0 and read its port back instead (e.g. TinyModel).
Run as a script (`python3 tests/harness/ports.py`) it prints one port (scripts/lib.sh).
"""

from __future__ import annotations

import socket

_handed: set[int] = set()  # never twice from one process, even after TIME_WAIT ends


def _reserve() -> int:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        addr = listener.getsockname()
        with socket.create_connection(addr):
            accepted, _ = listener.accept()
            accepted.close()  # the server side closes first: TIME_WAIT is on our port
        return addr[1]


def free_port() -> int:
    """A loopback port for a child process to listen on (see the module docstring)."""
    for _ in range(100):
        port = _reserve()
        if port not in _handed:
            _handed.add(port)
            return port
    raise RuntimeError("free_port: the OS kept handing out ports already used by this run")


if __name__ == "__main__":
    print(free_port())
