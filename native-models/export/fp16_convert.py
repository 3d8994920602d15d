"""Convert an exported fp32 model folder (e.g. the tinysam-shapes fixture) to fp16 weights + compute, f32 I/O.

    python native-models/export/fp16_convert.py native-models/fixtures/tinysam-shapes .gpu-models/tinysam-shapes-fp16

For architectures this exporter builds, prefer `export.py --precision fp16` (PyTorch traces the half model);
this is for folders that only exist as ONNX. Uses onnxruntime's own float16 converter with keep_io_types,
so the engine feeds and reads float32 as before.
"""

from __future__ import annotations

import json
import os
import sys


def convert_folder(src: str, dst: str) -> list[str]:
    """Converts every ONNX file the manifest names; returns the files written."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    with open(os.path.join(src, "manifest.json")) as f:
        manifest = json.load(f)
    os.makedirs(dst, exist_ok=True)
    written = []
    for name in manifest["files"].values():
        model = onnx.load(os.path.join(src, name))
        # Resize with f16 scales/ROI and the size-computation subgraph stay f32 (ORT CUDA lacks some f16 kernels).
        half = convert_float_to_float16(model, keep_io_types=True, op_block_list=["Resize", "Range", "Floor", "ReduceMax"])
        onnx.save_model(half, os.path.join(dst, name))
        written.append(name)
    manifest["id"] = manifest["id"] + "-fp16"
    manifest["name"] = manifest["name"] + " (fp16)"
    manifest["precision"] = "fp16"
    with open(os.path.join(dst, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print("wrote", convert_folder(sys.argv[1], sys.argv[2]))
