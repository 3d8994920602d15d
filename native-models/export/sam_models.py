"""SAM / SAM2.1 architectures (transformers' SamModel / Sam2Model) wrapped in Maskroom's ONNX interfaces.

The same wrappers serve the exporter (traced to ONNX) and the PyTorch eager reference runner, so the two
benchmarks compare one computation. Interfaces (see docs/gpu.md and ../../shared/README.md):

- ImageEncoder: image f32[1,3,1024,1024] -> image_embeddings [1,256,64,64]
  (+ SAM2: high_res_feats_0 [1,32,256,256], high_res_feats_1 [1,64,128,128], already through the
  decoder's conv_s0 / conv_s1, as SAM2's own image predictor caches them).
- PromptDecoder: image_embeddings, point_coords [B,N,2], point_labels [B,N], mask_input [B|1,1,256,256],
  has_mask_input [B|1] (batch 1 is broadcast over the B prompts) (+ SAM2 high-res feats)
  -> iou_predictions [B,4], low_res_masks [B,4,256,256];
  with `single=True` also `masks` at the original image size (SamOnnxModel's format, B = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fused_attention import skip_layer_norm

IMG_SIZE = 1024
LOW_RES = 256


@dataclass(frozen=True)
class Arch:
    """One published architecture: how to build it and where its official weights live on the HF hub."""

    family: str  # "sam" | "sam2"
    hf_id: str
    vision: dict


ARCHS: dict[str, Arch] = {
    "sam_vit_b": Arch("sam", "facebook/sam-vit-base", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, global_attn_indexes=[2, 5, 8, 11])),
    "sam_vit_l": Arch("sam", "facebook/sam-vit-large", dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, global_attn_indexes=[5, 11, 17, 23])),
    "sam_vit_h": Arch("sam", "facebook/sam-vit-huge", dict(hidden_size=1280, num_hidden_layers=32, num_attention_heads=16, global_attn_indexes=[7, 15, 23, 31])),
    # Hiera configs as in facebookresearch/sam2's sam2.1_hiera_{t,s,b+,l}.yaml.
    "sam2.1_hiera_tiny": Arch("sam2", "facebook/sam2.1-hiera-tiny", dict(
        hidden_size=96, num_attention_heads=1, blocks_per_stage=[1, 2, 7, 2], embed_dim_per_stage=[96, 192, 384, 768],
        num_attention_heads_per_stage=[1, 2, 4, 8], window_size_per_stage=[8, 4, 14, 7], global_attention_blocks=[5, 7, 9],
        window_positional_embedding_background_size=[7, 7], channels=[768, 384, 192, 96])),
    "sam2.1_hiera_small": Arch("sam2", "facebook/sam2.1-hiera-small", dict(
        hidden_size=96, num_attention_heads=1, blocks_per_stage=[1, 2, 11, 2], embed_dim_per_stage=[96, 192, 384, 768],
        num_attention_heads_per_stage=[1, 2, 4, 8], window_size_per_stage=[8, 4, 14, 7], global_attention_blocks=[7, 10, 13],
        window_positional_embedding_background_size=[7, 7], channels=[768, 384, 192, 96])),
    "sam2.1_hiera_base_plus": Arch("sam2", "facebook/sam2.1-hiera-base-plus", dict(
        hidden_size=112, num_attention_heads=2, blocks_per_stage=[2, 3, 16, 3], embed_dim_per_stage=[112, 224, 448, 896],
        num_attention_heads_per_stage=[2, 4, 8, 16], window_size_per_stage=[8, 4, 14, 7], global_attention_blocks=[12, 16, 20],
        window_positional_embedding_background_size=[14, 14], channels=[896, 448, 224, 112])),
    "sam2.1_hiera_large": Arch("sam2", "facebook/sam2.1-hiera-large", dict(
        hidden_size=144, num_attention_heads=2, blocks_per_stage=[2, 6, 36, 4], embed_dim_per_stage=[144, 288, 576, 1152],
        num_attention_heads_per_stage=[2, 4, 8, 16], window_size_per_stage=[8, 4, 16, 8], global_attention_blocks=[23, 33, 43],
        window_positional_embedding_background_size=[7, 7], channels=[1152, 576, 288, 144])),
}


class ArchError(ValueError):
    """An unknown architecture name or a checkpoint that does not fit the architecture."""


def _config(arch: Arch, attn: str):
    if arch.family == "sam":
        from transformers import SamConfig, SamVisionConfig

        cfg = SamConfig(vision_config=SamVisionConfig(**arch.vision).to_dict())
    else:
        from transformers import Sam2Config, Sam2HieraDetConfig, Sam2VisionConfig

        v = dict(arch.vision)
        channels = v.pop("channels")
        backbone = Sam2HieraDetConfig(**v)
        cfg = Sam2Config(vision_config=Sam2VisionConfig(backbone_config=backbone.to_dict(), backbone_channel_list=channels).to_dict())
    cfg._attn_implementation = attn
    return cfg


@torch.no_grad()
def randomize(model: nn.Module, seed: int) -> None:
    """Gives every weight a deterministic value with realistic scale.

    transformers initialises SAM's vision tower with std 1e-10, which makes every random-init output
    nearly constant; agreement numbers over such outputs would prove nothing, so weights are redrawn:
    linear/conv weights N(0, 1/fan_in), norms near 1, embeddings and tokens N(0, 0.5²), the rest N(0, 0.02²).
    """
    g = torch.Generator().manual_seed(seed)

    def draw(p: torch.Tensor, std: float, mean: float = 0.0) -> None:
        p.copy_((mean + std * torch.randn(p.shape, generator=g)).to(p.dtype))

    done: set[int] = set()
    for name, mod in sorted(model.named_modules(), key=lambda kv: kv[0]):
        own = dict(mod.named_parameters(recurse=False))
        if isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            w = own["weight"]
            k = w[0, 0].numel() if w.ndim == 4 else 1
            fan_in = (w.shape[0] if isinstance(mod, nn.ConvTranspose2d) else w.shape[1]) * k
            draw(w, 1.0 / math.sqrt(fan_in))
        elif isinstance(mod, nn.LayerNorm) or "norm" in type(mod).__name__.lower():
            if "weight" in own:
                draw(own["weight"], 0.02, 1.0)
        elif isinstance(mod, nn.Embedding):
            draw(own["weight"], 0.5)
        for pname, p in own.items():
            if id(p) in done:
                continue
            done.add(id(p))
            if pname == "weight" and isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.LayerNorm, nn.Embedding)):
                continue
            if pname == "weight" and "norm" in type(mod).__name__.lower():
                continue
            draw(p, 0.02)
    for name, b in model.named_buffers():
        if name.endswith("positional_embedding"):
            draw(b, 1.0)
    for name, p in model.named_parameters():
        if name.endswith("positional_embedding"):
            draw(p, 1.0)


def build_model(arch_name: str, checkpoint: str | None = None, random_init: bool = False, seed: int = 0, attn: str = "sdpa") -> tuple[nn.Module, str]:
    """Builds SamModel / Sam2Model for `arch_name` from `checkpoint` (a local folder / HF id) or random weights.

    A `.pt`/`.pth`/`.safetensors` file is read as a state dict saved by this module (see `save_weights`).
    Returns (model in eval mode, family).
    """
    if arch_name not in ARCHS:
        raise ArchError(f"unknown architecture {arch_name!r}; known: {', '.join(ARCHS)}")
    arch = ARCHS[arch_name]
    cfg = _config(arch, attn)
    if arch.family == "sam":
        from transformers import SamModel as Cls
    else:
        from transformers import Sam2Model as Cls
    if checkpoint and not checkpoint.endswith((".pt", ".pth", ".safetensors")):
        model = Cls.from_pretrained(checkpoint, attn_implementation=attn)
    else:
        if not random_init and not checkpoint:
            raise ArchError("give a checkpoint (folder, HF id or weights file) or random_init=True")
        model = Cls(cfg)
        if checkpoint:
            state = _load_state(checkpoint)
            missing, unexpected = model.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise ArchError(f"{checkpoint} does not fit {arch_name}: missing {missing[:5]}, unexpected {unexpected[:5]}")
        else:
            randomize(model, seed)
    _tie_positional_embeddings(model)
    return model.eval(), arch.family


def _tie_positional_embeddings(model: nn.Module) -> None:
    # SAM has one random-Fourier positional encoding shared by points and the image grid; transformers keeps
    # two copies (model.shared_image_embedding, prompt_encoder.shared_embedding). Our wrappers use the first
    # for both, so a model whose copies differ (random init) would not match the official computation.
    src = model.shared_image_embedding.positional_embedding
    dst = model.prompt_encoder.shared_embedding.positional_embedding
    with torch.no_grad():
        dst.copy_(src)


def _load_state(path: str) -> dict:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def save_weights(model: nn.Module, path: str) -> None:
    """Saves the state dict so the reference runner rebuilds exactly the exported weights."""
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, path)


class ImageEncoder(nn.Module):
    """image f32 -> image_embeddings f32 (+ SAM2 high-res features); computes in the model's dtype."""

    def __init__(self, model: nn.Module, family: str):
        super().__init__()
        self.model, self.family = model, family

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def forward(self, image: torch.Tensor):
        x = image.to(self.dtype)
        if self.family == "sam":
            return self.model.get_image_embeddings(x).float()
        s0, s1, emb = self.model.get_image_embeddings(x)
        return emb.float(), s0.float(), s1.float()


