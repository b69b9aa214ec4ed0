"""The production shape on loopback: PostgreSQL, Redis, Gunicorn and Nginx, all under one directory.

Stack() is a context manager. Everything it starts is a child process it stops, and everything it
writes lives in one fresh directory it removes, so the machine is left as it was found:
  * PostgreSQL: a throwaway cluster (the approach of scripts/with-test-postgres.sh) on a free
    127.0.0.1 port, owned by the `postgres` system user when run as root (initdb refuses root);
    the roles and privileges of deploy/roles/postgresql/files/privileges.sql (owner role for
    migrations and loading, runtime role for the app), sized like the postgresql role sizes a
    server of BENCH_PG_MEMORY_MB, with log_connections on and pg_stat_statements loaded.
  * Redis on a unix socket: the throttle counters' cache, as in production.
  * Gunicorn with systemd/gunicorn.conf.py.j2 rendered with the app role's defaults for this
    machine's CPU count (5 workers x 2 threads on 2 cores); it binds a unix socket instead of
    taking systemd's. `current` is a symlink to this checkout, as on a server.
  * Nginx with deploy/roles/nginx/templates/nginx.conf.j2 and nginx/board.conf.j2 rendered with
    the nginx role's variables (renderer.role_variables), HTTPS with a self-signed certificate for
    `localhost`. The bench sets only the listen address and ports (free loopback ports instead of
    80/443, no IPv6) and the file paths (pid, logs, temp, site include): bench_nginx_values().
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import psycopg2

from renderer import render, role_variables

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "localhost"  # the site's server_name: the TLS name (SNI) and Host header wrk sends
# The privilege model as the postgresql role applies it: its database, roles, limits and timeouts
# (the runtime role gets room for every Gunicorn thread twice over, as group_vars wires
# app_db_runtime_connections_needed into postgresql_runtime_connections_needed).
POSTGRESQL = role_variables("postgresql", postgresql_runtime_connections_needed=80)
OWNER = POSTGRESQL["postgresql_owner_role"]
RUNTIME = POSTGRESQL["postgresql_runtime_role"]
DATABASE = POSTGRESQL["postgresql_database"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BENCH_MANAGED = "Rendered by bench/stack.py for `make bench`."


def role_gunicorn_size(cpus: int) -> tuple[int, int]:
    """Workers and threads the app role's defaults give a server of `cpus` vCPUs."""
    app = role_variables("app", ansible_facts={"processor_vcpus": cpus})
    return int(app["app_gunicorn_workers"]), int(app["app_gunicorn_threads"])


