"""SAM's ViT image encoder (and SAM 2.1's Hiera, `hiera_forward`) traced as one token sequence [B, HW, C], for
onnxruntime's fused CUDA kernels.

Why: transformers' SamVisionEncoder keeps [B, H, W, C] between blocks. onnxruntime fuses residual + LayerNorm
(SkipLayerNormalization) only on rank-3 tensors, and MatMul + bias becomes a Gemm whose bias is first
broadcast into the output by a separate kernel; so every block ran two residual Adds, two LayerNorms, four bias
broadcasts, a Gelu and the query scaling as kernels of their own (run 9's profile: Add 65, LayerNormalization
66, Gelu 32, Mul 32 nodes in the ViT-H encoder). Here each block is, on the token sequence:

    n1, x = SkipLayerNorm(prev MLP out, x, + prev lin2 bias)      (the first block: LayerNorm)
    a     = attention(n1) @ proj                                  (windows partitioned around it, as before)
    n2, x = SkipLayerNorm(a, x, + proj bias)                      (its 4th output is the residual sum)
    h     = BiasGelu(n2 @ lin1, lin1 bias)
    prev  = h @ lin2

The same function as the module (checked against it on CPU, test_vit_tokens.py); the differences are where
the bias and the residual are added (fp16 rounding only), the query scale folded into the qkv weights and the
rel-pos tables, and the output projection applied after the window unpartition (per token, so the same
result on 4096 tokens instead of 4900 for 14-wide windows on a 64-wide grid).

`window_rel_pos` picks how SAM's rel-pos term reaches the fused attention in the windowed blocks: "augment"
(folded into q.k, fused_attention.py) or "bias" (an attention_bias of [windows, heads, 196, 196], 31 MB at
ViT-H; the global blocks always augment, since their bias would be 16 x 4096^2). Export-only, inside
`fused_attention`; eager PyTorch (the reference runner) never sees it.

Hiera (SAM 2.1) gets the same block on its token sequence, plus its stage changes (the residual becomes the
pooled projection of the normed input, the query is max-pooled inside its windows) and its positional
embedding as a constant (traced, it was a bicubic Resize and a Tile per call).

Measured on the H100 (docs/gpu.md, runs 16 and 17; encoder graph under a CUDA graph, p50): ViT-H 29.9 -> 23.9
ms ("windows"), ViT-B 8.7 -> 7.6 ms, SAM2.1-L's Hiera 17.8 -> 12.4 ms, with the same error against PyTorch fp32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fused_attention import (
    MS_DOMAIN,
    _rel_pos_constants,
    _window_partition,
    export_constant,
    multi_head_attention,
    rel_pos_attention,
)

WINDOW_REL_POS = ("augment", "bias")


class _SkipLayerNormSum(torch.autograd.Function):
    """(LayerNorm(x + skip + bias), x + skip + bias) for x, skip [B, S, H], bias [H]."""

    @staticmethod
    def forward(ctx, x, skip, gamma, beta, bias, eps: float):  # noqa: ARG004
        s = skip + (x + bias)
        return F.layer_norm(s, gamma.shape, gamma, beta, eps), s

    @staticmethod
    def symbolic(g, x, skip, gamma, beta, bias, eps: float):
        # Outputs 1 and 2 (mean, inverse std) are training outputs; export.py blanks them (blank_unused_outputs)
        # so onnxruntime never computes them. Output 3 is the sum, the next residual.
        out = g.op(f"{MS_DOMAIN}::SkipLayerNormalization", x, skip, gamma, beta, bias, epsilon_f=eps, outputs=4)
        vs = x.type().varyingSizes()
        if vs and len(vs) == 3:
            for o in (out[0], out[3]):
                o.setType(x.type().with_sizes([None, None, vs[2]]))
        return out[0], out[3]


class _BiasGelu(torch.autograd.Function):
    """gelu(x + bias), exact (erf) GELU as SAM's MLP uses."""

    @staticmethod
    def forward(ctx, x, bias):  # noqa: ARG004
        return F.gelu(x + bias)

    @staticmethod
    def symbolic(g, x, bias):
        out = g.op(f"{MS_DOMAIN}::BiasGelu", x, bias)
        out.setType(x.type())
        return out


