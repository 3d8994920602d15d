"""Export-time attention as onnxruntime's fused com.microsoft::MultiHeadAttention, and the other rewrites
the fp16 (fused) exports get for onnxruntime's CUDA kernels (see the end of this docstring).

Why: traced through TorchScript, every attention of SAM and SAM2 becomes MatMul -> (Add) -> Softmax -> MatMul,
and onnxruntime's transformer optimizer finds no pattern to fuse in them (docs/gpu.md). On CUDA the unfused
form writes the whole score matrix several times over (16 heads x 4096^2 in a global ViT layer), and it
leaves fp16 tensor cores idle. MultiHeadAttention runs flash / memory-efficient attention kernels instead.
onnxruntime's CPU provider implements the op too, so fused exports still run (and are checked) on CPU.

SAM's ViT adds a decomposed relative-position bias, rel_h[q, kh] + rel_w[q, kw], to the scores. Two exact
ways to keep it inside a fused kernel (chosen with `rel_pos`):
  - "augment": fold the bias into the dot product. Append rel_h[q, :] and rel_w[q, :] to each scaled query
    and one-hot(kh), one-hot(kw) to each key: q'.k' = scale*q.k + rel_h[q, kh] + rel_w[q, kw]. No bias
    tensor exists; the head size grows by H + W (padded to a multiple of 8). Values keep their head size.
  - "bias": materialise rel_h + rel_w as MultiHeadAttention's attention_bias [B, heads, S, T].
Attention without a bias (SAM2's Hiera, both decoders' two-way transformers) maps onto the op directly.

Also inside the block, each measured with onnxruntime's own profiler on the H200 (ort_profile.mjs):
  - residual + LayerNorm on the decoder's image side ([B, 4096, 256] at B = 1024) as one
    com.microsoft::SkipLayerNormalization (`skip_layer_norm`), whose skip input may broadcast over the prompts
    and which also adds the attention's output-projection bias; onnxruntime's LayerNormalization took 5.8 ms
    per such pass, plus 2.1 ms for each of the two Adds before it;
  - the ViT's window partition pads with Concat instead of Pad: onnxruntime's CUDA Pad took 0.6 ms per
    windowed ViT-H block (17 ms of the encoder) for a copy of 10 MB;
  - the rel-pos terms as MatMuls instead of Einsum (onnxruntime's CUDA Einsum transposes around a batched GEMM).

Used as a context manager around torch.onnx.export; eager PyTorch (the reference runner) never sees it.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("augment", "bias")
MS_DOMAIN = "com.microsoft"


class _MultiHeadAttention(torch.autograd.Function):
    """q [B,S,N*Dk], k [B,T,N*Dk], v [B,T,N*Dv] (+ bias [B|1, N, S, T]) -> [B,S,N*Dv]; SDPA when run eagerly."""

    @staticmethod
    def forward(ctx, q, k, v, bias, num_heads: int, scale: float):  # noqa: ARG004
        b, s, _ = q.shape
        t = k.shape[1]
        qh = q.reshape(b, s, num_heads, -1).transpose(1, 2)
        kh = k.reshape(b, t, num_heads, -1).transpose(1, 2)
        vh = v.reshape(b, t, num_heads, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=bias, scale=scale)
        return out.transpose(1, 2).reshape(b, s, -1)

    @staticmethod
    def symbolic(g, q, k, v, bias, num_heads: int, scale: float):
        inputs = [q, k, v]
        if not (bias is None or bias.node().mustBeNone()):
            # Inputs 3..4 (projection bias, key padding mask) are absent; 5 is attention_bias.
            none = g.op("prim::Constant").setType(torch._C.OptionalType.ofTensor())
            inputs += [none, none, bias]
        out = g.op(f"{MS_DOMAIN}::MultiHeadAttention", *inputs, num_heads_i=num_heads, scale_f=scale)
        # ONNX shape inference does not know the op: give the output its dtype and rank, [B, S, N*Dv]. B and S
        # stay unknown: traced sizes here would be folded into later Reshapes and freeze a dynamic batch.
        vs = v.type().varyingSizes()
        if vs and len(vs) == 3:
            out.setType(q.type().with_sizes([None, None, vs[2]]))
        return out


def multi_head_attention(q, k, v, num_heads: int, scale: float, bias: torch.Tensor | None = None) -> torch.Tensor:
    return _MultiHeadAttention.apply(q, k, v, bias, num_heads, float(scale))


class _SkipLayerNorm(torch.autograd.Function):
    """LayerNorm(x + bias + skip) with x [B, S, H], skip [B|1, S, H] and bias [H]."""

    @staticmethod
    def forward(ctx, x, skip, gamma, beta, bias, eps: float):  # noqa: ARG004
        return F.layer_norm(skip + (x + bias), gamma.shape, gamma, beta, eps)

    @staticmethod
    def symbolic(g, x, skip, gamma, beta, bias, eps: float):
        out = g.op(f"{MS_DOMAIN}::SkipLayerNormalization", x, skip, gamma, beta, bias, epsilon_f=eps)
        vs = x.type().varyingSizes()
        if vs and len(vs) == 3:
            out.setType(x.type().with_sizes([None, None, vs[2]]))
        return out


_STATE = {"fused": False}


def skip_layer_norm(norm: nn.LayerNorm, x: torch.Tensor, skip: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """norm(skip + (x + bias)); inside `fused_attention` one SkipLayerNormalization node (skip may have
    batch 1; `bias` is the producing projection's, left out of it so that no separate pass adds it)."""
    if not _STATE["fused"]:
        return norm(skip + (x + bias))
    out = _SkipLayerNorm.apply(x, skip, norm.weight, norm.bias, bias, float(norm.eps))
    # Shape from the input, not the custom op's output (see _interface_attention): keeps the batch symbolic.
    return out.reshape(x.shape)


def _interface_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None, **kwargs):
    """transformers' attention-interface signature: query/key/value [B, N, S, D] -> ([B, S, N, D], None)."""
    if attention_mask is not None or (is_causal is True and query.shape[2] > 1):
        raise NotImplementedError("fused attention export supports only unmasked, non-causal attention")
    # Heads and head size are static; batch and lengths stay symbolic (the batched decoder's B is dynamic).
    n, d = int(query.shape[1]), int(query.shape[3])
    scale = scaling if scaling is not None else d**-0.5
    q, k, v = (x.transpose(1, 2).flatten(2) for x in (query, key, value))
    out = multi_head_attention(q, k, v, n, scale)
    # The result's shape is taken from the query's, not from the op's output: sizes read off a custom op's
    # output are traced as constants, which would freeze the decoder's dynamic prompt batch downstream.
    return out.reshape(query.shape[0], query.shape[2], n, -1), None


