"""Checks of the wrappers against transformers' own forward (run: python -m pytest native-models/export).

Needs torch + transformers (not part of the Node CI); each test builds small pieces only.
"""

import sys
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sam_models import AmgDecoder, ArchError, MaskPostprocess, PromptDecoder, build_model, high_res_shapes, rle_counts_from_changes  # noqa: E402


@pytest.mark.parametrize("arch", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_export_decoder_equals_transformers_modules_with_shared_and_per_prompt_masks(arch):
    # "matmul" (own two-way transformer with layer-1 sharing, phase-layout upscaling; attention to the
    # per-prompt image side projected or factored) vs "conv" (transformers' TwoWayTransformer and
    # ConvTranspose2d modules), at a batch of mixed prompts. Per-prompt masks give every layer's image side
    # batch B (the general branch of both factored attentions), the shared mask batch 1 in layer 1.
    model, family = build_model(arch, random_init=True, seed=8)
    g = torch.Generator().manual_seed(9)
    emb = torch.randn(1, 256, 64, 64, generator=g)
    feats = [torch.randn(s, generator=g) for s in high_res_shapes(family)]
    coords = torch.rand(5, 3, 2, generator=g) * 1024
    labels = torch.tensor([[1.0, -1.0, -1.0], [0.0, 1.0, -1.0], [2.0, 3.0, -1.0], [1.0, 1.0, 0.0], [1.0, -1.0, -1.0]])
    cases = [(torch.zeros(1, 1, 256, 256), torch.zeros(1)), (torch.randn(5, 1, 256, 256, generator=g) * 4, torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0]))]
    projected = PromptDecoder(model, family)
    factored = PromptDecoder(model, family)
    factored.factored = True
    assert not projected.factored and AmgDecoder.factored
    with torch.no_grad():
        for mask, has in cases:
            want = PromptDecoder(model, family, upscale="conv")(emb, coords, labels, mask, has, *feats)
            assert want[1].std() > 0.05
            for dec in (projected, factored):
                got = dec(emb, coords, labels, mask, has, *feats)
                assert got[1].shape == (5, 4, 256, 256)
                assert torch.allclose(got[1], want[1], atol=1e-4), (got[1] - want[1]).abs().max()
                assert torch.allclose(got[0], want[0], atol=1e-5), (got[0] - want[0]).abs().max()


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


