"""train/evaluate.py end to end: a tiny pipeline on a tiny dataset built by the real folder recipe."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artzoo import ArtzooError, WorkflowPipeline
from artzoo.data import build
from artzoo.evaluation.normals import angular_error, evaluate_normals, normals_markdown
from artzoo.evaluation.tables import starting_decay

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    src = tmp_path_factory.mktemp("art")
    rng = np.random.default_rng(1)
    for i in range(40):
        img = np.full((48, 48, 3), 255, np.uint8)
        x, y, r = rng.integers(10, 38, 3)
        img[max(0, y - r // 2):y + r // 2, max(0, x - r // 2):x + r // 2] = rng.integers(0, 255, 3)
        Image.fromarray(img).save(src / f"art{i:02d}.png")
    out = tmp_path_factory.mktemp("data") / "tiny"
    meta = build("folder", out, size=32, src=str(src), workers=1, progress=False)
    assert meta["counts"]["test"] >= 2
    return out


def test_evaluate_end_to_end(tiny_dir, tiny_data, tmp_path):
    from artzoo.evaluation import METRICS_MARKER

    pipeline = shutil.copytree(tiny_dir, tmp_path / "tiny")
    (pipeline / "README.md").write_text(f"# tiny\n\n## Evaluation\n\n{METRICS_MARKER}\nNot evaluated yet.\n\n## Licence\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "train" / "evaluate.py"), "--pipeline", str(pipeline), "--data", str(tiny_data),
         "--steps", "3", "--trials", "4", "--limit", "4", "--train-limit", "20", "--out", str(tmp_path / "res"),
         "--plots", str(tmp_path / "plots"), "--threads", "1", "--update-card", "--methods", "all",
         "--bootstrap", "50"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    r = json.loads((tmp_path / "res" / "tiny.json").read_text())
    assert list(r["methods"]) == ["none", "latent z", "AdaIN", "AdaIN + small decay", "AdaIN + strong decay",
                                  "AdaIN + learned reg."]
    assert r["edit_protocol"]["name"] == "paper" and r["edit_protocol"]["keep_delta"] is False
    assert r["edit_protocol"]["stages"] == ["flat", "detail", "flat", "detail"]  # every stage in turn
    for m in r["methods"].values():
        assert np.isfinite([m["l1"], m["fd"], m["edit_fd_mean"], m["edit_fd_std"], *m["kid"]]).all()
        assert len(m["edit_fds"]) == 4 and m["edit_keep_delta"] is False
        for key, point in (("l1", m["l1"]), ("fd", m["fd"]), ("edit_fd", m["edit_fd_mean"]), ("kid", m["kid"][0])):
            lo, hi = m[f"{key}_ci"]
            assert lo <= point <= hi, key
    assert r["methods"]["AdaIN"]["l1"] < r["methods"]["none"]["l1"]
    # Constant decays are multiples of the regulariser's starting w (the tiny pipeline's: 1e-3).
    w0 = starting_decay(WorkflowPipeline.from_pretrained(pipeline))
    assert r["methods"]["AdaIN + small decay"]["decay"] == pytest.approx(w0)
    assert r["methods"]["AdaIN + strong decay"]["decay"] == pytest.approx(100 * w0)
    assert [(p["method"], p["baseline"]) for p in r["paired"]] == [("AdaIN + learned reg.", "AdaIN"), ("AdaIN", "none")]
    assert r["lower_bound_fd"] >= 0 and set(r["diversity"]) == {"sketch→flat", "flat→detail"}
    assert all(d["pixel_l1"] > 0 for d in r["diversity"].values())
    # The learned w per transition and term (the paper's Figure 10), as numbers.
    w = WorkflowPipeline.from_pretrained(pipeline).transitions[1].regularizer().detach().double()
    detail = r["learned_w"]["flat→detail"]
    assert detail["all"]["quantiles"][1] == pytest.approx(float(w.quantile(0.5)), rel=1e-6)
    assert detail["all"]["near_zero"] == pytest.approx(float((w < 1e-6).double().mean()))
    assert detail["scale"]["quantiles"][0] <= detail["scale"]["quantiles"][1] <= detail["scale"]["quantiles"][2]
    md = (tmp_path / "res" / "tiny.md").read_text()
    assert "| flat→detail | bias |" in md
    assert "| AdaIN + learned reg. |" in md and "Paired, AdaIN + learned reg. − AdaIN" in md
    assert "the paper's protocol" in md and "bootstrap 95% interval" in md
    for fig in ("methods", "steps", "fit_loss", "learned_w"):
        assert (tmp_path / "plots" / f"tiny_{fig}.png").stat().st_size > 1000
    # The card gets the tables and the decompose → fit → edit figure, copied into the pipeline folder.
    card = (pipeline / "README.md").read_text()
    assert "| AdaIN + learned reg. |" in card and "](evaluation.png)" in card and "Not evaluated yet" not in card
    assert (pipeline / "evaluation.png").read_bytes() == (tmp_path / "plots" / "tiny_methods.png").read_bytes()


def test_update_card_replaces_only_the_evaluation_section(tmp_path):
    from artzoo.evaluation import METRICS_MARKER, update_card

    card = tmp_path / "README.md"
    card.write_text(f"---\nlicense: mit\n---\n## Evaluation\n\n{METRICS_MARKER}\nNot evaluated yet.\n\n## Licence\nMIT\n")
    update_card(card, "| method | L1 |\n")
    update_card(card, "| method | L1 |\n|---|---|\n")  # idempotent: a rerun replaces the table
    text = card.read_text()
    assert "Not evaluated yet" not in text and text.count("| method | L1 |") == 1 and text.endswith("## Licence\nMIT\n")


def test_region_colour_error_is_the_area_weighted_delta_e_of_region_medians():
    import torch

    from artzoo.evaluation.priors import line_regions, region_colour_error

    sketch = torch.ones(1, 32, 32)
    sketch[:, 4:28, [4, 27]] = -1  # a box split in two (left 11 columns, right 10), paper around it
    sketch[:, [4, 27], 4:28] = -1
    sketch[:, 4:28, 16] = -1
    regions = line_regions(sketch)
    assert regions.labels.max() == 3
    artist = np.zeros((32, 32, 3))
    artist[:, :16] = (50, 10, 10)
    sample = artist.copy()
    sample[:2] += 40  # the paper around the drawing does not count
    assert region_colour_error(regions, sample, artist) == 0
    sample[:, 17:] += (0, 3, 4)  # right region off by ΔE 5
    right = (regions.labels == regions.labels[10, 20]) & ~regions.lines
    left = (regions.labels == regions.labels[10, 10]) & ~regions.lines
    expected = 5 * right.sum() / (right.sum() + left.sum())
    assert abs(region_colour_error(regions, sample, artist) - expected) < 1e-6


def test_part_spread_and_palette_spread_measure_flatness_and_hue_variety():
    from artzoo.evaluation.priors import chroma_diversity, line_regions, region_spread

    sketch = torch.ones(1, 32, 32)
    sketch[:, 4:28, [4, 27]] = -1  # a box split in two, paper around it
    sketch[:, [4, 27], 4:28] = -1
    sketch[:, 4:28, 16] = -1
    regions = line_regions(sketch)
    flat = np.zeros((32, 32, 3))
    flat[:, :16] = (50, 10, 10)
    flat[:2] = (90, 0, 0)  # the paper around the drawing does not count
    assert region_spread(regions, flat) == 0
    shaded = flat.copy()
    shaded[:12, 17:27] += (6, 0, 0)  # the right region's top rows (5–11 inside) 6 lighter
    right = (regions.labels == regions.labels[10, 20]) & ~regions.lines
    left = (regions.labels == regions.labels[10, 10]) & ~regions.lines
    lighter = right[:12].sum()
    # The right region's median is its larger, unshaded part: only the lighter pixels are off, by 6.
    assert abs(region_spread(regions, shaded) - 6 * lighter / (right.sum() + left.sum())) < 1e-9
    mask = np.ones((32, 32), bool)
    browns = np.stack([np.full((32, 32, 3), (L, 20.0, 30.0)) for L in (30, 50, 70)])
    assert chroma_diversity(browns, [mask] * 3) == 0  # lightness alone is no palette
    hues = np.stack([np.full((32, 32, 3), (50.0, a, b)) for a, b in ((0, 0), (3, 4), (0, 0))])
    assert abs(chroma_diversity(hues, [mask] * 3) - (5 + 5 + 0) / 3) < 1e-9


def test_evaluate_priors_measures_every_prior_the_pipeline_has(tiny_data):
    import torch

    from artzoo import WorkflowPipeline
    from artzoo.evaluation import evaluate_priors, prior_markdown

    from artzoo.models import LatentPrior

    pipe = WorkflowPipeline.from_config(["sketch", "rough", "detail"], image_size=32, preset="tiny", prior=True, seed=0)
    for t in pipe.transitions:
        t.prior.index(torch.randn(16, 8))
    assert list(evaluate_priors(pipe, tiny_data, limit=2, samples=2)["priors"]) == ["normal", "bank", "learned"]
    for t in pipe.transitions:
        t.prior = LatentPrior(t.prior.config.replace(neighbours=4))
        t.prior.index(torch.randn(16, 8), torch.nn.functional.normalize(torch.randn(16, t.prior.config.hidden), dim=1))
    r = evaluate_priors(pipe, tiny_data, limit=3, samples=3)
    assert list(r["priors"]) == ["normal", "bank", "learned", "nearest"] and r["n_sketches"] == 3
    for m in r["priors"].values():
        assert np.isfinite(list(m.values())).all() and m["diversity"] > 0
        assert m["colour_error_best"] <= m["colour_error_mean"]
    ref = r["real_nearest"]
    assert ref["drawings"] == 3 and 0 < ref["colour_error_mean"] and np.isfinite(ref["colour_error_nearest"])
    text = prior_markdown("tiny", r)
    assert "| learned p(z | sketch) |" in text and "| codes of the nearest training drawings |" in text
    assert f"training drawings nearest to each sketch score {ref['colour_error_mean']:.1f}" in text
    assert all("detail_ab_drift" in m and m["part_spread"] >= 0 and m["chroma_diversity"] >= 0
               for m in r["priors"].values())
    assert r["stages"] == ["sketch", "rough"] and r["real_part_spread"] >= 0 and ref["chroma_diversity"] >= 0
    assert len(r["encoder_code_std"]) == 8 and 1 <= r["encoder_effective_dims"] <= 8
    assert f"real pictures use {r['encoder_effective_dims']:.1f} of z's 8 dimensions" in text
    # A later transition: its input is the previous stage, the regions still the sketch's; the last
    # transition has no next stage to drift in.
    last = evaluate_priors(pipe, tiny_data, transition=1, limit=2, samples=2)
    assert last["stages"] == ["rough", "detail"] and list(last["priors"]) == ["normal", "bank", "learned", "nearest"]
    assert all("detail_ab_drift" not in m and np.isfinite(list(m.values())).all() for m in last["priors"].values())
    text = prior_markdown("tiny", last)
    assert "(rough → detail)" in text and "| learned p(z | rough) |" in text and "drift" not in text
    plain = WorkflowPipeline.from_config(["sketch", "rough", "detail"], image_size=32, preset="tiny", seed=0)
    assert list(evaluate_priors(plain, tiny_data, limit=2, samples=2)["priors"]) == ["normal"]


def test_prior_figure_shows_each_prior_the_pipeline_has(tiny_data, tmp_path):
    from artzoo.evaluation import prior_figure
    from artzoo.models import LatentPrior

    pipe = WorkflowPipeline.from_config(["sketch", "rough", "detail"], image_size=32, preset="tiny", prior=True, seed=0)
    t = pipe.transitions[0]
    t.prior = LatentPrior(t.prior.config.replace(neighbours=2))
    t.prior.index(torch.randn(5, 8), torch.nn.functional.normalize(torch.randn(5, t.prior.config.hidden), dim=1))
    width = lambda columns: columns * 96 + (columns - 1) * 2  # 96 px cells, 2 px apart
    plain = WorkflowPipeline.from_config(["sketch", "rough", "detail"], image_size=32, preset="tiny", seed=0)
    for p, priors in ((plain, 1), (pipe, 3)):  # normal; normal, learned, nearest
        out = prior_figure(p, tiny_data, tmp_path / f"{priors}.png", rows=2, samples=3)
        picture = Image.open(out)
        assert picture.width == width(2 + 3 * priors)
        cells = np.asarray(picture)[20:, :]
        assert cells[:, width(2) + 2:].std() > 0  # sampled flats drawn, not left white
    # A later transition's rows also show its input stage.
    out = prior_figure(pipe, tiny_data, tmp_path / "t1.png", transition=1, rows=2, samples=3, priors=("normal",))
    assert Image.open(out).width == width(3 + 3)


# ---- intervals, paired comparisons, the edit protocol, old results files ---------------------------

def test_bootstrap_statistics_match_the_metrics_and_their_resamples():
    from artzoo.evaluation.bootstrap import FrechetResampler, KidReference, KidResampler, resample_counts
    from artzoo.metrics import feature_stats, frechet_distance

    rng = np.random.default_rng(0)
    ref_feats = rng.normal(size=(300, 12))
    feats = rng.normal(0.3, 1.2, size=(40, 12))
    ref = feature_stats(ref_feats)
    fd, kid_ = FrechetResampler(feats, ref), KidResampler(feats, KidReference(ref_feats))
    # (rounding: square roots of the Gram matrix's ~0 eigenvalues, ~1e-7 here)
    assert abs(fd.point() - frechet_distance(feats, ref)) < 1e-6 * fd.point()
    counts = resample_counts(40, 3, rng)
    assert (counts.sum(1) == 40).all()
    for c in counts:  # a resample is the set with its pictures repeated
        repeated = feats[np.repeat(np.arange(40), c)]
        assert abs(fd(c) - frechet_distance(repeated, ref)) < 1e-6 * fd(c)
    # KID: the unbiased MMD² against the whole reference set, by the definition.
    k = lambda a, b: (a @ b.T / 12 + 1) ** 3  # noqa: E731
    kxx, kyy = k(feats, feats), k(ref_feats, ref_feats)
    expected = ((kxx.sum() - np.trace(kxx)) / (40 * 39) + (kyy.sum() - np.trace(kyy)) / (300 * 299)
                - 2 * k(feats, ref_feats).mean())
    assert abs(kid_.point() - expected) < 1e-9
    # In a resample, pairs of copies of one picture are left out of the within-set term.
    c = counts[0]
    ids = np.repeat(np.arange(40), c)
    distinct = ids[:, None] != ids[None, :]
    within = k(feats[ids], feats[ids])[distinct].mean()
    expected = within + (kyy.sum() - np.trace(kyy)) / (300 * 299) - 2 * k(feats[ids], ref_feats).mean()
    assert abs(kid_(c) - expected) < 1e-9
    # Draws resampled within each stage keep every stage's share.
    draws = resample_counts([1, 2, 1, 2, 1, 2], 50, rng)
    assert (draws[:, ::2].sum(1) == 3).all() and (draws[:, 1::2].sum(1) == 3).all()


def test_edit_fd_replicates_average_the_resampled_draws_on_the_resampled_pictures():
    from artzoo.evaluation.bootstrap import FrechetResampler, resample_counts
    from artzoo.evaluation.tables import _edit_replicates
    from artzoo.metrics import feature_stats

    rng = np.random.default_rng(2)
    ref = feature_stats(rng.normal(size=(200, 5)))
    draws_feats = [rng.normal(0.1 * t, 1.0, size=(12, 5)) for t in range(4)]
    resamplers = [FrechetResampler(f, ref) for f in draws_feats]
    pictures = resample_counts(12, 6, rng)
    draws = resample_counts([1, 2, 1, 2], 6, rng)
    got = _edit_replicates(resamplers, pictures, draws)
    for b in range(6):
        chosen = np.repeat(np.arange(4), draws[b])
        assert abs(got[b] - np.mean([resamplers[t](pictures[b]) for t in chosen])) < 1e-12


def test_interval_contains_the_point_estimate_and_narrows_with_more_data():
    from artzoo.evaluation.bootstrap import (FrechetResampler, KidReference, KidResampler, interval, mean_replicates,
                                             resample_counts)
    from artzoo.metrics import feature_stats

    rng = np.random.default_rng(1)
    # More feature dimensions than pictures in the small set, as with the real extractor: FD's
    # small-sample bias then dominates the resamples (the plain percentile interval misses the estimate).
    ref_feats = rng.normal(size=(400, 40))
    ref, kid_ref = feature_stats(ref_feats), KidReference(ref_feats)
    widths = {}
    for n in (30, 300):
        feats = rng.normal(0.2, 1.1, size=(n, 40))
        l1 = rng.exponential(0.05, size=n)
        counts = resample_counts(n, 200, np.random.default_rng(0))
        for key, point, reps in (
                ("l1", l1.mean(), mean_replicates(l1, counts)),
                ("fd", FrechetResampler(feats, ref).point(), FrechetResampler(feats, ref).replicates(counts)),
                ("kid", KidResampler(feats, kid_ref).point(), KidResampler(feats, kid_ref).replicates(counts))):
            lo, hi = interval(reps, point)
            assert lo < point < hi, (key, n)
            widths[key, n] = hi - lo
    for key in ("l1", "fd", "kid"):
        assert widths[key, 300] < 0.6 * widths[key, 30], key  # ~1/√10 of the width


def test_a_method_paired_with_itself_differs_by_exactly_zero(tiny_pipeline, tiny_data):
    """Two rows fitted the same way: the paired comparison sees the same pictures and the same edits."""
    from artzoo.evaluation import evaluate

    same = dict(regularizer=None)
    r = evaluate(tiny_pipeline, tiny_data, limit=4, train_limit=20, steps=2, trials=2, bootstrap=40,
                 methods={"AdaIN": same, "AdaIN + learned reg.": dict(same)})
    (p,) = [p for p in r["paired"] if p["baseline"] == "AdaIN"]
    for key in ("edit_fd", "l1", "fd"):
        assert p[key]["difference"] == 0 and p[key]["ci"] == [0.0, 0.0] and not p[key]["excludes_zero"]


def test_evaluation_edits_drop_delta_at_the_resampled_stage_only(tiny_pipeline, tiny_data):
    import torch

    from artzoo.evaluation import edit_plan, evaluate

    pipe = tiny_pipeline
    runs = {keep: evaluate(pipe, tiny_data, limit=3, train_limit=20, steps=3, trials=2, bootstrap=10, keep=1,
                           methods={"AdaIN": dict(regularizer=None)}, keep_delta=keep) for keep in (False, True)}
    assert runs[False]["edit_protocol"]["keep_delta"] is False and runs[True]["edit_protocol"]["keep_delta"] is True
    fitted, edits = runs[False]["_examples"]["AdaIN"]
    assert all(torch.count_nonzero(d) > 0 for d in fitted.delta)  # the fit moved every stage's Δ
    g0, g1 = (t.generator for t in pipe.transitions)
    (s_flat, seed_flat), (s_detail, seed_detail) = edit_plan(3, 2, 0)
    assert (s_flat, s_detail) == (1, 2)
    # Draw 0 resamples "flat": MLP(z) alone there, the detail stage keeps its a + Δ.
    z = pipe.sample_z(seed_flat, n=3, transition=0, prior="normal")
    flat = edits[0]
    assert torch.equal(flat.z[0], z) and torch.count_nonzero(flat.delta[0]) == 0
    assert torch.equal(flat.delta[1], fitted.delta[1])
    assert torch.allclose(flat.images[1], g0(fitted.images[0], adain=g0.adain_params(z)), atol=1e-5)
    assert torch.allclose(flat.images[2], g1(flat.images[1], adain=fitted.adain[1] + fitted.delta[1]), atol=1e-5)
    # Draw 1 resamples "detail": the earlier stage is untouched (its Δ kept), the detail from MLP(z) alone.
    z = pipe.sample_z(seed_detail, n=3, transition=1, prior="normal")
    detail = edits[1]
    assert torch.equal(detail.images[1], fitted.images[1]) and torch.equal(detail.delta[0], fitted.delta[0])
    assert torch.count_nonzero(detail.delta[1]) == 0
    assert torch.allclose(detail.images[2], g1(fitted.images[1], adain=g1.adain_params(z)), atol=1e-5)
    # The older protocol keeps Δ at the resampled stage: other pictures, other FD.
    kept_fitted, kept = runs[True]["_examples"]["AdaIN"]
    assert torch.equal(kept[0].delta[0], kept_fitted.delta[0])
    assert not torch.allclose(kept[0].images[1], flat.images[1])
    assert runs[True]["methods"]["AdaIN"]["edit_fds"] != runs[False]["methods"]["AdaIN"]["edit_fds"]


def _old_results() -> dict:
    """A results file as written before the intervals (the published fluent-emoji card came from one)."""
    row = lambda l1, fd, edit: {"l1": l1, "fd": fd, "kid": [0.00137, 0.00056], "seconds_per_image": 2.5,  # noqa: E731
                                "edit_fd_mean": edit, "edit_fd_std": 0.044, "edit_fds": [edit - 0.044, edit + 0.044],
                                "edit_stages": ["flat", "flat"]}
    return {"stages": ["sketch", "flat", "detail"], "image_size": 64, "extractor": "randconv", "n_test": 64,
            "n_train": 2000, "steps": 60, "lr": 0.1, "trials": 2, "perceptual": "laplacian-pyramid",
            "lower_bound_fd": 2.34, "lower_bound_kid": [0.00076, 0.00045],
            "methods": {"none": row(0.1304, 2.621, 2.292), "AdaIN": row(0.0497, 2.557, 2.299)},
            "diversity": {"sketch→flat": {"pixel_l1": 0.281, "feature_l1": 0.06}}}


def test_results_without_intervals_still_render_merge_and_go_into_the_card(tmp_path):
    from artzoo.evaluation import METRICS_MARKER, merge_methods, to_markdown, write_to_card

    old = _old_results()
    md = to_markdown("fluent-emoji", old)
    assert "| none | 0.1304 | 2.621 | 1.37 ± 0.56 | 2.292 ± 0.044 | 2.500 |" in md
    assert "kept its fitted Δ" in md and "Paired" not in md and "KID×10³ 0.76 ± 0.45" in md
    card = tmp_path / "README.md"
    card.write_text(f"# x\n\n## Evaluation\n\n{METRICS_MARKER}\nold\n\n## Licence\n")
    write_to_card(tmp_path, "fluent-emoji", old)
    assert "| AdaIN | 0.0497 | 2.557 |" in card.read_text() and card.read_text().endswith("## Licence\n")

    # A new run of the learned row merged beside the old rows: the old rows keep their numbers and are
    # marked as edited under the other protocol; the new row shows its intervals.
    new = {**old, "edit_protocol": {"name": "paper", "keep_delta": False, "prior": "normal", "draws": 2,
                                    "stages": ["flat", "detail"], "same_z_for_every_method": True},
           "bootstrap": {"resamples": 1000, "seed": 0, "level": 0.95, "interval": "bias-corrected percentile"},
           "lower_bound_fd_ci": [2.1, 2.6], "lower_bound_kid_ci": [0.0001, 0.0014], "paired": [],
           "methods": {"AdaIN + learned reg.": {
               "l1": 0.056, "l1_ci": [0.051, 0.061], "fd": 2.515, "fd_ci": [2.3, 2.7], "kid": [0.00158, 0.0003],
               "kid_ci": [0.001, 0.0022], "seconds_per_image": 2.5, "edit_fd_mean": 2.376, "edit_fd_std": 0.02,
               "edit_fd_ci": [2.2, 2.5], "edit_fds": [2.36, 2.39], "edit_stages": ["flat", "detail"],
               "edit_keep_delta": False}}}
    merged = merge_methods(old, new)
    assert list(merged["methods"]) == ["none", "AdaIN", "AdaIN + learned reg."]
    md = to_markdown("fluent-emoji", merged)
    assert "| AdaIN | 0.0497 | 2.557 | 1.63" not in md  # (the old KID is the crafted one)
    assert "| AdaIN | 0.0497 | 2.557 | 1.37 ± 0.56 | 2.299 ± 0.044 † | 2.500 |" in md
    assert "| AdaIN + learned reg. | 0.0560 [0.051, 0.061] | 2.515 [2.300, 2.700] | 1.58 [1.00, 2.20] | " \
           "2.376 [2.200, 2.500] | 2.500 |" in md
    assert "† edits made under the other protocol" in md and "Rows without intervals" in md
    write_to_card(tmp_path, "fluent-emoji", merged)
    assert "2.376 [2.200, 2.500]" in card.read_text()


def test_paired_comparisons_survive_a_merge_only_when_their_rows_do():
    from artzoo.evaluation import merge_methods

    pair = lambda a, b: {"method": a, "baseline": b, "edit_fd": {"difference": 0.1, "ci": [0.05, 0.15],  # noqa: E731
                                                                 "excludes_zero": True}}
    previous = {**_old_results(), "paired": [pair("AdaIN", "none")]}
    previous["methods"]["AdaIN + learned reg."] = previous["methods"]["AdaIN"]
    unrelated = {**_old_results(), "methods": {"latent z": previous["methods"]["none"]}, "paired": []}
    assert merge_methods(previous, unrelated)["paired"] == [pair("AdaIN", "none")]
    replaced = {**_old_results(), "methods": {"AdaIN": previous["methods"]["AdaIN"]}, "paired": []}
    assert merge_methods(previous, replaced)["paired"] == []  # its AdaIN row comes from another run now


def test_select_methods_takes_names_short_names_and_sets():
    from artzoo.errors import ArtzooError
    from artzoo.evaluation import METHODS, select_methods

    assert list(select_methods(None)) == ["none", "AdaIN", "AdaIN + learned reg."]
    assert list(select_methods("learned,none, AdaIN")) == ["none", "AdaIN", "AdaIN + learned reg."]
    assert list(select_methods("all")) == list(METHODS)
    assert list(select_methods("latent z,strong-decay")) == ["latent z", "AdaIN + strong decay"]
    with pytest.raises(ArtzooError, match="unknown method"):
        select_methods("adaptive")


def test_starting_decay_is_the_calibrated_w():
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", regularizer=True)
    assert starting_decay(pipe) == pytest.approx(1e-3, rel=1e-4)  # the paper's scale 0.01 and init 0.1
    pipe.transitions[0].regularizer.restart(2e-5)
    pipe.transitions[1].regularizer.restart(8e-5)
    assert starting_decay(pipe) == pytest.approx(4e-5)  # geometric mean
    assert torch.allclose(pipe.transitions[0].regularizer(), torch.tensor(2e-5))


def test_angular_error_over_the_object_only():
    truth = torch.ones(1, 3, 8, 8)  # white background
    truth[:, :, 2:6, 2:6] = torch.tensor([0.0, 0.0, 1.0])[:, None, None]  # facing the camera
    assert angular_error(truth, truth) == pytest.approx([0.0], abs=1e-4)
    sideways = truth.clone()
    sideways[:, :, 2:6, 2:6] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]
    sideways[:, :, :2] = -1  # the background is not compared
    assert angular_error(sideways, truth) == pytest.approx([90.0])
    half = truth.clone()
    half[:, :, 2:4, 2:6] = torch.tensor([0.0, 0.0, -1.0])[:, None, None]  # half the object turned away
    assert angular_error(half, truth) == pytest.approx([90.0])
    with pytest.raises(ArtzooError, match="all background"):
        angular_error(truth, torch.ones(1, 3, 8, 8))


@pytest.fixture(scope="module")
def chairs(tmp_path_factory):
    """A few procedural chairs at 32 px and an untrained 4-stage pipeline with a prior."""
    data = tmp_path_factory.mktemp("chairs") / "chairs"
    build("chairs", data, size=32, limit=24, workers=1, progress=False)
    pipe = WorkflowPipeline.from_config(["sketch", "normal", "colour", "light"], image_size=32, preset="tiny",
                                        channels=[1, 3, 3, 3], prior=True, seed=0)
    return pipe, data


def test_evaluate_normals_per_z_source(chairs):
    pipe, data = chairs
    r = evaluate_normals(pipe, data, limit=2, samples=2, bootstrap=50)
    assert r["n"] == 2 and list(r["sources"]) == ["encoded", "normal", "learned"]
    for s in r["sources"].values():
        lo, hi = s["mean_ci"]
        assert 0 < s["mean_degrees"] < 180 and lo <= s["mean_degrees"] <= hi
        assert s["best_degrees"] <= s["mean_degrees"] + 1e-9
    assert "| z ~ N(0, I) (paper) |" in normals_markdown("chairs", r)
    emoji = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny")
    with pytest.raises(ArtzooError, match="no 'normal' stage"):
        evaluate_normals(emoji, data)


def sphere_lit(to_light, light_colour, size: int = 48):
    """A lit sphere as the chairs renderer draws one: normals (camera space), albedo and lit picture in [-1, 1]."""
    axis = torch.linspace(-1, 1, size, dtype=torch.float64)
    y, x = torch.meshgrid(-axis, axis, indexing="ij")
    inside = x ** 2 + y ** 2 < 0.95
    n = torch.stack([x, y, (1 - x ** 2 - y ** 2).clamp_min(0).sqrt()])
    normal = torch.where(inside, n, torch.ones(3, 1, 1, dtype=torch.float64))
    albedo01 = torch.where(inside, torch.tensor([0.6, 0.5, 0.4], dtype=torch.float64)[:, None, None], torch.ones(3, 1, 1, dtype=torch.float64))
    l = torch.nn.functional.normalize(torch.tensor(to_light, dtype=torch.float64), dim=0)
    diffuse = (n * l[:, None, None]).sum(0).clamp_min(0)
    lit01 = albedo01 * (0.5 + diffuse * torch.tensor(light_colour, dtype=torch.float64)[:, None, None])
    lit01 = torch.where(inside, lit01, torch.ones(3, 1, 1, dtype=torch.float64))
    return (lit01 * 2 - 1)[None].float(), (albedo01 * 2 - 1)[None].float(), normal[None].float(), l.numpy()


def test_light_estimate_reads_back_a_known_light():
    from artzoo.evaluation.lighting import chroma_drift, light_estimate, mean_pairwise_angle

    found = []
    for to_light, colour in (((0.5, 0.6, 0.6), (1.0, 0.8, 0.7)), ((-0.6, 0.3, 0.7), (0.7, 0.8, 1.0))):
        lit, albedo, normal, truth = sphere_lit(to_light, colour)
        direction, chroma = light_estimate(lit, albedo, normal)
        assert np.degrees(np.arccos(np.clip(direction[0] @ truth, -1, 1))) < 3
        found.append((direction[0], chroma[0]))
    (_, warm), (_, cool) = found
    assert warm[0] > warm[2] and cool[2] > cool[0] and warm.sum() == pytest.approx(100)
    assert mean_pairwise_angle(np.stack([d for d, _ in found])) > 45
    lit, albedo, normal, _ = sphere_lit((0.5, 0.6, 0.6), (1.0, 1.0, 1.0))
    kept, other = chroma_drift(lit, albedo, normal)[0], chroma_drift(lit, albedo.roll(1, dims=1), normal)[0]
    assert kept < 6 and other > 3 * kept  # white light keeps the colours (a little shift with lightness)


def test_evaluate_lighting_spreads_per_z_source(chairs, tiny_pipeline, tiny_data):
    from artzoo.evaluation.lighting import evaluate_lighting, lighting_markdown

    pipe, data = chairs
    r = evaluate_lighting(pipe, data, limit=2, samples=3)  # the 24 chairs' test split holds 2
    assert r["n"] == 2 and list(r["sources"]) == ["normal", "learned"]
    assert 0 < r["real"]["direction_spread"] < 180 and r["real"]["colour_spread"] >= 0
    assert all(0 <= s["direction_spread"] <= 180 for s in r["sources"].values())
    assert 0 <= r["encoded_angle_to_real"] <= 180
    assert r["real"]["chroma_drift"] >= 0 and all(s["chroma_drift"] >= 0 for s in r["sources"].values())
    md = lighting_markdown("chairs", r)
    assert "| one chair, z ~ N(0, I) (paper) |" in md and "real test chairs" in md
    with pytest.raises(ArtzooError, match=r"lighting needs the stages to end in \['normal', 'colour', 'light'\]"):
        evaluate_lighting(tiny_pipeline, tiny_data)
