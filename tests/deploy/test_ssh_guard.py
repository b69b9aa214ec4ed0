"""The SSH lockout guard counts exactly the keys the hardened sshd lets in.

Renders the base role's sshd drop-in for this controller's release and runs the guard's key
check (roles/base/tasks/ssh_guard_keys.yml) with ansible-playbook on the controller, over an
authorized_keys holding a key of every type and size. A real sshd with that drop-in is the
judge: each key that logs in must be counted, each that is refused must not.
"""

from __future__ import annotations

import json

import pytest

from .playbook import run_playbook
from .ssh_keys import make_keys
from .sshd import accepted_algorithms, logs_in, running_sshd, sshd_binary

PLAYBOOK = """
- name: Render the hardened sshd settings and sort the keys as the lockout guard does
  hosts: localhost
  connection: local
  gather_facts: true
  gather_subset: [min]
  tasks:
    - name: Load the settings of this release
      ansible.builtin.include_role:
        name: base
        tasks_from: distribution.yml
        public: true
    - name: Render the sshd drop-in
      ansible.builtin.template:
        src: roles/base/templates/sshd-hardening.conf.j2
        dest: "{{ out }}/sshd-hardening.conf"
        mode: "0644"
    - name: Sort the keys
      ansible.builtin.include_role:
        name: base
        tasks_from: ssh_guard_keys.yml
        public: true
      vars:
        __base_authorized_keys_files: ["{{ out }}/authorized_keys"]
    - name: Write the verdicts down
      ansible.builtin.copy:
        content: >-
          {{ {'usable': __base_ssh_usable_keys, 'refused': __base_ssh_refused_keys} | to_json }}
        dest: "{{ out }}/verdicts.json"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    out = tmp_path_factory.mktemp("guard")
    keys = make_keys(tmp_path_factory.mktemp("keys"))
    # What an operator's file may hold besides keys: comments, options, a damaged line.
    lines = ["# operators", ""]
    for i, key in enumerate(keys):
        options = 'no-agent-forwarding,command="/bin/true x" ' if i % 2 else ""
        lines.append(options + key.public_line)
    lines.append("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDamaged damaged")
    authorized_keys = "\n".join(lines) + "\n"
    (out / "authorized_keys").write_text(authorized_keys)
    run = run_playbook(PLAYBOOK, f"ssh-guard-test-{out.name}", extra={"out": str(out)})
    assert run.returncode == 0, run.stdout[-3000:]
    verdicts = json.loads((out / "verdicts.json").read_text())
    drop_in = (out / "sshd-hardening.conf").read_text()
    with (
        sshd_binary() as (binary, env),
        running_sshd(binary, env, drop_in, authorized_keys) as (
            port,
            config,
        ),
    ):
        software = [k for k in keys if k.private is not None]
        logins = {k.label: logs_in(port, k.private) for k in software}
        accepted = accepted_algorithms(binary, env, config)
    return keys, verdicts, logins, accepted


def test_guard_counts_exactly_the_keys_sshd_lets_in(setup):
    keys, verdicts, sshd, _ = setup
    software = [k for k in keys if k.private is not None]
    guard = {k.label: k.label in verdicts["usable"] for k in software}
    for label, ok in sshd.items():
        counted = "counts" if guard[label] else "refuses"
        print(f"{label:40} sshd {'accepts' if ok else 'refuses'}, guard {counted}")
    assert guard == sshd
    # Both verdicts occur: the drop-in's policy really narrows what sshd accepts.
    assert set(sshd.values()) == {True, False}
    assert sorted(verdicts["usable"] + verdicts["refused"]) == sorted(k.label for k in keys)


def test_guard_counts_a_security_key_type_exactly_when_sshd_accepts_it(setup):
    # No authenticator here to log in with: sshd's own reading of the drop-in is the judge.
    keys, verdicts, _, accepted = setup
    security_keys = [k for k in keys if k.private is None]
    assert {k.label: k.label in verdicts["usable"] for k in security_keys} == {
        k.label: k.type in accepted for k in security_keys
    }
