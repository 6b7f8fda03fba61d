"""Where sampled latents should come from: N(0, I) (the paper), the bank of encoded training latents, the
learned prior p(z | sketch) or the codes of the most similar training drawings, judged on held-out
sketches against the artists' own flat colourings.

- conditional colour error: per sketch, the area-weighted CIE76 ΔE (Lab) between each line-bounded
  region's median colour in a sampled flat and in the artist's flat (regions inside the drawing); mean over the samples and best of
  them; beside the bound the generator allows (z = the latent encoder's code of the artist's own flat)
- FD of the sampled flats to the real held-out flats (offline extractor)
- diversity: mean pairwise L1 (pixels in [-1, 1]) between the samples of one sketch
- the detail stage keeps the flat's colours: mean a*b* distance between each sampled flat and the detail
  drawn from it (its z from the same prior), over the drawing's pixels
- a reference no sampler is held to: the artists' own flats of the training drawings nearest to each
  held-out sketch (pixel L1 between sketches), scored like samples: how far a drawing decides its
  colours (in fluent-emoji the coloured hearts, circles and squares share one drawing, and so do an
  emoji's five skin tones, which the split keeps together).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage

from ..metrics import default_extractor, feature_stats, frechet_distance
from ..pipeline import WorkflowPipeline
from ..rendering.colour import rgb_to_lab
from ..rendering.regions import border_labels
from ..data.dataset import WorkflowDataset
from .tables import load_stage

def compared_priors(pipe: WorkflowPipeline, transition: int) -> list[str]:
    """The z sources the figures and per-picture evaluations compare for a transition: N(0, I) and the
    conditional priors it offers (`WorkflowPipeline.priors` less the bank, which ignores the picture)."""
    return [p for p in pipe.priors(transition) if p != "bank"]


def lab_pixels(x: torch.Tensor) -> np.ndarray:
    """(B, 3, S, S) in [-1, 1] → Lab (B, S, S, 3)."""
    rgb = ((x.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    return np.stack([rgb_to_lab(im) for im in rgb])


class LineRegions(NamedTuple):
    labels: np.ndarray  # (S, S) int: connected non-line areas
    lines: np.ndarray   # (S, S) bool


def line_regions(sketch: torch.Tensor) -> LineRegions:
    """A model-size sketch (1, S, S) in [-1, 1] → its line-bounded regions: lines are the pixels darker
    than mid-grey, regions the 4-connected areas between them (at 64 px there are no gaps to close)."""
    lines = sketch[0].numpy() < 0
    labels, _ = ndimage.label(~lines)
    return LineRegions(labels, lines)


def region_colour_error(regions, sample_lab: np.ndarray, artist_lab: np.ndarray) -> float:
    """Area-weighted ΔE between each region's median colour in a sample and in the artist's flat, over
    the regions inside the drawing (those touching the picture's border are paper around it)."""
    lab = regions.labels
    inside = ~regions.lines & ~np.isin(lab, border_labels(lab))
    labels = lab[inside]
    a, b = sample_lab[inside], artist_lab[inside]
    total, errors = 0, 0.0
    for k in np.unique(labels):
        inside = labels == k
        n = int(inside.sum())
        errors += n * float(np.linalg.norm(np.median(a[inside], 0) - np.median(b[inside], 0)))
        total += n
    return errors / max(total, 1)


@torch.no_grad()
def evaluate_priors(pipe: WorkflowPipeline, data: Path, *, limit: int | None = 120, samples: int = 8, seed: int = 0,
                    extractor=None, priors: tuple[str, ...] | None = None) -> dict:
    """The measures above per prior the pipeline offers, on the first ``limit`` held-out sketches."""
    extractor = extractor or default_extractor()
    priors = priors or tuple(p for p in pipe.priors(0) if all(p in pipe.priors(i) for i in range(len(pipe.transitions))))
    sketches = load_stage(data, "test", 0, limit)
    flats = load_stage(data, "test", 1, limit)
    g0, g1 = pipe.transitions[0].generator, pipe.transitions[1].generator
    regions = [line_regions(s) for s in sketches]
    artist = lab_pixels(flats)
    drawing = [~((f + 1) / 2 > 0.97).all(0).numpy() for f in flats]  # not paper white
    results = {"n_sketches": len(sketches), "samples": samples, "extractor": extractor.name, "priors": {}}
    real_stats = feature_stats(extractor.extract(flats), extractor.name)

    mu = pipe.transitions[0].latent_encoder(flats)[0]  # the bound: each artist's own flat, encoded
    bound = lab_pixels(g0(sketches, z=mu))
    results["encoder_bound"] = float(np.mean([region_colour_error(r, b, a) for r, b, a in zip(regions, bound, artist)]))

    results["real_nearest"] = real_nearest_flats(data, sketches, regions, artist, samples)

    for prior in priors:
        errors, best, div, drift, made = [], [], [], [], []
        for i, (sketch, reg) in enumerate(zip(sketches, regions)):
            x = sketch[None]
            z = pipe.sample_z(seed + i, samples, 0, prior=prior, condition=x)
            flat = g0(x.expand(samples, -1, -1, -1), z=z)
            z1 = pipe.sample_z(seed + 10_000 + i, 1, 1, prior=prior, condition=flat)
            detail = g1(flat, z=z1)
            lab_flat, lab_detail = lab_pixels(flat), lab_pixels(detail)
            e = [region_colour_error(reg, s, artist[i]) for s in lab_flat]
            errors.append(np.mean(e))
            best.append(np.min(e))
            pairs = [(a, b) for a in range(samples) for b in range(a + 1, samples)]
            div.append(np.mean([float((flat[a] - flat[b]).abs().mean()) for a, b in pairs]))
            ab = np.linalg.norm(lab_detail[..., 1:] - lab_flat[..., 1:], axis=-1)
            drift.append(float(ab[:, drawing[i]].mean()))
            made.append(flat)
        fd = frechet_distance(feature_stats(extractor.extract(torch.cat(made)), extractor.name), real_stats)
        results["priors"][prior] = {"colour_error_mean": float(np.mean(errors)), "colour_error_best": float(np.mean(best)),
                                    "fd": fd, "diversity": float(np.mean(div)), "detail_ab_drift": float(np.mean(drift))}
    return results


def real_nearest_flats(data: Path, sketches: torch.Tensor, regions: list, artist: np.ndarray, n: int) -> dict:
    """The colour error of the artists' flats of the ``n`` training drawings nearest to each sketch."""
    train_sketches = load_stage(data, "train", 0, None)
    near = torch.cdist(sketches.flatten(1), train_sketches.flatten(1), p=1).topk(n, largest=False).indices
    flats = WorkflowDataset(data, "train")
    errors = []
    for reg, art, rows in zip(regions, artist, near):
        labs = lab_pixels(torch.stack([flats[int(j)][1] for j in rows]))
        errors.append([region_colour_error(reg, lab, art) for lab in labs])
    errors = np.array(errors)
    return {"drawings": n, "colour_error_mean": float(errors.mean()), "colour_error_nearest": float(errors[:, 0].mean())}


def prior_markdown(name: str, r: dict) -> str:
    lines = [f"### {name}: where sampled z come from", "",
             f"{r['n_sketches']} held-out sketches, {r['samples']} samples each; colour error = area-weighted ΔE "
             f"(CIE76) of each line region's median colour against the artist's flat; FD to the real held-out flats "
             f"({r['extractor']}); diversity = mean pairwise L1 of the samples; detail drift = mean a*b* distance "
             "between a sampled flat and the detail drawn from it.", "",
             "| z from | colour error, mean ↓ | best of samples ↓ | FD ↓ | diversity | detail drift ↓ |",
             "|---|---|---|---|---|---|"]
    for prior, m in r["priors"].items():
        label = {"normal": "N(0, I) (paper)", "bank": "bank of training codes", "learned": "learned p(z | sketch)",
                 "nearest": "codes of the nearest training drawings"}[prior]
        lines.append(f"| {label} | {m['colour_error_mean']:.1f} | {m['colour_error_best']:.1f} | {m['fd']:.3f} | "
                     f"{m['diversity']:.3f} | {m['detail_ab_drift']:.1f} |")
    lines += ["", f"Bound (z = the encoder's code of the artist's own flat): colour error {r['encoder_bound']:.1f}."]
    if "real_nearest" in r:  # results files from before this reference lack it
        ref = r["real_nearest"]
        lines.append(f"Reference, no model: the artists' own flats of the {ref['drawings']} training drawings nearest to "
                     f"each sketch score {ref['colour_error_mean']:.1f} (the nearest one alone "
                     f"{ref['colour_error_nearest']:.1f}): how far a drawing decides its colours here.")
    lines.append("")
    return "\n".join(lines)


@torch.no_grad()
def prior_figure(pipe: WorkflowPipeline, data: Path, out: Path, *, rows: int = 6, samples: int = 6, seed: int = 0,
                 priors: tuple[str, ...] | None = None) -> Path:
    """Per held-out sketch (row): the sketch, the artist's flat, then ``samples`` flats from each prior
    (default: N(0, I) and the conditional ones the pipeline has)."""
    from ..images import image_grid, to_pil

    if priors is None:
        priors = tuple(compared_priors(pipe, 0))

    sketches, flats = load_stage(data, "test", 0, rows), load_stage(data, "test", 1, rows)
    g0 = pipe.transitions[0].generator
    grid = []
    for i, (sketch, flat) in enumerate(zip(sketches, flats)):
        row = [to_pil(sketch), to_pil(flat)]
        for prior in priors:
            z = pipe.sample_z(seed + i, samples, 0, prior=prior, condition=sketch[None])
            row += [to_pil(f) for f in g0(sketch[None].expand(samples, -1, -1, -1), z=z)]
        grid.append(row)
    header = ["sketch", "artist"] + [f"{p} {j + 1}" for p in priors for j in range(samples)]
    out.parent.mkdir(parents=True, exist_ok=True)
    image_grid(grid, header=header, gap=2, cell=(96, 96)).save(out)
    return out
