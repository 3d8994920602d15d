"""PyTorch eager fp32 reference for the GPU benchmark: SPS, MPS and AMG per image, the same stages timed as
the Node side (decode + model + RLE), on the weights an exported model folder was made from.

    python native-models/reference/reference.py --model-dir .gpu-models/sam_vit_b \
        --images .gpu-data/images --out /tmp/ref/sam_vit_b [--tasks sps,mps,amg] [--limit 50] [--agree 2]

Tasks (docs/gpu.md): SPS one positive point, 3 multimask outputs to full-size RLE; MPS 32 one-point prompts in
one batch, one mask each; AMG 32x32 grid in batches of 64 (SAM's defaults), IoU/stability filters, box NMS,
RLE of survivors (SAM's SamAutomaticMaskGenerator without crops). Writes summary.json (p50/p90, first call,
peak memory), masks.json (RLE per image and task) and, for the first --agree images, agree/<stem>.* files:
the preprocessed image (f32 raw), the prompts and the low-res logits the Node bench compares against.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "export"))
from sam_models import IMG_SIZE, ImageEncoder, PromptDecoder, build_model  # noqa: E402

MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
MPS_PROMPTS = 32
AMG_SIDE = 32
AMG_BATCH = 64


def rle_encode(masks: torch.Tensor) -> list[dict]:
    """COCO RLE (pycocotools) of [K, H, W] bool masks."""
    from pycocotools import mask as mask_utils

    arr = np.asfortranarray(masks.permute(1, 2, 0).to(torch.uint8).cpu().numpy())
    out = mask_utils.encode(arr)
    for r in out:
        r["counts"] = r["counts"].decode("ascii")
    return out


def prompt_points(stem: str, h: int, w: int, n: int) -> np.ndarray:
    """Deterministic pseudo-random points (x, y) in original pixels, the same ones the Node bench uses."""
    seed = sum((i + 1) * ord(c) for i, c in enumerate(stem)) % (2**31)
    pts = np.zeros((n, 2), dtype=np.float64)
    s = seed
    for i in range(n):
        # xorshift-free LCG so TypeScript reproduces it bit for bit
        s = (s * 1103515245 + 12345) % 2147483648
        pts[i, 0] = (s / 2147483648) * (w - 1)
        s = (s * 1103515245 + 12345) % 2147483648
        pts[i, 1] = (s / 2147483648) * (h - 1)
    return pts


class Runner:
    def __init__(self, model_dir: str, device: str):
        with open(os.path.join(model_dir, "manifest.json")) as f:
            self.manifest = json.load(f)
        arch = self.manifest["source"]["arch"]
        weights = os.path.join(model_dir, "weights.pt")
        self.model, self.family = build_model(arch, weights if os.path.exists(weights) else self.manifest["source"]["checkpoint"])
        self.model = self.model.to(device)
        self.device = device
        self.enc = ImageEncoder(self.model, self.family).eval()
        self.dec = PromptDecoder(self.model, self.family, upscale="conv").eval()

    def preprocess(self, rgb: np.ndarray) -> tuple[torch.Tensor, float]:
        """SAM's preprocessing on the GPU: longest side to 1024 (bilinear), normalize, pad bottom/right."""
        h, w = rgb.shape[:2]
        scale = IMG_SIZE / max(h, w)
        nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
        x = torch.from_numpy(rgb).to(self.device).permute(2, 0, 1).float()
        x = F.interpolate(x[None], size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)[0]
        x = (x - MEAN.to(self.device)) / STD.to(self.device)
        return F.pad(x, (0, IMG_SIZE - nw, 0, IMG_SIZE - nh))[None], scale

    def embed(self, image: torch.Tensor):
        out = self.enc(image)
        return (out,) if self.family == "sam" else tuple(out)

    def decode(self, feats, coords: torch.Tensor, labels: torch.Tensor):
        b = coords.shape[0]
        mask = torch.zeros(b, 1, 256, 256, device=self.device)
        has = torch.zeros(b, device=self.device)
        return self.dec(feats[0], coords, labels, mask, has, *feats[1:])

    def upscale(self, low_res: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """[K, 256, 256] logits -> [K, h, w] logits (SamOnnxModel.mask_postprocessing)."""
        m = F.interpolate(low_res[:, None], size=(IMG_SIZE, IMG_SIZE), mode="bilinear", align_corners=False)
        scale = IMG_SIZE / max(h, w)
        m = m[..., : int(h * scale + 0.5), : int(w * scale + 0.5)]
        return F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)[:, 0]


