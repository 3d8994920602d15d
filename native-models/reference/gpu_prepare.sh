#!/bin/bash
# Everything a GPU run needs from this machine, before any device time is spent (docs/gpu.md, "Running on the
# GPU host"): the compiled bench (.gpu-dist), the bench images and the pycocotools wheel (.gpu-data), and the
# runtime packed into .gpu-parts by ../shared/gpu/pack.sh. Run from the project root after `npm ci`.
#   Usage: bash native-models/reference/gpu_prepare.sh [PART_MB (27)]
# The images are what the issue names: the first 50 frames of ../shared/data/bedroom-200 (every run since run 1
# used those) plus ../shared/data/photos (other sizes, up to 2250×1500). gpu_pipeline.sh benches every image in
# the folder, on both sides.
set -euo pipefail
PART_MB=${1:-27}
SHARED=${SHARED:-../shared}
ORT=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
[ -f "$ORT/libonnxruntime.so.1" ] || { echo "no $ORT/libonnxruntime.so.1: run 'ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci' first" >&2; exit 1; }
[ -f main/engine/ortx/build/Release/ortx.node ] || { echo "ortx addon not built: npm run build:ortx" >&2; exit 1; }
[ -d "$SHARED/data/bedroom-200" ] || { echo "no $SHARED/data/bedroom-200 (set SHARED=)" >&2; exit 1; }

for p in /.gpu-data/ /.gpu-dist/ /.gpu-parts/; do
  grep -qx "$p" .git/info/exclude 2>/dev/null || echo "$p" >> .git/info/exclude
done

echo "== bench build (.gpu-dist): the engine's worker needs compiled JS on the host"
rm -rf .gpu-dist
npx tsc -p tsconfig.node.json --noEmit false --outDir .gpu-dist --rootDir .

echo "== images (.gpu-data/images)"
rm -rf .gpu-data/images && mkdir -p .gpu-data/images
for i in $(seq -f '%05g' 0 49); do cp "$SHARED/data/bedroom-200/$i.jpg" .gpu-data/images/; done
cp "$SHARED"/data/photos/*.jpg .gpu-data/images/
echo "$(ls .gpu-data/images | wc -l) images"

echo "== pycocotools wheel (.gpu-data/whl): the host has no network"
mkdir -p .gpu-data/whl
if ! ls .gpu-data/whl/pycocotools-*.whl >/dev/null 2>&1; then
  python3 -m pip download -q pycocotools --only-binary=:all: --python-version 3.12 \
    --platform manylinux2014_x86_64 --no-deps -d .gpu-data/whl
fi
ls .gpu-data/whl

echo "== libjpeg-turbo (.gpu-data/lib): the engine decodes JPEG frames with it; the host may not have it"
mkdir -p .gpu-data/lib
TJ=$( (ldconfig -p 2>/dev/null || true) | sed -n 's/^[[:space:]]*libturbojpeg\.so\.0 (libc6,x86-64) => //p' | head -1)
if [ -n "$TJ" ]; then cp -L "$TJ" .gpu-data/lib/libturbojpeg.so.0; ls -la .gpu-data/lib
else echo "no libturbojpeg.so.0 here (apt-get install libturbojpeg0): the GPU host's engine decodes JPEGs with sharp"; fi

echo "== runtime parts (.gpu-parts)"
# postinstall puts the CUDA provider beside onnxruntime-node's library as hard links to the provider package;
# pack.sh places them itself, and packing them twice would add 230 MB. Restored whatever happens.
restore() {
  for f in "${MOVED[@]}"; do [ -e "$ORT/$f" ] || ln "$EPDIR/$f" "$ORT/$f"; done
}
EPSO=$(find node_modules -path '*Plugins/Linux/x64/libonnxruntime_providers_cuda.so' | head -1)
[ -n "$EPSO" ] || { echo "no CUDA provider package under node_modules" >&2; exit 1; }
EPDIR=$(dirname "$EPSO")
MOVED=()
trap restore EXIT
for f in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
  if [ -e "$ORT/$f" ]; then
    cmp -s "$ORT/$f" "$EPDIR/$f" || { echo "$ORT/$f differs from $EPDIR/$f; not removing it" >&2; exit 1; }
    rm "$ORT/$f"; MOVED+=("$f")
  fi
done
bash "$SHARED/gpu/pack.sh" "$PART_MB"
restore
trap - EXIT
LAST=$(ls -d .gpu-parts/* | tail -1)
du -sh .gpu-dist main/engine/ortx/build .gpu-data "$LAST" | sed 's/^/carried in the last call: /'
echo "next: one device call per part but the last (carry [\".gpu-parts/NN\"]), then the last with"
echo "  carry [\"$LAST\", \".gpu-dist\", \"main/engine/ortx/build\", \".gpu-data\"]: <settings> bash native-models/reference/gpu_start.sh"
