"""The one HTTP client of the end-to-end tests: curl against the test server, as a client would.

The site's name is resolved by curl itself (--resolve) to the test server's address, and TLS is
verified against the server's own self-signed certificate (no -k). The load generator in
load.py is the other way requests are sent (many, on raw connections).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# curl exit codes
CURL_SSL_CONNECT_ERROR = 35
CURL_EMPTY_REPLY = 52


@dataclass
class Response:
    rc: int
    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: str = ""
    stderr: str = ""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[-1] if values else None

    def json(self):
        return json.loads(self.body)


class Client:
    """curl against the test server: board.test (or another name) resolved to its address."""

    def __init__(self, ip: str, server_name: str, cacert: Path):
        self.ip = ip
        self.server_name = server_name
        self.cacert = cacert

    def burst_argv(self, parallel: int) -> list[str]:
        """curl options for a burst of `parallel` requests at once (add each URL's own options)."""
        return [
            "curl",
            "--silent",
            "--noproxy",
            "*",
            "--parallel",
            "--parallel-immediate",
            "--parallel-max",
            str(parallel),
            "--resolve",
            f"{self.server_name}:443:{self.ip}",
            "--cacert",
            str(self.cacert),
        ]

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        scheme: str = "https",
        host: str | None = None,
        json_body: dict | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        extra: list[str] | None = None,
    ) -> Response:
        name = host or self.server_name
        port = 443 if scheme == "https" else 80
        argv = [
            "curl",
            "--silent",
            "--show-error",
            "--include",
            "--max-time",
            "20",
            "--noproxy",
            "*",
            "--resolve",
            f"{name}:{port}:{self.ip}",
            "--cacert",
            str(self.cacert),
            "--request",
            method,
        ]
        for key, value in (headers or {}).items():
            argv += ["--header", f"{key}: {value}"]
        if token:
            argv += ["--header", f"Authorization: Bearer {token}"]
        if json_body is not None:
            argv += ["--header", "Content-Type: application/json", "--data", json.dumps(json_body)]
        argv += extra or []
        argv.append(f"{scheme}://{name}{path}")
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        return parse_response(proc)


def parse_response(proc: subprocess.CompletedProcess) -> Response:
    if proc.returncode != 0:
        return Response(rc=proc.returncode, status=0, stderr=proc.stderr)
    raw = proc.stdout.replace("\r\n", "\n")  # (text mode already folds CRLF)
    head, _, body = raw.partition("\n\n")
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), []).append(value.strip())
    return Response(rc=0, status=status, headers=headers, body=body, stderr=proc.stderr)


def post_auth(client: Client, path: str, body: dict) -> Response:
    """A POST to an auth endpoint (register, token). Tests before may have spent this minute's
    auth rate from the controller's one address (both app servers' API suites, a drill's
    writers): wait out the app's 429 as its Retry-After says, a few times at most."""
    for _ in range(3):
        response = client.request(path, method="POST", json_body=body)
        if response.status != 429:
            break
        wait = int(response.header("Retry-After") or 5) + 1
        # A figure in the suite's output: minutes of the suite lost to this wait are visible.
        print(f"\n{path}: the app's auth rate for this address is spent, waiting {wait} s")
        time.sleep(wait)
    return response


def create_post(client: Client, token: str, title: str, content: str) -> int:
    """A post created through the API with `token`; its id (asserts the 201)."""
    response = client.request(
        "/api/v1/posts/",
        method="POST",
        token=token,
        json_body={"title": title, "content": content},
    )
    assert response.status == 201, response.body
    return response.json()["id"]