def one_point_prompts(pts: np.ndarray, scale: float, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Each point as its own prompt set: the point (label 1) and SAM's padding point (label -1)."""
    n = len(pts)
    coords = torch.zeros(n, 2, 2, device=device)
    coords[:, 0] = torch.from_numpy(pts * scale).float().to(device)
    labels = torch.tensor([[1.0, -1.0]], device=device).repeat(n, 1)
    return coords, labels


def box_nms(boxes: torch.Tensor, scores: torch.Tensor, thresh: float) -> torch.Tensor:
    """Greedy NMS (torchvision.ops.nms semantics, without needing torchvision)."""
    order = scores.argsort(descending=True)
    b = boxes[order].float()
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(b[:, None, :2], b[None, :, :2])
    rb = torch.min(b[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    iou = (inter / (area[:, None] + area[None, :] - inter).clamp(min=1e-9)).cpu().numpy()
    keep, dead = [], np.zeros(len(order), dtype=bool)
    for i in range(len(order)):
        if dead[i]:
            continue
        keep.append(i)
        dead |= iou[i] > thresh
    return order[torch.tensor(keep, dtype=torch.long, device=order.device)]


def masks_to_boxes(masks: torch.Tensor) -> torch.Tensor:
    """XYXY boxes (inclusive max + 0, as SAM's batched_mask_to_box) of [K, H, W] bool masks."""
    k, h, w = masks.shape
    if k == 0:
        return torch.zeros(0, 4, device=masks.device)
    ys = masks.any(2)
    xs = masks.any(1)
    ar_h = torch.arange(h, device=masks.device)[None]
    ar_w = torch.arange(w, device=masks.device)[None]
    y1 = torch.where(ys, ar_h, h).min(1).values
    y2 = torch.where(ys, ar_h, -1).max(1).values
    x1 = torch.where(xs, ar_w, w).min(1).values
    x2 = torch.where(xs, ar_w, -1).max(1).values
    box = torch.stack([x1, y1, x2, y2], 1)
    empty = ~ys.any(1)
    box[empty] = 0
    return box


def amg(r: Runner, feats, h: int, w: int, scale: float, opts: dict) -> list[dict]:
    """SamAutomaticMaskGenerator (crop_n_layers=0): grid prompts, filters on full-res logits, NMS, RLE."""
    side = np.linspace(0.5 / AMG_SIDE, 1 - 0.5 / AMG_SIDE, AMG_SIDE)
    grid = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2) * np.array([w, h])
    all_masks, all_iou, all_boxes = [], [], []
    for i in range(0, len(grid), AMG_BATCH):
        coords, labels = one_point_prompts(grid[i : i + AMG_BATCH], scale, r.device)
        iou, low = r.decode(feats, coords, labels)
        logits = r.upscale(low[:, 1:].reshape(-1, 256, 256), h, w)
        iou = iou[:, 1:].reshape(-1)
        if opts["pred_iou_thresh"] > 0:  # 0 disables the filter, as in common/amg
            keep = iou > opts["pred_iou_thresh"]
            logits, iou = logits[keep], iou[keep]
        inter = (logits > opts["stability_offset"]).sum((1, 2)).float()
        union = (logits > -opts["stability_offset"]).sum((1, 2)).float()
        stab = torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(union))
        keep = stab >= opts["stability_thresh"]
        masks = logits[keep] > 0
        all_masks.append(masks)
        all_iou.append(iou[keep])
        all_boxes.append(masks_to_boxes(masks))
    masks = torch.cat(all_masks)
    if len(masks) == 0:
        return []
    keep = box_nms(torch.cat(all_boxes), torch.cat(all_iou), opts["box_nms_thresh"])
    return rle_encode(masks[keep])


def percentile(v: list[float], p: float) -> float:
    return float(np.percentile(np.array(v), p)) if v else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tasks", default="sps,mps,amg")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--agree", type=int, default=2, help="images whose logits are saved for the agreement check")
    ap.add_argument("--amg-pred-iou", type=float, default=0.88)
    ap.add_argument("--amg-stability", type=float, default=0.95)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args(argv)
    tasks = [t for t in a.tasks.split(",") if t]
    for t in tasks:
        if t not in ("sps", "mps", "amg"):
            ap.error(f"unknown task {t}")
    files = sorted(f for f in os.listdir(a.images) if f.lower().endswith((".jpg", ".jpeg", ".png")))[: a.limit]
    if not files:
        ap.error(f"no images in {a.images}")
    os.makedirs(os.path.join(a.out, "agree"), exist_ok=True)
    r = Runner(a.model_dir, a.device)
    opts = {"pred_iou_thresh": a.amg_pred_iou, "stability_thresh": a.amg_stability, "stability_offset": 1.0, "box_nms_thresh": 0.7}
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    times: dict[str, list[float]] = {t: [] for t in tasks}
    stages: dict[str, list[list[float]]] = {t: [] for t in tasks}
    counts: dict[str, list[int]] = {t: [] for t in tasks}
    masks_out: dict[str, dict] = {t: {} for t in tasks}
    if a.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for task in tasks:
        for idx, name in enumerate(files):
            stem = os.path.splitext(name)[0]
            with torch.inference_mode():
                t0 = time.perf_counter()
                rgb = np.asarray(Image.open(os.path.join(a.images, name)).convert("RGB"))
                h, w = rgb.shape[:2]
                image, scale = r.preprocess(rgb)
                feats = r.embed(image)
                sync()
                t1 = time.perf_counter()
                if task == "amg":
                    rles = amg(r, feats, h, w, scale, opts)
                    sync()
                    t2 = time.perf_counter()
                else:
                    pts = prompt_points(stem, h, w, 1 if task == "sps" else MPS_PROMPTS)
                    coords, labels = one_point_prompts(pts, scale, r.device)
                    iou, low = r.decode(feats, coords, labels)
                    sel = low[:, 1:].reshape(-1, 256, 256) if task == "sps" else low[:, 0]
                    masks = r.upscale(sel, h, w) > 0
                    sync()
                    t2 = time.perf_counter()
                    rles = rle_encode(masks)
                t3 = time.perf_counter()
                if task != "amg" and idx < a.agree:
                    _save_agreement(a.out, stem, task, image, coords, labels, iou, low)
            times[task].append((t3 - t0) * 1000)
            stages[task].append([(t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000])
            counts[task].append(len(rles))
            masks_out[task][stem] = rles
        first = times[task][0]
        rest = times[task][1:]
        st = np.array(stages[task][1:])
        print(f"{task}: first {first:.1f} ms, p50 {percentile(rest, 50):.1f} ms, p90 {percentile(rest, 90):.1f} ms, "
              f"stages p50 (decode+encoder, decoder+upscale, rle) {[round(float(x), 1) for x in np.median(st, 0)]}, "
              f"masks/image {np.mean(counts[task]):.1f}", flush=True)
    summary = {
        "model": r.manifest["id"],
        "arch": r.manifest["source"]["arch"],
        "device": torch.cuda.get_device_name() if a.device == "cuda" else "cpu",
        "torch": torch.__version__,
        "images": len(files),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "peak_gpu_mib": round(torch.cuda.max_memory_reserved() / 2**20) if a.device == "cuda" else None,
        "amg_options": opts,
        "tasks": {
            t: {
                "first_ms": times[t][0],
                "p50_ms": percentile(times[t][1:], 50),
                "p90_ms": percentile(times[t][1:], 90),
                "stages_p50_ms": {k: float(v) for k, v in zip(["decode_encoder", "decoder_upscale", "rle"], np.median(np.array(stages[t][1:]), 0))},
                "masks_per_image": float(np.mean(counts[t])),
                "per_image_ms": times[t],
                "counts": counts[t],
            }
            for t in tasks
        },
    }
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(a.out, "masks.json"), "w") as f:
        json.dump(masks_out, f)
    return 0


def _save_agreement(out: str, stem: str, task: str, image, coords, labels, iou, low) -> None:
    """Raw little-endian f32 files plus a JSON index, easy to read from Node without a npy parser."""
    base = os.path.join(out, "agree", stem)
    if not os.path.exists(base + ".image.f32"):
        image.float().cpu().numpy().astype("<f4").tofile(base + ".image.f32")
    low.float().cpu().numpy().astype("<f4").tofile(f"{base}.{task}.low.f32")
    meta = {"coords": coords.cpu().tolist(), "labels": labels.cpu().tolist(), "iou": iou.float().cpu().tolist(), "shape": list(low.shape)}
    with open(f"{base}.{task}.json", "w") as f:
        json.dump(meta, f)


if __name__ == "__main__":
    sys.exit(main())