def run(argv, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(f"bench: {argv[0]} {argv[1]} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class Stack:
    def __init__(self, parent: str | None = None, pg_memory_mb: int = 4096):
        self.parent = parent
        self.pg_memory_mb = pg_memory_mb
        self.procs: dict[str, subprocess.Popen] = {}
        self.cpus = os.cpu_count() or 1
        self.workers, self.threads = role_gunicorn_size(self.cpus)

    # --- lifetime ------------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        self.dir = Path(tempfile.mkdtemp(prefix="board-bench.", dir=self.parent))
        self.dir.chmod(0o755)
        try:
            self._start_postgres()
            self._start_redis()
            self._write_app_env()
            self._start_nginx()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for name in ("nginx", "gunicorn", "redis"):
            self._stop(name)
        if hasattr(self, "pg_data"):
            with suppress(Exception):
                subprocess.run(
                    [*self.as_postgres(), f"{self.pg_bin}/pg_ctl", "-D", str(self.pg_data)]
                    + ["-m", "immediate", "-w", "stop"],
                    capture_output=True,
                    timeout=60,
                )
        shutil.rmtree(self.dir, ignore_errors=True)

    def _stop(self, name: str, timeout: float = 40):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    # --- PostgreSQL ----------------------------------------------------------------------------
    def as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _start_postgres(self):
        bindirs = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
        )
        if not bindirs:
            raise SystemExit("bench: PostgreSQL is not installed (make bench installs it)")
        self.pg_bin = str(bindirs[-1])
        pg_dir = self.pg_dir = self.dir / "pg"
        pg_dir.mkdir()
        self.pg_data = pg_dir / "data"
        self.pg_port = free_port()
        self.pg_super_password = secrets.token_hex(16)
        (pg_dir / "pwfile").write_text(self.pg_super_password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pg_dir, "postgres", "postgres")
            shutil.chown(pg_dir / "pwfile", "postgres", "postgres")
        run(
            [*self.as_postgres(), f"{self.pg_bin}/initdb", "-D", str(self.pg_data), "-U", "bench"]
            + ["--auth=scram-sha-256", f"--pwfile={pg_dir / 'pwfile'}", "-E", "UTF8"]
            + ["--locale=C.UTF-8"]
        )
        (pg_dir / "pwfile").unlink()
        mem = self.pg_memory_mb
        max_connections = 100
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": self.pg_port,
            "unix_socket_directories": str(pg_dir),
            "max_connections": max_connections,
            # The postgresql role's sizing rules for a server with `mem` MB of RAM.
            "shared_buffers": f"{min(max(int(mem * 0.25), 128), 8192)}MB",
            "effective_cache_size": f"{max(int(mem * 0.75), 256)}MB",
            "work_mem": f"{min(max(int(mem / (4 * max_connections)), 4), 64)}MB",
            "maintenance_work_mem": f"{min(max(int(mem / 16), 64), 1024)}MB",
            "log_connections": "on",
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.track": "top",
        }
        with (self.pg_data / "postgresql.conf").open("a") as conf:
            for name, value in settings.items():
                conf.write(f"{name} = '{value}'\n")
        run(
            [*self.as_postgres(), f"{self.pg_bin}/pg_ctl", "-D", str(self.pg_data), "-w"]
            + ["-l", str(pg_dir / "server.log"), "start"]
        )
        self.owner_password = secrets.token_hex(16)
        self.runtime_password = secrets.token_hex(16)
        with self.superuser("postgres") as cur:
            cur.execute("CREATE EXTENSION pg_stat_statements")
            cur.execute("SET password_encryption = 'scram-sha-256'")
            cur.execute(f"CREATE ROLE {OWNER} LOGIN PASSWORD %s", [self.owner_password])
            cur.execute(f"CREATE ROLE {RUNTIME} LOGIN PASSWORD %s", [self.runtime_password])
        self.create_database(DATABASE)

    def create_database(self, name: str):
        """A database of the owner role with the postgresql role's privileges (privileges.sql)."""
        with self.superuser("postgres") as cur:
            cur.execute(f"CREATE DATABASE {name} OWNER {OWNER}")
        options = {
            f"board.{name}": POSTGRESQL[f"postgresql_{name}"]
            for name in (
                "owner_role",
                "runtime_role",
                "owner_conn_limit",
                "runtime_conn_limit",
                "owner_lock_timeout",
                "runtime_statement_timeout",
                "runtime_idle_in_transaction_session_timeout",
                "runtime_lock_timeout",
            )
        }
        with self.superuser(name, options) as cur:
            sql = (REPO / "deploy/roles/postgresql/files/privileges.sql").read_text()
            cur.execute(sql)

    def superuser(
        self, dbname: str = DATABASE, options: dict | None = None, port: int | None = None
    ):
        """A cursor of the bench's superuser (on `port`: a restored copy of the cluster)."""
        conn = psycopg2.connect(
            host="127.0.0.1",
            port=port or self.pg_port,
            user="bench",
            password=self.pg_super_password,
            dbname=dbname,
            options=" ".join(f"-c {k}={v}" for k, v in (options or {}).items()),
            connect_timeout=5,
        )
        conn.autocommit = True
        return _Cursor(conn)

    def database_url(self, role: str = RUNTIME, dbname: str = DATABASE) -> str:
        password = self.owner_password if role == OWNER else self.runtime_password
        return f"postgres://{role}:{password}@127.0.0.1:{self.pg_port}/{dbname}"

    def restart_postgres(self):
        """A restart, for settings that need one (archive_mode)."""
        run(
            [*self.as_postgres(), f"{self.pg_bin}/pg_ctl", "-D", str(self.pg_data), "-w"]
            + ["-m", "fast", "-l", str(self.pg_dir / "server.log"), "restart"]
        )

    # --- Redis ---------------------------------------------------------------------------------
    def _start_redis(self):
        self.redis_socket = self.dir / "redis.sock"
        self.procs["redis"] = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(self.redis_socket)]
            + ["--unixsocketperm", "700", "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.dir)],
            stdout=(self.dir / "redis.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        _wait(lambda: self.redis_socket.exists(), "redis")

    # --- the app -------------------------------------------------------------------------------
    def _write_app_env(self):
        # Values the app role renders into shared/.env, for this loopback site. The file is
        # read by the bench (never argv): the secrets stay off command lines.
        self.app_env = {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "ENV_FILE": "/dev/null",
            "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'app'}",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "False",
            "DATABASE_URL": self.database_url(RUNTIME),
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "True",
            "SECURE_COOKIES": "True",
            "NUM_PROXIES": "1",
            "REDIS_URL": f"unix://{self.redis_socket}?db=0",
            "CONN_MAX_AGE": "60",
            # Raised for the bench: the throttles must not answer 429 to wrk.
            "THROTTLE_ANON_RATE": "100000000/min",
            "THROTTLE_USER_RATE": "100000000/min",
            "JWT_ACCESS_MINUTES": "240",
            "LOG_LEVEL": "WARNING",
            "STATIC_ROOT": str(self.dir / "static"),
        }
        (self.dir / "current").symlink_to(REPO)

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
        env.update(self.app_env)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def manage(self, *args, role: str = OWNER, dbname: str = DATABASE, **env_extra):
        """manage.py as the owner role (migrations), like board-manage on a server."""
        return run(
            [sys.executable, "manage.py", *args],
            cwd=REPO / "app",
            env=self.env(DATABASE_URL=self.database_url(role, dbname), **env_extra),
        )

    def python(self, module: str, *args, role: str = OWNER, dbname: str = DATABASE) -> str:
        return run(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=self.env(DATABASE_URL=self.database_url(role, dbname)),
        ).stdout

    def start_gunicorn(self, worker_class="gthread", workers=None, threads=None, **env_extra):
        """(Re)start Gunicorn with the production config; arguments override it as a test."""
        self._stop("gunicorn")
        self.workers_now = workers or self.workers
        self.threads_now = threads or self.threads
        conf = self.dir / "gunicorn.conf.py"
        conf.write_text(
            render(
                REPO / "systemd/gunicorn.conf.py.j2",
                role_variables(
                    "app",
                    app_root=str(self.dir),
                    ansible_facts={"processor_vcpus": self.cpus},
                    app_gunicorn_workers=self.workers,
                    app_gunicorn_threads=self.threads,
                ),
                ansible_managed=BENCH_MANAGED,
            )
        )
        self.gunicorn_socket = self.dir / "gunicorn.sock"
        argv = [str(VENV_BIN / "gunicorn"), "-c", str(conf)]
        argv += ["--bind", f"unix:{self.gunicorn_socket}"]
        argv += ["--backlog", "2048", "--workers", str(self.workers_now)]
        if worker_class != "gthread":
            argv += ["--worker-class", worker_class]
        else:
            argv += ["--threads", str(self.threads_now)]
        max_requests = env_extra.pop("max_requests", None)
        if max_requests is not None:
            argv += ["--max-requests", str(max_requests)]
        argv.append("config.wsgi:application")
        log = (self.dir / "gunicorn.log").open("a")
        self.procs["gunicorn"] = subprocess.Popen(
            argv, cwd=REPO / "app", env=self.env(**env_extra), stdout=log, stderr=log
        )
        _wait(self._gunicorn_ready, "gunicorn", timeout=60, proc=self.procs["gunicorn"])
        # Every worker has imported the app (each answers /healthz once it is up).
        _wait(lambda: len(self.worker_pids()) == self.workers_now, "gunicorn workers")
        time.sleep(1)

    def stop_gunicorn(self):
        self._stop("gunicorn")

    def _gunicorn_ready(self) -> bool:
        if not self.gunicorn_socket.exists():
            return False
        conn = UnixHTTPConnection(str(self.gunicorn_socket))
        try:
            conn.request("GET", "/healthz", headers={"Host": HOST})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        master = self.procs["gunicorn"].pid
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == master:
                    pids.append(int(stat.parent.name))
        return pids

    def worker_rss_kib(self) -> list[int]:
        rss = []
        for pid in self.worker_pids():
            with suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss.append(int(line.split()[1]))
        return rss

    # --- Nginx ---------------------------------------------------------------------------------
    def _start_nginx(self):
        ngx = self.dir / "nginx"
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (ngx / "temp" / sub).mkdir(parents=True)
        if os.geteuid() == 0:
            for path in [ngx / "temp", *(ngx / "temp").iterdir()]:
                shutil.chown(path, "www-data")
        self.https_port, self.http_port = free_port(), free_port()
        cert, key = ngx / "localhost.crt", ngx / "localhost.key"
        run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
            + ["-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}"]
            + ["-keyout", str(key), "-out", str(cert)]
        )
        self.ca_file = cert
        logs = ngx / "logs"
        logs.mkdir()
        values = bench_nginx_values(ngx, self.dir, cert, key, self.http_port, self.https_port)
        site, main = nginx_config(values)
        (ngx / "board.conf").write_text(site)
        (ngx / "nginx.conf").write_text(main)
        argv = ["nginx", "-p", str(ngx), "-c", str(ngx / "nginx.conf")]
        argv += ["-e", str(logs / "error.log")]
        run([*argv, "-t"])
        self.procs["nginx"] = subprocess.Popen([*argv, "-g", "daemon off;"])
        _wait(lambda: _port_open(self.https_port), "nginx", proc=self.procs["nginx"])

    @property
    def base_url(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def ports(self) -> list[int]:
        return [self.pg_port, self.https_port, self.http_port]


def bench_nginx_values(
    ngx: Path, root: Path, cert: Path, key: Path, http_port: int, https_port: int
) -> dict:
    """The nginx role's variables for the bench's loopback site: where a server's inventory and
    the role's own tasks (certificate, nginx version) would set them. Every other directive is
    the role's default."""
    return dict(
        nginx_server_name=HOST,
        nginx_user="www-data",
        nginx_app_socket=str(root / "gunicorn.sock"),
        nginx_static_root=str(root / "static"),
        nginx_tls_mode="selfsigned",
        nginx_tls_active_certificate=str(cert),
        nginx_tls_active_certificate_key=str(key),
        nginx_dhparam_path=str(REPO / "deploy/roles/nginx/files/ffdhe2048.pem"),
        nginx_reject_handshake=True,
        nginx_ocsp_stapling=False,
        # Free loopback ports instead of 80/443, IPv4 only (`localhost` is 127.0.0.1 here).
        nginx_listen_address="127.0.0.1",
        nginx_http_port=http_port,
        nginx_https_port=https_port,
        nginx_listen_ipv6=False,
        # Every file under the stack's directory.
        nginx_pid_file=str(ngx / "nginx.pid"),
        nginx_log_dir=str(ngx / "logs"),
        nginx_temp_dir=str(ngx / "temp"),
        nginx_sites_include=str(ngx / "board.conf"),
    )


def nginx_config(values: dict) -> tuple[str, str]:
    """The site (nginx/board.conf.j2) and nginx.conf (the nginx role's template) rendered with the
    nginx role's variables and `values` where an inventory would set them."""
    variables = role_variables("nginx", **values)
    site = render(REPO / "nginx/board.conf.j2", variables, ansible_managed=BENCH_MANAGED)
    main = render(
        REPO / "deploy/roles/nginx/templates/nginx.conf.j2",
        variables,
        ansible_managed=BENCH_MANAGED,
    )
    return site, main


class _Cursor:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.cur = self.conn.cursor()
        return self.cur

    def __exit__(self, *exc):
        self.cur.close()
        self.conn.close()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(ready, what: str, timeout: float = 30, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"bench: {what} exited with {proc.returncode}")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"bench: {what} not ready after {timeout} s")
