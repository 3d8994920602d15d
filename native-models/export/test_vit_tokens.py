"""The token-layout ViT encoder (vit_tokens.py) against transformers' SamVisionEncoder, eager and through
onnxruntime's CPU provider, whose SkipLayerNormalization / BiasGelu / MultiHeadAttention kernels it uses.

Needs torch + transformers + onnxruntime + onnx (not part of the Node CI): python -m pytest native-models/export
"""

import collections
import os
import sys
import tempfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import blank_unused_outputs  # noqa: E402
from fused_attention import VIT_ENCODERS, fused_attention  # noqa: E402


def _redraw(module, seed: int, scale: float):
    """Weights at a scale where every term matters: norms near 1 (+ small biases), the rest N(0, scale^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            norm = "norm" in name
            p.copy_(torch.randn(p.shape, generator=g) * (0.02 if norm and name.endswith("bias") else scale) + (1.0 if norm and name.endswith("weight") else 0.0))
    return module


def _encoder(seed: int = 0):
    """A small SAM ViT: a 10x10 grid (so windows of 4 pad to 12), four windowed blocks and a global one."""
    from transformers import SamVisionConfig
    from transformers.models.sam.modeling_sam import SamVisionEncoder

    cfg = SamVisionConfig(hidden_size=64, num_attention_heads=2, image_size=160, patch_size=16, use_rel_pos=True,
                          mlp_dim=128, num_hidden_layers=5, window_size=4, global_attn_indexes=[2], output_channels=32)
    cfg._attn_implementation = "sdpa"
    return _redraw(SamVisionEncoder(cfg).eval(), seed, 0.5)


class _Wrap(torch.nn.Module):
    """What the exporter traces: the ViT encoder's output, or (stages=True) a Hiera backbone's stage ends."""

    def __init__(self, mod, stages: bool = False):
        super().__init__()
        self.mod, self.stages = mod, stages

    def forward(self, x):
        out = self.mod(x)
        return tuple(out.intermediate_hidden_states) if self.stages else out[0]


def _export(module, x):
    """Exports `module` as export.py does (unused SkipLayerNorm outputs blanked), runs it on onnxruntime's
    CPU provider: (outputs, model)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        torch.onnx.export(module, (x,), path, input_names=["x"], opset_version=17, dynamo=False,
                          custom_opsets={"com.microsoft": 1}, do_constant_folding=True)
        model = onnx.load(path)
        blank_unused_outputs(model)
        onnx.save_model(model, path)
        so = ort.SessionOptions()
        so.log_severity_level = 3
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()}), model


