#!/usr/bin/env bash
# Bulk import of a generated authority into a throwaway PostgreSQL with durable commits (fsync, synchronous commit and
# full-page writes on), then cold starts of the service on the imported data. Everything started here is stopped by
# its pid, and the database is deleted at the end.
#   loadtests/import.sh large|national [coldstart runs, default 3]
# SERVICE_DIR: an already published service to run (else this tree is published). Run it under
# `flock -o /tmp/allocation-measure.lock` on a shared machine. Output: loadtests/results/import-*, coldstart-*.
set -euo pipefail
size=$1; runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
results=$root/loadtests/results
mkdir -p "$results"
loadtests=$root/loadtests/Allocation.LoadTests/bin/Release/net10.0/Allocation.LoadTests
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_port=$(free_port); http_port=$(free_port); silo_port=$(free_port); gateway_port=$(free_port)
dir=$(mktemp -d /tmp/allocation-import-XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$dir"
service_pid=

cleanup() {
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; fi
  if [ -s "$dir/data/postmaster.pid" ]; then
    pg_pid=$(head -n 1 "$dir/data/postmaster.pid")
    kill -INT "$pg_pid" 2>/dev/null || true
    while kill -0 "$pg_pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w start -o "-h 127.0.0.1 -p $pg_port -k $dir \
  -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300" >/dev/null
command psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "create database allocation"
cs="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=allocation;Maximum Pool Size=200"

publish=${SERVICE_DIR:-$root/artifacts/import-service}
[ -n "${SERVICE_DIR:-}" ] || dotnet publish "$root/src/Allocation.Service" -c Release -r linux-x64 --self-contained false -o "$publish" -v q -nologo >/dev/null
echo "service: $publish ($(cat "$publish/COMMIT" 2>/dev/null || git -C "$root" rev-parse --short HEAD)); $(uptime)"
"$loadtests" generate --size "$size" --seed 42 --out "$dir/files" --as-of "$(date -u +%F)" >/dev/null

(
  cd "$publish"
  exec env ASPNETCORE_ENVIRONMENT=Development ASPNETCORE_URLS="http://127.0.0.1:$http_port" \
    ConnectionStrings__Allocation="$cs" Orleans__SiloPort="$silo_port" Orleans__GatewayPort="$gateway_port" \
    Orleans__ClusterId="import-$$" Seeding__Demo=false DemoSignIn__AllowOnPostgreSQL=true Logging__LogLevel__Default=Warning \
    ./Allocation.Service
) > "$dir/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$http_port/health/ready" >/dev/null 2>&1 && break
  kill -0 "$service_pid" 2>/dev/null || { cat "$dir/service.log" >&2; exit 1; }
  sleep 0.5
done

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
svc_before=$(ticks "$service_pid")
"$loadtests" import --url "http://127.0.0.1:$http_port" --dir "$dir/files" --results "$results"
echo "service CPU seconds during the import: $(echo "($(ticks "$service_pid") - $svc_before) / $(getconf CLK_TCK)" | bc -l | head -c 8)"
kill "$service_pid"; wait "$service_pid" 2>/dev/null || true; service_pid=

if [ "$runs" -gt 0 ]; then
  "$loadtests" coldstart --service "$publish/Allocation.Service.dll" --connection "$cs" --runs "$runs" \
    --port "$(free_port)" --silo-port "$(free_port)" --gateway-port "$(free_port)" --results "$results"
fi
