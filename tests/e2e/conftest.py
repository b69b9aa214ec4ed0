"""Session fixtures for the end-to-end tests.

``testbed``      a booted Debian 12 server (see the testbed package); torn down at the end
                 of the session, also when tests fail or are interrupted.
``provisioned``  the same server after ``ansible-playbook -i <test inventory>
                 site.yml`` ran once from deploy/, exactly as an operator runs it;
                 ``provisioned.sh(cmd)`` runs a command there as root.
``server_cert``  the server's self-signed certificate (a file), fetched over SSH.
``client``       curl against the site over HTTPS, verified against that certificate.

Environment knobs (besides the TESTBED_* ones of the testbed package):
    E2E_KEEP=1            leave the test server up after the session (then
                          ``python -m tests.e2e.testbed ssh|down``).
    E2E_PLAYBOOK          playbook relative to deploy/ (default site.yml).
    E2E_ANSIBLE_ARGS      extra ansible-playbook arguments (e.g. "--tags base,postgresql").
    E2E_LOG_DIR           where ansible logs are kept (default
                          /var/tmp/board-e2e-logs/<TESTBED_NAME>).

Tests marked ``@pytest.mark.last`` run after all the others (the idempotence
check re-runs the playbook, so it must come last).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .alert_sink import ALERT_SINK_PORT
from .client import Client
from .inventory import write_layered_group_vars
from .testbed import Testbed

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
# Inventory hostname of the test server and its group in the test inventory.
INVENTORY_HOST = "board-test"
INVENTORY_GROUP = "board_servers"
SERVER_NAME = "board.test"

RECAP_RE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run this test after the read-only ones")
    config.addinivalue_line(
        "markers", "releases: change the deployed release; run after `last` (idempotence)"
    )
    config.addinivalue_line(
        "markers", "faults: break services on purpose (fault drills); run after `releases`"
    )
    config.addinivalue_line(
        "markers", "external_db: move the app servers to another database; run after everything"
    )
    config.addinivalue_line(
        "markers", "drills: destroy and restore the database (restore.yml); run at the very end"
    )


def _order(item) -> int:
    if item.get_closest_marker("drills") is not None:
        return 4
    if item.get_closest_marker("external_db") is not None:
        return 4
    if item.get_closest_marker("faults") is not None:
        return 3
    if item.get_closest_marker("releases") is not None:
        return 2
    return 1 if item.get_closest_marker("last") is not None else 0


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_order)  # stable: file order within each group


def _bin(name: str) -> str:
    """Tool from the venv pytest runs in, else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found (run from the project venv)")
    return found


