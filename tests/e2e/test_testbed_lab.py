"""The lab's naming, addressing and controller files, checked without root or containers.

Booting a lab needs root; ``python -m tests.e2e.testbed lab-up`` does that.  These tests only
build the objects (with the state root in a temporary directory) and write the files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

# Testbed through its module: pytest would try to collect a class named Test... imported here
from .testbed import Lab, LabServer, network, proxy, releases, server, ssh, state


@pytest.fixture(autouse=True)
def _state_root(tmp_path, monkeypatch):
    monkeypatch.setattr(state, "STATE_ROOT", tmp_path / "run")


def test_lab_names_and_addresses():
    lab = Lab("mhx", "10.231.144")
    assert (lab.netns, lab.bridge, lab.veth_host, lab.veth_lab) == (
        "tb-mhx",
        "mhx-br",
        "mhx-h",
        "mhx-c",
    )
    assert (lab.host_ip, lab.proxy_url) == ("10.231.144.1", "http://10.231.144.1:8888")
    # db2: the high-availability tests' second database server.
    assert list(lab.servers) == ["db", "app1", "app2", "db2"]
    for role, ip in [
        ("db", "10.231.144.11"),
        ("app1", "10.231.144.12"),
        ("app2", "10.231.144.13"),
        ("db2", "10.231.144.14"),
    ]:
        srv = lab[role]
        assert isinstance(srv, server.Testbed) and isinstance(srv, LabServer)
        assert (srv.name, srv.ip, srv.netns) == (f"mhx-{role}", ip, f"tb-mhx-{role}")
        assert (srv.host_ip, srv.proxy_url) == (lab.host_ip, lab.proxy_url)
        assert lab.server(srv.name) is srv and lab.server(ip) is srv
        assert srv.workdir is None
    assert lab.db is lab["db"] and lab.app1 is lab["app1"] and lab.app2 is lab["app2"]
    with pytest.raises(KeyError):
        lab.server("app3")


def test_long_lab_names_keep_interface_names_short_and_distinct():
    lab = Lab("a" * 26, "10.231.144")
    names = [lab.bridge, lab.veth_host, lab.veth_lab]
    for srv in lab.servers.values():
        names += [srv.veth_host, srv.veth_guest]
    assert all(len(n) <= 15 for n in names)
    assert len(set(names)) == len(names)
    with pytest.raises(ValueError):
        Lab("a" * 27, "10.231.144")  # "<lab>-app2" would not be a test bed name
    with pytest.raises(ValueError):
        Lab("mhx", "10.231")


def test_environment(monkeypatch):
    monkeypatch.setenv("TESTBED_LAB_NAME", "mhy")
    monkeypatch.setenv("TESTBED_LAB_SUBNET_PREFIX", "10.231.145")
    lab = Lab()
    assert (lab.name, lab.db.ip) == ("mhy", "10.231.145.11")
    monkeypatch.delenv("TESTBED_LAB_NAME")
    monkeypatch.delenv("TESTBED_LAB_SUBNET_PREFIX")
    assert (Lab().name, Lab().prefix) == ("boardlab", "10.231.40")


def test_a_single_test_bed_is_unchanged():
    tb = server.Testbed("boardtest", "10.231.7")
    assert (tb.ip, tb.host_ip, tb.netns) == ("10.231.7.2", "10.231.7.1", "tb-boardtest")
    assert network.veth_names("boardtest") == ("boardtest-h", "boardtest-c")


def test_the_lab_boots_another_debian_release_than_the_single_test_bed():
    lab = Lab("mhx", "10.231.144")
    assert [lab.release, *(s.release for s in lab.servers.values())] == [releases.LAB] * (
        1 + len(lab.servers)
    )
    assert server.Testbed("boardtest", "10.231.7").release == releases.SINGLE_SERVER
    assert releases.LAB != releases.SINGLE_SERVER  # each run proves both
    assert {releases.LAB, releases.SINGLE_SERVER} <= set(releases.VERSIONS)
    with pytest.raises(ValueError):
        Lab("mhx", "10.231.144", release="sid")


def test_state_brings_back_the_running_lab(tmp_path):
    wd = tmp_path / "board-testbed-mhx.x"
    state.save(state.path("mhx"), {"prefix": "10.231.146", "workdir": str(wd), "proxy_pid": 1})
    state.save(state.path("mhx-db"), {"prefix": "10.231.146", "workdir": str(tmp_path / "db")})
    lab = Lab("mhx", "10.231.144")  # the saved prefix wins, as for a single test bed
    assert (lab.prefix, lab.workdir, lab.proxy_pid) == ("10.231.146", wd, 1)
    assert (lab.db.ip, lab.db.workdir) == ("10.231.146.11", tmp_path / "db")
    assert lab.app1.workdir is None


def test_controller_files(tmp_path):
    lab = Lab("mhx", "10.231.144")
    lab.workdir = tmp_path / "lab"
    lab.workdir.mkdir()
    for srv in lab.servers.values():
        srv.workdir = tmp_path / srv.name
    lab._write_client_files()
    config = lab.ssh_config.read_text()
    for srv in lab.servers.values():
        assert f"Host {srv.role} {srv.name} {srv.ip}\n  HostName {srv.ip}\n" in config
        assert f"  IdentityFile {srv.key_path}\n" in config
        assert f"  UserKnownHostsFile {srv.known_hosts}\n" in config
    # ssh itself resolves the short names through the file (-G prints, connects nowhere)
    out = subprocess.run(
        ["ssh", "-G", "-F", str(lab.ssh_config), "app2"], capture_output=True, text=True
    )
    if out.returncode == 0:
        assert "hostname 10.231.144.13" in out.stdout.splitlines()
    inv = yaml.safe_load(lab.inventory_path.read_text())["board_servers"]
    assert inv["vars"] == {"base_apt_proxy": "http://10.231.144.1:8888"}
    assert list(inv["children"]["db_servers"]["hosts"]) == ["mhx-db"]
    assert list(inv["children"]["app_servers"]["hosts"]) == ["mhx-app1", "mhx-app2"]
    db = inv["children"]["db_servers"]["hosts"]["mhx-db"]
    assert db["ansible_host"] == "10.231.144.11"
    assert db["ansible_ssh_private_key_file"] == str(lab.db.key_path)


def test_single_client_files_are_unchanged(tmp_path):
    key, known = Path("/k/id_ed25519"), Path("/k/known_hosts")
    ssh.write_client_files(tmp_path / "c", tmp_path / "i", "boardtest", "10.231.7.2", key, known)
    assert (tmp_path / "c").read_text() == (
        "Host boardtest 10.231.7.2\n  HostName 10.231.7.2\n  User root\n"
        "  IdentityFile /k/id_ed25519\n  IdentitiesOnly yes\n  StrictHostKeyChecking accept-new\n"
        "  UserKnownHostsFile /k/known_hosts\n  BatchMode yes\n  ConnectTimeout 10\n"
        "  LogLevel ERROR\n"
    )
    assert (tmp_path / "i").read_text() == (
        "---\nall:\n  hosts:\n    boardtest:\n      ansible_host: 10.231.7.2\n"
        "      ansible_user: root\n      ansible_ssh_private_key_file: /k/id_ed25519\n"
        '      ansible_ssh_common_args: "-o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new'
        " -o UserKnownHostsFile=/k/known_hosts -o BatchMode=yes -o ConnectTimeout=10"
        ' -o LogLevel=ERROR"\n'
    )


@pytest.mark.parametrize(
    ("kwargs", "allow"), [({}, "10.231.7.0/30"), ({"prefix_len": 24}, "10.231.7.0/24")]
)
def test_proxy_allows_the_subnet(tmp_path, monkeypatch, kwargs, allow):
    monkeypatch.setattr(proxy.shutil, "chown", lambda *a: None)
    monkeypatch.setattr(proxy.subprocess, "Popen", lambda *a, **kw: None)
    proxy.start(tmp_path, "10.231.7.1", "10.231.7", **kwargs)
    conf = (tmp_path / "tinyproxy.conf").read_text().splitlines()
    assert f"Allow {allow}" in conf and "Listen 10.231.7.1" in conf
