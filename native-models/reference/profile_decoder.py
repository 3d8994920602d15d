"""Where the decoder's time goes at 1024 prompts: stage times and the heaviest CUDA kernels, PyTorch eager fp16.

    python native-models/reference/profile_decoder.py --arch sam_vit_b --batch 1024 --json $OUT/profile.json

Runs the decoder as the exporter writes it (sam_models.PromptDecoder, "matmul": own two-way transformer,
phase-layout upscaling) on random weights, split into the stages the ONNX graph has - prompt inputs,
two-way transformer, hypernetwork MLPs + IoU head, upscaling to the 256² logits - each timed with CUDA
events (p50), plus torch.profiler's kernel table grouped into GEMM / attention / normalization /
elementwise / layout copies. onnxruntime runs the same graph with its own kernels, so the split (not the
absolute numbers) is what carries over; the product's own times are in `npm run bench -- --suite gpu`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "export"))
from sam_models import AmgDecoder, PromptDecoder, build_model, high_res_shapes  # noqa: E402

CATEGORIES = [
    ("attention", ("flash", "fmha", "attention", "softmax", "efficient")),
    ("gemm", ("gemm", "cutlass", "sm90", "sm80", "cublas", "matmul", "xmma", "nvjet")),
    ("normalization", ("layer_norm", "layernorm", "norm")),
    ("layout copy", ("copy", "transpose", "permute", "cat", "stack", "index", "gather")),
]


def _category(name: str) -> str:
    low = name.lower()
    for cat, keys in CATEGORIES:
        if any(k in low for k in keys):
            return cat
    return "elementwise / other"


def _ms(f, runs: int, device: str) -> float:
    for _ in range(2):
        f()
    ts = []
    for _ in range(runs):
        if device == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            f()
            b.record()
            torch.cuda.synchronize()
            ts.append(a.elapsed_time(b))
        else:
            t = time.perf_counter()
            f()
            ts.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(ts), 3)


def profile(arch: str, batch: int, runs: int, device: str = "cuda") -> dict:
    """fp16 on CUDA; `device="cpu"` (fp32, no kernel table) only checks that the script runs."""
    model, family = build_model(arch, random_init=True, seed=0)
    model = (model.cuda().half() if device == "cuda" else model).eval()
    dec = PromptDecoder(model, family).eval()
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(1, 256, 64, 64, generator=g).to(device)
    feats = [torch.randn(s, generator=g).to(device) for s in high_res_shapes(family)]
    coords = torch.zeros(batch, 2, 2)
    coords[:, 0] = torch.rand(batch, 2, generator=g) * 1024
    coords = coords.to(device)
    labels = torch.tensor([[1.0, -1.0]]).repeat(batch, 1).to(device)
    args = (emb, coords, labels, torch.zeros(1, 1, 256, 256).to(device), torch.zeros(1).to(device), *feats)
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    out: dict = {"arch": arch, "batch": batch, "device": name, "torch": torch.__version__}
    with torch.inference_mode():
        tokens, src, fts, _ = dec._inputs(*args[:5], tuple(args[5:]))
        iou_tok, mask_toks, keys = dec._decode_tokens(tokens, src)
        hyper = dec._hyper(mask_toks)
        md = model.mask_decoder
        stages = {
            "inputs (prompt + dense embeddings)": lambda: dec._inputs(*args[:5], tuple(args[5:])),
            "two-way transformer": lambda: dec._decode_tokens(tokens, src),
            "hypernetworks + IoU head": lambda: (dec._hyper(mask_toks), md.iou_prediction_head(iou_tok)),
            "upscaling to 256² logits": lambda: dec._upscale(keys, hyper, fts),
        }
        out["stages_ms"] = {k: _ms(f, runs, device) for k, f in stages.items()}
        out["whole_decoder_ms"] = _ms(lambda: dec(*args), runs, device)
        amg = AmgDecoder(model, family).eval()
        out["amg_decoder_ms"] = {
            f"{who} survive": _ms(lambda t=t: amg(*args, torch.tensor([t]).to(device)), runs, device)
            for who, t in (("none", 1e9), ("all", -1e9))
        }
        if device != "cuda":
            return out
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                dec(*args)
            torch.cuda.synchronize()
    kernels = []
    by_cat: dict[str, float] = {}
    for e in prof.key_averages():
        t = getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0)
        if t <= 0 or e.key.startswith("ProfilerStep"):
            continue
        ms = t / 1000 / 3
        kernels.append({"kernel": e.key[:120], "ms_per_call": round(ms, 3), "launches_per_call": e.count // 3})
        by_cat[_category(e.key)] = by_cat.get(_category(e.key), 0.0) + ms
    kernels.sort(key=lambda k: -k["ms_per_call"])
    out["kernel_ms_by_category"] = {k: round(v, 2) for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1])}
    out["kernel_launches_per_call"] = sum(k["launches_per_call"] for k in kernels)
    out["top_kernels"] = kernels[:15]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", action="append", required=True)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    a = ap.parse_args(argv)
    if a.device == "cuda" and not torch.cuda.is_available():
        ap.error("no CUDA GPU (--device cpu only checks that the script runs)")
    results = []
    for arch in a.arch:
        r = profile(arch, a.batch, a.runs, a.device)
        results.append(r)
        print(json.dumps({k: v for k, v in r.items() if k != "top_kernels"}), flush=True)
        for k in r.get("top_kernels", [])[:8]:
            print(f"  {k['ms_per_call']:8.3f} ms  x{k['launches_per_call']:<4d} {k['kernel']}", flush=True)
        torch.cuda.empty_cache()
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
