"""The certificates a server signs itself renew on the server, on a timer, before they expire:
the database server's (signed by the CA whose key stays there) and the self-signed site
certificate. Instead of moving the clock, each is signed again here for one day (less than its
renewal margin); its renewal unit then runs as its timer would start it, and the service must
present a new certificate for the role's lifetime, with the same key, names and issuer, and the
renewal be recorded for the node exporter. One with time left is left alone. Each original is
put back afterwards: the suite's clients trust the site certificate itself."""

from __future__ import annotations

import re
import time

import pytest
from support.textfile_metrics import job_result_file, read_metrics

INSTANCES = ["postgresql", "site"]


def _settings(provisioned, instance: str) -> dict[str, str]:
    """The instance's settings as its role wrote them (the unit's Environment=)."""
    unit = f"board-certificate-renew@{instance}.service"
    line = provisioned.sh(f"systemctl show -p Environment --value {unit}")
    return dict(item.split("=", 1) for item in line.split())


def _presented_serial(provisioned, instance: str) -> str:
    connect = (
        "-starttls postgres -connect 127.0.0.1:5432"
        if instance == "postgresql"
        else f"-connect {provisioned.testbed.ip}:443 -servername {provisioned.server_name}"
    )
    return provisioned.sh(
        f"openssl s_client {connect} </dev/null 2>/dev/null | openssl x509 -noout -serial"
    )


def _file(provisioned, cert: str, *what: str) -> str:
    return provisioned.sh(f"openssl x509 -noout {' '.join(what)} -in {cert}")


def _days_left(provisioned, cert: str) -> float:
    end = _file(provisioned, cert, "-enddate").removeprefix("notAfter=")
    return (int(provisioned.sh(f"date -d '{end}' +%s")) - time.time()) / 86400


def test_a_failed_renewal_keeps_the_certificate_and_is_recorded(provisioned):
    env = _settings(provisioned, "site")
    cert = env["CERT"]
    serial = _file(provisioned, cert, "-serial")
    # A renewal that cannot sign (its key unreadable as a key) must leave the served file alone.
    # (First in the module: the site certificate's renewal below records a success again.)
    unit = "board-certificate-renew@site.service"
    dropin = f"/run/systemd/system/{unit}.d"
    provisioned.sh(
        f"mkdir -p {dropin} && printf '[Service]\\nEnvironment=KEY=/dev/null RENEW_DAYS=100000\\n'"
        f" > {dropin}/e2e.conf && systemctl daemon-reload"
    )
    try:
        failed = provisioned.sh(f"systemctl start {unit}; echo rc=$?", timeout=120)
        assert re.search(r"rc=[1-9]", failed), failed
        assert _file(provisioned, cert, "-serial") == serial
        metrics = read_metrics(
            provisioned,
            job_result_file("certificate_renewal", f'certificate="{env["LABEL"]}"'),
        )
        assert metrics["board_certificate_renewal_last_outcome"][1] == 0
    finally:
        provisioned.sh(
            f"rm -rf {dropin} && systemctl daemon-reload && systemctl reset-failed {unit}"
        )


@pytest.mark.parametrize("instance", INSTANCES)
def test_a_certificate_near_its_end_is_renewed_by_its_timer_and_served(provisioned, instance):
    env = _settings(provisioned, instance)
    cert, key, unit = env["CERT"], env["KEY"], f"board-certificate-renew@{instance}"
    assert provisioned.sh(f"systemctl is-enabled {unit}.timer") == "enabled"
    assert provisioned.sh(f"systemctl is-active {unit}.timer") == "active"
    original_serial = _file(provisioned, cert, "-serial")
    assert _presented_serial(provisioned, instance) == original_serial
    names = _file(provisioned, cert, "-subject", "-ext", "subjectAltName")
    pubkey = _file(provisioned, cert, "-pubkey")
    provisioned.sh(f"cp -p {cert} {cert}.e2e-original")
    try:
        # One day left: the same key and extensions, signed as the role signs it.
        issuer = (
            f"-CA {env['CA_CERT']} -CAkey {env['CA_KEY']}"
            if "CA_CERT" in env
            else (f"-signkey {key}")
        )
        provisioned.sh(
            f"openssl x509 -x509toreq -in {cert} -signkey {key} -copy_extensions copyall "
            f"2>/dev/null | openssl x509 -req {issuer} -days 1 -set_serial 0x0e2e "
            f"-copy_extensions copyall -out {cert}.e2e-short 2>/dev/null && "
            f"cat {cert}.e2e-short > {cert} && rm {cert}.e2e-short && "
            f"systemctl reload {env['RELOAD']}"
        )
        assert _presented_serial(provisioned, instance) == "serial=0E2E"
        started = time.time()
        provisioned.sh(f"systemctl start {unit}.service", timeout=120)

        renewed_serial = _file(provisioned, cert, "-serial")
        days = _days_left(provisioned, cert)
        print(f"\n{instance}: {cert} renewed by {unit}.service, {days:.1f} days left")
        assert renewed_serial not in ("serial=0E2E", original_serial)
        assert abs(days - int(env["DAYS"])) < 1
        assert _presented_serial(provisioned, instance) == renewed_serial
        assert _file(provisioned, cert, "-subject", "-ext", "subjectAltName") == names
        assert _file(provisioned, cert, "-pubkey") == pubkey
        if "CA_CERT" in env:
            assert provisioned.sh(f"openssl verify -CAfile {env['CA_CERT']} {cert}").endswith(
                ": OK"
            )
        metrics = read_metrics(
            provisioned,
            job_result_file("certificate_renewal", f'certificate="{env["LABEL"]}"'),
        )
        assert metrics["board_certificate_renewal_last_outcome"][1] == 1
        assert metrics["board_certificate_renewal_last_timestamp_seconds"][1] >= started - 5

        # With its lifetime ahead of it, the next run leaves it alone.
        provisioned.sh(f"systemctl start {unit}.service", timeout=120)
        assert _file(provisioned, cert, "-serial") == renewed_serial
    finally:
        provisioned.sh(
            f"cat {cert}.e2e-original > {cert} && rm {cert}.e2e-original && "
            f"systemctl reload {env['RELOAD']}"
        )
    assert _presented_serial(provisioned, instance) == original_serial
