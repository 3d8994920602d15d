"""Checks of the wrappers against transformers' own forward (run: python -m pytest native-models/export).

Needs torch + transformers (not part of the Node CI); each test builds small pieces only.
"""

import sys
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sam_models import ArchError, MaskPostprocess, PromptDecoder, build_model, convtranspose2x2_as_matmul, rle_counts_from_changes  # noqa: E402


def test_convtranspose_rewrite_is_exact_at_any_batch():
    conv = torch.nn.ConvTranspose2d(32, 8, kernel_size=2, stride=2)
    for b in (1, 5):
        x = torch.randn(b, 32, 16, 16)
        assert torch.allclose(convtranspose2x2_as_matmul(conv, x), conv(x), atol=1e-5)


@pytest.mark.parametrize("arch,first", [("sam_vit_b", 1), ("sam2.1_hiera_tiny", 2)])
def test_decoder_returns_transformers_multimask_outputs(arch, first):
    model, family = build_model(arch, random_init=True, seed=3)
    emb = torch.randn(1, 256, 64, 64)
    feats = [] if family == "sam" else [torch.randn(1, 32, 256, 256), torch.randn(1, 64, 128, 128)]
    pt = torch.tensor([[[400.0, 300.0]]])
    with torch.no_grad():
        hf = model(image_embeddings=emb if family == "sam" else [*feats, emb], input_points=pt[:, None],
                   input_labels=torch.ones(1, 1, 1, dtype=torch.long), multimask_output=True)
        coords = torch.cat([pt, torch.zeros(1, 1, 2)], 1)
        labels = torch.tensor([[1.0, -1.0]])
        for upscale in ("matmul", "conv"):
            iou, low = PromptDecoder(model, family, upscale=upscale)(emb, coords, labels, torch.zeros(1, 1, 256, 256), torch.zeros(1), *feats)
            assert torch.allclose(low[0, 1:], hf.pred_masks[0, 0], atol=1e-4)
            assert torch.allclose(iou[0, 1:], hf.iou_scores[0, 0], atol=1e-5)
    # random weights must give non-degenerate logits, or agreement numbers prove nothing
    assert low.std() > 0.05


def test_batched_decoder_equals_one_prompt_at_a_time():
    model, family = build_model("sam_vit_b", random_init=True, seed=4)
    dec = PromptDecoder(model, family)
    emb = torch.randn(1, 256, 64, 64)
    coords = torch.rand(3, 2, 2) * 1024
    labels = torch.tensor([[1.0, -1.0], [0.0, 1.0], [2.0, 3.0]])
    mask = torch.randn(3, 1, 256, 256)
    has = torch.tensor([0.0, 1.0, 0.0])
    with torch.no_grad():
        iou, low = dec(emb, coords, labels, mask, has)
        for i in range(3):
            i1, l1 = dec(emb, coords[i : i + 1], labels[i : i + 1], mask[i : i + 1], has[i : i + 1])
            assert torch.allclose(l1[0], low[i], atol=1e-4)
            assert torch.allclose(i1[0], iou[i], atol=1e-5)


def test_postprocess_run_starts_give_column_major_rle_of_the_cropped_mask():
    low = torch.full((1, 256, 256), -5.0)
    low[0, :10, :20] = 5.0  # top-left block
    first, changes = MaskPostprocess()(low, torch.tensor([100.0, 200.0]))
    (counts,) = rle_counts_from_changes(first.tolist(), changes.tolist(), 100 * 200)
    full = PromptDecoder._postprocess(low.unsqueeze(1), torch.tensor([100.0, 200.0]))[0, 0] > 0
    col = full.T.reshape(-1).int()
    assert first.tolist() == [1] and counts[0] == 0
    assert sum(counts) == 100 * 200 and sum(counts[1::2]) == int(col.sum())


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(ArchError, match="unknown architecture"):
        build_model("sam_vit_x", random_init=True)
