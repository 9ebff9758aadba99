# One image for every Carepath service; the command picks what runs:
#   docker run -e PORT=8003 carepath serve placement --host 0.0.0.0 --port 8003
#   docker run carepath migrate placement      # Alembic migrations, before the service starts
# PORT tells the healthcheck where the service listens (default 8000).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/carepath
WORKDIR /src
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir carepath contracts services \
 && touch carepath/__init__.py contracts/__init__.py services/__init__.py \
 && /opt/carepath/bin/pip install . \
 && /opt/carepath/bin/pip uninstall --yes carepath
COPY carepath ./carepath
COPY contracts ./contracts
COPY services ./services
# ... and fail the build if the installed package misses a service's migrations.
RUN /opt/carepath/bin/pip install --no-deps . \
 && cd /tmp && /opt/carepath/bin/python -c "from carepath.persistence.migrations import has_migrations; \
from carepath.settings import SERVICES; assert all(map(has_migrations, SERVICES))"

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 carepath \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app carepath
WORKDIR /app
COPY --from=build /opt/carepath /opt/carepath
COPY config ./config
ENV PATH=/opt/carepath/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    CAREPATH_CONFIG_DIR=/app/config CAREPATH_VAR_DIR=/tmp/carepath PORT=8000
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000 8001 8002 8003 8004 8005
ENTRYPOINT ["carepath"]
CMD ["serve", "journey", "--host", "0.0.0.0", "--port", "8000"]
# Healthy = ready: the database and the broker answer (docker compose waits on it).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8000'), timeout=2)"]
