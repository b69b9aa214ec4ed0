"""acme mode (the production default) against a real ACME server, with both app servers behind
one name: the distribution's pebble on the controller (support.acme_server), its DNS pointing the
site's name at app2, which is NOT the issuer.

site.yml switches both app servers to acme mode as an operator would (their host_vars: the ACME
directory, the CA of that server's HTTPS listener, the root the issued chain leads to). Only app1
(nginx_acme_issuer, the first app server) runs certbot; app2 forwards the HTTP-01 challenge to it,
and app1 pushes the certificate to app2 over SSH, where a forced command checks it before nginx
serves it. Both then serve the same certificate, which verifies against pebble's root.
Renewals run the issuer's renewal service (certbot.service, what certbot.timer starts), forced: a
good one under HTTPS load on both servers fails no request and the new certificate serves on
both; a bad push (a key that is not the certificate's) is refused and keeps the old one serving;
the push key works from the issuer only; a bad renewal (pebble stopped) keeps the old certificate
serving and is recorded for the alert CertificateRenewalFailed. Marked ``acme``: the site's
certificate changes, so it runs last.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from support.acme_server import AcmeServer
from support.client import Client
from support.inventory import SERVER_NAME
from support.load import HttpsLoad
from support.roles import role_default, role_var
from support.textfile_metrics import read_metrics

from .cluster import INVENTORY_HOSTS

pytestmark = pytest.mark.acme

ISSUER, PEER = "app1", "app2"
CHALLENGE_PATH = "/.well-known/acme-challenge/"
ACCESS_LOG = f"{role_default('nginx', 'nginx_log_dir')}/access.log"
PUSH_USER = role_default("nginx", "nginx_acme_push_user")
PUSH_SCRIPT = role_var("nginx", "nginx_acme_push_script")
PUSH_KEY = role_var("nginx", "nginx_acme_push_key").replace(
    "{{ nginx_acme_push_dir }}", role_var("nginx", "nginx_acme_push_dir")
)
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
        cluster.lab.workdir / "acme", cluster.lab.host_ip, cluster.server(PEER).ip
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
    """Both app servers switched to acme mode by site.yml (its nginx role), as an operator would."""
    host_vars = cluster.prov.inventory_dir / "host_vars"
    host_vars.mkdir(exist_ok=True)
    acme_vars = {
        "nginx_tls_mode": "acme",
        "nginx_acme_server": acme.directory_url,
        "nginx_acme_server_ca_src": str(acme.ca_file),
        "nginx_acme_root_ca_src": str(pebble_root),
        "nginx_acme_email": "ops@example.com",
    }
    for role in (ISSUER, PEER):
        (host_vars / f"{INVENTORY_HOSTS[role]}.yml").write_text("---\n" + yaml.safe_dump(acme_vars))
    started = time.monotonic()
    hosts = ",".join(INVENTORY_HOSTS[role] for role in (ISSUER, PEER))
    run = cluster.prov.run_playbook("acme-issue", extra_args=["--limit", hosts, "--tags", "nginx"])
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


def renewal_outcome(cluster, role: str = ISSUER) -> float:
    metrics = read_metrics(cluster.server(role), RENEWAL_METRICS)
    return metrics["board_certificate_renewal_last_outcome"][1]


def wait_for_new_serial(ip: str, cafile: Path, old: int, timeout: float = 60) -> float:
    started = time.monotonic()
    while served_certificate(ip, cafile).serial_number == old:
        assert time.monotonic() - started < timeout, f"{ip} does not serve the renewed certificate"
        time.sleep(0.2)
    return time.monotonic() - started


def push(cluster, lineage: str) -> subprocess.CompletedProcess:
    """The issuer's push script (certbot's deploy hook) run by hand on `lineage`."""
    return cluster.server(ISSUER).ssh(f"{PUSH_SCRIPT} {shlex.quote(lineage)}")


def test_both_app_servers_serve_one_certificate_issued_through_the_peer(cluster, issued):
    certs = {role: served_certificate(cluster.server(role).ip, issued) for role in (ISSUER, PEER)}
    cert = certs[ISSUER]  # each verified against pebble's root
    assert certs[PEER].fingerprint(hashes.SHA256()) == cert.fingerprint(hashes.SHA256())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [SERVER_NAME]
    on_disk = x509.load_pem_x509_certificate(cluster.sh(ISSUER, f"cat {LIVE}/cert.pem").encode())
    assert cert == on_disk
    # pebble reached app2 (its DNS answer), which forwarded the challenge to the issuer; app2
    # runs no certbot.
    challenges = cluster.sh(ISSUER, f"grep -F {CHALLENGE_PATH} {ACCESS_LOG} || true").splitlines()
    sources = {json.loads(line)["remote_addr"] for line in challenges}
    assert cluster.server(PEER).ip in sources, challenges
    assert cluster.server(PEER).ssh("command -v certbot").returncode != 0
    for role in (ISSUER, PEER):
        client = Client(cluster.server(role).ip, SERVER_NAME, issued)
        assert client.request("/healthz").status == 200


def test_a_forced_renewal_under_load_reaches_both_servers_and_fails_no_request(cluster, issued):
    ips = {role: cluster.server(role).ip for role in (ISSUER, PEER)}
    before = served_certificate(ips[ISSUER], issued).serial_number
    loads = {
        role: HttpsLoad(ip, SERVER_NAME, str(issued), paths=("/healthz",), min_seconds=3, rate=20)
        for role, ip in ips.items()
    }
    with loads[ISSUER], loads[PEER]:
        ok, seconds = run_renewal_service(cluster)
        assert ok, cluster.sh(ISSUER, "journalctl -u certbot.service -n 30 --no-pager")
        live_after = {role: wait_for_new_serial(ip, issued, before) for role, ip in ips.items()}
    print(
        f"renewal service run (issue and push): {seconds:.1f} s; new certificate served "
        + ", ".join(f"on {role} {s:.1f} s later" for role, s in live_after.items())
    )
    serials = {role: served_certificate(ip, issued).serial_number for role, ip in ips.items()}
    assert serials[ISSUER] == serials[PEER] != before
    for role, load in loads.items():
        print(f"{role}: {load.result.summary()}")
        assert load.result.errors == 0, load.result.error_samples
        assert load.result.requests > 0
    assert renewal_outcome(cluster, ISSUER) == 1
    assert renewal_outcome(cluster, PEER) == 1


def test_a_bad_push_is_refused_and_the_peer_keeps_serving(cluster, issued, tmp_path):
    peer_ip = cluster.server(PEER).ip
    before = served_certificate(peer_ip, issued).serial_number
    # The issuer's own push, of the live chain with a key that is not the certificate's.
    fake = cluster.sh(
        ISSUER,
        f"d=$(mktemp -d)/{SERVER_NAME} && mkdir $d && cp {LIVE}/fullchain.pem $d/"
        " && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $d/privkey.pem"
        " && echo $d",
    )
    refused = push(cluster, fake)
    assert refused.returncode != 0 and "does not match" in refused.stderr, refused
    assert served_certificate(peer_ip, issued).serial_number == before
    assert renewal_outcome(cluster, PEER) == 0  # CertificateRenewalFailed
    # The push key is the issuer's alone: from anywhere else (the controller) it is refused.
    key = tmp_path / "push_key"
    key.write_text(cluster.sh(ISSUER, f"cat {PUSH_KEY}") + "\n")
    key.chmod(0o600)
    server = cluster.server(PEER)
    outside = subprocess.run(
        ["ssh", "-T", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "ConnectTimeout=10",
         f"{PUSH_USER}@{peer_ip}"],
        input=cluster.sh(ISSUER, f"cat {LIVE}/privkey.pem {LIVE}/fullchain.pem"),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert outside.returncode == 255 and "Permission denied" in outside.stderr, outside
    # The next push of the real certificate (a site.yml run or a renewal) clears the failure.
    again = push(cluster, LIVE)
    assert again.returncode == 0 and "unchanged" in again.stdout, again
    assert renewal_outcome(cluster, PEER) == 1
    assert served_certificate(peer_ip, issued).serial_number == before


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
