#!/bin/bash
# The last device call of a GPU run (docs/gpu.md, "Running on the GPU host"), from the carried tree: the
# parts the earlier calls left in /tmp/maskroom-parts plus the one carried now are unpacked, the tree is
# copied to /tmp/mr (a later call re-syncs the carried tree under a running job), and gpu_pipeline.sh starts
# in its own process session so that it outlives this call. Settings come from the environment
# (ARCHS, STAGES, GPU_BENCH_*: gpu_pipeline.sh and bench/gpu.ts). Poll with gpu_poll.sh.
set -e  # not -u: .gpu-env.sh (from ../shared/gpu) is not ours to vouch for
SRC=$PWD
[ -d "$SRC/.gpu-dist/bench" ] || { echo "no .gpu-dist/bench: build it and carry .gpu-dist (docs/gpu.md)" >&2; exit 1; }
mkdir -p /tmp/maskroom-parts
cp "$SRC"/.gpu-parts/*/part.* /tmp/maskroom-parts/ 2>/dev/null || true
cp "$SRC"/.gpu-parts/*/unpack.sh /tmp/unpack.sh
rm -rf /tmp/mr && mkdir -p /tmp/mr && cp -a "$SRC"/. /tmp/mr/ && cd /tmp/mr && rm -rf .gpu-parts
bash /tmp/unpack.sh > /tmp/unpack.log 2>&1 || { cat /tmp/unpack.log; exit 1; }
source .gpu-env.sh
export BENCH_CMD=${BENCH_CMD:-"node .gpu-dist/bench/index.js"}
setsid nohup bash native-models/reference/gpu_pipeline.sh > /dev/null 2>&1 < /dev/null &
sleep 5
nvidia-smi -L
tail -3 "${WORK:-/tmp/gpuwork}/log" || true
