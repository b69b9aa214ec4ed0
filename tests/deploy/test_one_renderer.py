"""One renderer: the image, the bench and the tests render the repository's templates with the
renderer package and the roles' variables, and nobody patches what it renders.

The bench's nginx configuration is checked against Ansible itself: the nginx role's templates,
rendered by ansible-playbook on the controller (connection local, nothing changed) with the
bench's values, are byte for byte what the bench runs; rendered with the role's defaults for the
listen addresses and file paths instead (what a server gets), they differ from the bench's only
in the lines those values write.
"""

from __future__ import annotations

import ast
import difflib
import json
import subprocess
import sys
from pathlib import Path

from support.paths import REPO, repo_files

from .playbook import DEPLOY, run_playbook
from .role_specs import TEST_SERVER_FACTS

# What the bench sets that a server leaves to the role's defaults.
BENCH_ONLY = (
    "nginx_listen_address",
    "nginx_http_port",
    "nginx_https_port",
    "nginx_listen_ipv6",
    "nginx_pid_file",
    "nginx_log_dir",
    "nginx_temp_dir",
    "nginx_sites_include",
)
# The directives those variables write on a server.
SERVER_LINES = ("listen ", "/var/log/nginx/", "pid /run/nginx.pid;", "/etc/nginx/sites-enabled/*;")

PLAYBOOK = """
- name: Render the nginx role's configuration as the role does
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: nginx
      when: false
  tasks:
    - name: Render the site and nginx.conf
      ansible.builtin.template:
        src: "{{ item.src }}"
        dest: "{{ out_dir }}/{{ item.dest }}"
        mode: "0600"
      loop:
        - {src: "{{ nginx_site_templates_dir }}/board.conf.j2", dest: board.conf}
        - {src: roles/nginx/templates/nginx.conf.j2, dest: nginx.conf}
"""

BENCH_CODE = """
import json
from pathlib import Path
from bench.stack import BENCH_MANAGED, bench_nginx_values, nginx_config
root = Path("/srv/bench")
values = bench_nginx_values(
    root / "nginx", root, root / "nginx/localhost.crt", root / "nginx/localhost.key", 8080, 8443
)
site, main = nginx_config(values)
print(json.dumps({"managed": BENCH_MANAGED, "values": values, "site": site, "main": main}))
"""


def _bench() -> dict:
    # In a subprocess from the repository root: here `bench` is the tests/bench package.
    out = subprocess.run(
        [sys.executable, "-c", BENCH_CODE], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def _ansible(tmp_path: Path, name: str, values: dict, managed: str) -> dict[str, str]:
    out = tmp_path / name
    out.mkdir()
    extra = {**values, "ansible_managed": managed, "out_dir": str(out)}
    extra["ansible_facts"] = TEST_SERVER_FACTS
    proc = run_playbook(PLAYBOOK, f"one-renderer-{name}-{tmp_path.name}", "localhost,", extra)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return {"site": (out / "board.conf").read_text(), "main": (out / "nginx.conf").read_text()}


def test_the_bench_runs_the_nginx_config_ansible_renders_with_its_values(tmp_path):
    bench = _bench()
    ansible = _ansible(tmp_path, "bench", bench["values"], bench["managed"])
    assert ansible["site"] == bench["site"]
    assert ansible["main"] == bench["main"]


def test_the_bench_nginx_config_differs_from_a_servers_only_where_its_values_go(tmp_path):
    bench = _bench()
    server_values = {k: v for k, v in bench["values"].items() if k not in BENCH_ONLY}
    server = _ansible(tmp_path, "server", server_values, bench["managed"])
    written = [str(bench["values"][name]) for name in BENCH_ONLY]
    changed = 0
    for part in ("site", "main"):
        diff = difflib.unified_diff(
            server[part].splitlines(), bench[part].splitlines(), lineterm="", n=0
        )
        for line in diff:
            if line.startswith(("---", "+++", "@@")):
                continue
            changed += 1
            if line.startswith("-"):
                assert any(s in line for s in SERVER_LINES), f"{part}: server line lost: {line}"
            else:
                assert any(v in line for v in written if v), f"{part}: bench line added: {line}"
    print(f"\nthe bench's nginx config differs from a server's in {changed} lines")
    assert changed > 0


def _python_files() -> list[Path]:
    return [p for p in repo_files() if p.suffix == ".py"]


def _calls(tree: ast.AST):
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _is_render_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name in ("render", "nginx_config")


def test_the_bench_patches_no_rendered_text():
    found = []
    for path in sorted((REPO / "bench").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            rendered = set()
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and _is_render_call(node.value):
                    for target in node.targets:
                        names = target.elts if isinstance(target, ast.Tuple) else [target]
                        rendered |= {n.id for n in names if isinstance(n, ast.Name)}
            for call in _calls(function):
                func = call.func
                if not (isinstance(func, ast.Attribute) and func.attr in ("replace", "sub")):
                    continue
                receiver = func.value
                args = [receiver, *call.args]
                if any(
                    _is_render_call(a) or (isinstance(a, ast.Name) and a.id in rendered)
                    for a in args
                ):
                    found.append(f"{path.relative_to(REPO)}:{call.lineno}")
    assert found == [], "rendered config edited as text (pass a variable instead)"


def test_no_module_is_loaded_by_file_path_or_imported_privately_from_the_renderer():
    found = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), str(path))
        where = path.relative_to(REPO)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute | ast.Name):
                name = node.attr if isinstance(node, ast.Attribute) else node.id
                if name in ("spec_from_file_location", "SourceFileLoader", "run_path"):
                    found.append(f"{where}:{node.lineno}: {name}")
            outside = where.parts[0] != "renderer"
            if isinstance(node, ast.ImportFrom) and node.module == "renderer" and outside:
                private = [a.name for a in node.names if a.name.startswith("_")]
                found += [f"{where}:{node.lineno}: renderer.{n}" for n in private]
    assert found == []
    # The image is built with the same package: nothing runs a renderer script by its path.
    assert "python -m renderer" in (REPO / "Dockerfile").read_text()
    assert not (REPO / "docker" / "render.py").exists()
    assert DEPLOY.is_dir()


def test_a_value_naming_an_unset_variable_is_an_error_not_text_in_the_output(tmp_path):
    # What a missing defaults file (a role's dependency) looks like to the renderer.
    template = tmp_path / "site.conf.j2"
    template.write_text("root {{ app_root }}/static;\n")
    values = tmp_path / "values.yml"
    values.write_text("app_root: '{{ board_app_root }}/current'\n")
    out = tmp_path / "site.conf"
    r = subprocess.run(
        [sys.executable, "-m", "renderer", str(template), str(out), str(values)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1, r.stdout
    assert "board_app_root" in r.stderr
    assert not out.exists()
