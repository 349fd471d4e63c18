"""Throw-away certificates for the TLS tests and the TLS bench, made with the openssl
CLI in a directory the caller owns (never committed): a CA, server and client
certificates it signs (EC P-256: quick to make and to handshake), optionally
already expired. Keys are written mode 600, as the gateway demands."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_CA_CONF = """[ ca ]
default_ca = d
[ d ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
"""


def _run(*argv: str) -> None:
    subprocess.run(["openssl", *argv], check=True, capture_output=True, timeout=60)


def _key_and_csr(d: Path, name: str, cn: str) -> tuple[Path, Path]:
    key, csr = d / f"{name}-key.pem", d / f"{name}.csr"
    _run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-subj", f"/CN={cn}", "-out", str(csr))
    os.chmod(key, 0o600)
    return key, csr


class CA:
    """A CA in directory d (ca.pem, ca-key.pem) that signs certificates."""

    def __init__(self, d: Path, name: str = "ca") -> None:
        self.dir = d / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = self.dir / "ca-key.pem"
        self.cert = self.dir / "ca.pem"
        _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(self.key), "-subj", f"/CN=CSG test {name}", "-days", "30",
             "-out", str(self.cert))
        os.chmod(self.key, 0o600)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        self.conf = self.dir / "ca.cnf"
        self.conf.write_text(_CA_CONF.format(dir=self.dir))

    def issue(self, name: str, cn: str = "localhost", client: bool = False,
              expired: bool = False, san: str = "DNS:localhost,IP:127.0.0.1") -> tuple[Path, Path]:
        """(cert, key) for a server (or a client) certificate signed by this CA."""
        key, csr = _key_and_csr(self.dir, name, cn)
        ext = self.dir / f"{name}.ext"
        usage = "clientAuth" if client else "serverAuth"
        ext.write_text(f"subjectAltName={san}\nextendedKeyUsage={usage}\n"
                       "basicConstraints=CA:FALSE\n")
        cert = self.dir / f"{name}.pem"
        dates = (["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"] if expired
                 else ["-days", "30"])
        _run("ca", "-batch", "-notext", "-config", str(self.conf), "-cert", str(self.cert),
             "-keyfile", str(self.key), "-in", str(csr), "-out", str(cert), "-extfile", str(ext),
             *dates)
        return cert, key
