"""Does a generated normal map agree with the sketch's geometry? For pipelines with a "normal" stage
(chairs): the mean angle between generated and true normals over the object's pixels, on held-out
sketches, for each place z can come from (the latent encoder's code of the true normal map: the bound
the generator allows; N(0, I), the paper's sampling; the learned prior and the nearest training drawings' codes
when the pipeline has them).

A normal-map stage stores camera-space unit normals as colours, n = 2·rgb − 1, which in the networks'
[-1, 1] range is the tensor itself; the background is white.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ArtzooError
from ..pipeline import WorkflowPipeline
from .bootstrap import RESAMPLES, interval, mean_replicates, resample_counts
from .priors import compared_priors
from .tables import load_stage

NORMAL_STAGE = "normal"
BACKGROUND = 0.96  # a true-normal pixel with every channel above this (in [-1, 1]) is white background


def angular_error(generated: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
    """Per picture, the mean angle in degrees between the normals of two (B, 3, S, S) normal maps in
    [-1, 1], over the pixels where the true map shows the object."""
    a = torch.nn.functional.normalize(generated.double(), dim=1, eps=1e-8)
    b = torch.nn.functional.normalize(truth.double(), dim=1, eps=1e-8)
    angle = torch.rad2deg(torch.arccos((a * b).sum(1).clamp(-1, 1)))
    inside = (truth <= BACKGROUND).any(1)
    if not inside.flatten(1).any(1).all():
        raise ArtzooError("a true normal map is all background: nothing to compare")
    return ((angle * inside).flatten(1).sum(1) / inside.flatten(1).sum(1)).numpy()


@torch.no_grad()
def evaluate_normals(pipe: WorkflowPipeline, data: Path, *, limit: int | None = 128, samples: int = 4,
                     seed: int = 0, batch_size: int = 16, bootstrap: int = RESAMPLES) -> dict:
    """Angular error of the normal stage generated from each held-out sketch (the real previous stage),
    per z source: mean over pictures (each picture's error averaged over ``samples`` draws), with a
    bootstrap interval over pictures, and the best of the draws."""
    if NORMAL_STAGE not in pipe.stages[1:]:
        raise ArtzooError(f"this pipeline has no {NORMAL_STAGE!r} stage (stages: {pipe.stages})")
    k = pipe.stages.index(NORMAL_STAGE)
    t = pipe.transitions[k - 1]
    inputs, truth = load_stage(data, "test", k - 1, limit), load_stage(data, "test", k, limit)
    n = len(truth)
    sources = ["encoded"] + compared_priors(pipe, k - 1)
    errors = {s: [] for s in sources}
    for start in range(0, n, batch_size):
        x, y = inputs[start:start + batch_size], truth[start:start + batch_size]
        encoded = t.latent_encoder(y)[0]
        errors["encoded"].append(angular_error(t.generator(x, encoded), y)[:, None])
        for source in sources[1:]:
            draws = [pipe.sample_z(seed + d, transition=k - 1, prior=source, condition=x) for d in range(samples)]
            per_draw = [angular_error(t.generator(x, z), y) for z in draws]
            errors[source].append(np.stack(per_draw, 1))
    rng = np.random.default_rng(seed)
    counts = resample_counts(n, bootstrap, rng)
    results = {"stage": NORMAL_STAGE, "n": n, "samples": samples, "image_size": pipe.image_size, "sources": {}}
    for source, parts in errors.items():
        e = np.concatenate(parts)
        mean = e.mean(1)
        results["sources"][source] = {"mean_degrees": float(mean.mean()),
                                      "mean_ci": interval(mean_replicates(mean, counts), float(mean.mean())),
                                      "best_degrees": float(e.min(1).mean()),
                                      "median_degrees": float(np.median(mean))}
    return results


def normals_markdown(name: str, r: dict) -> str:
    label = {"encoded": "z encoded from the true normal map (bound)", "normal": "z ~ N(0, I) (paper)",
             "learned": "z from the learned prior p(z | sketch)", "nearest": "z from the nearest training drawings' codes"}
    lines = [f"### {name}: normal maps against the true geometry", "",
             f"{r['n']} held-out sketches, {r['image_size']} px; angle between generated and true normals over the "
             f"object's pixels, in degrees; sampled sources: {r['samples']} draws per sketch (mean of the draws, "
             "and the best draw); [a, b]: bootstrap 95% interval over sketches.", "",
             "| z from | mean angle ↓ | best of draws | median sketch |", "|---|---|---|---|"]
    for source, s in r["sources"].items():
        lo, hi = s["mean_ci"]
        best = "—" if source == "encoded" else f"{s['best_degrees']:.1f}°"
        lines.append(f"| {label[source]} | {s['mean_degrees']:.1f}° [{lo:.1f}, {hi:.1f}] | {best} | "
                     f"{s['median_degrees']:.1f}° |")
    return "\n".join(lines) + "\n"
