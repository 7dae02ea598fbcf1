#!/usr/bin/env bash
# One measured run of the `durable` scenario (or another: SCENARIO=import with `--dir DIR` after --, as
# loadtests/import.sh does; COLDSTART_RUNS=N then times N cold starts of the service on the database the run left): a throwaway PostgreSQL with durable commits (fsync=on,
# synchronous_commit=on, full_page_writes=on), the service published in Release and run in Development on it (the
# load generator signs in through the demo sign-in, so it is allowed on this throwaway database), the load
# generator, then PostgreSQL's own statistics. Everything started here is stopped by its pid.
#   loadtests/durable.sh LABEL [extra service environment, e.g. Persistence__GroupCommit=false] -- [scenario options]
# Run it under `flock -o /tmp/allocation-measure.lock` on a shared machine (-o: the PostgreSQL it starts must not
# inherit the lock, or a server left behind by a killed run holds it). Output: loadtests/results/durable-LABEL-*.
set -euo pipefail
label=$1; shift
service_env=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do service_env+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift

root=$(cd "$(dirname "$0")/.." && pwd)
results=$root/loadtests/results
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$results/durable-$label-$stamp
source "$root/loadtests/postgres.sh"

pg_port=$(free_port); http_port=$(free_port); silo_port=$(free_port); gateway_port=$(free_port)
dir=$(pg_create /tmp/allocation-durable-XXXXXX)
service_pid=
perf_pid=

cleanup() {
  # perf has usually exited by itself: a failing kill must not end the cleanup (set -e) before PostgreSQL is stopped.
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; fi
  pg_stop "$dir"
  rm -rf "$dir"
}
trap cleanup EXIT

pg_start "$dir" "$pg_port" -c max_connections=300 \
  -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c track_io_timing=on