@contextlib.contextmanager
def untraced() -> Iterator[None]:
    """No tracing state inside: tensors made here enter the graph as constants, not as ops run per call."""
    state = torch._C._get_tracing_state()
    torch._C._set_tracing_state(None)
    try:
        with torch.no_grad():
            yield
    finally:
        torch._C._set_tracing_state(state)


def export_constant(mod: nn.Module, key: tuple, make):
    """`make()` run once per module and key outside the trace (`untraced`); `fused_attention` drops the
    cache when its block ends."""
    cache = mod.__dict__.setdefault("_export_consts", {})
    if key not in cache:
        with untraced():
            cache[key] = make()
    return cache[key]


def _rel_pos_constants(attn, h: int, w: int, dtype, divide_by: float | None = None) -> tuple[torch.Tensor, ...]:
    """rel-pos tables [H, H, D], [W, W, D] and the key grid's one-hot rows [HW, H] and columns [HW, W].

    Computed outside the trace (`export_constant`), so they enter the graph as constants: traced, the tables'
    interpolation would be an fp16 Resize that onnxruntime cannot constant-fold (it has no CPU fp16 Resize) and
    would run on every call. `divide_by`: tables made in fp32 and divided by it, for a query that already
    carries its scale (vit_tokens.py: q_s . (r / scale) = q . r).
    """

    def make():
        if divide_by is None:
            rh = attn.get_rel_pos(h, h, attn.rel_pos_h).to(dtype).detach().clone()
            rw = attn.get_rel_pos(w, w, attn.rel_pos_w).to(dtype).detach().clone()
        else:
            rh = (attn.get_rel_pos(h, h, attn.rel_pos_h.float()) / divide_by).to(dtype)
            rw = (attn.get_rel_pos(w, w, attn.rel_pos_w.float()) / divide_by).to(dtype)
        dev = attn.rel_pos_h.device
        oh = F.one_hot(torch.arange(h, device=dev).repeat_interleave(w), h).to(dtype)
        ow = F.one_hot(torch.arange(w, device=dev).repeat(h), w).to(dtype)
        return rh, rw, oh, ow

    return export_constant(attn, ("rel_pos", h, w, dtype, divide_by), make)


