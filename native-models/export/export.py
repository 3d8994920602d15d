"""Export SAM ViT-B/L/H and SAM2.1 Hiera tiny/small/base+/large to Maskroom's ONNX model folders.

    python native-models/export/export.py --arch sam_vit_b --random-init --out .gpu-models
    python native-models/export/export.py --arch sam_vit_h --checkpoint facebook/sam-vit-huge --out models
    python native-models/export/export.py --arch sam2.1_hiera_large --random-init --precision fp32,fp16 --device cuda

Each (arch, precision) becomes `<out>/<arch>[-fp16]/` with encoder.onnx, decoder.onnx (SamOnnxModel format),
decoder_batched.onnx, decoder_amg.onnx (masks only for prompts that can pass SAM's predicted-IoU filter), manifest.json and export_report.json (max/mean abs error of every output against the
PyTorch module on fresh random inputs, through onnxruntime). `--save-weights` also writes the fp32 weights
(weights.pt) that the reference runner loads, so both sides run the same numbers. fp16 attention is exported as
onnxruntime's fused MultiHeadAttention, fp32 as MatMul/Softmax (`--attention`; fused_attention.py); with it,
SAM's ViT encoder is traced as one token sequence whose residual stream stays in padded windows, for onnxruntime's
fused residual + LayerNorm and bias + GELU kernels, and SAM 2.1's Hiera as one token sequence too
(`--vit-encoder`; vit_tokens.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fused_attention import MODES as REL_POS_MODES, VIT_ENCODERS, fused_attention  # noqa: E402
from sam_models import ARCHS, IMG_SIZE, AmgDecoder, ImageEncoder, MaskPostprocess, PromptDecoder, rle_counts_from_changes, build_model, high_res_shapes, save_weights  # noqa: E402

OPSET = 17
NORMALIZATION = {"mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]}
HIGH_RES_NAMES = ["high_res_feats_0", "high_res_feats_1"]
# Above this the ONNX protobuf (2 GiB hard limit) cannot hold the weights: they go to <file>.data.
EXTERNAL_DATA_BYTES = 1_500_000_000


def blank_unused_outputs(model) -> None:
    """Gives a custom op's unused optional outputs the empty name, so onnxruntime does not compute them:
    SkipLayerNormalization's mean and inverse std (outputs 1, 2) where only the norm and the sum are read."""
    used = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
    for n in model.graph.node:
        if n.op_type == "SkipLayerNormalization" and len(n.output) == 4:
            for i in (1, 2):
                if n.output[i] not in used:
                    n.output[i] = ""


def _save_onnx(tmp_path: str, dst: str) -> None:
    import onnx

    model = onnx.load(tmp_path, load_external_data=True)
    blank_unused_outputs(model)
    size = sum(t.ByteSize() for t in model.graph.initializer)
    if size > EXTERNAL_DATA_BYTES:
        data = os.path.basename(dst) + ".data"
        if os.path.exists(dst + ".data"):
            os.remove(dst + ".data")
        onnx.save_model(model, dst, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)
    else:
        onnx.save_model(model, dst)


def _export(module: torch.nn.Module, args: tuple, dst: str, inputs: list[str], outputs: list[str], dynamic: dict, attention: str = "plain", vit_encoder: str = "spatial") -> None:
    """Traces `module` to `dst`. attention "plain" keeps MatMul/Softmax; "augment" / "bias" emit fused
    com.microsoft::MultiHeadAttention (fused_attention.py; the name picks how SAM's rel-pos bias is kept).
    `vit_encoder` is fused_attention's: the layout SAM's ViT encoder is traced in (resolve_vit_encoder)."""
    if resolve_vit_encoder(vit_encoder, attention) != vit_encoder:
        raise ValueError(f"--vit-encoder {vit_encoder} needs fused attention (--attention augment or bias)")
    fuse = fused_attention(module, attention, vit_encoder) if attention != "plain" else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        with torch.no_grad(), fuse:
            torch.onnx.export(
                module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                opset_version=OPSET, do_constant_folding=True, dynamo=False, custom_opsets={"com.microsoft": 1},
            )
        _save_onnx(path, dst)


