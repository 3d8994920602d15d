#!/bin/bash
# The whole GPU benchmark on the GPU host, in the project root, as one background job (the device tool gives
# one command at most 10 minutes; this runs longer, so it is started with setsid and polled):
#   1. Node + CUDA smoke check (the fixture on onnxruntime-node's CUDA provider),
#   2. export (random-init, fp32 + fp16) + onnxruntime checks for each arch, fp16 copy of the fixture,
#   3. PyTorch eager fp32 reference (SPS, MPS, AMG) for each arch,
#   4. node --import tsx bench/index.ts --suite gpu --provider cuda,
#   (optional stage "profile": PyTorch eager fp16 decoder stage times + kernel table, profile_decoder.py;
#    optional stage "ortprofile": onnxruntime-node's own per-node profile of each exported model, ort_profile.mjs;
#    optional stage "ortxab": onnxruntime-node vs ortx vs ortx with CUDA graphs per graph, ortx_ab.mjs;
#    optional stage "cudaopts": CUDA provider option sets per graph through ortx, cuda_options.mjs;
#    optional stage "ortxtest": ortx's own tests with CUDA present, whose CUDA branches CI cannot reach;
#    optional stage "postcheck": the post-processing graphs against the plain session on the fixture
#    and the host post-processing (postgraph_check.mjs), before the bench; on failure the bench drops the
#    failed +postgraph / +posthost modes;
#    optional stage "encab": the image encoder's export layouts side by side (export/vit_tokens.py), encoder_variants.py;
#    optional stage "benchtokens": the bench again with encab's layout ($TOKENS_VARIANT, "best" by default) swapped
#    into each fp16 folder; since the exporter's default is that layout, compare against the old graph with
#    EXPORT_ARGS="--vit-encoder spatial").
# Needs: node unpacked (.gpu-env.sh), pycocotools wheel in .gpu-data/whl, images in .gpu-data/images.
# Writes everything under $WORK (default /tmp/gpuwork); $WORK/done marks the end; log in $WORK/log.
# Usage: setsid nohup bash native-models/reference/gpu_pipeline.sh > /dev/null 2>&1 &
set -uo pipefail
WORK=${WORK:-/tmp/gpuwork}
ARCHS=${ARCHS:-"sam_vit_b sam2.1_hiera_large sam_vit_h"}
# Unset: the default stages; set but empty (STAGES=""): none, e.g. to re-pack results on a warm machine.
STAGES=${STAGES-"export reference bench"}
PRECISION=${PRECISION:-fp32,fp16}
# REF_FROM=docs/benchmarks/h200-run2: reuse a committed reference run's summaries instead of rerunning it
REF_FROM=${REF_FROM:-}
# The engine's worker needs compiled JS on the GPU host (its tsx bootstrap failed there): BENCH_CMD can point
# at a tsc build that includes bench/, e.g. "node .gpu-dist/bench/index.js" (docs/gpu.md).
BENCH_CMD=${BENCH_CMD:-node --import tsx bench/index.ts}
mkdir -p "$WORK"
# A second pass on a warm machine reuses $WORK: a stale marker would let gpu_poll.sh report the last pass.
rm -f "$WORK/done" "$WORK/results.tgz"
exec >>"$WORK/log" 2>&1
# Later device calls may not carry .gpu-data again: keep the images with the work.
mkdir -p "$WORK/images" && cp -n .gpu-data/images/* "$WORK/images/"
# Both sides take every image in the folder (gpu_prepare.sh: 50 bedroom-200 frames + the photos); their own
# defaults (50) would each drop the same photos silently.
IMAGES=${IMAGES:-$(ls "$WORK/images" | grep -ciE '\.(jpe?g|png)$')}
export GPU_BENCH_LIMIT=$IMAGES
# The engine's JPEG decode through libjpeg-turbo (gpu_prepare.sh carries the library: the host may lack it).
mkdir -p "$WORK/lib" && cp -n .gpu-data/lib/* "$WORK/lib/" 2>/dev/null
[ -f "$WORK/lib/libturbojpeg.so.0" ] && export MASKROOM_TURBOJPEG=${MASKROOM_TURBOJPEG:-$WORK/lib/libturbojpeg.so.0}
export PYTHONUNBUFFERED=1
stamp() { echo "=== $(date -u +%H:%M:%S) $*"; }
has() { [[ " $STAGES " == *" $1 "* ]]; }

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu-data/whl/*.whl \
  && export PYTHONPATH=/tmp/site
[ -f .gpu-env.sh ] && source .gpu-env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
echo "images: $IMAGES in $WORK/images"
python3 -c 'import torch, transformers, onnx, onnxruntime; print("torch", torch.__version__, "transformers", transformers.__version__, "onnx", onnx.__version__, "ort", onnxruntime.__version__)'

if has smoke; then
  stamp smoke
  node --version
  GPU_BENCH_ARCHS=none GPU_BENCH_FIXTURE_SCENES=${SMOKE_SCENES:-1} GPU_BENCH_DOCS="$WORK/smoke" GPU_BENCH_MODELS="$WORK/models" GPU_BENCH_IMAGES="$WORK/images" \
    $BENCH_CMD --suite gpu --provider cuda --out "$WORK/smoke" \
    || echo "SMOKE FAILED"
fi

if has ortxtest; then
  stamp ortxtest
  mkdir -p "$WORK/docs"
  MASKROOM_REQUIRE_ORTX=1 node node_modules/vitest/vitest.mjs run main/engine/ortx.test.ts > "$WORK/docs/ortx-test.txt" 2>&1 \
    || echo "ORTXTEST FAILED"
  tail -5 "$WORK/docs/ortx-test.txt"
fi

if has encab; then
  mkdir -p "$WORK/docs"
  for a in $ARCHS; do
    stamp encab "$a"
    python3 native-models/reference/encoder_variants.py --arch "$a" --variants "${ENCAB_VARIANTS:-spatial,tokens,tokens-wbias,windows,windows-wbias}" \
      --out "$WORK/encab" --runs "${ENCAB_RUNS:-30}" --json "$WORK/docs/encoder-variants-$a.json" --dist "${DIST:-.gpu-dist}" \
      2>&1 | grep -v -E 'Warning|warnings.warn|torch.onnx.export\(|^ +[a-z]' || echo "ENCAB $a FAILED"
  done
fi

if has export; then
  # The fixture's fp16 copy made by onnxruntime's converter is not usable (docs/gpu.md); FIXTURE_FP16=1 still makes it.
  if [ "${FIXTURE_FP16:-0}" = 1 ]; then
    stamp export fixture fp16
    python3 native-models/export/fp16_convert.py native-models/fixtures/tinysam-shapes "$WORK/models/tinysam-shapes-fp16" || echo "FIXTURE FP16 FAILED"
  fi
  for a in $ARCHS; do
    stamp export "$a"
    # EXPORT_ARGS: e.g. --no-check when a run with the same seed already checked these exports.
    python3 native-models/export/export.py --arch "$a" --random-init --precision "$PRECISION" --out "$WORK/models" --save-weights --device cuda ${EXPORT_ARGS:-} \
      2>&1 | grep -v -E 'Warning|warnings.warn|torch.onnx.export\(|is_causal = ' || echo "EXPORT $a FAILED"
  done
fi

if has profile; then
  stamp profile
  mkdir -p "$WORK/docs"
  python3 native-models/reference/profile_decoder.py $(printf -- '--arch %s ' $ARCHS) --json "$WORK/docs/profile-decoder.json" \
    2>&1 | grep -v -E 'Warning|warnings.warn' || echo "PROFILE FAILED"
fi

if has ortprofile; then
  mkdir -p "$WORK/docs"
  for a in $ARCHS; do
    # The fp16 exports are the product's GPU path; PROFILE_FP32=1 adds the fp32 folders.
    for m in "$a-fp16" $([ "${PROFILE_FP32:-0}" = 1 ] && echo "$a"); do
      [ -f "$WORK/models/$m/manifest.json" ] || continue
      stamp ortprofile "$m"
      # Synchronous launches make onnxruntime's per-node durations GPU time (ort_profile.mjs says why).
      CUDA_LAUNCH_BLOCKING=1 node native-models/reference/ort_profile.mjs "$WORK/models/$m" "$WORK/docs/ort-profile-$m.json" \
        --batch "${PROFILE_BATCH:-1024}" --runs "${PROFILE_RUNS:-5}" || echo "ORTPROFILE $m FAILED"
    done
  done
fi

if has ortxab; then
  # ortx (CUDA provider options, CUDA graphs) against onnxruntime-node on each fp16 export and the fixture.
  mkdir -p "$WORK/docs"
  for m in tinysam-shapes $(for a in $ARCHS; do echo "$a-fp16"; done); do
    d="$WORK/models/$m"; [ "$m" = tinysam-shapes ] && d=native-models/fixtures/tinysam-shapes
    [ -f "$d/manifest.json" ] || continue
    stamp ortxab "$m"
    node native-models/reference/ortx_ab.mjs "$d" "$WORK/docs/ortx-ab-$m.json" --dist "${DIST:-.gpu-dist}" --runs "${AB_RUNS:-50}" \
      || echo "ORTXAB $m FAILED"
  done
fi

if has cudaopts; then
  # CUDA provider option sets per graph (cuda_options.mjs): how the engine's ortx sessions are configured.
  mkdir -p "$WORK/docs"
  for a in $ARCHS; do
    d="$WORK/models/$a-fp16"
    [ -f "$d/manifest.json" ] || continue
    stamp cudaopts "$a-fp16"
    node native-models/reference/cuda_options.mjs "$d" "$WORK/docs/cuda-options-$a-fp16.json" --dist "${DIST:-.gpu-dist}" \
      --runs "${CO_RUNS:-30}" ${CO_SETS:+--sets "$CO_SETS"} || echo "CUDAOPTS $a FAILED"
  done
fi

if has reference; then
  for a in $ARCHS; do
    stamp reference "$a"
    # The reference runs the fp32 export (PyTorch eager fp32 on the same weights).
    [ -f "$WORK/models/$a/manifest.json" ] || { echo "REFERENCE $a FAILED: no fp32 export in $WORK/models/$a (PRECISION=$PRECISION has no fp32?)"; continue; }
    # A reference copied in by an earlier pass's REF_FROM must not be reported as this run's.
    rm -f "$WORK/ref/$a/from.txt"
    python3 native-models/reference/reference.py --model-dir "$WORK/models/$a" --images "$WORK/images" --limit "$IMAGES" --out "$WORK/ref/$a" \
      || echo "REFERENCE $a FAILED"
  done
fi

if [ -n "$REF_FROM" ]; then
  # from.txt: the bench's notes then say the reference was not measured in this run.
  for a in $ARCHS; do
    mkdir -p "$WORK/ref/$a" && cp "$REF_FROM/torch-reference-$a.json" "$WORK/ref/$a/summary.json" \
      && echo "$REF_FROM" > "$WORK/ref/$a/from.txt"
  done
fi

if has postcheck; then
  # The post-processing graphs (MASKROOM_ORTX_POST=graph) and the host post-processing (=host) against the
  # plain session on the fixture, before the bench benches them: run 19's bench died in a capture and took
  # every row with it. Exit bit 1: the graphs failed, bit 2: the host did; the bench then runs without the
  # failed +postgraph / +posthost modes.
  stamp postcheck
  mkdir -p "$WORK/docs"
  node native-models/reference/postgraph_check.mjs --dist .gpu-dist > "$WORK/docs/postgraph-check.txt" 2>&1
  rc=$?
  tail -3 "$WORK/docs/postgraph-check.txt"
  if [ $rc -ne 0 ]; then
    echo "POSTCHECK FAILED (rc $rc)"
    drop=""
    # A crash (any status past 3) drops both.
    if [ $rc -gt 3 ] || [ $((rc & 1)) -ne 0 ]; then drop="postgraph"; fi
    if [ $rc -gt 3 ] || [ $((rc & 2)) -ne 0 ]; then drop="$drop${drop:+|}posthost"; fi
    # Unset: the bench's own default, which has neither mode.
    if [ -n "${GPU_BENCH_CUDA_GRAPHS:-}" ]; then
      GPU_BENCH_CUDA_GRAPHS=$(echo "$GPU_BENCH_CUDA_GRAPHS" | tr ',' '\n' | grep -Ev "$drop" | paste -sd, -)
      export GPU_BENCH_CUDA_GRAPHS=${GPU_BENCH_CUDA_GRAPHS:-auto}
      echo "bench modes now: $GPU_BENCH_CUDA_GRAPHS"
    fi
  fi
fi

if has bench; then
  stamp bench
  GPU_BENCH_ARCHS=$(echo $ARCHS | tr ' ' ',') GPU_BENCH_MODELS="$WORK/models" GPU_BENCH_REF="$WORK/ref" GPU_BENCH_DOCS="$WORK/docs" GPU_BENCH_IMAGES="$WORK/images" \
    $BENCH_CMD --suite gpu --provider cuda --out "$WORK/bench" || echo "BENCH FAILED"
fi
if has benchtokens; then
  # The bench again with each SAM ViT's fp16 encoder swapped for encab's token-layout export of the same
  # weights (seed 0 both), so one run compares the two layouts end to end.
  for a in $ARCHS; do
    v=${TOKENS_VARIANT:-best}
    if [ "$v" = best ]; then
      # The layout encab timed fastest under ortx's CUDA graph (how the engine runs the encoder).
      v=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]["variants"]; c={k: x["p50"].get("graphDev", x["p50"]["node"]) for k, x in r.items() if k != "spatial" and "p50" in x}; print(min(c, key=c.get))' \
        "$WORK/docs/encoder-variants-$a.json") || v=tokens
      echo "benchtokens $a: $v"
    fi
    src="$WORK/models/$a-fp16" enc="$WORK/encab/$a-encoder-$v.onnx" dst="$WORK/models-tokens/$a-fp16"
    if [ -f "$src/manifest.json" ] && [ -f "$enc" ]; then
      mkdir -p "$WORK/models-tokens" && rm -rf "$dst" && cp -r "$src" "$dst" && cp "$enc" "$dst/encoder.onnx"
    else
      echo "BENCHTOKENS $a FAILED: no $src or $enc (stages export and encab make them)"
    fi
  done
  stamp benchtokens
  GPU_BENCH_ARCHS=$(echo $ARCHS | tr ' ' ',') GPU_BENCH_MODELS="$WORK/models-tokens" GPU_BENCH_REF="$WORK/ref" GPU_BENCH_DOCS="$WORK/docs-tokens" GPU_BENCH_IMAGES="$WORK/images" \
    $BENCH_CMD --suite gpu --provider cuda --out "$WORK/bench-tokens" || echo "BENCHTOKENS FAILED"
fi
stamp done
# Globs resolve inside $WORK (run 12 lost its reference summaries to a glob resolved in the project root).
(cd "$WORK" && tar czf results.tgz log docs $(ls -d docs-tokens bench-tokens 2>/dev/null) $(ls ref/*/summary.json 2>/dev/null) models/export_summary.json bench smoke 2>/dev/null)
touch "$WORK/done"
