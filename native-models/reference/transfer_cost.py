"""What a host round trip of an embedding costs on this GPU: the copies the graph runtime no longer waits for.

    python native-models/reference/transfer_cost.py --json $OUT/transfer-cost.json

onnxruntime (and so ortx and onnxruntime-node) copies between device memory and ordinary pageable host
memory with cudaMemcpy. This times those copies for the embedding sizes the engine moves — SAM's image
embedding (4 MB) and SAM 2's embedding plus its two high-resolution feature maps (16 MB) — host to device
(an AMG call that uploads the embedding) and device to host (embed() downloading the host copy for the
caches), pageable and, for comparison, pinned. Then it checks whether a device-to-host copy from a second
thread overlaps GPU work on another stream (the runtime downloads while the next decoder call runs): the
copy's time alone, the work's alone, and both at once; the same for a pinned download and for one staged
through a pinned buffer (DMA, then a host memcpy: what ortx could do). A measurement tool for the GPU host
(PyTorch only, no onnxruntime or Node needed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

import numpy as np
import torch

SIZES = {
    "sam_embedding_4MB": 256 * 64 * 64,
    "sam2_embedding_and_features_16MB": 256 * 64 * 64 + 32 * 256 * 256 + 64 * 128 * 128,
}


def p50(f, runs: int) -> float:
    for _ in range(3):
        f()
    t = []
    for _ in range(runs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        f()
        torch.cuda.synchronize()
        t.append((time.perf_counter() - t0) * 1e3)
    return round(statistics.median(t), 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    dev = torch.device("cuda")
    out: dict = {"device": torch.cuda.get_device_name(0), "runs": a.runs, "copies_ms_p50": {}}
    for name, n in SIZES.items():
        d = torch.randn(n, device=dev)
        pageable = np.empty(n, dtype=np.float32)
        pinned = torch.empty(n, dtype=torch.float32).pin_memory()
        host = torch.from_numpy(pageable)
        out["copies_ms_p50"][name] = {
            "mb": round(n * 4 / 1e6, 1),
            "h2d_pageable": p50(lambda: d.copy_(host), a.runs),
            "d2h_pageable": p50(lambda: host.copy_(d), a.runs),
            "h2d_pinned": p50(lambda: d.copy_(pinned), a.runs),
            "d2h_pinned": p50(lambda: pinned.copy_(d), a.runs),
        }
    # Overlap: a 16 MB pageable download on a second thread and stream while fp16 GEMMs run on this one.
    n = SIZES["sam2_embedding_and_features_16MB"]
    src = torch.randn(n, device=dev)
    dst = torch.from_numpy(np.empty(n, dtype=np.float32))
    x = torch.randn(4096, 4096, device=dev, dtype=torch.float16)
    side = torch.cuda.Stream()

    def work() -> None:
        for _ in range(8):
            x @ x

    def download() -> None:
        with torch.cuda.stream(side):
            dst.copy_(src)
        side.synchronize()

    # The same download staged through pinned memory, as ortx could do it: a DMA copy into a reusable pinned
    # buffer, then a host memcpy into the pageable destination (the CPU part cannot hold up the GPU).
    staging = torch.empty(n, dtype=torch.float32).pin_memory()
    staging_np = staging.numpy()
    dst_np = dst.numpy()

    def pinned_only() -> None:
        with torch.cuda.stream(side):
            staging.copy_(src)
        side.synchronize()

    def staged() -> None:
        pinned_only()
        np.copyto(dst_np, staging_np)

    def at_once(download_fn):
        def run() -> None:
            th = threading.Thread(target=download_fn)
            th.start()
            work()
            th.join()

        return run

    out["overlap_ms_p50"] = {
        "download_16MB_alone": p50(download, a.runs),
        "gpu_work_alone": p50(work, a.runs),
        "both_at_once": p50(at_once(download), a.runs),
        # Run 2026-12-07 (H100) found the pageable download does not overlap (both ≈ the sum): these say
        # whether pinned memory, or staging through it, would.
        "pinned_download_alone": p50(pinned_only, a.runs),
        "pinned_both_at_once": p50(at_once(pinned_only), a.runs),
        "staged_download_alone": p50(staged, a.runs),
        "staged_both_at_once": p50(at_once(staged), a.runs),
    }
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
