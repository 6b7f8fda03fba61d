"""train/evaluate.py end to end: a tiny pipeline on a tiny dataset built by the real folder recipe."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artzoo.data import build

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
         "--steps", "3", "--trials", "2", "--limit", "4", "--train-limit", "20", "--out", str(tmp_path / "res"),
         "--plots", str(tmp_path / "plots"), "--threads", "1", "--update-card"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    r = json.loads((tmp_path / "res" / "tiny.json").read_text())
    assert list(r["methods"]) == ["none", "latent z", "AdaIN", "AdaIN + small decay", "AdaIN + strong decay",
                                  "AdaIN + learned reg."]
    for m in r["methods"].values():
        assert np.isfinite([m["l1"], m["fd"], m["edit_fd_mean"], m["edit_fd_std"], *m["kid"]]).all()
        assert len(m["edit_fds"]) == 2
    assert r["methods"]["AdaIN"]["l1"] < r["methods"]["none"]["l1"]
    assert r["lower_bound_fd"] >= 0 and set(r["diversity"]) == {"sketch→flat", "flat→detail"}
    assert all(d["pixel_l1"] > 0 for d in r["diversity"].values())
    assert "| AdaIN + learned reg. |" in (tmp_path / "res" / "tiny.md").read_text()
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


def test_evaluate_priors_measures_every_prior_the_pipeline_has(tiny_data):
    import torch

    from artzoo import WorkflowPipeline
    from artzoo.evaluation import evaluate_priors, prior_markdown

    pipe = WorkflowPipeline.from_config(["sketch", "rough", "detail"], image_size=32, preset="tiny", prior=True, seed=0)
    for t in pipe.transitions:
        t.prior.remember(torch.randn(16, 8))
    r = evaluate_priors(pipe, tiny_data, limit=3, samples=3)
    assert list(r["priors"]) == ["normal", "bank", "learned"] and r["n_sketches"] == 3
    for m in r["priors"].values():
        assert np.isfinite(list(m.values())).all() and m["diversity"] > 0
        assert m["colour_error_best"] <= m["colour_error_mean"]
    assert "| learned p(z | sketch) |" in prior_markdown("tiny", r)
    plain = WorkflowPipeline.from_config(["sketch", "rough", "detail"], image_size=32, preset="tiny", seed=0)
    assert list(evaluate_priors(plain, tiny_data, limit=2, samples=2)["priors"]) == ["normal"]
