#!/bin/bash
# Waits up to $1 seconds (default 500; a device call lasts 600 at most) for the job gpu_start.sh started, then
# copies its log and, once it has ended, results.tgz to $OUT/w. Calls back to back keep the machine held.
WORK=${WORK:-/tmp/gpuwork}
for _ in $(seq 1 $(( ${1:-500} / 10 ))); do [ -f "$WORK/done" ] && break; sleep 10; done
grep "===\|FAILED" "$WORK/log" | tail -8
mkdir -p "$OUT/w"
cp "$WORK/log" "$OUT/w/log.txt"
[ -f "$WORK/results.tgz" ] && cp "$WORK/results.tgz" "$OUT/w/"
[ -f "$WORK/done" ] && echo DONE || echo "still running"
