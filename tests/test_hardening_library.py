"""Tests that would catch small plausible bugs in the library: each asserts on tensors or files, not on
messages. (benchmarks/planted_bugs.py plants such bugs one at a time and counts the ones caught.)"""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors import safe_open

from artzoo import Workflow, WorkflowPipeline, fitting
from artzoo.hub import HUB_PATTERNS, INDEX_FILE


def test_each_transition_fits_with_its_own_learned_decay(tiny_pipeline, artwork, monkeypatch):
    thetas = [t.regularizer.theta for t in tiny_pipeline.transitions]
    assert not torch.equal(thetas[0][:4], thetas[1][:4])  # the fixture gives each transition its own θ
    seen = []
    optimise = fitting.optimise
    monkeypatch.setattr(fitting, "optimise", lambda *a, **k: (seen.append(a[4]), optimise(*a, **k))[1])
    tiny_pipeline.fit(tiny_pipeline.decompose(artwork), steps=2, regularizer="learned")
    assert len(seen) == 2
    for decay, t in zip(seen, tiny_pipeline.transitions):
        torch.testing.assert_close(decay, t.regularizer().detach())


def test_a_weight_decay_shrinks_every_transitions_increment(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    free, strong = tiny_pipeline.fit(wf, steps=10), tiny_pipeline.fit(wf, steps=10, regularizer=50.0)
    for i in range(2):
        assert strong.delta[i].norm() < 0.9 * free.delta[i].norm()


def test_decompose_takes_z_from_the_encoders_mean(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    for i, t in enumerate(tiny_pipeline.transitions):
        mu, logvar = t.latent_encoder(wf.targets[i + 1])
        assert torch.equal(wf.z[i], mu) and not torch.allclose(wf.z[i], logvar)
        assert torch.equal(wf.adain[i], t.generator.adain_params(mu))
    assert torch.equal(wf.images[0], wf.targets[0])  # the chain restarts from the inferred sketch


def test_fit_uses_the_perceptual_term_by_default(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    default = tiny_pipeline.fit(wf, steps=3)
    with_term = tiny_pipeline.fit(wf, steps=3, perceptual_weight=fitting.PERCEPTUAL_WEIGHT)
    without = tiny_pipeline.fit(wf, steps=3, perceptual_weight=0.0)
    assert fitting.PERCEPTUAL_WEIGHT > 0
    torch.testing.assert_close(default.delta[1], with_term.delta[1])
    assert not torch.allclose(default.delta[1], without.delta[1])
    # The first loss recorded is L1 + weight × perceptual distance of the unfitted first stage.
    x, target = wf.images[1], wf.targets[1]
    expected = (x - target).abs().mean() + fitting.PERCEPTUAL_WEIGHT * tiny_pipeline.perceptual(x, target)
    assert default.loss_history["flat"][0] == pytest.approx(float(expected.mean()), rel=1e-4)


def test_fit_hints_change_the_stage_only_inside_the_mask(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    hints = np.zeros((32, 32, 3), np.uint8)
    hints[:] = (20, 60, 230)  # blue everywhere: only the mask says where it counts
    mask = np.zeros((32, 32), bool)
    mask[:, :16] = True
    hinted = tiny_pipeline.fit_hints(wf, "flat", hints, mask, steps=30)
    blue = torch.tensor([20, 60, 230]) / 127.5 - 1

    def distance(w, cols):
        return float((w.images[1][0, :, :, cols] - blue[:, None, None]).abs().mean())

    inside, outside = slice(0, 16), slice(16, 32)
    assert distance(hinted, inside) < distance(wf, inside) - 0.05  # pulled towards the hint
    moved_in = float((hinted.images[1] - wf.images[1])[..., inside].abs().mean())
    moved_out = float((hinted.images[1] - wf.images[1])[..., outside].abs().mean())
    assert moved_out < 0.6 * moved_in  # the keep term holds the rest
    assert torch.equal(hinted.images[0], wf.images[0])
    assert not torch.equal(hinted.images[2], wf.images[2])  # later stages follow


def test_a_new_latent_regenerates_its_own_stage_and_keeps_the_increment(tiny_pipeline, artwork):
    fitted = tiny_pipeline.fit(tiny_pipeline.decompose(artwork), steps=3)
    z = tiny_pipeline.sample_z(11)
    edited = tiny_pipeline.edit(fitted, "flat", z=z)
    g = tiny_pipeline.transitions[0].generator
    expected = g(fitted.images[0], adain=g.adain_params(z) + fitted.delta[0])
    torch.testing.assert_close(edited.images[1], expected)
    assert torch.equal(edited.images[0], fitted.images[0]) and torch.equal(edited.delta[0], fitted.delta[0])
    g2 = tiny_pipeline.transitions[1].generator
    torch.testing.assert_close(edited.images[2], g2(edited.images[1], adain=fitted.adain[1] + fitted.delta[1]))


def test_generate_draws_each_transitions_own_latent(tiny_pipeline, sketch):
    wf = tiny_pipeline.generate(sketch, seed=5)
    assert not torch.equal(wf.z[0], wf.z[1])
    again = tiny_pipeline.generate(sketch, z=[wf.z[0][0], wf.z[1][0]])
    torch.testing.assert_close(again.images[-1], wf.images[-1])
    for i, t in enumerate(tiny_pipeline.transitions):
        torch.testing.assert_close(wf.images[i + 1], t.generator(wf.images[i], z=wf.z[i]))


# ---- files: dtype on disk, atomic replace, Hub patterns, dtype/device/revision honoured ----------------

def _dtypes(folder, component="generator_0") -> set[str]:
    with safe_open(str(folder / component / "model.safetensors"), "pt") as f:
        return {f.get_slice(k).get_dtype() for k in f.keys()}


def test_fp16_is_what_lands_on_disk(tiny_pipeline, tmp_path):
    half = tiny_pipeline.save_pretrained(tmp_path / "half", dtype=torch.float16)
    full = tiny_pipeline.save_pretrained(tmp_path / "full")
    assert _dtypes(half) == {"F16"} and _dtypes(full) == {"F32"}
    assert _dtypes(half, "regularizer_1") == {"F16"}


def test_a_save_over_an_existing_folder_replaces_it_completely(tiny_pipeline, tmp_path):
    target = tmp_path / "pipe"
    other = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=7)
    other.save_pretrained(target)
    (target / "stale.txt").write_text("from the old folder")
    tiny_pipeline.save_pretrained(target, include_discriminators=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temp or backup left behind
    assert not (target / "stale.txt").exists()
    loaded = WorkflowPipeline.from_pretrained(target)
    assert torch.equal(loaded.transitions[1].generator.head.weight, tiny_pipeline.transitions[1].generator.head.weight)
    assert not loaded.transitions[0].discriminators
    assert "disc_encoded_0" not in json.loads((target / INDEX_FILE).read_text())["components"]


def test_hub_patterns_download_every_file_a_published_pipeline_needs(tiny_dir):
    from huggingface_hub.utils import filter_repo_objects

    from artzoo import zoo

    for folder in [tiny_dir, *zoo.bundled_folders()]:
        files = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
        needed = [f for f in files if f == INDEX_FILE or f.endswith(("/config.json", "/model.safetensors"))
                  or f.startswith("examples/")]
        fetched = set(filter_repo_objects(files, allow_patterns=HUB_PATTERNS))
        assert set(needed) <= fetched, sorted(set(needed) - fetched)[:5]
        assert not [f for f in fetched if f.endswith((".py", ".pkl", ".bin", ".pt"))]


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_from_pretrained_honours_dtype(tiny_dir, dtype):
    loaded = WorkflowPipeline.from_pretrained(tiny_dir, dtype=dtype)
    assert {p.dtype for p in loaded.parameters()} == {dtype}


def test_from_pretrained_honours_device(tiny_dir):
    loaded = WorkflowPipeline.from_pretrained(tiny_dir, device="meta")  # a device every machine has
    assert {p.device.type for p in loaded.parameters()} == {"meta"}


def test_from_pretrained_honours_revision(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = tmp_path / "cache" / "models--artzoo-test--tiny"
    other = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=9)
    for ref, commit, source in (("main", "a" * 40, tiny_dir), ("v1", "b" * 40, None)):
        if source is None:
            other.save_pretrained(repo / "snapshots" / commit)
        else:
            shutil.copytree(source, repo / "snapshots" / commit)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    main = WorkflowPipeline.from_pretrained("artzoo-test/tiny", cache_dir=tmp_path / "cache")
    v1 = WorkflowPipeline.from_pretrained("artzoo-test/tiny", revision="v1", cache_dir=tmp_path / "cache")
    weight = lambda p: p.transitions[0].generator.head.weight  # noqa: E731
    assert torch.equal(weight(v1), weight(other)) and not torch.equal(weight(main), weight(v1))


def test_workflow_round_trip_keeps_every_tensor_and_its_precision(tiny_pipeline, artwork, tmp_path):
    fitted = tiny_pipeline.fit(tiny_pipeline.decompose(artwork), steps=2)
    fitted.delta[0] = fitted.delta[0] + 1e-6  # a difference fp16 would lose
    fitted.save(tmp_path / "wf.safetensors")
    back = Workflow.load(tmp_path / "wf.safetensors")
    for name in ("images", "targets", "z", "adain", "delta"):
        ours, theirs = getattr(fitted, name), getattr(back, name)
        assert len(ours) == len(theirs) and all(torch.equal(a, b) for a, b in zip(ours, theirs)), name
    assert back.placement == fitted.placement and back.loss_history == fitted.loss_history


def test_hints_hold_the_rest_of_the_stage_with_the_keep_term(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    hints = np.zeros((32, 32, 3), np.uint8)
    hints[:] = (20, 60, 230)
    mask = np.zeros((32, 32), bool)
    mask[:, :16] = True

    hinted = tiny_pipeline.fit_hints(wf, "flat", hints, mask, steps=30, keep_weight=2.0)
    moved = (hinted.images[1] - wf.images[1]).abs()
    inside, outside = float(moved[..., :16].mean()), float(moved[..., 16:].mean())
    assert inside > 0.1 and outside < 0.5 * inside  # a strong keep term holds the outside, not the hint


def test_hint_mask_takes_clear_colours_not_grey_lines_or_paper():
    from artzoo.images import hint_mask, to_tensor
    from PIL import Image

    picture = np.full((8, 8, 3), 255, np.uint8)
    picture[0, :] = (230, 150, 150)  # a pale but clear scribble
    picture[1, :] = (90, 90, 90)     # a pencil line
    mask = hint_mask(to_tensor(Image.fromarray(picture), 3))
    assert mask[0].all() and not mask[1:].any()


def test_reconstruction_error_is_the_final_stages_mean_l1(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    wf.images[-1] = wf.targets[-1] + 0.25
    wf.images[1] = wf.targets[1] + 0.5
    assert tiny_pipeline.reconstruction_error(wf) == pytest.approx(0.25)


def test_the_latent_encoder_returns_mean_then_log_variance():
    import torch.nn.functional as F

    enc = WorkflowPipeline.from_config(["sketch", "flat"], image_size=32, preset="tiny").transitions[0].latent_encoder
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    mu, logvar = enc(x)
    h = F.adaptive_avg_pool2d(enc.body(x), 1).flatten(1)
    assert torch.equal(mu, enc.mu(h)) and torch.equal(logvar, enc.logvar(h))


def test_learned_decay_is_scale_times_softplus_with_beta():
    from artzoo.models import LearnedRegularizer, RegularizerConfig

    reg = LearnedRegularizer(RegularizerConfig(num_params=3, init=0.0, scale=0.01, beta=100.0))
    torch.testing.assert_close(reg(), torch.full((3,), 0.01 * np.log(2) / 100))


def test_a_batched_fit_records_the_mean_loss_of_its_rows(tiny_pipeline, artwork):
    one, _ = tiny_pipeline.load_image(artwork, "detail")
    other = torch.flip(one, dims=[3])
    batch = tiny_pipeline.fit(tiny_pipeline.decompose(torch.cat([one, other])), steps=2)
    alone = [tiny_pipeline.fit(tiny_pipeline.decompose(x), steps=2) for x in (one, other)]
    expected = (alone[0].loss_history["flat"][0] + alone[1].loss_history["flat"][0]) / 2
    assert batch.loss_history["flat"][0] == pytest.approx(expected, rel=1e-4)


def test_fit_objective_weighs_the_perceptual_term():
    target, out = torch.zeros(1, 3, 32, 32), torch.rand(1, 3, 32, 32) * 2 - 1

    class Distance(torch.nn.Module):
        def features(self, x):
            return x

        def forward(self, x, target_features=None):
            return torch.full((x.shape[0],), 0.5)

    value = fitting.FitObjective(target, Distance(), perceptual_weight=2.5)(out)
    torch.testing.assert_close(value, out.abs().flatten(1).mean(1) + 2.5 * 0.5)


def test_pictures_are_rounded_to_8_bits():
    from artzoo.images import to_pil

    value = (100.6 / 127.5) - 1  # pixel 100.6
    assert np.asarray(to_pil(torch.full((1, 1, 2, 2), value))).tolist() == [[101, 101], [101, 101]]


def test_outputs_are_cut_back_to_the_inputs_box():
    from artzoo.images import Placement, restore_aspect, to_pil

    square = torch.full((1, 3, 32, 32), -1.0)  # black margins
    square[..., 8:24, :] = 1.0                 # the input's box, white
    restored = restore_aspect(to_pil(square), Placement(64, 32, (0, 8, 32, 24)))
    assert restored.size == (64, 32) and np.asarray(restored).min() == 255


def test_workflow_copies_keep_their_own_loss_history(tiny_pipeline, artwork):
    wf = tiny_pipeline.fit(tiny_pipeline.decompose(artwork), steps=2)
    copy = wf.copy()
    copy.loss_history["flat"].append(99.0)
    copy.loss_history["new"] = [1.0]
    assert wf.loss_history["flat"][-1] != 99.0 and "new" not in wf.loss_history


def test_by_stages_gives_each_transition_its_own_seed(sketch):
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0)
    wf, candidates = pipe.by_stages(sketch, n=2, seeds=5)
    explicit, same = pipe.by_stages(sketch, n=2, seeds=[5, 6]), pipe.by_stages(sketch, n=2, seeds=[5, 5])
    assert torch.equal(wf.z[1], explicit[0].z[1]) and not torch.equal(wf.z[1], same[0].z[1])


def test_interpolation_runs_from_the_first_code_to_the_second(tiny_pipeline):
    a, b = tiny_pipeline.sample_z(1), tiny_pipeline.sample_z(2)
    torch.testing.assert_close(tiny_pipeline.interpolate(a, b, 0.0), a)
    torch.testing.assert_close(tiny_pipeline.interpolate(a, b, 0.25), 0.75 * a + 0.25 * b)
