"""TLS of the deployed site, as sslyze sees it, and the self-signed certificate's life cycle.

sslyze scans board.test at the test server's address (`host:443{ip}`) with Mozilla's
"intermediate" configuration. The test environment's certificate is self-signed, so no trust store
can validate its path: that check, and only that one, may fail. Everything else Mozilla asks for
(versions, ciphers, curves, key and signature types, lifespan, vulnerabilities) must pass. The
scan's JSON output then pins the facts behind the verdict.

The last test ages the certificate (fewer than 30 days left) and shows that a run renews it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess

import pytest
from support.tools import venv_tool

MOZILLA_PROFILE = "intermediate"
# Mozilla's X25519:prime256v1:secp384r1, as sslyze names them (prime256v1 is secp256r1).
CURVES = {"X25519", "secp256r1", "secp384r1"}
# The only Mozilla check the self-signed test certificate may fail, and why.
ALLOWED_ISSUES = {
    # Self-signed: no public trust store holds its issuer. A provided or ACME certificate passes.
    "certificate_path_validation": r"^Certificate path validation failed for CN=board\.test\.$",
}


def _cert_path(provisioned) -> str:
    return f"/etc/ssl/certs/{provisioned.server_name}.crt"


@pytest.fixture(scope="module")
def sslyze_scan(provisioned, tmp_path_factory):
    """One sslyze run: (compliance issues from its verdict, its JSON report, its output)."""
    out = tmp_path_factory.mktemp("sslyze") / "scan.json"
    target = f"{provisioned.server_name}:443{{{provisioned.testbed.ip}}}"
    argv = [
        venv_tool("sslyze"),
        f"--mozilla_config={MOZILLA_PROFILE}",
        "--json_out",
        str(out),
        target,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    report = json.loads(out.read_text())
    verdict = proc.stdout.split("COMPLIANCE AGAINST", 1)[-1]
    issues = dict(re.findall(r"^\s+\* (\w+): (.*)$", verdict, re.M))
    print(f"\n$ {' '.join(argv[1:])}  (exit {proc.returncode})\n{verdict.strip()}")
    return issues, report, proc


def _result(report: dict, command: str) -> dict:
    (server,) = report["server_scan_results"]
    assert server["connectivity_status"] == "COMPLETED", server.get("connectivity_error_trace")
    attempt = server["scan_result"][command]
    assert attempt["status"] == "COMPLETED", attempt
    return attempt["result"]


def test_mozilla_intermediate_passes_except_the_trust_path(sslyze_scan):
    issues, _report, proc = sslyze_scan
    assert "FAILED - Not compliant." in proc.stdout or "OK - Compliant." in proc.stdout, (
        proc.stdout[-3000:] + proc.stderr[-2000:]
    )
    unexpected = {k: v for k, v in issues.items() if k not in ALLOWED_ISSUES}
    assert unexpected == {}, unexpected
    for check, description in issues.items():
        assert re.match(ALLOWED_ISSUES[check], description), (check, description)
    # The self-signed certificate really fails it (else the allowance above would hide nothing).
    assert set(issues) == set(ALLOWED_ISSUES), issues


def test_scan_report_shows_the_mozilla_settings(sslyze_scan):
    _issues, report, _proc = sslyze_scan
    curves = _result(report, "elliptic_curves")
    assert {c["name"] for c in curves["supported_curves"]} == CURVES, curves
    for old in ("ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites"):
        assert not _result(report, old)["is_tls_version_supported"], old
    assert not _result(report, "tls_1_1_cipher_suites")["is_tls_version_supported"]
    assert _result(report, "tls_1_2_cipher_suites")["accepted_cipher_suites"]
    assert _result(report, "tls_1_3_cipher_suites")["accepted_cipher_suites"]

    (deployment,) = _result(report, "certificate_info")["certificate_deployments"]
    # Why the trust path fails: one self-signed certificate, which names the site correctly.
    (leaf,) = deployment["received_certificate_chain"]
    assert leaf["subject"]["rfc4514_string"] == leaf["issuer"]["rfc4514_string"] == "CN=board.test"
    assert leaf["subject_alternative_name"]["dns_names"] == ["board.test"]
    assert deployment["verified_certificate_chain"] is None
    validations = deployment["path_validation_results"]
    assert validations, deployment
    for validation in validations:  # Mozilla's, Apple's, Android's, Java's, Microsoft's stores
        assert not validation["was_validation_successful"], validation["trust_store"]
        assert validation["validation_error"], validation["trust_store"]
    lifespan = dt.datetime.fromisoformat(leaf["not_valid_after"]) - dt.datetime.fromisoformat(
        leaf["not_valid_before"]
    )
    assert lifespan.days == 365, lifespan


# --- Renewal -----------------------------------------------------------------------------------


def _served_not_after(provisioned) -> dt.datetime:
    """notAfter of the certificate nginx serves for board.test right now."""
    tb = provisioned.testbed
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"{tb.ip}:443", "-servername", provisioned.server_name],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", proc.stdout, re.S)
    assert pem, proc.stdout + proc.stderr
    dates = subprocess.run(
        ["openssl", "x509", "-noout", "-enddate", "-dateopt", "iso_8601"],
        input=pem.group(0),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dt.datetime.fromisoformat(dates.split("=", 1)[1].strip().replace("Z", "+00:00"))


def _file_dates(provisioned) -> tuple[dt.datetime, dt.datetime]:
    out = provisioned.testbed.ssh(
        f"openssl x509 -noout -startdate -enddate -dateopt iso_8601 -in {_cert_path(provisioned)}",
        check=True,
    ).stdout
    values = dict(line.split("=", 1) for line in out.splitlines())
    parse = lambda s: dt.datetime.fromisoformat(s.strip().replace("Z", "+00:00"))  # noqa: E731
    return parse(values["notBefore"]), parse(values["notAfter"])


def test_a_run_renews_a_certificate_with_fewer_than_30_days_left(provisioned):
    now = dt.datetime.now(dt.timezone.utc)
    # Age it with the role itself: a run told to make 20-day certificates (renewing 10 days
    # ahead) replaces the 365-day one, which is too long for it, by one with 20 days left.
    short = provisioned.run_playbook(
        "short-lived-certificate",
        extra_args=[
            "--tags",
            "nginx",
            "-e",
            "nginx_tls_selfsigned_days=20",
            "-e",
            "nginx_tls_selfsigned_renew_days=10",
        ],
    )
    assert short.returncode == 0, f"log: {short.log_path}\n{short.tail()}"
    assert (_served_not_after(provisioned) - now).days < 30

    # A normal run: fewer than 30 days left, so it is renewed for 365 days and nginx reloaded.
    run = provisioned.run_playbook("renew-certificate", extra_args=["--tags", "nginx"])
    assert run.returncode == 0, f"log: {run.log_path}\n{run.tail()}"
    assert any("Create the self-signed certificate" in t for t in run.changed_tasks()), (
        run.changed_tasks()
    )
    not_before, not_after = _file_dates(provisioned)
    assert (not_after - not_before).days == 365, (not_before, not_after)
    assert (not_after - now).days >= 364
    assert abs((_served_not_after(provisioned) - not_after).total_seconds()) < 1

    # With 365 days left, the next run leaves it alone.
    again = provisioned.run_playbook("renew-certificate-again", extra_args=["--tags", "nginx"])
    assert again.returncode == 0, f"log: {again.log_path}\n{again.tail()}"
    assert again.recap[provisioned.host]["changed"] == 0, again.changed_tasks()
    assert _file_dates(provisioned) == (not_before, not_after)
