"""Reference check with pycocotools, run by coco-roundtrip.test.ts.

usage: pycoco_check.py <original instances.json> <exported instances.json>
Prints JSON: for every annotation id of each file, the compressed RLE counts pycocotools makes from
annToMask, the sha256 of that mask in row-major uint8, and its pixel area.
"""
import hashlib
import json
import sys
import contextlib
import io

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO


def describe(path):
    with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints timing lines
        coco = COCO(path)
    out = {}
    for ann_id, ann in coco.anns.items():
        if "segmentation" not in ann:
            out[str(ann_id)] = None
            continue
        m = coco.annToMask(ann)
        rle = mask_utils.encode(np.asfortranarray(m))
        out[str(ann_id)] = {
            "counts": rle["counts"].decode("ascii"),
            "size": [int(v) for v in rle["size"]],
            "sha256": hashlib.sha256(np.ascontiguousarray(m, dtype=np.uint8).tobytes()).hexdigest(),
            "area": int(m.sum()),
        }
    return out


print(json.dumps({"original": describe(sys.argv[1]), "exported": describe(sys.argv[2])}))
