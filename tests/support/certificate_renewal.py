"""Checking a certificate's renewal on the server (the base role's board-certificate-renew@):
shared by the single-server suite (the self-signed site certificate) and the three-server one
(the database server's, signed by its CA). `sh` runs a command on the server holding it."""

from __future__ import annotations

import time
from collections.abc import Callable

from .textfile_metrics import TEXTFILE_DIR, job_result_file, parse_metrics

Sh = Callable[..., str]
SHORT_SERIAL = "serial=0E2E"


def settings(sh: Sh, instance: str) -> dict[str, str]:
    """The instance's settings as its role wrote them (the unit's Environment=)."""
    line = sh(f"systemctl show -p Environment --value board-certificate-renew@{instance}.service")
    return dict(item.split("=", 1) for item in line.split())


def presented_serial(sh: Sh, connect: str) -> str:
    """The serial of the certificate a TLS server presents (`connect`: s_client's options)."""
    return sh(f"openssl s_client {connect} </dev/null 2>/dev/null | openssl x509 -noout -serial")


def file_fields(sh: Sh, cert: str, *fields: str) -> str:
    return sh(f"openssl x509 -noout {' '.join(fields)} -in {cert}")


def outcome(sh: Sh, label: str) -> tuple[float, float]:
    """(last outcome, last time) board-job-result recorded for the certificate's renewal."""
    name = job_result_file("certificate_renewal", f'certificate="{label}"')
    metrics = parse_metrics(sh(f"cat {TEXTFILE_DIR}/{name}"), name)
    return (
        metrics["board_certificate_renewal_last_outcome"][1],
        metrics["board_certificate_renewal_last_timestamp_seconds"][1],
    )


def renew_a_short_certificate(sh: Sh, instance: str, connect: str) -> str:
    """Signs the instance's certificate again for one day, runs its renewal unit as the timer
    would, checks what it must do, and puts the original back. Returns a line of figures."""
    env = settings(sh, instance)
    cert, key, unit = env["CERT"], env["KEY"], f"board-certificate-renew@{instance}"
    assert sh(f"systemctl is-enabled {unit}.timer") == "enabled"
    assert sh(f"systemctl is-active {unit}.timer") == "active"
    original = file_fields(sh, cert, "-serial")
    assert presented_serial(sh, connect) == original
    names = file_fields(sh, cert, "-subject", "-ext", "subjectAltName")
    pubkey = file_fields(sh, cert, "-pubkey")
    issuer = (
        f"-CA {env['CA_CERT']} -CAkey {env['CA_KEY']}" if "CA_CERT" in env else f"-signkey {key}"
    )
    sh(f"cp -p {cert} {cert}.e2e-original")
    try:
        # One day left: the same key and extensions, the same issuer.
        sh(
            f"openssl x509 -x509toreq -in {cert} -signkey {key} -copy_extensions copyall "
            f"2>/dev/null | openssl x509 -req {issuer} -days 1 -set_serial 0x0e2e "
            f"-copy_extensions copyall -out {cert}.e2e-short 2>/dev/null && "
            f"cat {cert}.e2e-short > {cert} && rm {cert}.e2e-short && "
            f"systemctl reload {env['RELOAD']}"
        )
        assert presented_serial(sh, connect) == SHORT_SERIAL
        started = time.time()
        sh(f"systemctl start {unit}.service", timeout=120)

        renewed = file_fields(sh, cert, "-serial")
        end = file_fields(sh, cert, "-enddate").removeprefix("notAfter=")
        days = (int(sh(f"date -d '{end}' +%s")) - time.time()) / 86400
        assert renewed not in (SHORT_SERIAL, original)
        assert abs(days - int(env["DAYS"])) < 1, (days, env["DAYS"])
        assert presented_serial(sh, connect) == renewed
        assert file_fields(sh, cert, "-subject", "-ext", "subjectAltName") == names
        assert file_fields(sh, cert, "-pubkey") == pubkey
        if "CA_CERT" in env:
            assert sh(f"openssl verify -CAfile {env['CA_CERT']} {cert}").endswith(": OK")
        result, when = outcome(sh, env["LABEL"])
        assert result == 1 and when >= started - 5, (result, when, started)

        # With its lifetime ahead of it, the next run leaves it alone.
        sh(f"systemctl start {unit}.service", timeout=120)
        assert file_fields(sh, cert, "-serial") == renewed
    finally:
        sh(
            f"cat {cert}.e2e-original > {cert} && rm {cert}.e2e-original && "
            f"systemctl reload {env['RELOAD']}"
        )
    assert presented_serial(sh, connect) == original
    return (
        f"{instance}: {cert} renewed by {unit}.service, {days:.1f} days left, served after reload"
    )
