"""Fused-attention export (fused_attention.py) against transformers' own attention, eager and through onnxruntime.

Needs torch + transformers + onnxruntime (not part of the Node CI): python -m pytest native-models/export
"""

import os
import sys
import tempfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
ort = pytest.importorskip("onnxruntime")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fused_attention import MODES, fused_attention  # noqa: E402
from sam_models import PromptDecoder, build_model  # noqa: E402


def _vision_layer(window: int):
    from transformers import SamVisionConfig
    from transformers.models.sam.modeling_sam import SamVisionAttention

    cfg = SamVisionConfig(hidden_size=64, num_attention_heads=2, image_size=160, patch_size=16, use_rel_pos=True)
    attn = SamVisionAttention(cfg, window).eval()
    g = torch.Generator().manual_seed(window)
    with torch.no_grad():
        for p in attn.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return attn


def _onnx(module, args, names, run_args=None, dynamic=None):
    """Exports `module` traced on `args`, runs it on `run_args` (default `args`); returns (outputs, op types)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        torch.onnx.export(module, args, path, input_names=names, opset_version=17, dynamo=False,
                          custom_opsets={"com.microsoft": 1}, dynamic_axes=dynamic or {})
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        ops = {n.op_type for n in __import__("onnx").load(path).graph.node}
        return sess.run(None, {n: a.numpy() for n, a in zip(names, run_args or args)}), ops


class _Wrap(torch.nn.Module):
    def __init__(self, attn):
        super().__init__()
        self.attn = attn

    def forward(self, x):
        return self.attn(x)[0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("window,grid", [(0, 10), (4, 4)])
def test_vit_rel_pos_attention_matches_transformers(mode, window, grid):
    attn = _vision_layer(window)
    x = torch.randn(3 if window else 1, grid, grid, 64)
    with torch.no_grad():
        want = attn(x)[0]
        with fused_attention(attn, mode):
            eager = attn(x)[0]
            (got,), ops = _onnx(_Wrap(attn), (x,), ["x"])
        after = attn(x)[0]
    assert want.abs().mean() > 0.1  # the bias matters at this scale, so a dropped bias would show
    tol = 1e-5 * float(want.abs().max())
    assert (eager - want).abs().max() < tol
    assert np.abs(got - want.numpy()).max() < tol
    assert "MultiHeadAttention" in ops and "Softmax" not in ops
    assert torch.equal(after, want)  # the patch is undone


@pytest.mark.parametrize("arch", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_decoder_attention_is_fused_and_exact(arch):
    model, family = build_model(arch, random_init=True, seed=5)
    dec = PromptDecoder(model, family).eval()
    emb = torch.randn(1, 256, 64, 64)
    feats = (torch.randn(1, 32, 256, 256), torch.randn(1, 64, 128, 128)) if family == "sam2" else ()
    names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "f0", "f1"][: 5 + len(feats)]
    traced = (emb, torch.rand(3, 2, 2) * 1024, torch.tensor([[1.0, 0.0], [1.0, -1.0], [2.0, 3.0]]), torch.zeros(1, 1, 256, 256), torch.zeros(1), *feats)
    # Run at another batch than the trace's: the prompt batch must stay dynamic through the fused op.
    labels = torch.tensor([[1.0, 0.0], [1.0, -1.0], [2.0, 3.0], [0.0, 1.0], [1.0, 1.0]])
    args = (emb, torch.rand(5, 2, 2) * 1024, labels, torch.zeros(1, 1, 256, 256), torch.zeros(1), *feats)
    dynamic = {"point_coords": {0: "B"}, "point_labels": {0: "B"}}
    with torch.no_grad():
        want = dec(*args)
        for factored in (False, True):
            dec.factored = factored
            with fused_attention(model):
                got, ops = _onnx(dec, traced, names, args, dynamic)
            assert "MultiHeadAttention" in ops
            # Projected, every attention is the fused op; factored, the four over the per-prompt image side
            # are MatMul-Softmax-MatMul with small per-prompt matrices instead.
            assert ("Softmax" in ops) == factored
            assert "SkipLayerNormalization" in ops  # the image side's residual + LayerNorm, one node per layer
            for g, w in zip(got, want):
                assert np.abs(g - w.numpy()).max() < 2e-4


def test_vit_layer_pads_windows_without_pad_or_einsum():
    """A windowed ViT block whose grid needs padding (10 -> 12 for windows of 4): Concat pads, MatMuls make
    the rel-pos terms, and the block still equals transformers' own."""
    from transformers import SamVisionConfig
    from transformers.models.sam.modeling_sam import SamVisionLayer

    cfg = SamVisionConfig(hidden_size=64, num_attention_heads=2, image_size=160, patch_size=16, use_rel_pos=True, mlp_dim=128)
    cfg._attn_implementation = "sdpa"
    layer = SamVisionLayer(cfg, window_size=4).eval()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    wrap = _Wrap(layer)
    x = torch.randn(1, 10, 10, 64)
    with torch.no_grad():
        want = wrap(x)
        with fused_attention(layer):
            eager = wrap(x)
            (got,), ops = _onnx(wrap, (x,), ["x"])
        after = wrap(x)
    tol = 1e-5 * float(want.abs().max())
    assert (eager - want).abs().max() < tol
    assert np.abs(got - want.numpy()).max() < tol
    assert "Pad" not in ops and "Einsum" not in ops and "MultiHeadAttention" in ops
    assert torch.equal(after, want)  # the patch is undone


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="rel_pos"):
        with fused_attention(torch.nn.Linear(2, 2), "nope"):
            pass


def test_auto_attention_is_fused_for_fp16_only():
    from export import resolve_attention

    assert resolve_attention("auto", "fp16") == "augment"
    assert resolve_attention("auto", "fp32") == "plain"
    assert resolve_attention("bias", "fp32") == "bias"
