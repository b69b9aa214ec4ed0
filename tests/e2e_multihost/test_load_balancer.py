"""The load balancer contract: nginx takes the client's address from the balancer's
X-Forwarded-For (nginx_real_ip_from; the controller plays the balancer here), and from nobody
else's; the readiness probe a balancer checks answers on every app server."""

from __future__ import annotations

import json
import secrets

from .cluster import APP_SERVERS

# Runs on a server that is not the balancer: a forged X-Forwarded-For to an app server.
FORGED_SCRIPT = r"""
import socket, ssl, sys
context = ssl._create_unverified_context()
with socket.create_connection((sys.argv[1], 443), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname="board.test") as tls:
        tls.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: board.test\r\nConnection: close\r\n"
            b"X-Forwarded-For: 192.0.2.66\r\nX-Request-ID: " + sys.argv[2].encode() + b"\r\n\r\n"
        )
        print(tls.recv(64).split()[1].decode())
"""


def _access_line(cluster, role: str, request_id: str) -> dict:
    """nginx's JSON access log line for the request."""
    line = cluster.sh(role, f'grep -h \'"request_id":"{request_id}"\' /var/log/nginx/access.log')
    return json.loads(line)


def test_every_app_server_answers_the_balancers_probes(clients):
    for role in APP_SERVERS:
        assert clients[role].request("/readyz").status == 200
        assert clients[role].request("/healthz").status == 200


def test_client_address_comes_from_the_balancer_only(cluster, clients):
    trusted = f"lb-{secrets.token_hex(6)}"
    resp = clients["app1"].request(
        "/healthz", headers={"X-Forwarded-For": "198.51.100.77", "X-Request-ID": trusted}
    )
    assert resp.status == 200
    assert _access_line(cluster, "app1", trusted)["remote_addr"] == "198.51.100.77", trusted
    # The database server is no balancer: its forged header is ignored.
    forged = f"forged-{secrets.token_hex(6)}"
    status = cluster.sh(
        "db", f"python3 - {cluster.server('app1').ip} {forged}", input=FORGED_SCRIPT
    )
    assert status == "200"
    line = _access_line(cluster, "app1", forged)
    assert line["remote_addr"] == cluster.server("db").ip, line