@pytest.mark.parametrize("arch", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_batched_decoder_broadcasts_one_shared_zero_mask_input_over_the_prompts(arch):
    model, family = build_model(arch, random_init=True, seed=5)
    dec = PromptDecoder(model, family)
    emb = torch.randn(1, 256, 64, 64)
    feats = [] if family == "sam" else [torch.randn(1, 32, 256, 256), torch.randn(1, 64, 128, 128)]
    coords = torch.rand(3, 2, 2) * 1024
    labels = torch.tensor([[1.0, -1.0], [0.0, 1.0], [1.0, 0.0]])
    with torch.no_grad():
        iou_b, low_b = dec(emb, coords, labels, torch.zeros(3, 1, 256, 256), torch.zeros(3), *feats)
        iou_1, low_1 = dec(emb, coords, labels, torch.zeros(1, 1, 256, 256), torch.zeros(1), *feats)
    assert low_1.shape == (3, 4, 256, 256) and iou_1.shape == (3, 4)
    assert torch.allclose(low_1, low_b, atol=1e-5)
    assert torch.allclose(iou_1, iou_b, atol=1e-6)
    # the prompts differ, so a graph that dropped the batch (one prompt's answer copied) would fail here
    assert (low_1[0] - low_1[1]).abs().max() > 1e-2


# SAM's attention happens to broadcast a batch-1 image side against B prompts; SAM2's reshapes by batch and
# fails without the expand in PromptDecoder, so both families are exported.
@pytest.mark.parametrize("arch", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_exported_batched_decoder_takes_mask_input_of_batch_one_or_b(tmp_path, arch):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np
    from export import export_batched_decoder

    model, family = build_model(arch, random_init=True, seed=6)
    g = torch.Generator().manual_seed(7)
    emb = torch.randn(1, 256, 64, 64, generator=g)
    feats = [torch.randn(s, generator=g) for s in high_res_shapes(family)]
    dst = str(tmp_path / "decoder_batched.onnx")
    export_batched_decoder(model, family, dst, emb, feats, g, "cpu")
    sess = ort.InferenceSession(dst, providers=["CPUExecutionProvider"])
    dims = {i.name: i.shape[0] for i in sess.get_inputs()}
    assert dims["mask_input"] == dims["has_mask_input"] != dims["point_coords"]
    feeds = {"image_embeddings": emb.numpy(), "point_coords": (torch.rand(3, 2, 2, generator=g) * 1024).numpy(),
             "point_labels": np.array([[1, -1], [0, 1], [1, 1]], np.float32)}
    feeds.update({name: f.numpy() for name, f in zip(["high_res_feats_0", "high_res_feats_1"], feats)})
    names = ["iou_predictions", "low_res_masks"]
    iou_b, low_b = sess.run(names, {**feeds, "mask_input": np.zeros((3, 1, 256, 256), np.float32), "has_mask_input": np.zeros(3, np.float32)})
    iou_1, low_1 = sess.run(names, {**feeds, "mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32)})
    assert low_1.shape == (3, 4, 256, 256) and iou_1.shape == (3, 4)
    assert np.abs(low_1 - low_b).max() <= 1e-5 and np.abs(iou_1 - iou_b).max() <= 1e-5
    assert np.abs(low_1[0] - low_1[1]).max() > 1e-2
    # and a per-prompt mask batch still means per-prompt masks: the ONNX graph matches PyTorch with has = 1
    mask = torch.randn(3, 1, 256, 256, generator=g) * 4
    has = torch.tensor([1.0, 0.0, 1.0])
    with torch.no_grad():
        want = PromptDecoder(model, family, upscale="conv")(emb, torch.from_numpy(feeds["point_coords"]),
                                                             torch.from_numpy(feeds["point_labels"]), mask, has, *feats)
    got = sess.run(names, {**feeds, "mask_input": mask.numpy(), "has_mask_input": has.numpy()})
    assert np.abs(got[1] - want[1].numpy()).max() < 1e-3 and np.abs(got[0] - want[0].numpy()).max() < 1e-4


def test_postprocess_run_starts_give_column_major_rle_of_the_cropped_mask():
    low = torch.full((1, 256, 256), -5.0)
    low[0, :10, :20] = 5.0  # top-left block
    first, changes = MaskPostprocess()(low, torch.tensor([100.0, 200.0]))
    (counts,) = rle_counts_from_changes(first.tolist(), changes.tolist(), 100 * 200)
    full = PromptDecoder._postprocess(low.unsqueeze(1), torch.tensor([100.0, 200.0]))[0, 0] > 0
    col = full.T.reshape(-1).int()
    assert first.tolist() == [1] and counts[0] == 0
    assert sum(counts) == 100 * 200 and sum(counts[1::2]) == int(col.sum())


@pytest.mark.parametrize("arch", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_amg_decoder_computes_masks_of_the_prompts_that_can_pass_the_iou_filter(arch):
    model, family = build_model(arch, random_init=True, seed=10)
    g = torch.Generator().manual_seed(11)
    emb = torch.randn(1, 256, 64, 64, generator=g)
    feats = [torch.randn(s, generator=g) for s in high_res_shapes(family)]
    coords = torch.zeros(12, 2, 2)
    coords[:, 0] = torch.rand(12, 2, generator=g) * 1024
    labels = torch.tensor([[1.0, -1.0]]).repeat(12, 1)
    args = (emb, coords, labels, torch.zeros(1, 1, 256, 256), torch.zeros(1), *feats)
    with torch.no_grad():
        iou, low = PromptDecoder(model, family)(*args)
        best = iou[:, 1:].amax(1)
        srt = best.sort().values
        # thresholds in gaps between scores, so float rounding cannot move a prompt across
        for t in (float(srt[5] + srt[6]) / 2, float(best.max()) + 1, float(best.min()) - 1):
            a_iou, idx, a_low = AmgDecoder(model, family)(*args, torch.tensor([t]))
            # decoder_amg attends in factored form: the same function up to float rounding
            assert torch.allclose(a_iou, iou, atol=1e-5)
            assert idx.tolist() == torch.nonzero(best > t).flatten().tolist()
            assert a_low.shape == (len(idx), 4, 256, 256)
            assert torch.allclose(a_low, low[idx], atol=1e-4)
    assert int((best > float(srt[5] + srt[6]) / 2).sum()) == 6


def test_exported_amg_decoder_handles_no_some_and_all_survivors(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np
    from export import export_amg_decoder

    model, family = build_model("sam_vit_b", random_init=True, seed=12)
    g = torch.Generator().manual_seed(13)
    emb = torch.randn(1, 256, 64, 64, generator=g)
    dst = str(tmp_path / "decoder_amg.onnx")
    export_amg_decoder(model, family, dst, emb, [], g, "cpu")
    sess = ort.InferenceSession(dst, providers=["CPUExecutionProvider"])
    coords = np.zeros((9, 2, 2), np.float32)
    coords[:, 0] = np.random.default_rng(0).random((9, 2)) * 1024
    feeds = {"image_embeddings": emb.numpy(), "point_coords": coords, "point_labels": np.tile(np.array([[1, -1]], np.float32), (9, 1)),
             "mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32)}
    with torch.no_grad():
        iou, low = PromptDecoder(model, family, upscale="conv")(*(torch.from_numpy(v) for v in feeds.values()))
    best = iou[:, 1:].amax(1).numpy()
    for t in (float(best.max()) + 1, float(np.median(best)), float(best.min()) - 1):
        got_iou, idx, got_low = sess.run(["iou_predictions", "prompt_index", "low_res_masks"], {**feeds, "iou_threshold": np.array([t], np.float32)})
        assert idx.tolist() == np.nonzero(best > t)[0].tolist()
        assert got_low.shape == (len(idx), 4, 256, 256)
        assert np.abs(got_iou - iou.numpy()).max() < 1e-4
        if len(idx):
            assert np.abs(got_low - low.numpy()[idx]).max() < 1e-3


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(ArchError, match="unknown architecture"):
        build_model("sam_vit_x", random_init=True)
