#!/bin/sh
# The `backup` service (docker-compose.yml, profile `backup`): logical backups of the stack's
# database into the `backups` volume, and their restore.
#   docker compose --profile backup run --rm backup            dump now, keep the newest $BOARD_BACKUP_KEEP
#   docker compose --profile backup run --rm backup list       the dumps, newest first
#   docker compose --profile backup run --rm backup restore F  restore /backups/F (stop app and nginx first)
# The connection comes from the environment (PGHOST, PGUSER, PGDATABASE, PGPASSWORD), never argv.
set -eu
umask 077

dumps() { find /backups -maxdepth 1 -name 'board-*.dump' -printf '%f\n' | sort -r; }

case "${1:-dump}" in
dump)
    name="board-$(date -u +%Y%m%dT%H%M%SZ).dump"
    # Written under a temporary name so a failed dump never looks like a backup.
    trap 'rm -f "/backups/$name.partial"' EXIT
    pg_dump --format=custom --file="/backups/$name.partial"
    mv "/backups/$name.partial" "/backups/$name"
    trap - EXIT
    dumps | tail -n "+$((${BOARD_BACKUP_KEEP:-7} + 1))" | while read -r old; do
        rm -f "/backups/$old"
    done
    echo "$name"
    ;;
list)
    dumps
    ;;
restore)
    file="${2:?name the dump to restore (docker compose --profile backup run --rm backup list)}"
    case "$file" in */*) echo "name a dump in /backups, not a path: $file" >&2; exit 2 ;; esac
    [ -f "/backups/$file" ] || { echo "no such dump in /backups: $file" >&2; exit 2; }
    # One transaction: a restore that fails part-way leaves the database as it was.
    pg_restore --clean --if-exists --single-transaction --exit-on-error \
        --dbname="$PGDATABASE" "/backups/$file"
    echo "restored $file"
    ;;
*)
    echo "usage: backup [dump | list | restore DUMP]" >&2
    exit 2
    ;;
esac