def resolve_vit_encoder(vit_encoder: str, attention: str) -> str:
    """The layout an export with `attention` traces the image encoder in: the token layouts are built from the
    fused ops, so MatMul/Softmax ("plain", the fp32 default of resolve_attention) keeps the spatial one."""
    return vit_encoder if attention != "plain" else "spatial"


def resolve_attention(attention: str, precision: str) -> str:
    """"auto" as measured on the H200 (docs/gpu.md): fused attention makes fp16 encoders 20-35% faster, but
    onnxruntime's fp32 MultiHeadAttention was slower than MatMul/Softmax (ViT-H encoder 75 -> 82 ms)."""
    if attention != "auto":
        return attention
    return "augment" if precision == "fp16" else "plain"


def _errors(got: list[np.ndarray], want: list[torch.Tensor], names: list[str]) -> dict:
    out = {}
    for name, g, w in zip(names, got, want):
        w = w.detach().float().cpu().numpy()
        if g.shape != w.shape:
            raise RuntimeError(f"{name}: onnx shape {g.shape} != torch shape {w.shape}")
        d = np.abs(g.astype(np.float64) - w.astype(np.float64))
        out[name] = {"max_abs": float(d.max()), "mean_abs": float(d.mean()), "ref_abs_mean": float(np.abs(w).mean()), "finite": bool(np.isfinite(g).all())}
    return out


