#!/bin/sh
# Entry point of the `redis` service: the throttle counters every Gunicorn worker shares (the
# Ansible redis role's settings, deploy/roles/redis/templates/redis.conf.j2, over the stack's
# internal network instead of a unix socket). The config is written to the tmpfs at each start:
# the password from .env is stored there only as its SHA-256, and never reaches argv.
set -eu

: "${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}"
hash=$(printf '%s' "$REDIS_PASSWORD" | sha256sum | cut -d' ' -f1)
unset REDIS_PASSWORD

umask 077
cat > /tmp/redis.conf <<CONF
# Reachable on the backend network only (no published port).
port 6379
bind 0.0.0.0
protected-mode yes
daemonize no
logfile ""
databases 1
# Persistence off: throttle windows last seconds to minutes (see the redis role).
save ""
appendonly no
dir /data
maxmemory ${REDIS_MAXMEMORY:-64mb}
maxmemory-policy volatile-ttl
# No anonymous access; the app's user may run every command but the @dangerous ones.
user default off resetpass -@all
user app on #${hash} ~* +@all -@dangerous
CONF
exec redis-server /tmp/redis.conf
