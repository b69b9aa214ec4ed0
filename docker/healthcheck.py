#!/usr/bin/env python3
"""The image's HEALTHCHECK: GET /healthz from Gunicorn inside the container (exit 0 when 200).

The Host header is the first ALLOWED_HOSTS entry, so Django's host check accepts the request.
"""

import http.client
import os
import sys

host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
if host in ("", "*"):
    host = "localhost"
try:
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=4)
    conn.request("GET", "/healthz", headers={"Host": host})
    status = conn.getresponse().status
except OSError as exc:
    print(f"healthcheck: {exc}", file=sys.stderr)
    sys.exit(1)
print(f"healthcheck: /healthz answered {status}")
sys.exit(0 if status == 200 else 1)