def _ort(path: str, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(names, feeds)


def _prompts(b: int, n: int, g: torch.Generator, device) -> tuple[torch.Tensor, ...]:
    coords = torch.rand(b, n, 2, generator=g) * IMG_SIZE
    labels = torch.randint(-1, 4, (b, n), generator=g).float()
    mask = torch.randn(b, 1, 256, 256, generator=g) * 4
    has = (torch.rand(b, generator=g) > 0.5).float()
    return tuple(t.to(device) for t in (coords, labels, mask, has))


def export_arch(arch: str, out_root: str, precision: str, checkpoint: str | None, random_init: bool, seed: int, device: str, check: bool, save_w: bool, attention: str = "auto", vit_encoder: str = "windows") -> dict:
    """Exports one (arch, precision) folder and returns its report (also written to export_report.json)."""
    attention = resolve_attention(attention, precision)
    vit_encoder = resolve_vit_encoder(vit_encoder, attention)
    t0 = time.time()
    model, family = build_model(arch, checkpoint, random_init, seed)
    if save_w and precision == "fp32":
        os.makedirs(os.path.join(out_root, arch), exist_ok=True)
        save_weights(model, os.path.join(out_root, arch, "weights.pt"))
    ref_model = model.to(device)
    if precision == "fp16":
        model, _ = build_model(arch, checkpoint, random_init, seed)
        model = model.to(device).half()
    folder = os.path.join(out_root, arch if precision == "fp32" else f"{arch}-fp16")
    os.makedirs(folder, exist_ok=True)
    hr = high_res_shapes(family)
    hr_names = HIGH_RES_NAMES[: len(hr)]
    # The layout the encoder really got: Hiera has only the tokens stream (fused_attention).
    layout = "tokens" if family == "sam2" and vit_encoder != "spatial" else vit_encoder
    report: dict = {"arch": arch, "family": family, "precision": precision, "attention": attention, "vit_encoder": layout, "opset": OPSET, "torch": torch.__version__, "checks": {}}
    g = torch.Generator().manual_seed(seed + 1)

    # Encoder
    enc = ImageEncoder(model, family).eval()
    image = torch.randn(1, 3, IMG_SIZE, IMG_SIZE, generator=g).to(device)
    enc_out = ["image_embeddings"] + hr_names
    _export(enc, (image,), os.path.join(folder, "encoder.onnx"), ["image"], enc_out, {}, attention, vit_encoder)
    print(f"[{arch} {precision}] encoder exported ({time.time() - t0:.0f}s)", flush=True)

    # Decoders take the embeddings as inputs; random ones of realistic scale are enough to trace and check.
    emb = torch.randn(1, 256, 64, 64, generator=g).to(device)
    feats = [torch.randn(s, generator=g).to(device) for s in hr]
    single = PromptDecoder(model, family, single=True).eval()
    coords, labels, mask, has = _prompts(1, 3, g, device)
    orig = torch.tensor([540.0, 960.0], device=device)
    dec_in = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input"] + hr_names + ["orig_im_size"]
    _export(single, (emb, coords, labels, mask, has, *feats, orig), os.path.join(folder, "decoder.onnx"), dec_in,
            ["masks", "iou_predictions", "low_res_masks"], {"point_coords": {1: "N"}, "point_labels": {1: "N"}, "masks": {2: "H", 3: "W"}}, attention)
    export_batched_decoder(model, family, os.path.join(folder, "decoder_batched.onnx"), emb, feats, g, device, attention)
    export_amg_decoder(model, family, os.path.join(folder, "decoder_amg.onnx"), emb, feats, g, device, attention)
    print(f"[{arch} {precision}] decoders exported ({time.time() - t0:.0f}s)", flush=True)
    export_postprocess(os.path.join(folder, "postprocess.onnx"))

    if check:
        report["checks"] = _check(folder, ref_model, family, hr, hr_names, g, device, check_encoder=precision == "fp32")
    report["seconds"] = round(time.time() - t0, 1)
    _write_manifest(folder, arch, family, precision, checkpoint, random_init, seed, hr, hr_names)
    with open(os.path.join(folder, "export_report.json"), "w") as f:
        json.dump(report, f, indent=2)
    del model, ref_model
    if device == "cuda":
        torch.cuda.empty_cache()
    return report


def export_batched_decoder(model, family: str, dst: str, emb: torch.Tensor, feats: list[torch.Tensor], g: torch.Generator, device, attention: str = "augment") -> None:
    """Writes decoder_batched.onnx: B prompt sets per call; mask_input / has_mask_input of batch B or 1.

    The mask inputs get their own symbolic batch ("BM", not "B") so the graph's signature says what it
    accepts: one shared [1,1,256,256] plane broadcast over B (see PromptDecoder), or one per prompt set.
    """
    batched = PromptDecoder(model, family).eval()
    coords, labels, mask, has = _prompts(4, 2, g, device)
    hr_names = HIGH_RES_NAMES[: len(feats)]
    bat_in = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input"] + hr_names
    _export(batched, (emb, coords, labels, mask, has, *feats), dst, bat_in, ["iou_predictions", "low_res_masks"],
            {"point_coords": {0: "B", 1: "N"}, "point_labels": {0: "B", 1: "N"}, "mask_input": {0: "BM"}, "has_mask_input": {0: "BM"},
             "iou_predictions": {0: "B"}, "low_res_masks": {0: "B"}}, attention)


def export_amg_decoder(model, family: str, dst: str, emb: torch.Tensor, feats: list[torch.Tensor], g: torch.Generator, device, attention: str = "augment") -> None:
    """Writes decoder_amg.onnx (AmgDecoder): decoder_batched.onnx's inputs, with mask_input [1,1,256,256] and
    has_mask_input [1] shared by all prompts, + iou_threshold [1] -> iou_predictions [B,4], prompt_index
    int64 [K], low_res_masks [K,4,256,256] of the prompts whose predicted IoU (outputs 1..3) exceeds the
    threshold."""
    dec = AmgDecoder(model, family).eval()
    coords, labels, _, _ = _prompts(4, 2, g, device)
    mask, has = torch.zeros(1, 1, 256, 256, device=device), torch.zeros(1, device=device)
    hr_names = HIGH_RES_NAMES[: len(feats)]
    names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input"] + hr_names + ["iou_threshold"]
    # A threshold below every score, so tracing sees survivors on the upscaling path.
    thr = torch.tensor([-1e9], device=device)
    _export(dec, (emb, coords, labels, mask, has, *feats, thr), dst, names, ["iou_predictions", "prompt_index", "low_res_masks"],
            {"point_coords": {0: "B", 1: "N"}, "point_labels": {0: "B", 1: "N"},
             "iou_predictions": {0: "B"}, "prompt_index": {0: "K"}, "low_res_masks": {0: "K"}}, attention)


def export_postprocess(dst: str) -> dict:
    """Writes postprocess.onnx (weights-free, f32) and checks its RLE counts against PyTorch's full masks."""
    post = MaskPostprocess().eval()
    low = torch.randn(3, 256, 256) * 3
    _export(post, (low, torch.tensor([540.0, 960.0])), dst, ["low_res_masks", "orig_im_size"], ["first", "changes"],
            {"low_res_masks": {0: "K"}, "first": {0: "K"}, "changes": {0: "M"}})
    low = torch.randn(2, 256, 256) * 3
    size = torch.tensor([1500.0, 2250.0])
    with torch.no_grad():
        full = PromptDecoder._postprocess(low.unsqueeze(1), size)[:, 0] > 0
    first, changes = _ort(dst, {"low_res_masks": low.numpy(), "orig_im_size": size.numpy()}, ["first", "changes"])
    got = rle_counts_from_changes(first.tolist(), changes.tolist(), 1500 * 2250)
    differ = 0
    for k in range(2):
        col = full[k].T.reshape(-1).numpy()
        runs = np.repeat(np.arange(len(got[k])) % 2, got[k]).astype(bool)  # decode the counts
        differ += int((runs != col).sum())
    print(f"  check postprocess: {differ} of {2 * col.size} pixels differ from PyTorch (ties at 0)", flush=True)
    return {"pixels_differing": differ}


def _check(folder: str, ref_model, family: str, hr, hr_names, g, device, check_encoder: bool = True) -> dict:
    """Runs each ONNX file with onnxruntime (CPU) on fresh random inputs against the fp32 PyTorch module."""
    checks: dict = {}
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        enc = ImageEncoder(ref_model, family)
        image = torch.randn(1, 3, IMG_SIZE, IMG_SIZE, generator=g)
        names = ["image_embeddings"] + hr_names
        with torch.no_grad():
            want = enc(image.to(device))
        want = [want] if family == "sam" else list(want)
        if check_encoder:
            got = _ort(os.path.join(folder, "encoder.onnx"), {"image": image.numpy()}, names)
            checks["encoder"] = _errors(got, want, names)
        else:
            checks["encoder"] = "not run on CPU (fp16 kernels); bench/gpu.ts measures it on CUDA"
        emb, feats = want[0], want[1:]
        coords, labels, mask, has = _prompts(1, 3, g, device)
        orig = torch.tensor([427.0, 640.0], device=device)
        with torch.no_grad():
            want = PromptDecoder(ref_model, family, single=True, upscale="conv")(emb, coords, labels, mask, has, *feats, orig)
        feeds = {"image_embeddings": emb, "point_coords": coords, "point_labels": labels, "mask_input": mask, "has_mask_input": has, "orig_im_size": orig}
        feeds.update(dict(zip(hr_names, feats)))
        np_feeds = {k: v.detach().float().cpu().numpy() for k, v in feeds.items()}
        names = ["masks", "iou_predictions", "low_res_masks"]
        checks["decoder"] = _errors(_ort(os.path.join(folder, "decoder.onnx"), np_feeds, names), list(want), names)
        coords, labels, mask, has = _prompts(16, 2, g, device)
        with torch.no_grad():
            want = PromptDecoder(ref_model, family, upscale="conv")(emb, coords, labels, mask, has, *feats)
        feeds.update({"point_coords": coords, "point_labels": labels, "mask_input": mask, "has_mask_input": has})
        feeds.pop("orig_im_size")
        np_feeds = {k: v.detach().float().cpu().numpy() for k, v in feeds.items()}
        names = ["iou_predictions", "low_res_masks"]
        checks["decoder_batched"] = _errors(_ort(os.path.join(folder, "decoder_batched.onnx"), np_feeds, names), list(want), names)
        # The automatic-mask-generation feed: one zero mask plane + has 0 shared by all B prompts.
        zeros = torch.zeros(16, 1, 256, 256, device=device)
        with torch.no_grad():
            want = PromptDecoder(ref_model, family, upscale="conv")(emb, coords, labels, zeros, torch.zeros(16, device=device), *feats)
        np_feeds.update({"mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32)})
        checks["decoder_batched_shared_mask"] = _errors(_ort(os.path.join(folder, "decoder_batched.onnx"), np_feeds, names), list(want), names)
        # decoder_amg.onnx at a threshold about half the prompts pass: the same IoUs, the survivors' masks only.
        # The filter must follow the graph's own IoUs exactly; those differ from PyTorch's by float rounding
        # (1e-6 fp32, 1e-3 fp16), and random-init scores can sit closer than that, so the threshold goes in the
        # widest gap among the middle scores and the expected set comes from the graph's iou_predictions
        # (themselves compared with PyTorch just below).
        best = want[0][:, 1:].amax(1).float().cpu()
        srt = best.sort().values
        mid = range(len(srt) // 4, 3 * len(srt) // 4)
        i = max(mid, key=lambda j: float(srt[j + 1] - srt[j]))
        t = np.float32((srt[i] + srt[i + 1]) / 2)
        np_feeds["iou_threshold"] = np.array([t], np.float32)
        iou_got, idx, low_got = _ort(os.path.join(folder, "decoder_amg.onnx"), np_feeds, ["iou_predictions", "prompt_index", "low_res_masks"])
        expect = np.nonzero(iou_got[:, 1:].max(axis=1) > t)[0]
        if idx.tolist() != expect.tolist():
            raise RuntimeError(f"decoder_amg kept prompts {idx.tolist()}, its own IoUs pass {expect.tolist()}")
        reference_set = torch.nonzero(best > float(t)).flatten().tolist()
        if idx.tolist() != reference_set:
            print(f"  note decoder_amg: kept {idx.tolist()}, PyTorch's IoUs pass {reference_set} (scores within rounding of the threshold)", flush=True)
        checks["decoder_amg"] = _errors([iou_got, low_got], [want[0], want[1][torch.from_numpy(idx).to(want[1].device)]], names)
    except Exception as err:  # an fp16 graph may have no CPU kernel for some op; the GPU bench then checks it
        checks["error"] = f"{type(err).__name__}: {str(err)[:400]}"
    for part, outs in checks.items():
        if isinstance(outs, dict) and part != "error":
            for name, e in outs.items():
                print(f"  check {part}.{name}: max abs {e['max_abs']:.3g}, mean abs {e['mean_abs']:.3g} (|ref| mean {e['ref_abs_mean']:.3g})", flush=True)
        else:
            print(f"  check {part}: {outs}", flush=True)
    return checks


def _write_manifest(folder, arch, family, precision, checkpoint, random_init, seed, hr, hr_names) -> None:
    suffix = "" if precision == "fp32" else "-fp16"
    source = "random-init" if random_init and not checkpoint else "official"
    manifest = {
        "id": f"{arch}-{source}{suffix}",
        "name": f"{arch} ({source}, {precision})",
        "family": family,
        "inputSize": IMG_SIZE,
        "normalization": NORMALIZATION,
        "files": {"encoder": "encoder.onnx", "decoder": "decoder.onnx", "decoderBatched": "decoder_batched.onnx", "decoderAmg": "decoder_amg.onnx"},
        "decoderFormat": "sam-onnx",
        "embedding": {"shape": [1, 256, 64, 64]},
        "license": "Apache-2.0 (Meta's SAM / SAM 2.1 weights and code)" if source == "official" else "Apache-2.0 (random weights, seed %d)" % seed,
        "precision": precision,
        "highResFeatures": [{"name": n, "shape": list(s)} for n, s in zip(hr_names, hr)],
        "source": {"arch": arch, "checkpoint": checkpoint, "seed": seed if source == "random-init" else None},
    }
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", action="append", required=True, help=f"repeatable; one of {', '.join(ARCHS)}")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="HF id, local transformers folder, or a weights.pt/.safetensors state dict")
    src.add_argument("--random-init", action="store_true")
    p.add_argument("--out", default=".gpu-models")
    p.add_argument("--precision", default="fp32", help="comma list of fp32, fp16")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-check", action="store_true")
    p.add_argument("--save-weights", action="store_true")
    p.add_argument("--attention", default="auto", choices=["auto", "plain", *REL_POS_MODES],
                   help="plain: MatMul/Softmax; augment / bias: fused MultiHeadAttention, SAM's rel-pos folded into q.k or as a bias; "
                        "auto (default): augment for fp16, plain for fp32")
    p.add_argument("--vit-encoder", default="windows", choices=list(VIT_ENCODERS),
                   help="image encoders with fused attention (export/vit_tokens.py): windows (default: one token sequence "
                        "with fused residual+LayerNorm and bias+GELU, SAM ViT's residual stream in padded windows; on the "
                        "H100 the ViT-H encoder -20%%, SAM2.1-L's Hiera -30%%, docs/gpu.md runs 16-17), tokens (the stream in "
                        "raster order), -wbias (ViT windowed rel-pos as an attention bias), spatial (transformers' "
                        "[B,H,W,C] layout, before run 16). Hiera takes the tokens stream for any value but spatial")
    a = p.parse_args(argv)
    for arch in a.arch:
        if arch not in ARCHS:
            p.error(f"unknown --arch {arch}; known: {', '.join(ARCHS)}")
    precisions = [s.strip() for s in a.precision.split(",") if s.strip()]
    for pr in precisions:
        if pr not in ("fp32", "fp16"):
            p.error(f"unknown precision {pr}")
        if pr == "fp16" and a.device == "cpu":
            p.error("fp16 export needs --device cuda (PyTorch lacks CPU half kernels for some ops)")
    reports = []
    for arch in a.arch:
        for pr in precisions:
            reports.append(export_arch(arch, a.out, pr, a.checkpoint, a.random_init, a.seed, a.device, not a.no_check, a.save_weights, a.attention, a.vit_encoder))
    write_summary(os.path.join(a.out, "export_summary.json"), reports)
    return 0


def write_summary(path: str, reports: list[dict]) -> list[dict]:
    """Merges this call's reports into the folder's summary: the GPU pipeline calls the exporter once per
    architecture into one folder, and a plain overwrite kept only the last one's. A report replaces the one of
    the same (arch, precision); the rest stay, in their order. A summary that is not a JSON list of reports is
    an error rather than something to overwrite: it may be another tool's file."""
    kept: list[dict] = []
    if os.path.exists(path):
        with open(path) as f:
            try:
                old = json.load(f)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}: not JSON ({e}); move it away to start a new summary") from e
        if not isinstance(old, list) or not all(isinstance(r, dict) and "arch" in r and "precision" in r for r in old):
            raise SystemExit(f"{path}: not an export summary (a list of reports with arch and precision)")
        kept = old
    new_keys = {(r["arch"], r["precision"]) for r in reports}
    merged = [r for r in kept if (r["arch"], r["precision"]) not in new_keys] + reports
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(merged, f, indent=2)
    os.replace(tmp, path)
    return merged


if __name__ == "__main__":
    sys.exit(main())