psql() { command psql -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
psql -qc "create database allocation"
psql -d allocation -qc "create extension pg_stat_statements; create extension pg_walinspect"
cs="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=allocation;Maximum Pool Size=200"

{
  echo "label: $label"; echo "date: $(date -u)"; echo "uptime at start: $(uptime)"
  echo "service environment: ${service_env[*]:-(none)}"
  psql -d allocation -tAc "select name || '=' || setting from pg_settings where name in
    ('fsync','synchronous_commit','full_page_writes','wal_sync_method','shared_buffers','max_connections','commit_delay','server_version')"
} > "$out.txt"

# SERVICE_DIR: an already published service to run instead (e.g. an earlier commit, to compare with).
publish=${SERVICE_DIR:-$root/artifacts/durable-service}
[ -n "${SERVICE_DIR:-}" ] || dotnet publish "$root/src/Allocation.Service" -c Release -r linux-x64 --self-contained false -o "$publish" -v q -nologo >/dev/null
echo "service: $publish ($(cat "$publish/COMMIT" 2>/dev/null || git -C "$root" rev-parse --short HEAD))" >> "$out.txt"
(
  cd "$publish"
  exec env ASPNETCORE_ENVIRONMENT=Development ASPNETCORE_URLS="http://127.0.0.1:$http_port" \
    ConnectionStrings__Allocation="$cs" Orleans__SiloPort="$silo_port" Orleans__GatewayPort="$gateway_port" \
    Orleans__ClusterId="durable-$stamp" Seeding__Demo=false DemoSignIn__AllowOnPostgreSQL=true RateLimits__Commands__PermitLimit=1000000000 Logging__LogLevel__Default=Warning Logging__LogLevel__Allocation.Service.Persistence=Information \
    ${PERF_SECONDS:+DOTNET_PerfMapEnabled=1} "${service_env[@]}" ./Allocation.Service
) > "$out.service.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$http_port/health/ready" >/dev/null 2>&1 && break
  kill -0 "$service_pid" 2>/dev/null || { echo "service exited; see $out.service.log" >&2; exit 1; }
  sleep 0.5
done

# CPU per process over the run, from /proc (ticks), to split the machine between PostgreSQL, the service and the generator.
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
svc_before=$(ticks "$service_pid"); pg_before=$(pg_ticks "$dir")
psql -d allocation -qc "select pg_stat_statements_reset(); select pg_stat_reset();" >/dev/null
wal_start=$(psql -d allocation -tAc "select pg_current_wal_lsn()")
# PERF_SECONDS=N (after PERF_DELAY seconds, default 0): CPU samples of the whole machine with `perf record -a`, so the
# split between PostgreSQL, the service, the load generator and anything else running shows in `perf report --sort comm`.
if [ -n "${PERF_SECONDS:-}" ]; then
  (sleep "${PERF_DELAY:-0}"; exec perf record -a -g -F 199 -o "$out.perf.data" -- sleep "$PERF_SECONDS") > "$out.perf.log" 2>&1 &
  perf_pid=$!
fi
start=$(date +%s.%N)
set +e
scenario=${SCENARIO:-durable}
labelled=(); [ "$scenario" = durable ] && labelled=(--label "$label")
"$root/loadtests/Allocation.LoadTests/bin/Release/net10.0/Allocation.LoadTests" "$scenario" \
  --url "http://127.0.0.1:$http_port" "${labelled[@]}" --results "$results" "$@" | tee -a "$out.txt"
status=${PIPESTATUS[0]}
set -e
end=$(date +%s.%N)
svc_after=$(ticks "$service_pid"); pg_after=$(pg_ticks "$dir")
{
  echo "wall seconds (setup + steps): $(echo "$end - $start" | bc)"
  echo "service CPU seconds: $(echo "($svc_after - $svc_before) / $(getconf CLK_TCK)" | bc -l | head -c 8)"
  echo "postgres CPU seconds: $(echo "($pg_after - $pg_before) / $(getconf CLK_TCK)" | bc -l | head -c 8)"
  echo "--- pg_stat_database"
  psql -d allocation -c "select xact_commit, xact_rollback, tup_inserted, tup_updated, blk_write_time from pg_stat_database where datname='allocation'"
  echo "--- pg_stat_wal"
  psql -d allocation -c "select wal_records, wal_bytes, wal_write, wal_sync, wal_sync_time from pg_stat_wal"
  echo "--- stored grain state by grain type (bytes)"
  psql -d allocation -c "select split_part(grain_id, '/', 1) as grain_type, count(*), round(avg(length(payload))) as avg_bytes, max(length(payload)) as max_bytes from allocation_grain_state group by 1 order by 1" 2>/dev/null \
    || psql -d allocation -c "select graintypestring as grain_type, count(*), round(avg(length(payloadbinary))) as avg_bytes, max(length(payloadbinary)) as max_bytes from orleansstorage group by 1 order by 1"
  # Where the WAL came from: by kind of record, then by the relation its first block belongs to (heap or index),
  # with the full-page images (the first change to a page after each checkpoint) apart.
  echo "--- WAL by resource manager (pg_walinspect)"
  psql -d allocation -c "select \"resource_manager/record_type\" as kind, count, round(combined_size / 1048576.0, 1) as mb, round(fpi_size / 1048576.0, 1) as fpi_mb
    from pg_get_wal_stats('$wal_start', pg_current_wal_flush_lsn()) where count > 0 order by combined_size desc limit 8" || true
  echo "--- WAL by relation (first block of each record)"
  psql -d allocation -c "with r as (select (regexp_match(block_ref, 'rel \d+/\d+/(\d+)'))[1]::oid as node, record_length, fpi_length
      from pg_get_wal_records_info('$wal_start', pg_current_wal_flush_lsn()))
    select coalesce(c.relname, r.node::text, '(no block)') as relation, count(*) as records, round(sum(record_length) / 1048576.0, 1) as mb,
      round(sum(fpi_length) / 1048576.0, 1) as fpi_mb
    from r left join pg_class c on c.relfilenode = r.node group by 1 order by sum(record_length) desc limit 15" || true
  echo "--- pg_stat_statements (top 12 by calls)"
  psql -d allocation -c "select calls, round(total_exec_time::numeric,0) as total_ms, round(mean_exec_time::numeric,3) as mean_ms, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 90) as query from pg_stat_statements order by calls desc limit 12"
} >> "$out.txt"
kill "$service_pid"; wait "$service_pid" 2>/dev/null || true; service_pid=
grep -E "batches" "$out.service.log" >> "$out.txt" || true
if [ -n "${COLDSTART_RUNS:-}" ] && [ "$COLDSTART_RUNS" -gt 0 ]; then
  "$root/loadtests/Allocation.LoadTests/bin/Release/net10.0/Allocation.LoadTests" coldstart --service "$publish/Allocation.Service.dll" \
    --connection "$cs" --runs "$COLDSTART_RUNS" --port "$(free_port)" --silo-port "$(free_port)" --gateway-port "$(free_port)" \
    --results "$results" | grep -vE '^ +[0-9,]+ ms ' | tee -a "$out.txt"
fi
sed -n '/wall seconds/,$p' "$out.txt"
exit "$status"
