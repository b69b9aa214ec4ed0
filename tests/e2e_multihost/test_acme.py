"""acme mode (the production default) against a real ACME server: the distribution's pebble on
the controller (support.acme_server), its DNS pointing the site's name at the first app server.

site.yml switches that app server to acme mode as an operator would (its host_vars: the ACME
directory, the CA of that server's HTTPS listener); certbot answers HTTP-01 through nginx's
webroot, and the public API then serves a chain that verifies against pebble's root. Renewals
run the role's renewal service (certbot.service, what certbot.timer starts), forced: a good one
under HTTPS load fails no request and the new certificate serves after the deploy hook's reload;
a bad one (pebble stopped) keeps the old certificate serving and is recorded for the alert
CertificateRenewalFailed. Marked ``acme``: the site's certificate changes, so it runs last.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from support.acme_server import AcmeServer
from support.client import Client
from support.inventory import SERVER_NAME
from support.load import HttpsLoad
from support.textfile_metrics import read_metrics

from .cluster import INVENTORY_HOSTS

pytestmark = pytest.mark.acme

ISSUER = "app1"
LIVE = f"/etc/letsencrypt/live/{SERVER_NAME}"
# A run of the renewal service that renews whatever is due or not (the test's own drop-in, in
# /run so it is gone at the next boot; removed after each run).
FORCE_DROP_IN = "/run/systemd/system/certbot.service.d/zz-e2e-force-renewal.conf"
FORCE_UNIT = (
    "[Service]\nExecStart=\n"
    "ExecStart=/usr/bin/certbot -q renew --force-renewal --no-random-sleep-on-renew\n"
)
RENEWAL_METRICS = "board_certificate_renewal_{}_run.prom".format(
    re.sub(r"[^A-Za-z0-9_]", "_", f'certificate="{SERVER_NAME}"')
)


@pytest.fixture(scope="module")
def acme(cluster):
    server = AcmeServer(
        cluster.lab.workdir / "acme", cluster.lab.host_ip, cluster.server(ISSUER).ip
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pebble_root(acme, tmp_path_factory) -> Path:
    """The root pebble issues under, from its management API (new at each pebble start)."""
    path = tmp_path_factory.mktemp("pebble") / "root.pem"
    path.write_text(acme.issuing_root())
    return path


@pytest.fixture(scope="module")
def issued(cluster, acme, pebble_root) -> Path:
    """The issuer switched to acme mode by site.yml (its nginx role), as an operator would."""
    host_vars = cluster.prov.inventory_dir / "host_vars"
    host_vars.mkdir(exist_ok=True)
    (host_vars / f"{INVENTORY_HOSTS[ISSUER]}.yml").write_text(
        "---\n"
        + yaml.safe_dump(
            {
                "nginx_tls_mode": "acme",
                "nginx_acme_server": acme.directory_url,
                "nginx_acme_server_ca_src": str(acme.ca_file),
                "nginx_acme_email": "ops@example.com",
            }
        )
    )
    started = time.monotonic()
    run = cluster.prov.run_playbook(
        "acme-issue", extra_args=["--limit", INVENTORY_HOSTS[ISSUER], "--tags", "nginx"]
    )
    print(f"site.yml (nginx role) in acme mode, first issue: {time.monotonic() - started:.0f} s")
    assert run.returncode == 0, f"{run.log_path}\n{run.tail()}"
    return pebble_root


def served_certificate(ip: str, cafile: Path) -> x509.Certificate:
    """The certificate the site serves at `ip`, its chain verified against `cafile`."""
    context = ssl.create_default_context(cafile=str(cafile))
    with (
        socket.create_connection((ip, 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls,
    ):
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def run_renewal_service(cluster) -> tuple[bool, float]:
    """Start certbot.service once with a forced renewal: (succeeded, seconds)."""
    drop_in_dir = Path(FORCE_DROP_IN).parent
    cluster.sh(
        ISSUER,
        f"mkdir -p {drop_in_dir} && cat > {FORCE_DROP_IN} && systemctl daemon-reload",
        input=FORCE_UNIT,
    )
    started = time.monotonic()
    try:
        proc = cluster.server(ISSUER).ssh("systemctl start certbot.service")
        return proc.returncode == 0, time.monotonic() - started
    finally:
        cluster.sh(ISSUER, f"rm -f {FORCE_DROP_IN} && systemctl daemon-reload")


def renewal_outcome(cluster) -> float:
    metrics = read_metrics(cluster.server(ISSUER), RENEWAL_METRICS)
    return metrics["board_certificate_renewal_last_outcome"][1]


def wait_for_new_serial(ip: str, cafile: Path, old: int, timeout: float = 30) -> float:
    started = time.monotonic()
    while served_certificate(ip, cafile).serial_number == old:
        assert time.monotonic() - started < timeout, "the renewed certificate is not served"
        time.sleep(0.2)
    return time.monotonic() - started


def test_the_app_server_serves_a_certificate_issued_over_http_01(cluster, issued):
    ip = cluster.server(ISSUER).ip
    cert = served_certificate(ip, issued)  # verified against pebble's root
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [SERVER_NAME]
    on_disk = x509.load_pem_x509_certificate(cluster.sh(ISSUER, f"cat {LIVE}/cert.pem").encode())
    assert cert == on_disk
    assert Client(ip, SERVER_NAME, issued).request("/healthz").status == 200


def test_a_forced_renewal_under_load_fails_no_request_and_serves_the_new_certificate(
    cluster, issued
):
    ip = cluster.server(ISSUER).ip
    before = served_certificate(ip, issued).serial_number
    with HttpsLoad(
        ip, SERVER_NAME, str(issued), paths=("/healthz",), min_seconds=3, rate=20
    ) as load:
        ok, seconds = run_renewal_service(cluster)
        assert ok, cluster.sh(ISSUER, "journalctl -u certbot.service -n 30 --no-pager")
        live_after = wait_for_new_serial(ip, issued, before)
    print(f"renewal service run: {seconds:.1f} s; new certificate served {live_after:.1f} s later")
    print(load.result.summary())
    assert load.result.errors == 0, load.result.error_samples
    assert load.result.requests > 0
    assert renewal_outcome(cluster) == 1


def test_a_failed_renewal_keeps_the_certificate_serving_and_is_recorded(cluster, acme, issued):
    ip = cluster.server(ISSUER).ip
    before = served_certificate(ip, issued).serial_number
    acme.stop_pebble()
    ok, seconds = run_renewal_service(cluster)
    assert not ok, "certbot renewed with the ACME server down"
    print(f"failed renewal service run: {seconds:.1f} s")
    assert served_certificate(ip, issued).serial_number == before
    assert Client(ip, SERVER_NAME, issued).request("/healthz").status == 200
    # board_certificate_renewal_last_outcome == 0 fires CertificateRenewalFailed.
    assert renewal_outcome(cluster) == 0
