"""Ask this code base's WSGI application for /readyz, as Gunicorn would, without serving traffic.

Deploys run it from a new release before switching traffic to it: the release's settings, URL
configuration and middleware load, it connects to the real database with the runtime role, and
every migration it ships must be applied. Exits non-zero with the answer when it is not 200.
"""

import io
import sys
from wsgiref.util import setup_testing_defaults

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def _probe_host() -> str:
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*":
            return host.lstrip(".")
    return "localhost"


class Command(BaseCommand):
    help = "Call /readyz through config.wsgi.application; fail unless it answers 200."

    def add_arguments(self, parser):
        parser.add_argument("--path", default="/readyz", help="Path to request (default /readyz).")

    def handle(self, *args, path, **options):
        from config.wsgi import application

        host = _probe_host()
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "HTTP_HOST": host,
            "SERVER_NAME": host,
            "SERVER_PORT": "443",
            "wsgi.url_scheme": "https",
            # As nginx would send it, so SECURE_SSL_REDIRECT does not answer 301.
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_REQUEST_ID": "deploy-readiness-probe",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
        }
        setup_testing_defaults(environ)
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"] = status
            return lambda data: None

        chunks = application(environ, start_response)
        try:
            body = b"".join(chunks).decode("utf-8", "replace")
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status = answer.get("status", "no answer")
        if not status.startswith("200"):
            raise CommandError(f"{path} answered {status}: {body}")
        self.stdout.write(f"{path} answered {status}: {body}")
