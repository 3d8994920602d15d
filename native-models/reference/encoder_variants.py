"""Image encoder exports side by side on the GPU: transformers' layout against the token layout.

    python native-models/reference/encoder_variants.py --arch sam_vit_h --json $OUT/encoder-variants-sam_vit_h.json

Exports the fp16 encoder once per `--vit-encoder` layout (export/vit_tokens.py: "spatial", "tokens",
"windows", ...; SAM 2.1's Hiera knows "spatial" and "tokens" only), times all of them interleaved in one process with onnxruntime-node and with ortx's CUDA
graph (encoder_ab.mjs), next to PyTorch eager fp32 and fp16 on the same weights, and reports each export's
error against PyTorch fp32. A profiling tool for the GPU host (pipeline stage "encab"); the product's
figures come from `npm run bench -- --suite gpu`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "export"))
from export import _errors, _export  # noqa: E402
from fused_attention import VIT_ENCODERS  # noqa: E402
from ort_variants import _torch_ms, read_outputs, write_feeds  # noqa: E402
from sam_models import ARCHS, IMG_SIZE, ImageEncoder, build_model  # noqa: E402


def run_arch(arch: str, variants: list[str], out: str, runs: int, device: str, provider: str, dist: str) -> dict:
    if ARCHS[arch].family == "sam2":
        # Hiera has one token layout; the other names would export the same graph again.
        variants = [v for v in variants if v in ("spatial", "tokens")]
    cuda = device == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator().manual_seed(1)
    model32, family = build_model(arch, random_init=True, seed=0)
    model32 = model32.to(device)
    half, _ = build_model(arch, random_init=True, seed=0)
    # fp16 needs CUDA kernels; on CPU (checking the tool) the exports stay fp32.
    half = half.to(device).half() if cuda else half.to(device)
    image = torch.randn(1, 3, IMG_SIZE, IMG_SIZE, generator=g).to(device)
    enc32, enc16 = ImageEncoder(model32, family).eval(), ImageEncoder(half, family).eval()
    with torch.no_grad():
        want = enc32(image)
    want = [t.float().cpu() for t in (want if isinstance(want, tuple) else (want,))]
    names = ["image_embeddings", "high_res_feats_0", "high_res_feats_1"][: len(want)]
    res: dict = {"arch": arch, "device": torch.cuda.get_device_name(0) if cuda else "cpu", "torch": torch.__version__,
                 "runs": runs, "torch_ms": {}, "variants": {}}
    if cuda:
        res["torch_ms"] = {"encoder_fp32": _torch_ms(lambda: enc32(image), runs), "encoder_fp16": _torch_ms(lambda: enc16(image), runs)}
    print(arch, "torch", res["torch_ms"], flush=True)
    os.makedirs(out, exist_ok=True)
    files = []
    for v in variants:
        path = os.path.join(out, f"{arch}-encoder-{v}.onnx")
        t = time.time()
        try:
            _export(enc16, (image,), path, ["image"], names, {}, "augment", v)
            res["variants"][v] = {"export_s": round(time.time() - t, 1)}
            files.append((v, path))
        except Exception as err:  # keep the other layouts' numbers
            res["variants"][v] = {"error": f"{type(err).__name__}: {str(err)[:600]}"}
        print(arch, v, res["variants"][v], flush=True)
    del model32, half, enc32, enc16
    if cuda:
        torch.cuda.empty_cache()  # onnxruntime gets the card to itself while timing
    with tempfile.TemporaryDirectory() as d:
        write_feeds(d, {"image": image.float().cpu().numpy()})
        cmd = ["node", os.path.join(HERE, "encoder_ab.mjs"), d, str(runs), *[p for _, p in files], "--dist", dist, "--provider", provider]
        subprocess.run(cmd, check=True, timeout=1800)
        rows = json.load(open(os.path.join(d, "result.json")))
        for (v, _), row in zip(files, rows):
            errs = _errors(read_outputs(d, row["outputs"]), want, [o["name"] for o in row["outputs"]])
            # The embedding's error under the old key (run 16's files), every output's under its name.
            row["err_vs_torch_fp32"] = errs["image_embeddings"]
            row["err_by_output"] = errs
            res["variants"][v].update({k: row[k] for k in ("loadMs", "firstMs", "p50", "p10", "errors", "err_vs_torch_fp32", "err_by_output")})
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", action="append", required=True)
    p.add_argument("--variants", default=",".join(VIT_ENCODERS))
    p.add_argument("--out", default="/tmp/encoder-variants")
    p.add_argument("--json", required=True)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--provider", default="cuda")
    p.add_argument("--dist", default=".gpu-dist")
    a = p.parse_args()
    variants = [v for v in a.variants.split(",") if v]
    for v in variants:
        if v not in VIT_ENCODERS:
            p.error(f"unknown variant {v}; known: {', '.join(VIT_ENCODERS)}")
    results = []
    for arch in a.arch:
        try:
            results.append(run_arch(arch, variants, a.out, a.runs, a.device, a.provider, a.dist))
        except Exception as err:
            results.append({"arch": arch, "error": f"{type(err).__name__}: {str(err)[:600]}"})
            print(arch, "FAILED", results[-1]["error"], flush=True)
        json.dump(results, open(a.json, "w"), indent=2)
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
