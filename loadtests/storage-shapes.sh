#!/usr/bin/env bash
# PostgreSQL's side of a referral + allocation pair, stored the two ways issue 11 asked to compare, on a throwaway
# PostgreSQL with durable commits (fsync=on, synchronous_commit=on, full_page_writes=on), driven by pgbench:
#   state  - what the product stores: the child's state row (inserted by the referral, updated by the allocation,
#            ~240 bytes, its team and worker columns indexed for the boards' and places' rebuild) and a receipt row
#            per command (the retry answer), as the group-commit storage writes them; the allocation's write holds
#            the worker's advisory lock and counts the worker's stored places (the ceiling's guard);
#   events - an event log (Orleans' JournaledGrain with custom storage, one row per command): each command appends
#            one event row (~120-150 bytes) that is also its receipt (unique per request), with the same team and
#            worker indexes so boards and places can still be rebuilt by one indexed query; the allocation's guard
#            counts the worker's children whose latest event names it, under the same lock.
# The audit entry, written alike by both, is left out. The guard's limit is set high enough never to refuse.
# Both run one pair per transaction (the product's group commit averages 1.7 commands a commit at 250/s), the
# same clients, the arms alternated. Reported per pair: PostgreSQL CPU (postmaster and backends, from /proc), WAL
# bytes (pg_current_wal_lsn), transactions a second.
#   loadtests/storage-shapes.sh [seconds per run, default 60] [rounds, default 2] [clients, default 8]
# Run it under `flock -o /tmp/allocation-measure.lock` on a shared machine. Everything started here is stopped by pid.
set -euo pipefail
seconds=${1:-60}; rounds=${2:-2}; clients=${3:-8}
source "$(cd "$(dirname "$0")" && pwd)/postgres.sh"
port=$(free_port)
dir=$(pg_create /tmp/allocation-shapes-XXXXXX)
cleanup() { pg_stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
pg_start "$dir" "$port" -c max_connections=100
psql() { command psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

# The product's tables as the storage creates them, and the event log; each filled with 100,000 children first, so
# that indexes have the depth of a running authority's.
psql -q <<'SQL'
create table allocation_grain_state (grain_id text not null, state_name text not null, version bigint not null,
  payload bytea not null, modified_at timestamptz not null default now(), team_id text, worker_id text,
  primary key (grain_id, state_name)) with (fillfactor = 80);
create index allocation_grain_state_team on allocation_grain_state (team_id) where team_id is not null;
create index allocation_grain_state_worker on allocation_grain_state (worker_id) where worker_id is not null;
create table allocation_command_receipt (grain_id text not null, request_id text not null, applied_at timestamptz not null,
  payload bytea not null, primary key (grain_id, request_id));
create index allocation_command_receipt_applied on allocation_command_receipt using brin (applied_at);
create table allocation_child_event (child_id text not null, version bigint not null, request_id text not null,
  at timestamptz not null, payload bytea not null, team_id text not null, worker_id text,
  primary key (child_id, version), unique (child_id, request_id));
create index allocation_child_event_team on allocation_child_event (team_id);
create index allocation_child_event_worker on allocation_child_event (worker_id) where worker_id is not null;
insert into allocation_grain_state (grain_id, state_name, version, payload, team_id, worker_id)
  select 'child/seed-' || i, 'child', 2, decode(repeat('ab', 241), 'hex'), 't' || (i % 300), 'w' || (i % 10000)
  from generate_series(1, 100000) i;
insert into allocation_command_receipt select 'child/seed-' || i, 'r' || i || '-' || v, now(), decode(repeat('cd', 90), 'hex')
  from generate_series(1, 100000) i, generate_series(1, 2) v;
insert into allocation_child_event select 'child/seed-' || i, v, 'r' || i || '-' || v, now(),
  decode(repeat('ef', case v when 1 then 120 else 150 end), 'hex'), 't' || (i % 300), case v when 2 then 'w' || (i % 10000) end
  from generate_series(1, 100000) i, generate_series(1, 2) v;
create sequence pair_ids;
vacuum analyze;
checkpoint;
SQL

# One pair a transaction: the referral's write, then the allocation's, each with its receipt (or as its event).
cat > "$dir/state.sql" <<'SQL'
select nextval('pair_ids') as n \gset
\set t random(0, 299)
\set w random(0, 9999)
begin;
insert into allocation_grain_state (grain_id, state_name, version, payload, team_id) values ('child/' || :n, 'child', 1, decode(repeat('ab', 200), 'hex'), 't' || :t);
insert into allocation_command_receipt values ('child/' || :n, 'r' || :n || '-1', now(), decode(repeat('cd', 90), 'hex'));
select pg_advisory_xact_lock(hashtext('w' || :w));
update allocation_grain_state set version = version + 1, payload = decode(repeat('ab', 241), 'hex'), modified_at = now(), worker_id = 'w' || :w
  where grain_id = 'child/' || :n and state_name = 'child' and version = 1
  and (select count(*) from allocation_grain_state held where held.worker_id = 'w' || :w and held.grain_id <> 'child/' || :n) < 1000;
insert into allocation_command_receipt values ('child/' || :n, 'r' || :n || '-2', now(), decode(repeat('cd', 90), 'hex'));
commit;
SQL
cat > "$dir/events.sql" <<'SQL'
select nextval('pair_ids') as n \gset
\set t random(0, 299)
\set w random(0, 9999)
begin;
insert into allocation_child_event values ('child/' || :n, 1, 'r' || :n || '-1', now(), decode(repeat('ef', 120), 'hex'), 't' || :t, null);
select pg_advisory_xact_lock(hashtext('w' || :w));
insert into allocation_child_event select 'child/' || :n, 2, 'r' || :n || '-2', now(), decode(repeat('ef', 150), 'hex'), 't' || :t, 'w' || :w
  where (select count(*) from allocation_child_event e where e.worker_id = 'w' || :w
         and not exists (select 1 from allocation_child_event later where later.child_id = e.child_id and later.version > e.version)) < 1000;
commit;
SQL

hz=$(getconf CLK_TCK)
echo "storage shapes: $(date -u), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $seconds s a run, $clients clients, PostgreSQL $("$bindir/postgres" --version | awk '{print $3}')"
printf '%-7s %5s %9s %12s %14s %12s\n' arm round pairs/s "CPU ms/pair" "WAL bytes/pair" "load (start)"
declare -A total=([state]=0 [events]=0)
# Every pair's allocation must have been written (the guard never refuses): counted from the rows afterwards.
applied() { case $1 in
  state) psql -tAc "select count(*) from allocation_grain_state where version = 2 and grain_id not like 'child/seed-%'" ;;
  events) psql -tAc "select count(*) from allocation_child_event where version = 2 and child_id not like 'child/seed-%'" ;;
esac; }
for round in $(seq 1 "$rounds"); do
  for arm in state events; do
    psql -qc checkpoint
    load=$(cut -d' ' -f1 /proc/loadavg)
    before=$(pg_ticks "$dir"); lsn0=$(psql -tAc "select pg_current_wal_lsn()")
    as_pg pgbench -h 127.0.0.1 -p "$port" -U postgres -n -c "$clients" -j 2 -T "$seconds" -f "$dir/$arm.sql" postgres > "$dir/$arm.out" 2>&1
    sleep 1 # (the backends have exited: their time is in the postmaster's once it has reaped them)
    after=$(pg_ticks "$dir")
    wal=$(psql -tAc "select pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')")
    pairs=$(awk '/number of transactions actually processed/ {split($0, a, ": "); split(a[2], b, "/"); print b[1]}' "$dir/$arm.out")
    total[$arm]=$((total[$arm] + pairs))
    [ "$(applied "$arm")" = "${total[$arm]}" ] || { echo "$arm: $(applied "$arm") allocations stored for ${total[$arm]} pairs" >&2; exit 1; }
    python3 -c "
pairs=$pairs; cpu=($after-$before)/$hz
print(f'%-7s %5d %9.0f %12.3f %14.0f %12s' % ('$arm', $round, pairs/$seconds, 1000*cpu/pairs, $wal/pairs, '$load'))"
  done
done