@pytest.mark.parametrize("layout", ["tokens", "tokens-wbias", "windows", "windows-wbias"])
def test_token_encoder_matches_transformers(layout):
    enc = _encoder()
    wrap = _Wrap(enc)
    x = torch.randn(1, 3, 160, 160, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = wrap(x)
        with fused_attention(enc, "augment", layout):
            eager = wrap(x)
            (got,), model = _export(wrap, x)
        after = wrap(x)
    assert want.abs().mean() > 0.1
    # Float rounding only: the scale folded into the weights and the sums taken in another order move single
    # outputs by up to ~2e-4 of the largest through five blocks of these large random weights; a dropped
    # bias, mask or rel-pos term moves them by more than 1e-2.
    tol = 1e-3 * float(want.abs().max())
    assert (eager - want).abs().max() < tol and (eager - want).abs().mean() < tol / 20
    assert np.abs(got - want.numpy()).max() < tol and np.abs(got - want.numpy()).mean() < tol / 20
    ops = collections.Counter(n.op_type for n in model.graph.node)
    # Five blocks: the first LayerNorm is plain, the other nine residual + norm passes are fused with the
    # residual sum as their 4th output; every MLP's bias + GELU is one node; no Gelu/Erf or Mul by the scale.
    assert ops["SkipLayerNormalization"] == 9 and ops["LayerNormalization"] == 3  # + the neck's two
    assert ops["BiasGelu"] == 5 and ops["Erf"] == 0
    assert ops["MultiHeadAttention"] == 5 and ops["Softmax"] == 0 and ops["Pad"] == 0
    for n in model.graph.node:
        if n.op_type == "SkipLayerNormalization":
            assert list(n.output)[1:3] == ["", ""] and n.output[3]  # mean / inv std never computed
    assert torch.equal(after, want)  # the patch is undone


def test_bias_attention_gives_the_windowed_blocks_a_bias():
    """--attention bias with a token layout: the windowed blocks get the rel-pos term as MultiHeadAttention's
    attention_bias (its 6th input), as -wbias does; the global block still folds it into q.k."""
    enc = _encoder()
    x = torch.randn(1, 3, 160, 160, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = _Wrap(enc)(x)
        with fused_attention(enc, "bias", "windows"):
            (got,), model = _export(_Wrap(enc), x)
    assert np.abs(got - want.numpy()).max() < 1e-3 * float(want.abs().max())
    with_bias = [n for n in model.graph.node if n.op_type == "MultiHeadAttention" and len(n.input) >= 6 and n.input[5]]
    assert len(with_bias) == 4  # the four windowed blocks


def test_windows_stream_moves_less_data():
    """Four windowed blocks: "tokens" partitions and unpartitions in each (a 6-D Transpose both ways), the
    windows stream only at its two ends and around the global block: 8 layout Transposes against 4."""
    enc = _encoder()
    x = torch.randn(1, 3, 160, 160)
    counts = {}
    for layout in ("tokens", "windows"):
        with torch.no_grad(), fused_attention(enc, "augment", layout):
            _, model = _export(_Wrap(enc), x)
        counts[layout] = collections.Counter(n.op_type for n in model.graph.node)
    assert counts["tokens"]["Transpose"] - counts["windows"]["Transpose"] == 4
    assert counts["windows"]["Slice"] < counts["tokens"]["Slice"]  # the unpadding


def test_windows_stream_keeps_padding_out_of_the_result():
    """The padding tokens of the windows stream carry garbage after the first block; none of it may reach the
    grid's tokens (only the zeroed, masked inputs of the windowed attention read them)."""
    enc = _encoder(2)
    x = torch.randn(1, 3, 160, 160, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        want = _Wrap(enc)(x)
        with fused_attention(enc, "augment", "windows"):
            got = _Wrap(enc)(x)
    assert (got - want).abs().max() < 1e-3 * float(want.abs().max())


def test_token_encoder_in_fp16_stays_close():
    """The fp16 rounding of where biases and residuals are added: the token form is no further from the fp32
    module than transformers' own fp16 forward is. Measured on a fixed batch of four: the largest error of fp16
    is heavy-tailed, and a bound on one unseeded image failed about one draw in ten (the token forms' mean error
    is 0.9-1.3x transformers' over batches of four)."""
    enc = _encoder(1)
    x = torch.randn(4, 3, 160, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = _Wrap(enc)(x)
        half = _encoder(1).half()
        ref16 = _Wrap(half)(x.half()).float()
        got = {}
        for layout in ("tokens", "windows"):
            with fused_attention(half, "augment", layout):
                got[layout] = _Wrap(half)(x.half()).float()
    base = (ref16 - want).abs()
    for layout, y in got.items():
        err = (y - want).abs()
        assert err.mean() < 1.5 * base.mean(), layout
        assert err.max() < 3 * base.max() + 1e-3, layout


def test_unknown_layout_is_refused():
    assert "spatial" in VIT_ENCODERS
    with pytest.raises(ValueError, match="vit_encoder"):
        with fused_attention(torch.nn.Linear(2, 2), "augment", "columns"):
            pass


def _hiera(seed: int = 0):
    """A small Hiera: 128 px input, four stages (32 -> 4 grid), query pooling at each stage change, one global
    block in stage 2."""
    from transformers import Sam2HieraDetConfig
    from transformers.models.sam2.modeling_sam2 import Sam2HieraDetModel

    cfg = Sam2HieraDetConfig(image_size=[128, 128], hidden_size=16, num_attention_heads=1, blocks_per_stage=[1, 2, 3, 1],
                             embed_dim_per_stage=[16, 32, 64, 128], num_attention_heads_per_stage=[1, 2, 2, 4],
                             window_size_per_stage=[8, 4, 4, 2], global_attention_blocks=[4],
                             window_positional_embedding_background_size=[4, 4])
    cfg._attn_implementation = "sdpa"
    return _redraw(Sam2HieraDetModel(cfg).eval(), seed, 0.3)


@pytest.mark.parametrize("layout", ["tokens", "windows"])  # Hiera has one token stream for both
def test_token_hiera_matches_transformers(layout):
    bb = _hiera()
    wrap = _Wrap(bb, stages=True)
    x = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        want = wrap(x)
        with fused_attention(bb, "augment", layout):
            eager = wrap(x)
            got, model = _export(wrap, x)
        after = wrap(x)
    assert [t.shape for t in want] == [(1, 32, 32, 16), (1, 16, 16, 32), (1, 8, 8, 64), (1, 4, 4, 128)]
    for w, e, g in zip(want, eager, got):
        tol = 1e-3 * float(w.abs().max())
        assert w.abs().mean() > 0.1
        assert (e - w).abs().max() < tol
        assert np.abs(g - w.numpy()).max() < tol
    ops = collections.Counter(n.op_type for n in model.graph.node)
    # Seven blocks, four stage ends (where the residual is summed explicitly and the next block's first
    # LayerNorm is plain): 7 - 4 + 7 = 10 fused residual + norm passes; every MLP one BiasGelu; no Resize
    # (the positional embedding is a constant now).
    assert ops["SkipLayerNormalization"] == 10 and ops["LayerNormalization"] == 4
    assert ops["BiasGelu"] == 7 and ops["Erf"] == 0 and ops["Resize"] == 0
    assert ops["MultiHeadAttention"] == 7 and ops["MaxPool"] == 6  # query + residual pooling at 3 stage changes
    for a, b in zip(after, want):
        assert torch.equal(a, b)  # the patch is undone
