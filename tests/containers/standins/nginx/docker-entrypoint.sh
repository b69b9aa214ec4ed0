#!/bin/sh
# The official nginx image's entrypoint contract: run the executable /docker-entrypoint.d/*.sh
# in order when the command is nginx, then exec the command.
set -eu
if [ "${1:-}" = nginx ]; then
    for f in /docker-entrypoint.d/*.sh; do
        [ -e "$f" ] || continue
        if [ -x "$f" ]; then echo "$0: launching $f"; "$f"; else echo "$0: ignoring $f"; fi
    done
fi
exec "$@"
