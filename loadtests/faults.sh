#!/usr/bin/env bash
# The fault scenarios against the published service: each starts its own durable PostgreSQL (fsync, synchronous commit
# and full page writes on) and the service as a process of its own, runs the mixed command load, injects its faults,
# ends with the shared invariant check and writes loadtests/results/faults-SCENARIO-*.json.
#   flock -o /tmp/allocation-measure.lock loadtests/faults.sh kill    [--faults 20 --interval 10 --rate 100 ...]
#   flock -o /tmp/allocation-measure.lock loadtests/faults.sh pgcrash [--faults 5 --outage 5 ...]
#   flock -o /tmp/allocation-measure.lock loadtests/faults.sh silo    [--faults 3 --watchers 60 ...]   two silos, one SIGKILLed
#   flock -o /tmp/allocation-measure.lock loadtests/faults.sh storm   [--faults 3 --watchers 2000 ...] board clients' host SIGKILLed
#   flock -o /tmp/allocation-measure.lock loadtests/faults.sh hostile [--faults 10000 ...]
#   flock -o /tmp/allocation-measure.lock loadtests/faults.sh soak    [--minutes 30 --rate 125 ...]    no fault: latency and memory slopes
#   flock -o /tmp/allocation-measure.lock loadtests/faults.sh nightly [--teams 400 --claim 20]        the nightly job killed mid-run
# SERVICE_DIR: an already published service to run instead of publishing this tree.
set -euo pipefail
scenario=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
publish=${SERVICE_DIR:-$root/artifacts/faults-service}
[ -n "${SERVICE_DIR:-}" ] || dotnet publish "$root/src/Allocation.Service" -c Release -r linux-x64 --self-contained false -o "$publish" -v q -nologo >/dev/null
dotnet build "$root/loadtests/Allocation.LoadTests" -c Release -v q -nologo >/dev/null
echo "service: $publish ($(git -C "$root" rev-parse --short HEAD)); uptime at start: $(uptime)"
exec "$root/loadtests/Allocation.LoadTests/bin/Release/net10.0/Allocation.LoadTests" faults "$scenario" \
  --service "$publish/Allocation.Service.dll" "$@"
