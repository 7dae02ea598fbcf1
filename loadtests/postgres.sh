# Sourced by the load-test scripts: a throwaway PostgreSQL in a directory of its own, with durable commits
# (fsync=on, synchronous_commit=on, full_page_writes=on), started and stopped by its own pid.
#   pg_create DIR           a new directory for it (owned by postgres when run as root)
#   pg_start DIR PORT ...   initdb and start on 127.0.0.1:PORT; further arguments are extra `-c name=value` settings
#   pg_stop DIR             stop it (fast shutdown) and wait until it is gone
#   pg_ticks DIR            CPU ticks of the postmaster, what its exited children left it, and its live children
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_create() { local d; d=$(mktemp -d "$1"); [ "$(id -u)" = 0 ] && chown postgres "$d"; echo "$d"; }

pg_start() {
  local d=$1 port=$2; shift 2
  as_pg "$bindir/initdb" -D "$d/data" -U postgres --auth=trust >/dev/null
  as_pg "$bindir/pg_ctl" -D "$d/data" -l "$d/log" -w start -o "-h 127.0.0.1 -p $port -k $d \
    -c fsync=on -c synchronous_commit=on -c full_page_writes=on $*" >/dev/null
}

pg_stop() {
  if [ -s "$1/data/postmaster.pid" ]; then
    local pg_pid; pg_pid=$(head -n 1 "$1/data/postmaster.pid")
    kill -INT "$pg_pid" 2>/dev/null || true
    while kill -0 "$pg_pid" 2>/dev/null; do sleep 0.2; done
  fi
}

pg_ticks() { local main t; main=$(head -n 1 "$1/data/postmaster.pid"); t=$(awk '{print $14+$15+$16+$17}' "/proc/$main/stat")
  for p in $(pgrep -P "$main"); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