class PromptDecoder(nn.Module):
    """SAM / SAM2 prompt encoder + mask decoder with all four mask outputs, batched over prompt sets.

    `upscale="conv"` runs transformers' own two-way transformer and ConvTranspose2d modules: the eager
    reference. `"matmul"` (the default, used for export) computes the same function restructured for
    onnxruntime on the GPU (see `_transformer` and `_upscale`): layer-1 work on the image side is done once
    when all prompts share it, attention to the per-prompt image side may be factored (`factored`), and the
    upscaling stays channels-last with no layout transposes.
    """

    # Whether the image side entering the transformer is one [1, HW, C] for all prompts by contract (the mask
    # input has batch 1), so layer 1's token-to-image attention can treat all prompts' tokens as one sequence.
    shared_image = False
    # Whether the per-prompt image side is attended to in factored form (`_token_to_image`, `_image_to_token`):
    # the same function with no [B, HW, C] projection, bias Add or head transpose. It pays where the image
    # side is large (decoder_amg at 1024 prompts: 46.8 -> 31.7 ms); at one prompt the projected form was
    # faster on the H200 (9.5 vs 10.3 ms, interleaved A/B) and at 32 they tie (docs/gpu.md, run 11).
    factored = False

    def __init__(self, model: nn.Module, family: str, single: bool = False, upscale: str = "matmul"):
        super().__init__()
        if upscale not in ("matmul", "conv"):
            raise ValueError(f"upscale must be 'matmul' or 'conv', not {upscale!r}")
        self.model, self.family, self.single, self.upscale = model, family, single, upscale
        pe = model.shared_image_embedding.positional_embedding
        # Point encodings stay f32 even in fp16 models: sin(2*pi*x) of an f16 x loses ~1e-3 rad per unit.
        self.register_buffer("gauss", pe.detach().float().clone(), persistent=False)
        with torch.no_grad():
            dense_pe = model.get_image_wide_positional_embeddings().float()
        self.register_buffer("dense_pe", dense_pe, persistent=False)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def _pe(self, coords: torch.Tensor) -> torch.Tensor:
        c = 2 * coords - 1
        c = (c @ self.gauss) * (2 * math.pi)
        return torch.cat([torch.sin(c), torch.cos(c)], dim=-1)

    def _embed_points(self, coords: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        pe_enc = self.model.prompt_encoder
        emb = self._pe((coords + 0.5) / IMG_SIZE)
        lab = labels.unsqueeze(-1)
        emb = emb * (lab != -1).to(emb.dtype)
        emb = emb + pe_enc.not_a_point_embed.weight.float() * (lab == -1).to(emb.dtype)
        for i in range(4):
            if self.family == "sam":
                w = pe_enc.point_embed[i].weight.float()
            else:
                w = pe_enc.point_embed.weight[i : i + 1].float()
            emb = emb + w * (lab == i).to(emb.dtype)
        return emb

    def _inputs(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, rest):
        """Prompt tokens [B, T, C], the image side src [BM, C, 64, 64] (BM = the mask inputs' batch, 1 or B)
        and the high-res features (SAM2) in the model's dtype; `rest` minus the features."""
        dt = self.dtype
        pe_enc = self.model.prompt_encoder
        md = self.model.mask_decoder
        feats = None
        if self.family == "sam2":
            feats = (rest[0].to(dt), rest[1].to(dt))
            rest = rest[2:]
        b = point_coords.shape[0]
        sparse = self._embed_points(point_coords, point_labels).to(dt)  # [B, N, C]
        h = has_mask_input.to(dt).view(-1, 1, 1, 1)
        # mask_input / has_mask_input may have batch 1 for all B prompts (as the official SAM ONNX decoder
        # allows): automatic mask generation then uploads one 256x256 plane, not B of zeros, and mask_embed
        # runs once.
        dense = h * pe_enc.mask_embed(mask_input.to(dt)) + (1 - h) * pe_enc.no_mask_embed.weight.view(1, -1, 1, 1)
        heads = [md.iou_token.weight, md.mask_tokens.weight]
        if self.family == "sam2":
            heads = [md.obj_score_token.weight] + heads
        out_tokens = torch.cat(heads, dim=0).unsqueeze(0).expand(b, -1, -1)
        tokens = torch.cat([out_tokens, sparse], dim=1)  # [B, T, C]
        return tokens, image_embeddings.to(dt) + dense, feats, rest

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, *rest):
        tokens, src, feats, rest = self._inputs(image_embeddings, point_coords, point_labels, mask_input, has_mask_input, rest)
        iou_tok, mask_toks, keys = self._decode_tokens(tokens, src)
        hyper = self._hyper(mask_toks)
        low_res = self._upscale(keys, hyper, feats).float()
        iou = self.model.mask_decoder.iou_prediction_head(iou_tok).float()
        if not self.single:
            return iou, low_res
        orig_im_size = rest[0]
        return self._postprocess(low_res, orig_im_size), iou, low_res

    def _decode_tokens(self, tokens: torch.Tensor, src: torch.Tensor):
        """The two-way transformer: iou token [B, C], mask tokens [B, 4, C], image side [B, HW, C]."""
        md = self.model.mask_decoder
        b = tokens.shape[0]
        pos = self.dense_pe.to(tokens.dtype)
        if self.upscale == "conv":
            # transformers' own module, on the image side repeated per prompt as SAM does.
            src = src.expand(b, -1, -1, -1)
            hs, keys = md.transformer(point_embeddings=tokens.unsqueeze(0), image_embeddings=src,
                                      image_positional_embeddings=pos.expand(b, -1, -1, -1), attention_similarity=None)
            hs, keys = hs[0], keys[:, 0]
        else:
            hs, keys = self._transformer(tokens, src.flatten(2).transpose(1, 2), pos.flatten(2).transpose(1, 2))
        first = 1 if self.family == "sam" else 2
        return hs[:, first - 1], hs[:, first : first + 4], keys

    def _transformer(self, tokens: torch.Tensor, src: torch.Tensor, pos: torch.Tensor):
        """transformers' TwoWayTransformer (SAM and SAM2 share it) on tokens [B, T, C] and an image side
        src [BM, HW, C] with BM = 1 or B, pos [1, HW, C].

        Why not the module itself: it wants the image side repeated per prompt. With one mask input shared by
        all prompts (automatic mask generation, clicks without a previous mask) the first layer's image-side
        work - src + pos, the key/value projections of token-to-image attention and the query projection of
        image-to-token attention - is the same for every prompt; here it runs once at batch BM and is only
        broadcast after projection. At B = 1024 each of those is a [B, 4096, 256] pass saved.
        """
        tr = self.model.mask_decoder.transformer
        b = tokens.shape[0]
        pe, queries, keys = tokens, tokens, src
        for i, layer in enumerate(tr.layers):
            # Only layer 1's image side may have batch 1; everywhere else every input already has batch b, and
            # an Expand to the same shape is still a copy in onnxruntime (1 GB per [1024, 4096, 128] tensor).
            first = i == 0
            if layer.skip_first_layer_pe:
                queries = _attend(layer.self_attn, queries, queries, queries, b, broadcast=False)
            else:
                q = queries + pe
                queries = queries + _attend(layer.self_attn, q, q, queries, b, broadcast=False)
            queries = layer.layer_norm1(queries)
            q = queries + pe
            shared = self.shared_image and first
            if self.factored and not first:
                att = _token_to_image(layer.cross_attn_token_to_image, q, keys, pos)
            else:
                att = _attend(layer.cross_attn_token_to_image, q, keys + pos, keys, b, shared, broadcast=first)
            queries = layer.layer_norm2(queries + att)
            queries = layer.layer_norm3(queries + layer.mlp(queries))
            q = queries + pe
            # The output projection's bias goes into the fused residual + LayerNorm (one [B, HW, C] pass fewer).
            if self.factored:
                att = _image_to_token(layer.cross_attn_image_to_token, keys, pos, q, queries)
            else:
                att = _attend(layer.cross_attn_image_to_token, keys + pos, q, queries, b, broadcast=first, out_bias=False)
            keys = skip_layer_norm(layer.layer_norm4, att, keys, _out_proj(layer.cross_attn_image_to_token).bias)
        q = queries + pe
        if self.factored:
            att = _token_to_image(tr.final_attn_token_to_image, q, keys, pos)
        else:
            att = _attend(tr.final_attn_token_to_image, q, keys + pos, keys, b, broadcast=False)
        queries = tr.layer_norm_final_attn(queries + att)
        return queries, keys

    def _hyper(self, mask_toks: torch.Tensor) -> torch.Tensor:
        md = self.model.mask_decoder
        return torch.stack([md.output_hypernetworks_mlps[i](mask_toks[:, i]) for i in range(4)], dim=1)  # [B, 4, C/8]

    def _upscale(self, keys: torch.Tensor, hyper: torch.Tensor, feats) -> torch.Tensor:
        """Image side [B, HW, C] + hypernetwork outputs [B, 4, C/8] -> low-res mask logits [B, 4, 256, 256]."""
        md = self.model.mask_decoder
        b = keys.shape[0]
        side = int(round(math.sqrt(keys.shape[1])))
        if self.upscale == "conv":
            src = keys.transpose(1, 2).reshape(b, -1, side, side)
            up = md.upscale_conv1(src)
            if feats is not None:
                up = up + feats[1]
            up = md.activation(md.upscale_layer_norm(up))
            up = md.upscale_conv2(up)
            if feats is not None:
                up = up + feats[0]
            up = md.activation(up)
            uc, uh, uw = up.shape[1], up.shape[2], up.shape[3]
            return (hyper @ up.reshape(b, uc, uh * uw)).reshape(b, 4, uh, uw)
        return _upscale_by_phases(md, keys, hyper, feats, side)

    @staticmethod
    def _postprocess(masks: torch.Tensor, orig_im_size: torch.Tensor) -> torch.Tensor:
        # SamOnnxModel.mask_postprocessing: to 1024², crop the padding, then to the original size.
        masks = F.interpolate(masks, size=(IMG_SIZE, IMG_SIZE), mode="bilinear", align_corners=False)
        scale = IMG_SIZE / torch.max(orig_im_size)
        pre = torch.floor(scale * orig_im_size + 0.5).to(torch.int64)
        masks = masks[..., : pre[0], : pre[1]]
        size = orig_im_size.to(torch.int64)
        return F.interpolate(masks, size=(size[0], size[1]), mode="bilinear", align_corners=False)


