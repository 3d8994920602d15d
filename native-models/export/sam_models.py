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


def convtranspose2x2_as_matmul(conv: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """ConvTranspose2d(k=2, s=2) as one MatMul + depth-to-space reshape.

    Why: onnxruntime's CUDA ConvTranspose fails in cuDNN for 1024-prompt batches; a MatMul runs through cuBLAS
    at any batch, and the stride-2, kernel-2 transposed conv has no overlapping taps, so this is exact:
    out[n, co, 2i+a, 2j+b] = sum_ci x[n, ci, i, j] * W[ci, co, a, b] + bias[co].
    """
    w = conv.weight  # [Cin, Cout, 2, 2]
    cin, cout = w.shape[0], w.shape[1]
    h, wd = x.shape[-2], x.shape[-1]
    y = x.permute(0, 2, 3, 1) @ w.reshape(cin, cout * 4)  # [B, H, W, Cout*4]
    y = y.reshape(-1, h, wd, cout, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(-1, cout, 2 * h, 2 * wd)
    return y + conv.bias.view(1, -1, 1, 1)


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

    `upscale="matmul"` replaces the two ConvTranspose2d by `convtranspose2x2_as_matmul` (used for export);
    `"conv"` keeps the modules as they are (the eager reference). Both compute the same function.
    """

    def __init__(self, model: nn.Module, family: str, single: bool = False, upscale: str = "matmul"):
        super().__init__()
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

    def _up(self, conv: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
        return convtranspose2x2_as_matmul(conv, x) if self.upscale == "matmul" else conv(x)

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, *rest):
        dt = self.dtype
        md = self.model.mask_decoder
        pe_enc = self.model.prompt_encoder
        if self.family == "sam2":
            feat_s0, feat_s1 = rest[0].to(dt), rest[1].to(dt)
            rest = rest[2:]
        b = point_coords.shape[0]
        sparse = self._embed_points(point_coords, point_labels).to(dt)  # [B, N, C]
        h = has_mask_input.to(dt).view(-1, 1, 1, 1)
        dense = h * pe_enc.mask_embed(mask_input.to(dt)) + (1 - h) * pe_enc.no_mask_embed.weight.view(1, -1, 1, 1)
        # mask_input / has_mask_input may have batch 1 for all B prompts (as the official SAM ONNX decoder
        # allows): automatic mask generation then uploads one 256x256 plane, not B of zeros, and mask_embed
        # runs once. expand is a no-op when their batch is already B.
        dense = dense.expand(b, -1, -1, -1)
        heads = [md.iou_token.weight, md.mask_tokens.weight]
        if self.family == "sam2":
            heads = [md.obj_score_token.weight] + heads
        out_tokens = torch.cat(heads, dim=0).unsqueeze(0).expand(b, -1, -1)
        tokens = torch.cat([out_tokens, sparse], dim=1).unsqueeze(0)  # [1, B, T, C]
        src = image_embeddings.to(dt) + dense  # [B, C, 64, 64]
        pos = self.dense_pe.to(dt).expand(b, -1, -1, -1)
        hs, src = md.transformer(point_embeddings=tokens, image_embeddings=src, image_positional_embeddings=pos, attention_similarity=None)
        first = 1 if self.family == "sam" else 2
        iou_tok = hs[0, :, first - 1]
        mask_toks = hs[0, :, first : first + 4]
        c, hh, ww = image_embeddings.shape[1], image_embeddings.shape[2], image_embeddings.shape[3]
        src = src.transpose(2, 3).reshape(-1, c, hh, ww)
        up = self._up(md.upscale_conv1, src)
        if self.family == "sam2":
            up = up + feat_s1
        up = md.activation(md.upscale_layer_norm(up))
        hyper = torch.stack([md.output_hypernetworks_mlps[i](mask_toks[:, i]) for i in range(4)], dim=1)  # [B, 4, C/8]
        if self.upscale == "matmul":
            low_res = self._last_upscale_by_subpixel(md, up, hyper, feat_s0 if self.family == "sam2" else None).float()
        else:
            up = self._up(md.upscale_conv2, up)
            if self.family == "sam2":
                up = up + feat_s0
            up = md.activation(up)
            uc, uh, uw = up.shape[1], up.shape[2], up.shape[3]
            low_res = (hyper @ up.reshape(-1, uc, uh * uw)).reshape(-1, 4, uh, uw).float()
        iou = md.iou_prediction_head(iou_tok).float()
        if not self.single:
            return iou, low_res
        orig_im_size = rest[0]
        return self._postprocess(low_res, orig_im_size), iou, low_res

    @staticmethod
    def _last_upscale_by_subpixel(md, x: torch.Tensor, hyper: torch.Tensor, feat_s0: torch.Tensor | None) -> torch.Tensor:
        """upscale_conv2 (+ feat_s0) -> GELU -> hypernetwork product, one 2x2 sub-pixel phase at a time.

        Why: at 1024 prompts the full [B, 32, 256, 256] activation has exactly 2^31 elements, past the int32
        indexing of onnxruntime's CUDA kernels ("narrowing_error"). Each phase (a, b) of a k=2, s=2 transposed
        conv is a plain MatMul on the 128x128 grid, so the largest tensor is a quarter of that; the four
        [B, 4, 128, 128] results interleave into the [B, 4, 256, 256] masks.
        """
        conv = md.upscale_conv2
        w, bias = conv.weight, conv.bias  # [Cin, Cout, 2, 2]
        h, wd = x.shape[-2], x.shape[-1]
        xp = x.permute(0, 2, 3, 1)  # [B, H, W, Cin]
        ht = hyper.transpose(1, 2)  # [B, Cout, 4]
        phases = []
        for a in range(2):
            row = []
            for b in range(2):
                y = xp @ w[:, :, a, b] + bias  # [B, H, W, Cout]
                if feat_s0 is not None:
                    y = y + feat_s0[:, :, a::2, b::2].permute(0, 2, 3, 1)
                y = md.activation(y)
                m = y.reshape(-1, h * wd, y.shape[-1]) @ ht  # [B, H*W, 4]
                row.append(m.reshape(-1, h, wd, 4))
            phases.append(torch.stack(row, dim=-1))  # [B, H, W, 4, 2(b)]
        m = torch.stack(phases, dim=-2)  # [B, H, W, 4, 2(a), 2(b)]
        return m.permute(0, 3, 1, 4, 2, 5).reshape(-1, 4, 2 * h, 2 * wd)

    @staticmethod
    def _postprocess(masks: torch.Tensor, orig_im_size: torch.Tensor) -> torch.Tensor:
        # SamOnnxModel.mask_postprocessing: to 1024², crop the padding, then to the original size.
        masks = F.interpolate(masks, size=(IMG_SIZE, IMG_SIZE), mode="bilinear", align_corners=False)
        scale = IMG_SIZE / torch.max(orig_im_size)
        pre = torch.floor(scale * orig_im_size + 0.5).to(torch.int64)
        masks = masks[..., : pre[0], : pre[1]]
        size = orig_im_size.to(torch.int64)
        return F.interpolate(masks, size=(size[0], size[1]), mode="bilinear", align_corners=False)


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