@dataclass
class PlaybookRun:
    """Result of one ansible-playbook run."""

    returncode: int
    log_path: Path
    stdout: str
    recap: dict[str, dict[str, int]]

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.stdout.splitlines()[-lines:])

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported 'changed' (for idempotence diagnostics)."""
        out, task = [], None
        for line in self.stdout.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                task = line
            elif line.startswith("changed:") and task:
                out.append(f"{task.rstrip(' *')} -> {line}")
        return out


def parse_recap(text: str) -> dict[str, dict[str, int]]:
    recap: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap, recap = True, {}
            continue
        if in_recap:
            m = RECAP_RE.match(line.strip())
            if m:
                recap[m.group("host")] = {
                    k: int(v) for k, v in (kv.split("=") for kv in m.group("counts").split())
                }
            elif line.strip():
                in_recap = False
    return recap


@dataclass
class Provisioned:
    """The test server after site.yml ran; can re-run the playbook."""

    testbed: Testbed
    inventory_dir: Path
    vault_password_file: Path
    secrets: dict[str, str]
    log_dir: Path
    host: str = INVENTORY_HOST
    server_name: str = SERVER_NAME
    runs: list[PlaybookRun] = field(default_factory=list)
    # Vault values replaced by rotate_secret (tests check they left no trace either).
    retired_secrets: list[str] = field(default_factory=list)

    @property
    def first_run(self) -> PlaybookRun:
        return self.runs[0]

    def sh(self, command: str, **kwargs) -> str:
        """Run a shell command on the server as root; its stripped stdout (Testbed.sh)."""
        return self.testbed.sh(command, **kwargs)

    def inventory_vars(self, host: str | None = None) -> dict:
        """`host`'s variables as the inventory sets them (every group_vars layer, the vault)."""
        out = subprocess.run(
            [
                _bin("ansible-inventory"),
                "-i",
                str(self.inventory_dir),
                "--vault-password-file",
                str(self.vault_password_file),
                "--host",
                host or self.host,
            ],
            cwd=DEPLOY,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    def admin_url(self, host: str | None = None) -> str:
        """The Django admin's path as the inventory sets it (the app role's default otherwise)."""
        return self.inventory_vars(host).get("app_admin_url", "admin/")

    def rotate_secret(self, name: str) -> str:
        """Give the vault value `name` a new random value (re-encrypted); returns it."""
        self.retired_secrets.append(self.secrets[name])
        self.secrets[name] = secrets.token_urlsafe(50 if "key" in name else 24)
        _encrypt_vault(self.inventory_dir, self.vault_password_file, self.secrets)
        return self.secrets[name]

    def ansible_playbook_argv(
        self, playbook: str | None = None, extra_args: Sequence[str] = ()
    ) -> list[str]:
        return [
            _bin("ansible-playbook"),
            "-i",
            str(self.inventory_dir),
            "--vault-password-file",
            str(self.vault_password_file),
            *shlex.split(os.environ.get("E2E_ANSIBLE_ARGS", "")),
            *extra_args,
            playbook or os.environ.get("E2E_PLAYBOOK", "site.yml"),
        ]

    def run_playbook(
        self, label: str, playbook: str | None = None, extra_args: Sequence[str] = ()
    ) -> PlaybookRun:
        """Run the playbook from deploy/ like an operator; output streamed to a log file."""
        log_path = self.log_dir / f"{len(self.runs) + 1:02d}-{label}.log"
        env = dict(
            os.environ,
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
            PYTHONUNBUFFERED="1",
        )
        env.pop("ANSIBLE_LOG_PATH", None)  # the log file below is the record
        argv = self.ansible_playbook_argv(playbook, extra_args)
        with open(log_path, "w") as logf:
            logf.write("$ cd deploy && " + shlex.join(argv) + "\n")
            logf.flush()
            proc = subprocess.run(
                argv,
                cwd=DEPLOY,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                check=False,
            )
        text = log_path.read_text(errors="replace")
        run = PlaybookRun(proc.returncode, log_path, text, parse_recap(text))
        self.runs.append(run)
        return run


def _write_test_inventory(tb: Testbed, inv: Path) -> None:
    gv = write_layered_group_vars(inv)
    ssh_args = (
        "-o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new "
        f"-o UserKnownHostsFile={tb.known_hosts}"
    )
    (inv / "hosts.yml").write_text(
        "---\n"
        "# Generated by tests/e2e/conftest.py for one test run.\n"
        "# The single-server layout: the one host is in every group.\n"
        f"{INVENTORY_GROUP}:\n"
        "  children:\n"
        "    db_servers:\n"
        "      hosts:\n"
        f"        {INVENTORY_HOST}:\n"
        f"          ansible_host: {tb.ip}\n"
        "          ansible_user: root\n"
        f"          ansible_ssh_private_key_file: {tb.key_path}\n"
        f'          ansible_ssh_common_args: "{ssh_args}"\n'
        "    app_servers:\n"
        "      hosts:\n"
        f"        {INVENTORY_HOST}:\n"
    )
    (gv / "testbed.yml").write_text(
        "---\n"
        "# Generated by tests/e2e/conftest.py: values that depend on this test run.\n"
        f"base_apt_proxy: {tb.proxy_url}\n"
        # Alertmanager's webhook: the fault tests' receiver on this controller (alert_sink.py).
        f"monitoring_alertmanager_webhook_url: http://{tb.host_ip}:{ALERT_SINK_PORT}/alerts\n"
    )


def _write_vault(inv: Path, password_file: Path) -> dict[str, str]:
    values = {
        "vault_postgresql_owner_password": secrets.token_urlsafe(24),
        "vault_postgresql_runtime_password": secrets.token_urlsafe(24),
        "vault_app_secret_key": secrets.token_urlsafe(50),
        "vault_redis_password": secrets.token_urlsafe(24),
        "vault_redis_exporter_password": secrets.token_urlsafe(24),
        "vault_exporters_scrape_password": secrets.token_urlsafe(24),
        "vault_app_superuser_password": secrets.token_urlsafe(18),
        "vault_backup_repo_cipher_pass": secrets.token_urlsafe(36),
    }
    password_file.write_text(secrets.token_urlsafe(32) + "\n")
    password_file.chmod(0o600)
    _encrypt_vault(inv, password_file, values)
    return values


def _encrypt_vault(inv: Path, password_file: Path, values: dict[str, str]) -> None:
    plain = "---\n" + "".join(f'{k}: "{v}"\n' for k, v in values.items())
    out = inv / "group_vars" / "all" / "vault.yml"
    # plaintext goes through stdin only, never to disk
    subprocess.run(
        [
            _bin("ansible-vault"),
            "encrypt",
            "--vault-password-file",
            str(password_file),
            "--output",
            str(out),
            "-",
        ],
        input=plain,
        text=True,
        check=True,
        capture_output=True,
        cwd=DEPLOY,
    )


@contextlib.contextmanager
def booted(bed, what: str):
    """Bring a test bed (a Testbed or a Lab) up; down at the end unless E2E_KEEP=1."""
    if os.geteuid() != 0:
        pytest.fail(f"the e2e {what} needs root (network namespaces, systemd-nspawn)")
    try:
        bed.up()
        yield bed
    finally:
        if os.environ.get("E2E_KEEP") == "1" and bed.workdir is not None:
            print(f"\nE2E_KEEP=1: {what} left up\n{bed.describe()}", file=sys.stderr)
        else:
            bed.down()


def provision(bed, server: Testbed, write_inventory: Callable[[Path], None]) -> Provisioned:
    """site.yml once from deploy/, with a fresh vault, as an operator runs it; fails the session
    when it fails. `write_inventory(dir)` writes the run's inventory into dir."""
    run_dir = bed.workdir / "ansible"
    run_dir.mkdir(mode=0o700)
    inv = run_dir / "inventory"
    write_inventory(inv)
    password_file = run_dir / "vault-password"
    values = _write_vault(inv, password_file)
    log_dir = Path(os.environ.get("E2E_LOG_DIR", f"/var/tmp/board-e2e-logs/{bed.name}"))
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.log"):
        old.unlink()
    prov = Provisioned(server, inv, password_file, values, log_dir)
    run = prov.run_playbook("site")
    if run.returncode != 0:
        pytest.fail(
            f"ansible-playbook failed (rc={run.returncode}); full log: {run.log_path}\n"
            + run.tail(),
            pytrace=False,
        )
    return prov


@pytest.fixture(scope="session")
def testbed():
    with booted(Testbed(), "test server") as tb:
        yield tb


@pytest.fixture(scope="session")
def provisioned(testbed):
    return provision(testbed, testbed, lambda inv: _write_test_inventory(testbed, inv))


@pytest.fixture(scope="session")
def admin_url(provisioned) -> str:
    """The Django admin's path on the test server."""
    return provisioned.admin_url()


# Module scope: test_tls_scan.py renews the certificate, so each module fetches the current one.
@pytest.fixture(scope="module")
def server_cert(provisioned, tmp_path_factory) -> Path:
    """The server's self-signed certificate, fetched over SSH: clients verify TLS against it."""
    cert = provisioned.sh(f"cat /etc/ssl/certs/{provisioned.server_name}.crt")
    path = tmp_path_factory.mktemp("tls") / "server.crt"
    path.write_text(cert + "\n")
    return path


@pytest.fixture(scope="module")
def client(provisioned, server_cert) -> Client:
    """curl against the provisioned site (see client.py)."""
    assert "BEGIN CERTIFICATE" in server_cert.read_text()
    return Client(provisioned.testbed.ip, provisioned.server_name, server_cert)
