"""The load generator's pacing, checked on the controller against a local TLS server.

A paced load (`rate`) can never send more than its rate, however fast or slow the machine:
the bound below holds on a noisy machine, and an unpaced load exceeds it many times over.
"""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading

import pytest
from support.load import HttpsLoad

SERVER_NAME = "board.test"
# A loopback address of its own: HttpsLoad talks to port 443, which may be taken on 127.0.0.1.
ADDRESS = "127.31.41.59"


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("X-App-Revision", "abc123")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on ADDRESS:443 answering 200 with a certificate for SERVER_NAME."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        + ["-nodes", "-days", "1", "-subj", f"/CN={SERVER_NAME}"]
        + ["-addext", f"subjectAltName=DNS:{SERVER_NAME}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = http.server.ThreadingHTTPServer((ADDRESS, 443), _Ok)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield cert
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_paced_load_never_sends_more_than_its_rate(tls_server):
    rate, seconds, threads = 40, 3, 3
    with HttpsLoad(
        ADDRESS, SERVER_NAME, str(tls_server), threads=threads, rate=rate, min_seconds=seconds
    ) as load:
        pass
    result = load.result
    assert result.errors == 0, result.error_samples
    assert result.revisions == ["abc123"]
    # Each thread sends at most one request per interval from its (staggered) start.
    assert 0 < result.requests <= rate * result.seconds + threads, result.summary()
