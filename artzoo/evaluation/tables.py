"""The paper's Table 2 (reconstruction) and Table 3 (editing) for a pipeline on a built dataset.

For each fitting method (none, latent-z optimisation,
AdaIN optimisation, AdaIN + small / strong weight decay, AdaIN + learned regulariser; the same steps
and learning rate for all), on held-out finals: L1 and FD of the reconstruction and seconds per image
(Table 2); then, per trial, resample z at a random stage and FD the edited finals (Table 3, mean ± std
over trials). Also the lower bound (FD of real test finals against the training finals), KID, and the
diversity of variations. FD uses `artzoo.metrics`' offline default extractor unless an Inception-v3
extractor with the standard FID weights is passed (only then are values comparable to published FIDs).
`train/evaluate.py` is the command line.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..data import WorkflowDataset
from ..errors import ArtzooError
from ..fitting import FIT_LR, FIT_STEPS
from ..metrics import default_extractor, diversity, feature_stats, frechet_distance, kid
from ..pipeline import WorkflowPipeline

# Where a model card's evaluation tables go: `update_card` replaces what follows it.
METRICS_MARKER = "<!-- artzoo:metrics -->"

# name → fit() arguments; None = decompose only. The decay values bracket the learned w (≈ 1e-3 at init).
METHODS = {
    "none": None,
    "latent z": dict(variable="latent"),
    "AdaIN": dict(regularizer=None),
    "AdaIN + small decay": dict(regularizer=1e-3),
    "AdaIN + strong decay": dict(regularizer=1.0),
    "AdaIN + learned reg.": dict(regularizer="learned"),
}


def load_stage(root: Path, split: str, stage_index: int, limit: int | None) -> torch.Tensor:
    """One stage of a split as an (N, C, S, S) tensor in [-1, 1] (first ``limit`` ids, sorted)."""
    ds = WorkflowDataset(root, split)
    n = len(ds) if limit is None else min(limit, len(ds))
    return torch.stack([ds[i][stage_index] for i in range(n)])


def batches(x: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i:i + size]


def evaluate(pipe: WorkflowPipeline, data: Path, *, limit: int | None = 256, train_limit: int | None = 2000,
             steps: int = FIT_STEPS, lr: float = FIT_LR, trials: int = 3, batch_size: int = 64, seed: int = 0,
             extractor=None, methods: dict | None = None, keep: int = 0) -> dict:
    """All metrics as a dict; ``keep`` > 0 also returns that many example workflows per method."""
    extractor = extractor or default_extractor()
    methods = METHODS if methods is None else methods
    if any(m and m.get("regularizer") == "learned" for m in methods.values()) and pipe.transitions[0].regularizer is None:
        methods = {k: v for k, v in methods.items() if not (v and v.get("regularizer") == "learned")}
    last = len(pipe.stages) - 1
    test = load_stage(data, "test", last, limit)
    train_feats = extractor.extract(load_stage(data, "train", last, train_limit))
    train_stats = feature_stats(train_feats, extractor.name)
    test_feats = extractor.extract(test)
    results = {"stages": pipe.stages, "image_size": pipe.image_size, "extractor": extractor.name,
               "n_test": len(test), "n_train": len(train_feats), "steps": steps, "lr": lr, "trials": trials,
               "perceptual": pipe.perceptual.name,
               "lower_bound_fd": frechet_distance(feature_stats(test_feats), train_stats),
               "lower_bound_kid": kid(test_feats, train_feats), "methods": {}}
    examples = {}
    gen = torch.Generator().manual_seed(seed)
    edit_plan = [(int(torch.randint(1, last + 1, (), generator=gen)), int(torch.randint(2**31, (), generator=gen)))
                 for _ in range(trials)]
    for name, fit_args in methods.items():
        finals, l1s, edits = [], [], [[] for _ in range(trials)]
        seconds = 0.0
        for b, x in enumerate(batches(test, batch_size)):
            t0 = time.perf_counter()
            wf = pipe.decompose(x)
            if fit_args is not None:
                wf = pipe.fit(wf, steps=steps, lr=lr, **fit_args)
            seconds += time.perf_counter() - t0
            finals.append(wf.images[-1])
            l1s.append((wf.images[-1] - x).abs().flatten(1).mean(1))
            for trial, (stage, z_seed) in enumerate(edit_plan):
                # The paper's protocol: edits draw z from N(0, I), whatever prior the pipeline ships.
                z = pipe.sample_z(z_seed + b, n=len(x), transition=stage - 1, prior="normal")
                edits[trial].append(pipe.edit(wf, stage, z=z).images[-1])
            if b == 0 and keep:
                examples[name] = (wf, [pipe.edit(wf, s, z=pipe.sample_z(zs, n=len(x), transition=s - 1, prior="normal"))
                                       for s, zs in edit_plan])
        recon = torch.cat(finals)
        recon_feats = extractor.extract(recon)
        edit_fds = [frechet_distance(feature_stats(extractor.extract(torch.cat(e))), train_stats) for e in edits]
        results["methods"][name] = {
            "l1": float(torch.cat(l1s).mean()), "fd": frechet_distance(feature_stats(recon_feats), train_stats),
            "kid": kid(recon_feats, train_feats), "seconds_per_image": seconds / len(test),
            "edit_fd_mean": float(np.mean(edit_fds)), "edit_fd_std": float(np.std(edit_fds)),
            "edit_fds": edit_fds, "edit_stages": [pipe.stages[s] for s, _ in edit_plan],
        }
        print(f"  {name:<22} L1 {results['methods'][name]['l1']:.4f}  FD {results['methods'][name]['fd']:.3f}  "
              f"edit FD {np.mean(edit_fds):.3f} ± {np.std(edit_fds):.3f}", file=sys.stderr)
    results["diversity"] = _diversity(pipe, data, limit=min(len(test), 32), extractor=extractor)
    if keep:
        results["_examples"] = examples
    return results


@torch.no_grad()
def _diversity(pipe: WorkflowPipeline, data: Path, limit: int, extractor, n: int = 4) -> dict:
    """Mean pairwise distance between n variations of each held-out input, per transition."""
    out = {}
    for i, t in enumerate(pipe.transitions):
        x = load_stage(data, "test", i, limit)
        z = pipe.sample_z(0, n=len(x) * n, transition=i, prior="normal")
        generated = t.generator(x.repeat_interleave(n, 0), z=z)
        score = diversity(generated.view(len(x), n, *generated.shape[1:]), extractor)
        out[f"{pipe.stages[i]}→{pipe.stages[i + 1]}"] = {"pixel_l1": score.pixel_l1, "feature_l1": score.feature_l1}
    return out


def to_markdown(name: str, r: dict) -> str:
    lines = [f"### {name}", "",
             f"{r['n_test']} held-out finals, {r['image_size']} px; fit: {r['steps']} steps/stage, lr {r['lr']}, "
             f"perceptual = {r['perceptual']}; FD/KID features: {r['extractor']}; edits: {r['trials']} trials "
             f"(resampled stage per trial: {', '.join(next(iter(r['methods'].values()))['edit_stages'])}).", "",
             "| method | recon L1 ↓ | recon FD ↓ | recon KID ×10³ | edit FD ↓ (mean ± std) | s / image |",
             "|---|---|---|---|---|---|"]
    for method, m in r["methods"].items():
        lines.append(f"| {method} | {m['l1']:.4f} | {m['fd']:.3f} | {m['kid'][0] * 1e3:.2f} ± {m['kid'][1] * 1e3:.2f} | "
                     f"{m['edit_fd_mean']:.3f} ± {m['edit_fd_std']:.3f} | {m['seconds_per_image']:.3f} |")
    lines += ["", f"Lower bound (real test finals vs training finals): FD {r['lower_bound_fd']:.3f}, "
                  f"KID×10³ {r['lower_bound_kid'][0] * 1e3:.2f} ± {r['lower_bound_kid'][1] * 1e3:.2f}.", "",
              "Diversity of 4 variations per held-out input (mean pairwise L1; ~0 means mode collapse):", ""]
    for transition, d in r["diversity"].items():
        lines.append(f"- {transition}: pixels {d['pixel_l1']:.3f}, features {d['feature_l1']:.3f}")
    return "\n".join(lines) + "\n"


def update_card(card: Path, table: str) -> None:
    """Replace the evaluation section's body (after the metrics marker, up to the next heading)."""
    text = card.read_text()
    if METRICS_MARKER not in text:
        raise ArtzooError(f"{card} has no {METRICS_MARKER} marker to write the results under")
    head, tail = text.split(METRICS_MARKER, 1)
    rest = tail[tail.index("\n## "):] if "\n## " in tail else "\n"
    card.write_text(f"{head}{METRICS_MARKER}\n{table}{rest}")


def write_to_card(pipeline_folder: Path, name: str, results: dict, figures: Path | None = None) -> None:
    """The tables (and, if figures were written, the decompose → fit → edit figure, copied into the
    folder so it travels with the pipeline) into the folder's model card."""
    table = to_markdown(name, results)
    if figures is not None:
        shutil.copyfile(figures / f"{name}_methods.png", pipeline_folder / "evaluation.png")
        table += ("\n![decompose, fit, edit](evaluation.png)\n\n`evaluation.png`: per held-out picture (row): "
                  "the input, its inferred earlier stages, its reconstruction after fitting with each method, "
                  "then an edit (one stage's z resampled, later stages re-rendered) after each method's fit.\n")
    update_card(pipeline_folder / "README.md", table)


def merge_methods(previous: dict, results: dict) -> dict:
    """Rows of an earlier run (same data, seed and settings) kept beside this run's, in METHODS order."""
    merged = {**previous["methods"], **results["methods"]}
    return {**results, "methods": {m: merged[m] for m in METHODS if m in merged}}