def _vit_attention_forward(self, hidden_states: torch.Tensor, output_attentions=None, *, rel_pos: str):
    """SamVisionAttention.forward with the attention fused (same outputs: (out, None))."""
    # Static sizes (the encoder's input is fixed): the one-hot keys and rel-pos tables then fold to constants.
    b, h, w = (int(x) for x in hidden_states.shape[:3])
    n = self.num_attention_heads
    qkv = self.qkv(hidden_states).reshape(b, h * w, 3, n, -1)
    q, k, v = qkv.unbind(2)  # [B, HW, N, D]
    if not self.use_rel_pos:
        out = multi_head_attention(q.reshape(b, h * w, -1), k.reshape(b, h * w, -1), v.reshape(b, h * w, -1), n, self.scale)
        return self.proj(out.reshape(b, h, w, -1)), None
    out = rel_pos_attention(q, k, v, n, h, w, _rel_pos_constants(self, h, w, q.dtype), rel_pos, self.scale)
    return self.proj(out.reshape(b, h, w, -1)), None


def rel_pos_attention(q, k, v, n: int, h: int, w: int, tables: tuple, rel_pos: str, q_scale: float) -> torch.Tensor:
    """Fused attention with SAM's decomposed rel-pos term over an h x w grid: q, k, v [B, h*w, N, D] ->
    [B, h*w, N*D]. `tables` are `_rel_pos_constants`' (rel_h / rel_w tables for the q given, one-hot key rows
    and columns); `q_scale` multiplies q.k only (1.0 where the scale is already folded into q and the tables)."""
    b, d = int(q.shape[0]), int(q.shape[-1])
    rh, rw, oh, ow = tables
    flat = lambda t: t.reshape(b, h * w, -1)  # noqa: E731
    qg = q.reshape(b, h, w, n, d)
    # rel_h[b,y,x,n,k] = q[b,y,x,n,:].rh[y,k,:] and rel_w[b,y,x,n,k] = q[b,y,x,n,:].rw[x,k,:], as batched
    # MatMuls over the row (column) index: onnxruntime's CUDA Einsum was slower (module docstring).
    rel_h = (qg.reshape(b, h, w * n, d) @ rh.transpose(1, 2)).reshape(b, h * w, n, h)
    rel_w = qg.permute(0, 2, 1, 3, 4).reshape(b, w, h * n, d) @ rw.transpose(1, 2)  # [B, W, H*N, W]
    rel_w = rel_w.reshape(b, w, h, n, w).permute(0, 2, 1, 3, 4).reshape(b, h * w, n, w)
    if rel_pos == "bias":
        bias = (rel_h.permute(0, 2, 1, 3)[..., :, None] + rel_w.permute(0, 2, 1, 3)[..., None, :]).reshape(b, n, h * w, h * w)
        return multi_head_attention(flat(q), flat(k), flat(v), n, q_scale, bias)
    pad = (-(d + h + w)) % 8
    # Broadcast to the batch read off k at run time: with static sizes the trace would fold the expanded
    # one-hot keys into constants of [B, HW, N, H+W] per layer (90 MB of a ViT-B fp16 file).
    bk, sk, nk = k.shape[0], k.shape[1], k.shape[2]
    key_ext = torch.cat([oh, ow], dim=-1)[None, :, None, :].expand(bk, sk, nk, h + w)
    qa = [q * q_scale if q_scale != 1.0 else q, rel_h, rel_w]
    ka = [k, key_ext]
    if pad:
        z = q.new_zeros(1, 1, 1, pad).expand(bk, sk, nk, pad)
        qa.append(z)
        ka.append(z)
    return multi_head_attention(flat(torch.cat(qa, dim=-1)), flat(torch.cat(ka, dim=-1)), flat(v), n, 1.0)


