#!/usr/bin/env bash
# Write a `.env` for running the API locally (used by `make run` when none exists).
# A fresh secret key per machine; DEBUG stays off; plain HTTP on localhost.
set -euo pipefail
target="${1:-.env}"
if [[ -e "$target" ]]; then
    exit 0
fi
umask 077
secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
cat > "$target" <<ENV
# Written by \`make run\` for local use only. See .env.example for every variable.
SECRET_KEY=${secret}
DEBUG=False
ALLOWED_HOSTS=localhost,127.0.0.1
# Served over plain HTTP on localhost: no HTTPS redirect, cookies not marked Secure.
SECURE_SSL_REDIRECT=False
SECURE_COOKIES=False
ENV
echo "Wrote $target with a new SECRET_KEY."