class AmgDecoder(PromptDecoder):
    """The batched decoder for automatic mask generation: masks only for prompts that can pass its filter.

    Inputs: those of decoder_batched.onnx plus `iou_threshold` f32[1]. Outputs: `iou_predictions` [B, 4] for
    every prompt, `prompt_index` int64[K] - the prompts with a predicted IoU above the threshold on one of
    the multimask outputs 1..3 - and `low_res_masks` [K, 4, 256, 256] for those prompts only, in that order.

    Why: SAM's generator drops every candidate whose predicted IoU is at or below pred_iou_thresh (0.88)
    before it looks at the mask, and the IoU head reads only the transformer's IoU token. The upscaling
    (about half of the decoder's memory traffic at 1024 prompts) then runs for the K prompts that can
    survive, not for all B. The masks that are computed are the batched decoder's, bit for bit.

    Its mask_input / has_mask_input have batch 1 (automatic mask generation never carries a mask), so the
    image side is shared by construction (`shared_image`).
    """

    shared_image = True
    factored = True

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, *rest):
        *rest, iou_threshold = rest
        tokens, src, feats, _ = self._inputs(image_embeddings, point_coords, point_labels, mask_input, has_mask_input, tuple(rest))
        iou_tok, mask_toks, keys = self._decode_tokens(tokens, src)
        iou = self.model.mask_decoder.iou_prediction_head(iou_tok).float()
        keep = (iou[:, 1:] > iou_threshold).any(dim=1)
        # One padding row (the best prompt) rides along and is cut off at the end, so the upscaling never
        # sees an empty batch: a Reshape with a -1 cannot infer a size from zero elements.
        pad = iou[:, 1:].amax(dim=1).argmax().reshape(1)
        idx = torch.cat([torch.nonzero(keep).flatten(), pad])
        hyper = self._hyper(mask_toks)
        low_res = self._upscale(keys.index_select(0, idx), hyper.index_select(0, idx), feats).float()
        n = idx.shape[0] - 1
        return iou, idx[:n], low_res[:n]


