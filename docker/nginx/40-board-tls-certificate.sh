#!/bin/sh
# nginx image entrypoint step (/docker-entrypoint.d/): a self-signed certificate for
# BOARD_SERVER_NAME at first start, kept in the `tls` volume. Mount your own board.crt (full
# chain) and board.key into /etc/nginx/tls instead and this leaves them alone.
set -eu
dir=/etc/nginx/tls
name="${BOARD_SERVER_NAME:-localhost}"
if [ -s "$dir/board.crt" ] && [ -s "$dir/board.key" ]; then
    exit 0
fi
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=$name" -addext "subjectAltName=DNS:$name" \
    -keyout "$dir/board.key.new" -out "$dir/board.crt.new" 2>/dev/null
chmod 0644 "$dir/board.crt.new"
mv "$dir/board.key.new" "$dir/board.key"
mv "$dir/board.crt.new" "$dir/board.crt"
echo "$0: generated a self-signed certificate for $name in $dir"