def _window_partition(self, hidden_states: torch.Tensor, window_size: int):
    """SamVisionLayer.window_partition with the padding as Concat with zeros (module docstring: why)."""
    b, h, w, c = (int(x) for x in hidden_states.shape)
    pad_h, pad_w = (window_size - h % window_size) % window_size, (window_size - w % window_size) % window_size
    # Zeros broadcast from one element with the batch read at run time, so no zero blocks are stored in the file.
    zero, nb = hidden_states.new_zeros(1, 1, 1, 1), hidden_states.shape[0]
    if pad_w:
        hidden_states = torch.cat([hidden_states, zero.expand(nb, h, pad_w, c)], dim=2)
    if pad_h:
        hidden_states = torch.cat([hidden_states, zero.expand(nb, pad_h, w + pad_w, c)], dim=1)
    ph, pw = h + pad_h, w + pad_w
    hidden_states = hidden_states.reshape(b, ph // window_size, window_size, pw // window_size, window_size, c)
    windows = hidden_states.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size, window_size, c)
    return windows, (ph, pw)


VIT_ENCODERS = ("spatial", "tokens", "tokens-wbias", "windows", "windows-wbias")


@contextlib.contextmanager
def fused_attention(model: nn.Module, rel_pos: str = "augment", vit_encoder: str = "spatial") -> Iterator[None]:
    """Within the block, every attention of `model` traces to com.microsoft::MultiHeadAttention.

    `vit_encoder` "tokens" traces SAM's ViT encoder as one token sequence with fused residual/LayerNorm and
    bias/GELU, "windows" the same with the residual stream kept in padded windows (vit_tokens.py); "-wbias"
    also gives the windowed blocks the rel-pos term as an attention bias. "spatial" keeps transformers'
    layout. SAM2's Hiera backbone gets its token sequence (the "tokens" stream) for any value but "spatial".
    """
    if rel_pos not in MODES:
        raise ValueError(f"rel_pos must be one of {MODES}, not {rel_pos!r}")
    if vit_encoder not in VIT_ENCODERS:
        raise ValueError(f"vit_encoder must be one of {VIT_ENCODERS}, not {vit_encoder!r}")
    from transformers.modeling_utils import AttentionInterface

    patched: list[nn.Module] = []
    windowed: list[nn.Module] = []
    try:
        from transformers.models.sam.modeling_sam import SamVisionAttention, SamVisionEncoder, SamVisionLayer
    except ImportError:  # pragma: no cover - transformers without SAM
        SamVisionAttention = SamVisionEncoder = SamVisionLayer = ()  # type: ignore[assignment]
    for mod in model.modules():
        if vit_encoder != "spatial" and type(mod).__name__ == "Sam2HieraDetModel":
            from vit_tokens import hiera_forward

            # Hiera's windows need no padding at 1024 and change size per stage: the tokens stream for both.
            mod.forward = lambda pixel_values, _m=mod, **kw: hiera_forward(_m, pixel_values)
            patched.append(mod)
        if vit_encoder != "spatial" and SamVisionEncoder and isinstance(mod, SamVisionEncoder):
            from vit_tokens import encoder_forward

            stream, _, wb = vit_encoder.partition("-")
            # rel_pos "bias" asks for the bias form too; the global blocks always fold it (vit_tokens.py).
            wrp = "bias" if wb == "wbias" or rel_pos == "bias" else "augment"
            # get_image_embeddings reads output [0], the neck's output.
            mod.forward = lambda pixel_values, _m=mod, _w=wrp, _s=stream, **kw: (encoder_forward(_m, pixel_values, _w, _s),)
            patched.append(mod)
        if SamVisionAttention and isinstance(mod, SamVisionAttention):
            mod.forward = lambda hidden_states, output_attentions=None, _m=mod: _vit_attention_forward(
                _m, hidden_states, output_attentions, rel_pos=rel_pos
            )
            patched.append(mod)
        if SamVisionLayer and isinstance(mod, SamVisionLayer):
            mod.window_partition = lambda hidden_states, window_size, _m=mod: _window_partition(_m, hidden_states, window_size)
            windowed.append(mod)
    mapping = AttentionInterface._global_mapping
    saved = mapping.get("sdpa")
    mapping["sdpa"] = _interface_attention
    _STATE["fused"] = True
    try:
        yield
    finally:
        _STATE["fused"] = False
        mapping["sdpa"] = saved
        for mod in patched:
            del mod.forward
        for mod in windowed:
            del mod.window_partition
        for mod in model.modules():  # export_constant's caches, wherever they were made
            mod.__dict__.pop("_export_consts", None)
