"""Where the model time goes: one architecture exported several ways, timed with onnxruntime's CUDA provider.

    python native-models/reference/ort_variants.py --arch sam_vit_b --out /tmp/variants --json $OUT/variants.json

For each attention export (plain MatMul/Softmax, fused "augment", fused "bias"; see export/fused_attention.py)
it times the fp16 encoder and the fp16 batched decoder at B prompts with onnxruntime-node on CUDA (ort_time.mjs;
host copies included, as the product pays them), next to PyTorch eager (fp32 and fp16 with SDPA) on the same
module, and reports each variant's error against PyTorch fp32. A profiling tool for the GPU host, not a
benchmark of the product (that is `npm run bench -- --suite gpu`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "export"))
from export import _export, export_batched_decoder  # noqa: E402
from sam_models import IMG_SIZE, ImageEncoder, PromptDecoder, build_model, high_res_shapes  # noqa: E402


def _p50(f, runs: int) -> float:
    f()
    f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(ts), 3)


def _torch_ms(f, runs: int) -> float:
    def g():
        f()
        torch.cuda.synchronize()

    with torch.no_grad():
        return _p50(g, runs)


def write_feeds(d: str, feeds: dict[str, np.ndarray]) -> None:
    """Feeds for ort_time.mjs / encoder_ab.mjs: raw little-endian files described by <d>/feeds.json."""
    desc = []
    for i, (k, v) in enumerate(feeds.items()):
        v = np.ascontiguousarray(v)
        v.tofile(os.path.join(d, f"in{i}.bin"))
        desc.append({"name": k, "dtype": str(v.dtype), "shape": list(v.shape), "file": f"in{i}.bin"})
    json.dump(desc, open(os.path.join(d, "feeds.json"), "w"))


def read_outputs(d: str, outputs: list[dict]) -> list[np.ndarray]:
    """The arrays the Node tools wrote (their `outputs` descriptions: name, dtype, shape, file)."""
    return [np.fromfile(os.path.join(d, o["file"]), dtype=o["dtype"]).reshape(o["shape"]) for o in outputs]


def _ort_times(path: str, feeds: dict[str, np.ndarray], runs: int) -> dict:
    """p50 of onnxruntime-node on CUDA (host copies included, as the product pays them) via ort_time.mjs."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        write_feeds(d, feeds)
        subprocess.run(["node", os.path.join(HERE, "ort_time.mjs"), path, d, str(runs)], check=True, timeout=600)
        res = json.load(open(os.path.join(d, "outputs.json")))
        outs = read_outputs(d, res["outputs"])
    return {"load_ms": round(res["loadMs"]), "first_ms": round(res["firstMs"], 1), "p50_ms": round(res["p50Ms"], 3),
            "min_ms": round(res["minMs"], 3), "outputs": outs}


def _err(got: np.ndarray, want: torch.Tensor) -> dict:
    w = want.detach().float().cpu().numpy()
    d = np.abs(got.astype(np.float64) - w)
    return {"max_abs": float(d.max()), "mean_abs": float(d.mean()), "ref_abs_mean": float(np.abs(w).mean())}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", required=True)
    p.add_argument("--out", default="/tmp/ort-variants")
    p.add_argument("--json", required=True)
    p.add_argument("--variants", default="plain,augment,bias")
    p.add_argument("--prompts", type=int, default=1024)
    p.add_argument("--runs", type=int, default=10)
    a = p.parse_args()
    res: dict = {"arch": a.arch, "runtime": "onnxruntime-node (CUDA)", "torch": torch.__version__,
                 "gpu": torch.cuda.get_device_name(0), "prompts": a.prompts, "variants": {}}
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator().manual_seed(1)
    model32, family = build_model(a.arch, random_init=True, seed=0)
    model32 = model32.cuda()
    model16, _ = build_model(a.arch, random_init=True, seed=0)
    model16 = model16.cuda().half()
    image = torch.randn(1, 3, IMG_SIZE, IMG_SIZE, generator=g).cuda()
    enc32, enc16 = ImageEncoder(model32, family).eval(), ImageEncoder(model16, family).eval()
    with torch.no_grad():
        want = enc32(image)
    want = [want] if family == "sam" else list(want)
    emb, feats = want[0], want[1:]
    b = a.prompts
    coords = (torch.rand(b, 2, 2, generator=g) * IMG_SIZE).cuda()
    coords[:, 1] = 0
    labels = torch.tensor([[1.0, -1.0]]).repeat(b, 1).cuda()
    zeros, has = torch.zeros(1, 1, 256, 256).cuda(), torch.zeros(1).cuda()
    dec_args = (emb, coords, labels, zeros, has, *feats)
    with torch.no_grad():
        dec_want = PromptDecoder(model32, family).eval()(*dec_args)
    res["torch"] = {
        "encoder_fp32_ms": _torch_ms(lambda: enc32(image), a.runs),
        "encoder_fp16_ms": _torch_ms(lambda: enc16(image), a.runs),
        "decoder_fp16_ms": _torch_ms(lambda: PromptDecoder(model16, family)(*dec_args), a.runs),
        "decoder_fp32_ms": _torch_ms(lambda: PromptDecoder(model32, family)(*dec_args), a.runs),
    }
    print(a.arch, "torch", res["torch"], flush=True)
    hr_names = ["high_res_feats_0", "high_res_feats_1"][: len(high_res_shapes(family))]
    enc_feeds = {"image": image.cpu().numpy()}
    dec_feeds = {k: v.float().cpu().numpy() for k, v in zip(["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", *hr_names], dec_args)}
    for variant in a.variants.split(","):
        folder = os.path.join(a.out, f"{a.arch}-{variant}")
        os.makedirs(folder, exist_ok=True)
        row: dict = {}
        try:
            t = time.time()
            _export(enc16, (image,), os.path.join(folder, "encoder.onnx"), ["image"], ["image_embeddings", *hr_names], {}, variant)
            export_batched_decoder(model16, family, os.path.join(folder, "decoder_batched.onnx"), emb, feats, g, "cuda", variant)
            row["export_s"] = round(time.time() - t, 1)
            e = _ort_times(os.path.join(folder, "encoder.onnx"), enc_feeds, a.runs)
            row["encoder"] = {k: v for k, v in e.items() if k != "outputs"} | {"err": _err(e["outputs"][0], emb)}
            d = _ort_times(os.path.join(folder, "decoder_batched.onnx"), dec_feeds, a.runs)
            row["decoder"] = {k: v for k, v in d.items() if k != "outputs"} | {"err": _err(d["outputs"][1], dec_want[1])}
        except Exception as err:  # keep the other variants' numbers
            row["error"] = f"{type(err).__name__}: {str(err)[:600]}"
        res["variants"][variant] = row
        print(a.arch, variant, json.dumps(row), flush=True)
        json.dump(res, open(a.json, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
