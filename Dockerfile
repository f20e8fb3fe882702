# syntax=docker/dockerfile:1
#
# THE image recipe of every service of the community platform. Build from the repository root
# (the image needs shared/), naming the service (a folder under services/):
#
#   docker build --build-arg SERVICE=forum -t community-forum:dev .
#
# * assets stage: a service with browser assets (services/$SERVICE/web/package-lock.json, e.g.
#   analytics' chart library) gets them from the npm registry, integrity-checked by `npm ci`,
#   and copied into its package by its `vendor` script (the same one `make assets` runs); for
#   any other service this stage copies the folder unchanged.
# * build stage: third-party packages from requirements-runtime.lock only (hash-checked, wheels
#   only, no pytest/mypy/tooling), then shared/schemas, shared/kit and services/$SERVICE built as
#   wheels (build backend pinned in requirements-build.lock) and installed without resolving
#   anything again; bytecode compiled ahead of time.
# * runtime stage: the slim Python base, that virtualenv, two tiny scripts (deploy/docker/), a
#   non-root numeric user. Nothing is written outside /tmp at run time (PYTHONDONTWRITEBYTECODE,
#   precompiled bytecode), so it runs with a read-only root filesystem and a tmpfs/emptyDir on
#   /tmp (docker-compose.yml and deploy/k8s do exactly that). A service that keeps state on
#   disk (search: its index) keeps it under /var/lib/$SERVICE, owned by that user, where the
#   deployment mounts a volume (compose: a named volume; Kubernetes: a PersistentVolumeClaim).
#
# The service listens on 0.0.0.0 and on its Settings' port (FORUM_PORT, ... default 8001, ...);
# deploy/docker/entrypoint.py sets <PREFIX>HOST=0.0.0.0 unless given. HEALTHCHECK: GET /healthz.
# Rules this file keeps are checked by `make validate-deploy` (hadolint + deploy/tools).

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---------------------------------------------------------------- assets: npm, build time only
FROM ${NODE_IMAGE} AS assets
ARG SERVICE
RUN if [ -z "${SERVICE}" ]; then echo "build with --build-arg SERVICE=<services/ folder name>" >&2; exit 1; fi
WORKDIR /src/services/${SERVICE}
COPY services/${SERVICE} ./
# nothing from a CDN at run time: the service serves the pinned files itself
WORKDIR /src/services/${SERVICE}/web
RUN if [ -f package-lock.json ]; then \
      npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
      && npm run --silent vendor \
      && rm -rf node_modules; \
    fi

# ---------------------------------------------------------------- build: a self-contained venv
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
SHELL ["/bin/sh", "-eu", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN if [ -z "${SERVICE}" ]; then echo "build with --build-arg SERVICE=<services/ folder name>" >&2; exit 1; fi
WORKDIR /src
# the build backend of our own packages (pinned, hashes) stays in this stage; the runtime venv
# has no pip and no setuptools: pip installs into it from the outside
COPY requirements-build.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements-build.lock \
 && python -m venv --without-pip /opt/venv
# third-party dependencies first: this layer is reused until requirements-runtime.lock changes
COPY requirements-runtime.lock ./
RUN pip --python /opt/venv/bin/python install --no-cache-dir --no-deps --require-hashes \
      --only-binary=:all: -r requirements-runtime.lock
COPY shared/schemas ./shared/schemas
COPY shared/kit ./shared/kit
COPY --from=assets /src/services/${SERVICE} ./services/${SERVICE}
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels \
      ./shared/schemas ./shared/kit "./services/${SERVICE}" \
 && pip --python /opt/venv/bin/python install --no-cache-dir --no-deps --no-index /wheels/*.whl \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
 && /opt/venv/bin/python -c "import importlib; importlib.import_module('${SERVICE}.__main__')"

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="community-${SERVICE}" \
      org.opencontainers.image.description="Customer community platform: the ${SERVICE} service"
ENV COMMUNITY_SERVICE=${SERVICE} \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TMPDIR=/tmp
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin app \
 && install -d -o 10001 -g 10001 -m 0750 "/var/lib/${SERVICE}"
# media only: libmagic (python-magic sniffs every upload's type) and ffmpeg/ffprobe (video
# checks and posters), Debian packages. Not version-pinned on purpose: Debian replaces these
# versions with each security update (ffmpeg has many), and the old ones leave the mirror.
# hadolint ignore=DL3008
RUN if [ "${SERVICE}" = "media" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends libmagic1 ffmpeg \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker/entrypoint.py deploy/docker/healthcheck.py /opt/community/
WORKDIR /opt/community
# numeric, so that Kubernetes' runAsNonRoot can verify it
USER 10001:10001
# slim has no curl: the probe is a few lines of standard library (reads the Settings' port)
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
  CMD ["python", "/opt/community/healthcheck.py"]
ENTRYPOINT ["python", "/opt/community/entrypoint.py"]