def _attend(attn: nn.Module, q_in: torch.Tensor, k_in: torch.Tensor, v_in: torch.Tensor, b, shared_kv: bool = False,
            broadcast: bool = True, out_bias: bool = True) -> torch.Tensor:
    """transformers' SamAttention / Sam2Attention forward on [batch, tokens, C] inputs whose batch is 1 or b:
    projections at the inputs' own batch, broadcast to b afterwards. The attention itself goes through
    transformers' attention interface, so fused_attention's export patch applies as to the module.

    `shared_kv`: keys and values have batch 1 for all b prompts. Each query row attends independently, so all
    prompts' queries form one sequence against the one key set - nothing [b, HW, C]-sized is broadcast.
    `broadcast=False`: every input already has batch b (no Expand). `out_bias=False`: the output projection
    without its bias, which the caller adds (skip_layer_norm takes it).
    """
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    if shared_kv:
        out = _attend(attn, q_in.reshape(1, -1, q_in.shape[-1]), k_in, v_in, 1, broadcast=False, out_bias=out_bias)
        return out.reshape(q_in.shape)

    n = attn.num_attention_heads
    q, k, v = attn.q_proj(q_in), attn.k_proj(k_in), attn.v_proj(v_in)
    s = q.shape[1]
    if broadcast:
        q, k, v = q.expand(b, -1, -1), k.expand(b, -1, -1), v.expand(b, -1, -1)
    qh, kh, vh = (x.reshape(b, x.shape[1], n, -1).transpose(1, 2) for x in (q, k, v))
    interface = ALL_ATTENTION_FUNCTIONS.get_interface(attn.config._attn_implementation, _eager_attention)
    out, _ = interface(attn, qh, kh, vh, attention_mask=None, dropout=0.0, scaling=attn.scaling, is_causal=False)
    out = out.reshape(b, s, -1)
    proj = _out_proj(attn)
    return proj(out) if out_bias else F.linear(out, proj.weight)


