#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster, then remove the cluster.
#
#   scripts/with-test-postgres.sh COMMAND [ARGS...]
#
# The command sees DATABASE_URL pointing at the cluster. If DATABASE_URL is already a
# postgres:// URL (a CI service container, a developer's server), that server is used instead.
# The cluster listens on 127.0.0.1:$PGPORT (default: a free port picked now) and on a unix socket
# in its own fresh directory under $TMPDIR (default /tmp), so several engineers' runs on one
# machine never collide. Installs Debian's `postgresql` when its binaries are missing.
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user
# that the package creates.
set -euo pipefail

if [[ "${DATABASE_URL:-}" == postgres* ]]; then
    echo "with-test-postgres: using the configured server (DATABASE_URL is set)"
    exec "$@"
fi

find_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1
}

BINDIR="$(find_bindir)"
if [[ -z "$BINDIR" || ! -x "$BINDIR/initdb" ]]; then
    echo "with-test-postgres: installing Debian's postgresql package"
    SUDO=""; [[ $EUID -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >/dev/null
    BINDIR="$(find_bindir)"
fi

RUN_AS=()
if [[ $EUID -eq 0 ]]; then
    RUN_AS=(runuser -u postgres --)
fi

WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/board-test-pg.XXXXXX")"
chmod 0755 "$WORKDIR"
DATADIR="$WORKDIR/data"
PASSWORD="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
PORT="${PGPORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
printf '%s\n' "$PASSWORD" > "$WORKDIR/pwfile"
[[ $EUID -eq 0 ]] && chown -R postgres: "$WORKDIR"

cleanup() {
    "${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$DATADIR" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORKDIR"
}
trap cleanup EXIT

"${RUN_AS[@]}" "$BINDIR/initdb" -D "$DATADIR" -U board --auth=scram-sha-256 \
    --pwfile="$WORKDIR/pwfile" -E UTF8 --locale=C.UTF-8 >"$WORKDIR/initdb.log" 2>&1 \
    || { cat "$WORKDIR/initdb.log"; exit 1; }
rm -f "$WORKDIR/pwfile"
"${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$DATADIR" -w -l "$WORKDIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORKDIR -c fsync=off" start >/dev/null \
    || { cat "$WORKDIR/server.log"; exit 1; }

export DATABASE_URL="postgres://board:${PASSWORD}@127.0.0.1:${PORT}/postgres"
echo "with-test-postgres: PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
"$@"
