# The board API as container images; docker-compose.yml builds and runs them.
#   docker build -t board .                       the app: Gunicorn, the default (last) target
#   docker build --target nginx -t board-nginx .  nginx with the site and the static files
# Build arguments: PYTHON_IMAGE, NGINX_IMAGE (base images), REVISION (git revision: /healthz
# answers it in X-App-Revision), VERSION, SOURCE_URL (OCI labels), SERVER_NAME (nginx's name).
# Behind a TLS-intercepting proxy, hand pip its CA bundle: --secret id=pip-ca,src=BUNDLE.
ARG PYTHON_IMAGE=python:3.12-slim
ARG NGINX_IMAGE=nginx:1.27

# --- build: wheels of every locked dependency (hash-checked) and the rendered config templates --
FROM ${PYTHON_IMAGE} AS build
# Never run: its output is copied into the stages below.
HEALTHCHECK NONE
WORKDIR /build
COPY requirements/base.lock requirements/render.lock requirements/
RUN --mount=type=secret,id=pip-ca,required=false \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
    && python3 -m venv /opt/render \
    && /opt/render/bin/pip install --no-cache-dir --require-hashes -r requirements/render.lock \
    && /opt/render/bin/pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels \
       -r requirements/base.lock
# The same templates Ansible installs on servers, rendered with the container's values.
COPY renderer/ renderer/
COPY docker/vars/ docker/vars/
COPY deploy/roles/board/defaults/main.yml deploy/roles/board/defaults/
COPY deploy/roles/app/defaults/main.yml deploy/roles/app/defaults/
COPY deploy/roles/nginx/defaults/main.yml deploy/roles/nginx/defaults/
COPY deploy/roles/nginx/vars/main.yml deploy/roles/nginx/vars/
COPY systemd/gunicorn.conf.py.j2 systemd/
COPY nginx/board.conf.j2 nginx/
RUN /opt/render/bin/python -m renderer systemd/gunicorn.conf.py.j2 out/gunicorn.conf.py \
    deploy/roles/board/defaults/main.yml deploy/roles/app/defaults/main.yml docker/vars/gunicorn.yml
ARG SERVER_NAME=localhost
RUN case "${SERVER_NAME}" in ''|*[!A-Za-z0-9.-]*) \
        echo "SERVER_NAME must be a host name, not '${SERVER_NAME}'" >&2; exit 1;; esac \
    && /opt/render/bin/python -m renderer nginx/board.conf.j2 out/board.conf \
       deploy/roles/board/defaults/main.yml deploy/roles/nginx/defaults/main.yml \
       deploy/roles/nginx/vars/main.yml \
       docker/vars/nginx.yml "nginx_server_name=${SERVER_NAME}"

# --- app: the runtime, no compilers or build tools, installed offline from the wheels ----------
FROM ${PYTHON_IMAGE} AS app
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATIC_ROOT=/srv/board/shared/static
# A numeric system account that owns nothing in the image.
RUN groupadd --system --gid 10001 board \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin board
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements/base.lock,target=/tmp/base.lock \
    python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels \
       --require-hashes -r /tmp/base.lock \
    && /opt/venv/bin/pip uninstall --yes --quiet pip
# The server layout (releases aside): code in current/app, REVISION beside it, settings in shared/.
COPY app/ /srv/board/current/app/
COPY --from=build /build/out/gunicorn.conf.py /srv/board/shared/gunicorn.conf.py
COPY docker/healthcheck.py /usr/local/bin/board-healthcheck
WORKDIR /srv/board/current/app
RUN DEBUG=True python3 manage.py collectstatic --noinput --verbosity 0 \
    && python3 -m compileall -q /srv/board/current/app \
    && chmod -R u=rwX,go=rX /srv/board
# The revision last: a new one rebuilds only these layers. Gunicorn's config reads the file.
ARG REVISION=unknown
ARG VERSION=1.0.0
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="board" \
      org.opencontainers.image.description="Board API (Django REST Framework) under Gunicorn" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
ENV APP_REVISION=${REVISION}
RUN printf '%s\n' "${REVISION}" > /srv/board/current/REVISION \
    && chmod 0644 /srv/board/current/REVISION
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "/usr/local/bin/board-healthcheck"]
CMD ["gunicorn", "--config", "/srv/board/shared/gunicorn.conf.py", "--bind", "0.0.0.0:8000", \
     "config.wsgi:application"]

# --- nginx: the site template rendered for the stack, TLS, the collected static files ---------
FROM ${NGINX_IMAGE} AS nginx
ARG SERVER_NAME=localhost
ARG REVISION=unknown
ARG VERSION=1.0.0
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="board-nginx" \
      org.opencontainers.image.description="nginx in front of the board API (TLS, static files)" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"
ENV BOARD_SERVER_NAME=${SERVER_NAME}
RUN rm -f /etc/nginx/conf.d/default.conf && mkdir -p /etc/nginx/tls
COPY --from=build /build/out/board.conf /etc/nginx/conf.d/board.conf
COPY deploy/roles/nginx/files/ffdhe2048.pem /etc/nginx/ffdhe2048.pem
COPY docker/nginx/40-board-tls-certificate.sh /docker-entrypoint.d/
COPY --from=app /srv/board/shared/static /srv/board/shared/static
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["nginx", "-t", "-q"]

# --- the default target: the app ----------------------------------------------------------------
FROM app AS runtime
