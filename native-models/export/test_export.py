"""export.py's summary roll-up: the GPU pipeline calls the exporter once per architecture into one folder, and
each call's reports must join the folder's summary instead of replacing it (runs 15 and 18 kept only ViT-H's).

Needs torch + transformers (export.py imports them; not part of the Node CI): python -m pytest native-models/export
"""

import json
import os
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnx")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import _export, resolve_attention, resolve_vit_encoder, write_summary  # noqa: E402


def _report(arch, precision, seconds):
    return {"arch": arch, "precision": precision, "checks": {}, "seconds": seconds}


def test_summary_keeps_earlier_architectures_and_replaces_a_repeat(tmp_path):
    path = str(tmp_path / "export_summary.json")
    write_summary(path, [_report("sam_vit_b", "fp16", 1.0)])
    write_summary(path, [_report("sam2.1_hiera_large", "fp16", 2.0)])
    write_summary(path, [_report("sam_vit_b", "fp32", 3.0), _report("sam_vit_b", "fp16", 4.0)])
    with open(path) as f:
        got = json.load(f)
    assert [(r["arch"], r["precision"], r["seconds"]) for r in got] == [
        ("sam2.1_hiera_large", "fp16", 2.0),
        ("sam_vit_b", "fp32", 3.0),
        ("sam_vit_b", "fp16", 4.0),
    ]
    assert not os.path.exists(path + ".tmp")


@pytest.mark.parametrize("content", ["{not json", '{"arch": "sam_vit_b"}', '[{"seconds": 1}]'])
def test_a_file_that_is_not_a_summary_is_refused_and_left_as_it_was(tmp_path, content):
    path = tmp_path / "export_summary.json"
    path.write_text(content)
    with pytest.raises(SystemExit, match="export_summary.json"):
        write_summary(str(path), [_report("sam_vit_h", "fp16", 1.0)])
    assert path.read_text() == content


def test_one_rule_for_the_encoder_layout_under_plain_attention():
    # fp32 resolves to MatMul/Softmax, which has no token layout: export_arch falls back to spatial.
    assert resolve_vit_encoder("windows", resolve_attention("auto", "fp32")) == "spatial"
    assert resolve_vit_encoder("windows", resolve_attention("auto", "fp16")) == "windows"
    assert resolve_vit_encoder("tokens-wbias", "bias") == "tokens-wbias"
    # Asked for directly, the same rule refuses before anything is traced.
    with pytest.raises(ValueError, match="needs fused attention"):
        _export(None, (), "unused.onnx", [], [], {}, "plain", "tokens")
