#!/bin/sh
# First start of the `db` service (the postgres image runs /docker-entrypoint-initdb.d/* once,
# on an empty data directory): create the owner and runtime roles with their passwords, then
# apply the privilege model the Ansible postgresql role applies on servers
# (deploy/roles/postgresql/files/privileges.sql, mounted at /board/privileges.sql).
# Passwords come from the environment (.env) and reach psql through \getenv: never argv.
set -eu

: "${BOARD_DB_OWNER_PASSWORD:?set BOARD_DB_OWNER_PASSWORD in .env}"
: "${BOARD_DB_RUNTIME_PASSWORD:?set BOARD_DB_RUNTIME_PASSWORD in .env}"
owner="${BOARD_DB_OWNER_ROLE:-board_owner}"
runtime="${BOARD_DB_RUNTIME_ROLE:-board_app}"

psql -XAtq -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v owner="$owner" -v runtime="$runtime" <<'SQL'
SET password_encryption = 'scram-sha-256';
\getenv owner_password BOARD_DB_OWNER_PASSWORD
\getenv runtime_password BOARD_DB_RUNTIME_PASSWORD
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"runtime" LOGIN PASSWORD :'runtime_password';
SQL

PGOPTIONS="-c board.owner_role=$owner -c board.runtime_role=$runtime"
PGOPTIONS="$PGOPTIONS -c board.owner_conn_limit=$BOARD_DB_OWNER_CONN_LIMIT"
PGOPTIONS="$PGOPTIONS -c board.runtime_conn_limit=$BOARD_DB_RUNTIME_CONN_LIMIT"
PGOPTIONS="$PGOPTIONS -c board.owner_lock_timeout=$BOARD_DB_OWNER_LOCK_TIMEOUT"
PGOPTIONS="$PGOPTIONS -c board.runtime_statement_timeout=$BOARD_DB_RUNTIME_STATEMENT_TIMEOUT"
PGOPTIONS="$PGOPTIONS -c board.runtime_idle_in_transaction_session_timeout=$BOARD_DB_RUNTIME_IDLE_IN_TRANSACTION_SESSION_TIMEOUT"
PGOPTIONS="$PGOPTIONS -c board.runtime_lock_timeout=$BOARD_DB_RUNTIME_LOCK_TIMEOUT"
export PGOPTIONS
psql -XAtq -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -f /board/privileges.sql >/dev/null
unset PGOPTIONS
echo "initdb.sh: roles $owner and $runtime created, privileges applied"
