"""WorkflowPipeline behaviour on a tiny random pipeline: determinism, variations, decompose/fit/edit, hints."""

import numpy as np
import pytest
import torch

from artzoo import ArtzooError, Workflow, WorkflowPipeline


def test_generate_is_deterministic_for_a_seed(tiny_pipeline, sketch):
    a = tiny_pipeline.generate(sketch, seed=7)
    b = tiny_pipeline.generate(sketch, seed=7)
    c = tiny_pipeline.generate(sketch, seed=8)
    assert [im.size for im in a.pil_images()] == [(32, 32)] * 3
    assert a.pil_images()[0].mode == "L" and a.pil_images()[1].mode == "RGB"
    for x, y in zip(a.images, b.images):
        assert torch.equal(x, y)
    assert not torch.equal(a.images[-1], c.images[-1])


def test_generate_accepts_explicit_z(tiny_pipeline, sketch):
    z = torch.randn(8)
    a = tiny_pipeline.generate(sketch, z=z)
    b = tiny_pipeline.generate(sketch, z=[z, z])
    assert torch.equal(a.images[-1], b.images[-1])
    with pytest.raises(ArtzooError, match="nz"):
        tiny_pipeline.generate(sketch, z=torch.randn(5))
    with pytest.raises(ArtzooError, match="one z per transition"):
        tiny_pipeline.generate(sketch, z=[z])


def test_variations_differ_and_repeat(tiny_pipeline, sketch):
    vs = tiny_pipeline.variations(sketch, "sketch", n=4, seed=3)
    arrays = [np.asarray(v, dtype=np.float32) for v in vs]
    assert len(vs) == 4 and vs[0].size == (32, 32)
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.abs(arrays[i] - arrays[j]).mean() > 0.1
    again = tiny_pipeline.variations(sketch, 0, n=4, seed=3)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(vs, again))
    with pytest.raises(ArtzooError, match="last stage"):
        tiny_pipeline.variations(np.zeros((32, 32, 3), np.uint8) + 100, "detail")


def _forward_counter(pipe) -> list[int]:
    """Counts the pictures each transition's generator renders (batch rows), through forward hooks."""
    counts = [0] * len(pipe.transitions)
    for i, t in enumerate(pipe.transitions):
        t.generator.register_forward_hook(lambda m, args, out, i=i: counts.__setitem__(i, counts[i] + out.shape[0]))
    return counts


def test_by_stages_continues_from_the_chosen_candidates_rendering_each_stage_once(sketch):
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0)
    counts = _forward_counter(pipe)
    wf, candidates = pipe.by_stages(sketch, n=3, seeds=[5, 9], chosen=[2, 1])
    assert counts == [3, 3]  # the candidates only: the chosen one is the workflow's picture
    assert [len(c) for c in candidates] == [3, 3]
    for k, j in ((1, 2), (2, 1)):
        assert np.array_equal(np.asarray(wf.image(k)), np.asarray(candidates[k - 1][j]))
    # The same pictures as generating with the chosen candidates' latents, and as `variations`.
    z = [pipe.sample_z(5, 3, transition=0)[2], pipe.sample_z(9, 3, transition=1)[1]]
    assert torch.allclose(wf.images[-1], pipe.generate(sketch, z=z).images[-1], atol=1e-4)
    assert all(np.array_equal(np.asarray(a), np.asarray(b))
               for a, b in zip(candidates[0], pipe.variations(sketch, 0, n=3, seed=5)))
    assert wf.placement is not None and wf.image(2, original_size=True).size == (60, 90)


def test_by_stages_from_a_later_stage_keeps_earlier_ones(sketch):
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0)
    wf, _ = pipe.by_stages(sketch, n=2, seeds=0)
    picked, later = pipe.by_stages(wf, n=2, seeds=[0, 4], chosen=[0, None], from_stage=1)
    assert len(later) == 1 and torch.equal(picked.images[1], wf.images[1])
    assert torch.equal(picked.z[1], wf.z[1])  # None keeps the workflow's own latent
    with pytest.raises(ArtzooError, match="not among the 2 drawn"):
        pipe.by_stages(wf, n=2, seeds=0, chosen=[0, 5], from_stage=1)
    with pytest.raises(ArtzooError, match="one seed and one choice per transition"):
        pipe.by_stages(sketch, n=2, seeds=[1])


