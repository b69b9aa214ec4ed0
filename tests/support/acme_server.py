"""A real ACME server for the end-to-end tests: the distribution's pebble on the controller.

``AcmeServer(workdir, bind_ip, answer_ip)`` starts ``pebble-challtestsrv`` as pebble's DNS (every
name resolves to ``answer_ip``, the server the public name points at) and ``pebble`` itself, both
listening on ``bind_ip`` (the controller's address on the test network, which the test hosts
reach). Pebble validates HTTP-01 on port 80 of that address, as a public ACME server would.

Pebble's own HTTPS listener gets a certificate from a CA made here (``ca_file``): certbot on
the test hosts trusts it through nginx_acme_server_ca_src. Pebble makes a new root for the
certificates it issues each time it starts; ``issuing_root()`` fetches it from its management
API. Processes are stopped by their PIDs.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ACME_PORT = 14000
MANAGEMENT_PORT = 15000
DNS_PORT = 8053
DNS_MANAGEMENT_PORT = 8055


def _write_key(key, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_listener_certificate(directory: Path, ip: str) -> tuple[Path, Path, Path]:
    """A one-day CA and a certificate for `ip` signed by it: (ca, cert, key) files."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "board e2e ACME server CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_file)
    return ca_file, cert_file, key_file


class AcmeServer:
    def __init__(self, workdir: Path, bind_ip: str, answer_ip: str):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bind_ip, self.answer_ip = bind_ip, answer_ip
        self.ca_file, self.cert_file, self.key_file = make_listener_certificate(self.dir, bind_ip)
        self.directory_url = f"https://{bind_ip}:{ACME_PORT}/dir"
        self.dns: subprocess.Popen | None = None
        self.pebble: subprocess.Popen | None = None

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        return subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )

    def start(self) -> AcmeServer:
        at = self.bind_ip
        self.dns = self._spawn(
            "challtestsrv",
            [
                "pebble-challtestsrv",
                "-defaultIPv4", self.answer_ip,
                "-defaultIPv6", "",
                "-dns01", f"{at}:{DNS_PORT}",
                "-management", f"{at}:{DNS_MANAGEMENT_PORT}",
                "-http01", "",
                "-https01", "",
                "-tlsalpn01", "",
            ],
        )  # fmt: skip
        self.start_pebble()
        return self

    def start_pebble(self) -> None:
        config = self.dir / "pebble-config.json"
        config.write_text(
            json.dumps(
                {
                    "pebble": {
                        "listenAddress": f"{self.bind_ip}:{ACME_PORT}",
                        "managementListenAddress": f"{self.bind_ip}:{MANAGEMENT_PORT}",
                        "certificate": str(self.cert_file),
                        "privateKey": str(self.key_file),
                        "httpPort": 80,
                        "tlsPort": 443,
                        "ocspResponderURL": "",
                        "externalAccountBindingRequired": False,
                    }
                }
            )
        )
        # No random validation delays, no rejected nonces: the tests time renewals, not retries.
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        self.pebble = self._spawn(
            "pebble",
            [
                "pebble",
                "-config",
                str(config),
                "-dnsserver",
                f"{self.bind_ip}:{DNS_PORT}",
            ],
            env,
        )
        self._wait_until_answering()

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def _get(self, url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=10, context=self._context()) as resp:  # noqa: S310
            return resp.read()

    def _wait_until_answering(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.pebble is not None and self.pebble.poll() is not None:
                raise RuntimeError(f"pebble exited: {(self.dir / 'pebble.log').read_text()}")
            try:
                self._get(self.directory_url)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def issuing_root(self) -> str:
        """PEM of the root pebble signs certificates under (new at each pebble start)."""
        return self._get(f"https://{self.bind_ip}:{MANAGEMENT_PORT}/roots/0").decode()

    def stop_pebble(self) -> None:
        if self.pebble is not None and self.pebble.poll() is None:
            self.pebble.terminate()
            self.pebble.wait(timeout=10)
        self.pebble = None

    def stop(self) -> None:
        self.stop_pebble()
        if self.dns is not None and self.dns.poll() is None:
            self.dns.terminate()
            self.dns.wait(timeout=10)
        self.dns = None
