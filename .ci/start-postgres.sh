#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 server (binaries in /usr/local/bin) as the non-root `postgres`
# user on a free loopback port, with pg_cron preloaded when it is installed.
# Prints `export TEST_DATABASE_URL=...` for eval. Usage: eval "$(bash .ci/start-postgres.sh DIR)"
set -euo pipefail
PGDIR=${1:-/tmp/edge-migrator-pg}
PGBIN=${PGBIN:-/usr/local/bin}
id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PGDIR" --shell /bin/bash postgres
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
if [ -f "$PGDIR/data/postmaster.pid" ]; then
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
fi
rm -rf "$PGDIR"
mkdir -p "$PGDIR/data" "$PGDIR/sock"
chown -R postgres:postgres "$PGDIR"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 \
  --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1
{
  echo "max_connections = 300"
  echo "fsync = off"
  echo "synchronous_commit = off"
  echo "full_page_writes = off"
  if [ -f "$(dirname "$(readlink -f "$PGBIN/postgres")")/../lib/pg_cron.so" ]; then
    echo "shared_preload_libraries = 'pg_cron'"
    echo "cron.database_name = 'postgres'"
    echo "cron.use_background_workers = on"
    echo "max_worker_processes = 20"
  fi
} >>"$PGDIR/data/postgresql.conf"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/sock/pg.log" \
  -o "-p $port -k $PGDIR/sock -c listen_addresses=127.0.0.1" -w start >/dev/null
echo "export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
echo "export EDGE_MIGRATOR_PGDIR=$PGDIR"