def test_decompose_recovers_every_stage(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    assert len(wf.targets) == 3 and len(wf.z) == 2
    assert wf.targets[0].shape == (1, 1, 32, 32) and wf.targets[2].shape == (1, 3, 32, 32)
    assert torch.equal(wf.images[0], wf.targets[0])  # the chain restarts from the inferred sketch
    # The input is kept at its aspect: 64×48 placed in the square, and given back at 64×48.
    assert wf.image("detail", original_size=True).size == (64, 48)


def test_fit_lowers_reconstruction_loss(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    calls = []
    fitted = tiny_pipeline.fit(wf, steps=30, progress=lambda *a: calls.append(a))
    assert tiny_pipeline.reconstruction_error(fitted) < tiny_pipeline.reconstruction_error(wf)
    for name in ("flat", "detail"):
        curve = fitted.loss_history[name]
        assert len(curve) == 30 and curve[-1] < curve[0]
    assert calls[-1][:3] == (60, 60, "detail")
    assert all(torch.count_nonzero(d) > 0 for d in fitted.delta)
    assert all(torch.count_nonzero(d) == 0 for d in wf.delta)  # fit returns a new workflow


def test_weight_decay_and_learned_regulariser_change_the_fit(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    free = tiny_pipeline.fit(wf, steps=20)
    strong = tiny_pipeline.fit(wf, steps=20, regularizer=5.0)
    learned = tiny_pipeline.fit(wf, steps=20, regularizer="learned")
    assert strong.delta[0].norm() < free.delta[0].norm()
    assert not torch.allclose(learned.delta[0], free.delta[0])
    with pytest.raises(ArtzooError, match="regularizer"):
        tiny_pipeline.fit(wf, steps=1, regularizer="strong")


def test_modulated_decoder_takes_its_scale_and_bias_from_z_and_fits_and_round_trips(artwork, tmp_path):
    pipe = WorkflowPipeline.from_config(["sketch", "flat"], image_size=32, preset="tiny", regularizer=True,
                                        overrides={"generator": {"modulated_decoder": True}})
    g = pipe.transitions[0].generator
    plain = WorkflowPipeline.from_config(["sketch", "flat"], image_size=32, preset="tiny").transitions[0].generator
    ups = [up[1].weight.numel() for up in g.ups]
    assert g.num_adain_params == plain.num_adain_params + 2 * sum(ups)
    mask = g.adain_bias_mask()
    assert mask.shape == (g.num_adain_params,) and int(mask.sum()) == g.num_adain_params // 2
    # The decoder's entries (the vector's tail) act on the picture, its bias entries as biases.
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    adain = g.adain_params(torch.zeros(1, g.config.nz))
    bumped = adain.clone()
    bumped[0, plain.num_adain_params:] += mask[plain.num_adain_params:].float()
    with torch.no_grad():
        assert (g(x, adain=adain) - g(x, adain=bumped)).abs().max() > 1e-3
    # Fitting, the learned regulariser and saving follow the longer vector.
    fitted = pipe.fit(pipe.decompose(artwork), steps=3, regularizer="learned")
    assert fitted.delta[0].shape[-1] == g.num_adain_params
    pipe.save_pretrained(tmp_path / "mod")
    loaded = WorkflowPipeline.from_pretrained(tmp_path / "mod")
    assert loaded.transitions[0].generator.config.modulated_decoder
    with torch.no_grad():
        assert torch.equal(loaded.transitions[0].generator(x, adain=adain), g(x, adain=adain))


def test_transition_overrides_change_one_transition_only():
    """chairs modulates only its colour network; its other networks keep their weights and regularisers."""
    stages = ["sketch", "flat", "detail"]
    pipe = WorkflowPipeline.from_config(stages, image_size=32, preset="tiny", regularizer=True,
                                        transition_overrides={"1": {"generator": {"modulated_decoder": True}}})
    assert [t.generator.config.modulated_decoder for t in pipe.transitions] == [False, True]
    assert [t.regularizer.config.num_params for t in pipe.transitions] == [t.generator.num_adain_params for t in pipe.transitions]
    # The per-transition fields win over the all-transition ones.
    both = WorkflowPipeline.from_config(stages, image_size=32, preset="tiny",
                                        overrides={"generator": {"modulated_decoder": True}},
                                        transition_overrides={0: {"generator": {"modulated_decoder": False}}})
    assert [t.generator.config.modulated_decoder for t in both.transitions] == [False, True]
    for bad in ("2", "colour", -1):
        with pytest.raises(ArtzooError, match="transition_overrides"):
            WorkflowPipeline.from_config(stages, image_size=32, preset="tiny", transition_overrides={bad: {}})


def test_learned_regulariser_missing_is_a_clear_error(artwork):
    pipe = WorkflowPipeline.from_config(["sketch", "flat"], image_size=32, preset="tiny")
    with pytest.raises(ArtzooError, match="no learned regulariser"):
        pipe.fit(pipe.decompose(artwork), steps=1, regularizer="learned")


def test_edit_keeps_earlier_stages_and_fitted_increments(tiny_pipeline, artwork):
    fitted = tiny_pipeline.fit(tiny_pipeline.decompose(artwork), steps=5)
    edited = tiny_pipeline.edit(fitted, "detail", z=tiny_pipeline.sample_z(5))
    assert torch.equal(edited.images[0], fitted.images[0]) and torch.equal(edited.images[1], fitted.images[1])
    assert not torch.equal(edited.images[2], fitted.images[2])
    assert torch.equal(edited.delta[1], fitted.delta[1])

    repainted = np.asarray(fitted.image("flat")).copy()
    repainted[:16] = (30, 200, 90)
    by_image = tiny_pipeline.edit(fitted, 1, image=repainted)
    assert torch.equal(by_image.images[0], fitted.images[0])
    assert not torch.equal(by_image.images[2], fitted.images[2])

    # Interpolating half-way lands between the two edits.
    z_new = tiny_pipeline.sample_z(9)
    half = tiny_pipeline.edit(fitted, "flat", z=tiny_pipeline.interpolate(fitted.z[0], z_new, 0.5))
    assert torch.allclose(half.z[0], (fitted.z[0] + z_new) / 2)


def test_edit_errors(tiny_pipeline, artwork, sketch):
    wf = tiny_pipeline.decompose(artwork)
    with pytest.raises(ArtzooError, match="out of range"):
        tiny_pipeline.edit(wf, 3, z=tiny_pipeline.sample_z(0))
    with pytest.raises(ArtzooError, match="unknown stage"):
        tiny_pipeline.edit(wf, "shading", z=tiny_pipeline.sample_z(0))
    with pytest.raises(ArtzooError, match="no latent"):
        tiny_pipeline.edit(wf, 0, z=tiny_pipeline.sample_z(0))
    with pytest.raises(ArtzooError, match="new image or a new z"):
        tiny_pipeline.edit(wf, 1)
    other = WorkflowPipeline.from_config(["sketch", "colour"], image_size=32, preset="tiny")
    with pytest.raises(ArtzooError, match="different pipeline"):
        other.edit(wf, 1, z=other.sample_z(0))
    with pytest.raises(ArtzooError, match="no targets"):
        tiny_pipeline.fit(tiny_pipeline.generate(sketch, seed=0))


def test_sketch_redraw_keeps_the_look(tiny_pipeline, artwork, sketch):
    fitted = tiny_pipeline.fit(tiny_pipeline.decompose(artwork), steps=5)
    redrawn = tiny_pipeline.edit(fitted, "sketch", image=sketch)
    assert not torch.equal(redrawn.images[0], fitted.images[0])
    assert all(torch.equal(a, b) for a, b in zip(redrawn.delta, fitted.delta))


def test_colour_hints_pull_the_stage_towards_the_scribble(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    hints = np.full((32, 32, 3), 255, np.uint8)
    hints[4:28, 4:28] = (20, 60, 230)
    mask = np.zeros((32, 32), bool)
    mask[4:28, 4:28] = True
    target = torch.tensor([20, 60, 230]) / 127.5 - 1

    def err(w):
        return float((w.images[1][0, :, 4:28, 4:28] - target[:, None, None]).abs().mean())

    hinted = tiny_pipeline.fit_hints(wf, "flat", hints, mask, steps=30)
    assert err(hinted) < err(wf)
    assert torch.equal(hinted.images[0], wf.images[0])
    auto_mask = tiny_pipeline.fit_hints(wf, "flat", hints, steps=3)  # mask taken from the coloured pixels
    assert auto_mask.loss_history["hints:flat"]
    with pytest.raises(ArtzooError, match="no colour hints"):
        tiny_pipeline.fit_hints(wf, "flat", np.full((32, 32, 3), 255, np.uint8), steps=1)
    with pytest.raises(ArtzooError, match="colour stage"):
        tiny_pipeline.fit_hints(wf, "sketch", hints)


def test_workflow_save_and_load_round_trip(tiny_pipeline, artwork, tmp_path):
    fitted = tiny_pipeline.fit(tiny_pipeline.decompose(artwork), steps=3)
    fitted.save(tmp_path / "wf.safetensors")
    back = Workflow.load(tmp_path / "wf.safetensors")
    for name in ("images", "targets", "z", "adain", "delta"):
        assert all(torch.equal(a, b) for a, b in zip(getattr(fitted, name), getattr(back, name)))
    assert back.placement == fitted.placement and back.loss_history == fitted.loss_history
    again = tiny_pipeline.edit(back, "detail", z=tiny_pipeline.sample_z(1))  # usable after reload
    assert again.images[2].shape == (1, 3, 32, 32)
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(ArtzooError, match="not a readable workflow"):
        Workflow.load(tmp_path / "junk.safetensors")


def test_batches_fit_each_row_as_if_alone(tiny_pipeline, artwork):
    one, _ = tiny_pipeline.load_image(artwork, "detail")
    other = torch.flip(one, dims=[3])
    batch = tiny_pipeline.fit(tiny_pipeline.decompose(torch.cat([one, other])), steps=5, regularizer=0.5)
    alone = tiny_pipeline.fit(tiny_pipeline.decompose(one), steps=5, regularizer=0.5)
    assert batch.images[-1].shape[0] == 2
    assert torch.allclose(batch.delta[1][:1], alone.delta[1], atol=1e-4)
    assert torch.allclose(batch.images[-1][:1], alone.images[-1], atol=1e-4)


def test_latent_optimisation_baseline(tiny_pipeline, artwork):
    wf = tiny_pipeline.decompose(artwork)
    fitted = tiny_pipeline.fit(wf, steps=20, variable="latent")
    assert not torch.equal(fitted.z[0], wf.z[0]) and all(torch.count_nonzero(d) == 0 for d in fitted.delta)
    assert fitted.loss_history["detail"][-1] < fitted.loss_history["detail"][0]
    with pytest.raises(ArtzooError, match="variable='latent'"):
        tiny_pipeline.fit(wf, steps=1, variable="latent", regularizer=0.1)


def test_edit_without_delta_is_the_papers_editing_protocol(tiny_pipeline, artwork):
    fitted = tiny_pipeline.fit(tiny_pipeline.decompose(artwork), steps=5)
    z = tiny_pipeline.sample_z(3)
    kept = tiny_pipeline.edit(fitted, "flat", z=z)
    plain = tiny_pipeline.edit(fitted, "flat", z=z, keep_delta=False)
    assert torch.equal(kept.delta[0], fitted.delta[0]) and torch.count_nonzero(plain.delta[0]) == 0
    assert torch.equal(plain.delta[1], fitted.delta[1])  # later stages keep theirs either way
    g = tiny_pipeline.transitions[0].generator
    assert torch.allclose(plain.images[1], g(fitted.images[0], z=z), atol=1e-5)
    assert not torch.allclose(kept.images[1], plain.images[1])


def test_priors_lists_what_sample_z_can_draw_from():
    from artzoo.models import LatentPrior

    plain = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny")
    assert plain.priors(0) == ("normal",)
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", prior=True)
    assert pipe.priors(1) == ("normal", "bank", "learned")
    t = pipe.transitions[1]
    t.prior = LatentPrior(t.prior.config.replace(neighbours=2))
    assert pipe.priors(1) == ("normal", "bank", "learned")  # keys not filled yet
    t.prior.index(torch.zeros(3, t.prior.config.nz), torch.ones(3, t.prior.config.hidden))
    assert pipe.priors(1) == ("normal", "bank", "learned", "nearest") and pipe.priors(0) == ("normal", "bank", "learned")
    # The default: the most plausible offered with a condition, bank without one, N(0, I) without a prior.
    assert [pipe.default_prior(i) for i in (0, 1)] == ["learned", "nearest"]
    assert pipe.default_prior(1, conditioned=False) == "bank" and plain.default_prior(0, conditioned=False) == "normal"
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    for i in (0, 1):
        assert torch.equal(pipe.sample_z(5, 3, i, condition=x), pipe.sample_z(5, 3, i, prior=pipe.default_prior(i), condition=x))


def test_a_pipeline_can_choose_each_transitions_z_source_and_keeps_the_choice(tmp_path):
    """chairs' colours do not follow from the shape, so its colour transition samples from the bank."""
    from artzoo.models import LatentPrior

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", prior=True)
    t = pipe.transitions[1]
    t.prior = LatentPrior(t.prior.config.replace(neighbours=2))
    t.prior.index(torch.randn(5, t.prior.config.nz), torch.randn(5, t.prior.config.hidden))
    pipe.sampling = [None, "bank"]
    assert [pipe.default_prior(i) for i in (0, 1)] == ["learned", "bank"]
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    drawn = pipe.sample_z(5, 3, 1, condition=x)
    assert torch.equal(drawn, pipe.sample_z(5, 3, 1, prior="bank", condition=x))
    assert all(any(torch.equal(z, code) for code in t.prior.bank[:5].float()) for z in drawn)
    pipe.save_pretrained(tmp_path / "p")
    assert WorkflowPipeline.from_pretrained(tmp_path / "p").sampling == [None, "bank"]
    for bad in (["bank"], [None, "nearby"], "bank"):
        with pytest.raises(ArtzooError, match="sampling"):
            pipe.sampling = bad
    plain = WorkflowPipeline.from_config(["sketch", "flat"], image_size=32, preset="tiny")
    with pytest.raises(ArtzooError, match="offers \\['normal'\\]"):
        plain.sampling = ["learned"]
