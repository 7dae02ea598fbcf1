#!/usr/bin/env bash
# Bulk import of a generated authority (seed 42, as of today) into a throwaway PostgreSQL with durable commits, then
# cold starts of the service on the imported data: `durable.sh` with SCENARIO=import and COLDSTART_RUNS.
#   loadtests/import.sh large|national [cold starts, default 3]
# SERVICE_DIR: an already published service to run (else this tree is published). Run it under
# `flock -o /tmp/allocation-measure.lock` on a shared machine. Output: loadtests/results/durable-import-*, import-*, coldstart-*.
set -euo pipefail
size=$1; runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
files=$(mktemp -d /tmp/allocation-import-files-XXXXXX)
trap 'rm -rf "$files"' EXIT
"$root/loadtests/Allocation.LoadTests/bin/Release/net10.0/Allocation.LoadTests" generate --size "$size" --seed 42 --out "$files" --as-of "$(date -u +%F)" >/dev/null
SCENARIO=import COLDSTART_RUNS=$runs bash "$root/loadtests/durable.sh" "import-$size" -- --dir "$files"
