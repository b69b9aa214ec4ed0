"""pgBackRest's configuration files (roles/backup/templates), rendered with the role's variables
for one database server and for a Patroni cluster of two: the backup server lists every member
(pgBackRest finds the primary among them) and admits each one's certificate; a member archives
into the backup server's repository only, whichever member leads."""

from __future__ import annotations

import ast

import jinja2

from renderer import ROLES, load, render, role_variables

TEMPLATES = ROLES / "backup" / "templates"
ROLE_VARS = ROLES / "backup" / "vars" / "main.yml"
DATA_DIR = "/var/lib/postgresql/17/main"
BACKUP = {"name": "backup", "address": "10.0.0.20"}
DB1 = {"name": "db1", "address": "10.0.0.11"}
DB2 = {"name": "db2", "address": "10.0.0.12"}


def _text(name: str) -> str:
    # The renderer has no template loader: the one include, inlined.
    tls = (TEMPLATES / "pgbackrest-tls-server.conf.j2").read_text()
    return (
        (TEMPLATES / name)
        .read_text()
        .replace("{% include 'pgbackrest-tls-server.conf.j2' %}\n", tls)
    )


def _conf(host: dict, db_servers: list[dict]) -> dict[str, dict[str, list[str]]]:
    """The file's sections: each key's values in order (tls-server-auth repeats, one per client)."""
    variables = role_variables(
        "backup",
        inventory_hostname=host["name"],
        backup_server=BACKUP["name"],
        backup_server_address=BACKUP["address"],
        backup_db_servers=db_servers,
        backup_private_address=host["address"],
        backup_pg_path=DATA_DIR,
        backup_repo_cipher_pass="cipher-pass-0123456789abcdef",
        backup_patroni=len(db_servers) > 1,
        hostvars={db_servers[0]["name"]: {"backup_published_pg_path": DATA_DIR}},
    )
    # The role's vars, evaluated in their file's order (each names only earlier ones) as Ansible
    # evaluates them, lazily; a value rendered as a list literal is a list, as in Ansible.
    # (Those of a run's results, __backup_stanza_ids, cannot be and are not used here.)
    for key, value in load(ROLE_VARS).items():
        try:
            text = render(value, variables) if isinstance(value, str) else value
        except jinja2.TemplateError:
            continue
        if isinstance(text, str):
            variables[key] = ast.literal_eval(text.strip()) if text.strip()[:1] in "[{" else text
    name = "pgbackrest-repo-host.conf.j2" if host is BACKUP else "pgbackrest.conf.j2"
    sections: dict[str, dict[str, list[str]]] = {}
    for line in render(_text(name), variables, "# managed").splitlines():
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
        elif line and not line.startswith("#"):
            key, value = line.split("=", 1)
            section.setdefault(key, []).append(value)
    return sections


def test_the_backup_server_lists_every_member_of_a_cluster_and_admits_each():
    conf = _conf(BACKUP, [DB1, DB2])
    stanza = conf["board"]
    for index, db in enumerate([DB1, DB2], start=1):
        assert stanza[f"pg{index}-host"] == [db["address"]]
        assert stanza[f"pg{index}-host-type"] == ["tls"]
        assert stanza[f"pg{index}-path"] == [DATA_DIR]
    assert "pg3-host" not in stanza
    # Backups from the primary only: one member down does not stop them.
    assert "backup-standby" not in conf["global"] and "backup-standby" not in stanza
    assert conf["global"]["tls-server-auth"] == ["db1=board", "db2=board"]


def test_a_cluster_member_archives_into_the_backup_servers_repository_only():
    for member in (DB1, DB2):
        conf = _conf(member, [DB1, DB2])
        repos = {key.split("-")[0] for key in conf["global"] if key.startswith("repo")}
        assert repos == {"repo2"}, member
        assert conf["global"]["repo2-host"] == [BACKUP["address"]]
        assert conf["global"]["tls-server-auth"] == ["backup=board"]
        assert conf["board"]["pg1-path"] == [DATA_DIR]


def test_one_database_server_keeps_repo1_on_its_disk_and_is_the_backup_servers_pg1():
    conf = _conf(DB1, [DB1])
    assert conf["global"]["repo1-path"] and conf["global"]["repo2-host"] == [BACKUP["address"]]
    server = _conf(BACKUP, [DB1])
    assert server["board"]["pg1-host"] == [DB1["address"]]
    assert "pg2-host" not in server["board"]
    assert server["global"]["tls-server-auth"] == ["db1=board"]