def _skip_ln(norm: nn.LayerNorm, x, skip, bias):
    y, s = _SkipLayerNormSum.apply(x, skip, norm.weight, norm.bias, bias, float(norm.eps))
    # Shapes from the input, not the custom op's outputs (fused_attention._interface_attention says why).
    return y.reshape(x.shape), s.reshape(x.shape)


def _scaled_qkv(attn, dtype) -> tuple:
    """The qkv weight and bias with the query scale folded into the query's rows (fp32, then dtype), so no
    per-call Mul remains; for SAM's and Hiera's attention alike (qkv's outputs are q, k, v in thirds)."""
    rows = attn.qkv.weight.shape[0]
    scale = torch.ones(rows, dtype=torch.float32, device=attn.qkv.weight.device)
    scale[: rows // 3] = attn.scale
    wq = (attn.qkv.weight.float() * scale[:, None]).to(dtype)
    bq = (attn.qkv.bias.float() * scale).to(dtype) if attn.qkv.bias is not None else None
    return wq, bq


def _constants(attn, h: int, w: int, dtype) -> tuple:
    """The scaled qkv weight and bias, and the rel-pos tables divided by the scale (they meet the scaled
    query); constants of the graph (export_constant)."""
    rel = _rel_pos_constants(attn, h, w, dtype, divide_by=attn.scale) if attn.use_rel_pos else None
    return (*export_constant(attn, ("qkv", dtype), lambda: _scaled_qkv(attn, dtype)), rel)


def _attend(attn, x: torch.Tensor, h: int, w: int, rel_pos: str) -> torch.Tensor:
    """SamVisionAttention on x [B, h*w, C] without its output projection: [B, h*w, C]."""
    b, n = int(x.shape[0]), attn.num_attention_heads
    wq, bq, rel = _constants(attn, h, w, x.dtype)
    c = int(x.shape[-1])
    # Split on the channel axis (one Split, no Squeezes), then heads: [B, HW, N, D] each, q scaled.
    q, k, v = (t.reshape(b, h * w, n, -1) for t in F.linear(x, wq, bq).split(c, dim=-1))
    if not attn.use_rel_pos:
        return multi_head_attention(*(t.reshape(b, h * w, -1) for t in (q, k, v)), n, 1.0)
    return rel_pos_attention(q, k, v, n, h, w, rel, rel_pos, 1.0)


def _partition(x: torch.Tensor, b: int, h: int, w: int, ws: int) -> torch.Tensor:
    """[B, h*w, C] -> zero-padded windows [B*nW, ws*ws, C] (the order SAM's window_partition gives)."""
    c = int(x.shape[-1])
    windows, _ = _window_partition(None, x.reshape(b, h, w, c), ws)
    return windows.reshape(-1, ws * ws, c)


def _unpartition(x: torch.Tensor, b: int, h: int, w: int, ws: int) -> torch.Tensor:
    """Windows [B*nW, ws*ws, C] -> [B, h*w, C], the padding dropped."""
    c = int(x.shape[-1])
    ph, pw = -(-h // ws) * ws, -(-w // ws) * ws
    out = x.reshape(b, ph // ws, pw // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
    if (ph, pw) != (h, w):  # an unpadded grid (Hiera's at 1024) would export two Slices that copy it whole
        out = out[:, :h, :w, :]
    return out.reshape(b, h * w, c)


def _attention(layer, n1: torch.Tensor, h: int, w: int, window_rel_pos: str) -> torch.Tensor:
    """The block's attention on n1 [B, h*w, C], output projection without its bias (SkipLayerNorm adds it)."""
    attn, ws = layer.attn, layer.window_size
    b = int(n1.shape[0])
    if ws > 0:
        out = _attend(attn, _partition(n1, b, h, w, ws), ws, ws, window_rel_pos)
        out = _unpartition(out, b, h, w, ws)
    else:
        out = _attend(attn, n1, h, w, "augment")
    return out @ attn.proj.weight.t()


def _pad_mask(enc, b: int, h: int, w: int, ws: int, dtype) -> torch.Tensor:
    """[B*nW, ws*ws, 1]: 1 on the grid's tokens, 0 on the windows' padding; a constant (export_constant)."""

    def make():
        ones = torch.ones(b, h * w, 1, dtype=dtype, device=enc.pos_embed.device if enc.pos_embed is not None else None)
        return _partition(ones, b, h, w, ws).detach().clone()

    return export_constant(enc, ("mask", b, h, w, ws, dtype), make)


def _exact_gelu(act, what: str) -> None:
    """BiasGelu is the exact (erf) GELU: refuse any other activation rather than export a different model."""
    if type(act).__name__ not in ("GELU", "GELUActivation") or getattr(act, "approximate", "none") != "none":
        raise NotImplementedError(f"{what} needs an exact-GELU MLP, not {type(act).__name__}")


def _block_norm1(norm: nn.LayerNorm, x: torch.Tensor, pending):
    """A block's first LayerNorm and the residual stream: fused with the last block's MLP output and bias still
    to add (`pending`), or plain where the stream is whole (the first block, after a stage end)."""
    if pending is None:
        return norm(x), x
    return _skip_ln(norm, pending[0], x, pending[1])


def _block_mlp(norm: nn.LayerNorm, a: torch.Tensor, x: torch.Tensor, attn_bias, lin1: nn.Linear, lin2: nn.Linear):
    """A block's second half: (the stream with the attention output added, the MLP's output and lin2's bias
    left for the next residual)."""
    n2, x = _skip_ln(norm, a, x, attn_bias)
    hid = _BiasGelu.apply(n2 @ lin1.weight.t(), lin1.bias)
    return x, (hid @ lin2.weight.t(), lin2.bias)


def _whole(x: torch.Tensor, pending) -> torch.Tensor:
    """The residual stream with the pending MLP output added."""
    return x if pending is None else x + (pending[0] + pending[1])


def encoder_forward(enc, pixel_values: torch.Tensor, window_rel_pos: str = "augment", stream: str = "tokens") -> torch.Tensor:
    """SamVisionEncoder.forward on a token sequence; returns the neck's output [B, 256, 64, 64].

    stream "tokens": the residual stream is [B, HW, C] in raster order and each windowed block partitions its
    normed input and unpartitions its attention output. "windows": the stream itself stays in padded windows
    [B*nW, ws*ws, C] from the patch embedding to the neck, so windowed blocks move no data at all; LayerNorm and
    the MLP also run on the padding tokens (+20% of their work on ViT's 64 -> 70 grid), whose normed input is
    zeroed before each windowed attention (as SAM's window_partition pads it: the keys there are the bias);
    only the global blocks unpartition their input and partition their output.
    """
    if window_rel_pos not in WINDOW_REL_POS:
        raise ValueError(f"window_rel_pos must be one of {WINDOW_REL_POS}, not {window_rel_pos!r}")
    if stream not in ("tokens", "windows"):
        raise ValueError(f"stream must be 'tokens' or 'windows', not {stream!r}")
    for layer in enc.layers:
        _exact_gelu(layer.mlp.act, "token-layout encoder")
    sizes = {layer.window_size for layer in enc.layers if layer.window_size > 0}
    if stream == "windows" and len(sizes) != 1:
        stream = "tokens"  # no windowed blocks (or several sizes): nothing to keep partitioned
    x = enc.patch_embed(pixel_values)
    if enc.pos_embed is not None:
        x = x + enc.pos_embed
    b, h, w, c = (int(s) for s in x.shape)
    x = x.reshape(b, h * w, c)
    if stream == "windows":
        ws = sizes.pop()
        x = _partition(x, b, h, w, ws)
        mask = _pad_mask(enc, b, h, w, ws, x.dtype)
    pending = None  # the last block's MLP output and lin2 bias, added with the next residual
    for layer in enc.layers:
        n1, x = _block_norm1(layer.layer_norm1, x, pending)
        if stream == "tokens":
            a = _attention(layer, n1, h, w, window_rel_pos)
        elif layer.window_size > 0:
            a = _attend(layer.attn, n1 * mask, ws, ws, window_rel_pos) @ layer.attn.proj.weight.t()
        else:
            a = _attend(layer.attn, _unpartition(n1, b, h, w, ws), h, w, "augment") @ layer.attn.proj.weight.t()
            a = _partition(a, b, h, w, ws)
        x, pending = _block_mlp(layer.layer_norm2, a, x, layer.attn.proj.bias, layer.mlp.lin1, layer.mlp.lin2)
    x = _whole(x, pending)
    if stream == "windows":
        x = _unpartition(x, b, h, w, ws)
    return enc.neck(x.reshape(b, h, w, c))


def _pool(x: torch.Tensor, stride) -> torch.Tensor:
    """Hiera's query pooling of [B, H, W, C] (max over stride x stride)."""
    return F.max_pool2d(x.permute(0, 3, 1, 2), kernel_size=stride, stride=stride).permute(0, 2, 3, 1)


def _hiera_attention(blk, n1: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, int, int]:
    """Sam2MultiScaleAttention on n1 [B, h*w, dim] with the block's windows, output projection without its
    bias: ([B, h'*w', dim_out], h', w') where h', w' are after the query pooling, if any."""
    attn, ws, stride = blk.attn, blk.window_size, blk.query_stride
    b = int(n1.shape[0])
    c, heads = attn.dim_out, attn.num_attention_heads
    if ws > 0:
        x = _partition(n1, b, h, w, ws)  # [B*nW, ws*ws, dim]
        wh = ww = ws
    else:
        x, wh, ww = n1, h, w
    wq, bq = export_constant(attn, ("qkv", n1.dtype), lambda: _scaled_qkv(attn, n1.dtype))
    q, k, v = F.linear(x, wq, bq).split(c, dim=-1)  # [B', S, C] each, q scaled
    if stride:
        q = _pool(q.reshape(-1, wh, ww, c), stride)
        wh, ww = int(q.shape[1]), int(q.shape[2])
        q = q.reshape(-1, wh * ww, c)
        h, w = h // stride[0], w // stride[1]
    out = multi_head_attention(q, k, v, heads, 1.0)  # [B', S', C]
    if ws > 0:
        out = _unpartition(out, b, h, w, wh)
    return out @ attn.proj.weight.t(), h, w


def _hiera_pos_embed(bb, h: int, w: int, dtype) -> torch.Tensor:
    """The backbone's windowed positional embedding [1, h, w, C] as a constant (export_constant: traced, it is
    a bicubic Resize and a Tile that would run on every call)."""
    return export_constant(bb, ("pos", h, w, dtype), lambda: bb._get_pos_embed((h, w)).to(dtype).detach().clone())


def hiera_forward(bb, pixel_values: torch.Tensor):
    """Sam2HieraDetModel.forward on a token sequence [B, HW, C] (the "tokens" stream of `encoder_forward`):
    residual + LayerNorm fused with the residual sum carried, bias + GELU fused, the query scale folded in.
    Returns the backbone's output type with the stage ends as intermediate states ([B, H, W, C] each)."""
    from transformers.models.sam2.modeling_sam2 import Sam2HieraDetModelOutput

    for blk in bb.blocks:
        if blk.mlp.num_layers != 2 or blk.mlp.sigmoid_output:
            raise NotImplementedError("token-layout Hiera needs a two-layer MLP without a sigmoid")
        _exact_gelu(blk.mlp.activation, "token-layout Hiera")
    x = bb.patch_embed(pixel_values)
    b, h, w, c = (int(s) for s in x.shape)
    x = (x + _hiera_pos_embed(bb, h, w, x.dtype)).reshape(b, h * w, c)
    pending = None
    inter = []
    for i, blk in enumerate(bb.blocks):
        n1, x = _block_norm1(blk.layer_norm1, x, pending)
        if blk.dim != blk.dim_out:
            # A stage's first block: the residual becomes the pooled projection of the normed input.
            r = _pool(F.linear(n1, blk.proj.weight, blk.proj.bias).reshape(b, h, w, -1), blk.query_stride)
            x = r.reshape(b, -1, blk.dim_out)
        a, h, w = _hiera_attention(blk, n1, h, w)
        x, pending = _block_mlp(blk.layer_norm2, a, x, blk.attn.proj.bias, blk.mlp.proj_in, blk.mlp.proj_out)
        if i in bb.stage_ends:
            x, pending = _whole(x, pending), None
            inter.append(x.reshape(b, h, w, -1))
    return Sam2HieraDetModelOutput(last_hidden_state=inter[-1], intermediate_hidden_states=tuple(inter))
