#!/usr/bin/env bash
# A local PostgreSQL server for the suite and the benchmarks, from Debian's packages: installs it
# when absent, creates and starts a cluster when none answers, sets the postgres user's password
# and prints the URL to use as CAREPATH_TEST_DATABASE_URL (tests) or CAREPATH_DATABASE_URL.
# Needs root or sudo. Usage: export CAREPATH_TEST_DATABASE_URL="$(bash deploy/local-postgres.sh)"
set -euo pipefail
PORT="${PGPORT:-5432}"
PASSWORD="${CAREPATH_POSTGRES_PASSWORD:-postgres}"

say() { echo "local-postgres: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { (cd /tmp && if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi); }
answers() { command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p "$PORT" -q; }

if ! answers; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    say "installing PostgreSQL from Debian's packages"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql >&2
  fi
  version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
  if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
    say "creating cluster $version/main on port $PORT"
    as_root pg_createcluster "$version" main -p "$PORT" >&2
  fi
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  for _ in $(seq 1 60); do answers && break; sleep 0.5; done
  answers || { say "PostgreSQL did not answer on 127.0.0.1:$PORT"; exit 1; }
fi
as_postgres psql -q -p "$PORT" -c "ALTER USER postgres PASSWORD '$PASSWORD'" >&2
say "$(as_postgres psql -tA -p "$PORT" -c 'SELECT version()' | cut -d, -f1) on 127.0.0.1:$PORT"
# Loopback needs no TLS (Debian's cluster offers it with a snakeoil certificate). Without it every
# query skips OpenSSL: less CPU, and one native library fewer under libpq's send, where CI once
# crashed with a segmentation fault (2026-12-03) that 40 reruns here did not reproduce.
echo "postgresql://postgres:${PASSWORD}@127.0.0.1:${PORT}/postgres?sslmode=disable"