def _token_to_image(attn: nn.Module, q_in: torch.Tensor, img: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Each prompt's T tokens q_in [B, T, C] attend over its own image side: keys img + pos, values img
    ([B, HW, C]; pos [1, HW, C]). The same function as `_attend(attn, q_in, img + pos, img, ...)`, factored
    so that nothing of size [B, HW, *] is written.

    Per head h: q_h k_h^T = q_h W_k,h (img + pos)^T + q_h b_k,h. The bias term is the same for every key of a
    query, so softmax drops it; R = scale * q_h W_k,h ([B, heads * T, C], small) meets the image side in one
    MatMul. The values' projection commutes with the softmax-weighted sum (rows sum to 1): P v_h =
    (P img) W_v,h^T + b_v,h, so img is read once more, as P img [B, heads * T, C]. At B = 1024 the image side
    is 2 GB in fp16; the unfactored form projected it to keys and values (2 x 1 GB written, plus their bias
    Adds and img + pos) before attending.
    """
    n = attn.num_attention_heads
    b, t, c = q_in.shape
    q = attn.q_proj(q_in).reshape(b, t, n, -1).transpose(1, 2)  # [B, n, T, d]
    wk = attn.k_proj.weight.reshape(n, -1, c)  # [n, d, C]
    r = ((q @ wk) * attn.scaling).reshape(b, n * t, c)
    logits = r @ img.transpose(1, 2) + r @ pos[0].transpose(0, 1)  # [B, nT, HW]
    s = (torch.softmax(logits, dim=-1) @ img).reshape(b, n, t, c)
    wv = attn.v_proj.weight.reshape(n, -1, c).transpose(1, 2)  # [n, C, d]
    out = s @ wv + attn.v_proj.bias.reshape(n, 1, -1)  # [B, n, T, d]
    return _out_proj(attn)(out.transpose(1, 2).reshape(b, t, -1))


def _image_to_token(attn: nn.Module, img: torch.Tensor, pos: torch.Tensor, k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    """The image side (queries img + pos; img [1 or B, HW, C], pos [1, HW, C]) attends over each prompt's
    T tokens (keys k_in, values v_in, [B, T, C]). The same function as `_attend(attn, img + pos, k_in, v_in,
    ..., out_bias=False)`: the output projection's bias is left to the caller.

    Factored so that the image side is read once and the output written once. Per head h the scores are
    (img + pos) W_q,h^T k_h^T + b_q,h k_h^T: the query projection folds into M_h = scale * W_q,h^T k_h^T
    ([C, T] per prompt), all heads side by side as one [B, C, heads * T] matrix. The weighted values and the
    output projection fold the same way: sum_h P_h v_h W_o,h^T = P [v_h W_o,h^T]_h, a [B, heads * T, C] matrix.
    What remains on the image side is two MatMuls and a softmax over [B, HW, heads * T] (56 columns, not 256).
    """
    n = attn.num_attention_heads
    b, t, c = k_in.shape
    hw = img.shape[1]
    kh = attn.k_proj(k_in).reshape(b, t, n, -1).permute(0, 2, 3, 1)  # [B, n, d, T]
    wq = attn.q_proj.weight.reshape(n, -1, c).transpose(1, 2)  # [n, C, d]
    m = ((wq @ kh) * attn.scaling).permute(0, 2, 1, 3).reshape(b, c, n * t)
    bias = ((attn.q_proj.bias.reshape(n, 1, -1) @ kh) * attn.scaling).reshape(b, 1, n * t)
    if img.shape[0] == 1:
        # One image side for all prompts (layer 1 of automatic mask generation): one [HW, C] @ [B, C, nT].
        logits = (img + pos)[0] @ m + bias
    else:
        logits = img @ m + (pos[0] @ m + bias)
    p = torch.softmax(logits.reshape(b, hw, n, t), dim=-1).reshape(b, hw, n * t)
    v = attn.v_proj(v_in).reshape(b, t, n, -1).transpose(1, 2)  # [B, n, T, d]
    wo = _out_proj(attn).weight
    wo = wo.reshape(wo.shape[0], n, -1).permute(1, 2, 0)  # [n, d, C]
    return p @ (v @ wo).reshape(b, n * t, c)


def _out_proj(attn: nn.Module) -> nn.Linear:
    """SamAttention's output projection is out_proj, Sam2Attention's o_proj."""
    return attn.out_proj if hasattr(attn, "out_proj") else attn.o_proj


def _eager_attention(module, query, key, value, attention_mask=None, dropout=0.0, scaling=None, **kwargs):
    """[B, N, S, D] -> ([B, S, N, D], None), as transformers' eager attention."""
    w = torch.softmax((query @ key.transpose(-1, -2)) * scaling, dim=-1)
    return (w @ value).transpose(1, 2), None


def _upscale_by_phases(md, keys: torch.Tensor, hyper: torch.Tensor, feats, side: int) -> torch.Tensor:
    """upscale_conv1 (+ feat_s1) -> LayerNorm -> GELU -> upscale_conv2 (+ feat_s0) -> GELU -> hypernetwork
    product, channels-last and by sub-pixel phase; [B, side², C] -> [B, 4, 4·side, 4·side].

    Why: both transposed convs have kernel 2 = stride 2, so their taps never overlap and each is a MatMul
    whose output columns are the 2x2 phases. Kept in phase layout - [B, i, j, a, b, C'] for pixel
    (2i+a, 2j+b) - the LayerNorm (over channels) and GELU act on the last axis as they are, and the second
    conv is again a MatMul per phase (c, d) of pixel (4i+2a+c, 4j+2b+d). Nothing is transposed until the
    four small [B, 4, ...] mask planes interleave at the end; the NCHW path spent about a third of the
    upscaling's memory traffic on layout transposes. One phase at a time also keeps the largest tensor at
    B·2^19 elements: the full [1024, 32, 256, 256] activation would have 2^31, past onnxruntime's int32
    indexing on CUDA ("narrowing_error").
    """
    b = keys.shape[0]
    c1, c2, ln = md.upscale_conv1, md.upscale_conv2, md.upscale_layer_norm
    cin, co1 = c1.weight.shape[0], c1.weight.shape[1]
    co2 = c2.weight.shape[1]
    w1 = c1.weight.permute(0, 2, 3, 1).reshape(cin, 4 * co1)  # columns (a, b, co)
    y = (keys @ w1 + c1.bias.repeat(4)).reshape(b, side, side, 2, 2, co1)
    if feats is not None:
        # feat_s1 [1, co1, 2·side, 2·side] -> [1, i, j, a, b, co1]
        f1 = feats[1].reshape(1, co1, side, 2, side, 2).permute(0, 2, 4, 3, 5, 1)
        y = y + f1
    y = md.activation(F.layer_norm(y, (co1,), ln.weight, ln.bias, ln.eps))
    if feats is not None:
        # feat_s0 [1, co2, 4·side, 4·side] -> [1, c, d, i, j, a, b, co2]
        f0 = feats[0].reshape(1, co2, side, 2, 2, side, 2, 2).permute(0, 4, 7, 2, 5, 3, 6, 1)
    ht = hyper.transpose(1, 2)  # [B, co2, 4]
    rows = []
    for c in range(2):
        row = []
        for d in range(2):
            z = y @ c2.weight[:, :, c, d] + c2.bias  # [B, i, j, a, b, co2]
            if feats is not None:
                z = z + f0[:, c, d]
            z = md.activation(z)
            m = z.reshape(b, -1, co2) @ ht  # [B, i·j·a·b, 4]
            row.append(m.reshape(b, side, side, 2, 2, 4))
        rows.append(torch.stack(row, dim=-1))  # [B, i, j, a, b, 4, d]
    m = torch.stack(rows, dim=-2)  # [B, i, j, a, b, 4, c, d]
    # pixel row 4i + 2a + c, column 4j + 2b + d
    return m.permute(0, 5, 1, 3, 6, 2, 4, 7).reshape(b, 4, 4 * side, 4 * side)


class MaskPostprocess(nn.Module):
    """low_res [K,256,256] logits + orig_im_size [2] -> where each full-size mask's RLE runs start.

    SAM's postprocess_masks (bilinear to 1024², crop the padding, bilinear to the original size, > 0) on the
    GPU, read column-major (COCO RLE order). Outputs `first` uint8 [K] (each mask's first pixel) and `changes`
    int64 [M, 2]: (mask k, i) for every i where pixel i+1 differs from pixel i. Only these few numbers cross
    to the CPU (not K·H·W bytes), and the caller turns them into RLE counts in O(M).
    """

    def forward(self, low_res: torch.Tensor, orig_im_size: torch.Tensor):
        m = PromptDecoder._postprocess(low_res.unsqueeze(1), orig_im_size)[:, 0]
        flat = (m > 0).transpose(1, 2).reshape(m.shape[0], -1).to(torch.uint8)
        changes = torch.nonzero(flat[:, 1:] != flat[:, :-1])
        return flat[:, 0], changes


def rle_counts_from_changes(first: list[int], changes, n: int) -> list[list[int]]:
    """COCO RLE counts per mask from MaskPostprocess outputs (n = H*W); the TypeScript bench does the same."""
    starts: list[list[int]] = [[] for _ in first]
    for k, i in changes:
        starts[int(k)].append(int(i) + 1)
    out = []
    for f, st in zip(first, starts):
        edges = [0] + st + [n]
        counts = [b - a for a, b in zip(edges[:-1], edges[1:])]
        out.append(([0] if f else []) + counts)
    return out


def high_res_shapes(family: str) -> list[tuple[int, ...]]:
    """Shapes of the extra encoder outputs / decoder inputs a family needs (empty for SAM)."""
    return [] if family == "sam" else [(1, 32, 256, 256), (1, 64, 128, 128)]
