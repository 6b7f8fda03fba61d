"""Where sampled latents should come from: N(0, I) (the paper), the bank of encoded training latents, the
learned prior p(z | sketch) or the codes of the most similar training drawings, judged on held-out
drawings against the real pictures of the stage a transition makes (fluent-emoji: the artists' flats
from the sketch; chairs: the part colours from the normal map), the regions given by the sketch's lines:

- conditional colour error: per sketch, the area-weighted CIE76 ΔE (Lab) between each line-bounded
  region's median colour in a sample and in the real picture (regions inside the drawing); mean over the
  samples and best of them; beside the bound the generator allows (z = the latent encoder's code of the
  real picture), and how many of z's dimensions those codes use (a collapsed encoder: about one)
- FD of the samples to the real held-out pictures of that stage (offline extractor)
- diversity: mean pairwise L1 (pixels in [-1, 1]) between the samples of one sketch, and the mean
  pairwise a*b* distance of their mean colours (a palette that only changes lightness scores ~0 there)
- one colour per part: the area-weighted mean ΔE of a region's pixels to its median colour
- the next stage keeps the colours: mean a*b* distance between each sample and the next transition's
  picture drawn from it (its z from the same prior), over the drawing's pixels
- a reference no sampler is held to: the real pictures of the training drawings nearest to each
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
from ..images import drawn
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
    a, b = sample_lab.reshape(-1, 3), artist_lab.reshape(-1, 3)
    total, errors = 0, 0.0
    for pixels in inner_regions(regions):
        errors += len(pixels) * float(np.linalg.norm(np.median(a[pixels], 0) - np.median(b[pixels], 0)))
        total += len(pixels)
    return errors / max(total, 1)


def region_spread(regions, lab: np.ndarray) -> float:
    """One colour per part: the area-weighted mean ΔE of each inner region's pixels to its median colour
    (0 for flat colours that respect the lines)."""
    flat = lab.reshape(-1, 3)
    total, spread = 0, 0.0
    for pixels in inner_regions(regions):
        values = flat[pixels]
        spread += float(np.linalg.norm(values - np.median(values, 0), axis=-1).sum())
        total += len(pixels)
    return spread / max(total, 1)


def inner_regions(regions) -> list[np.ndarray]:
    """Per line-bounded region inside the drawing (those touching the border are paper), the flat
    indices of its pixels, found with one sort rather than a mask per region."""
    lab = regions.labels
    inside = np.flatnonzero((~regions.lines & ~np.isin(lab, border_labels(lab))).ravel())
    labels = lab.ravel()[inside]
    order = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.diff(labels[order])) + 1
    return [p for p in np.split(inside[order], starts) if len(p)]


def chroma_diversity(labs: np.ndarray, masks: list[np.ndarray]) -> float:
    """Mean pairwise a*b* distance between the mean colours of pictures (each over its own mask)."""
    means = np.stack([lab[m][:, 1:].mean(0) for lab, m in zip(labs, masks)])
    return float(np.mean([np.linalg.norm(means[a] - means[b]) for a in range(len(means)) for b in range(a + 1, len(means))]))


@torch.no_grad()
def evaluate_priors(pipe: WorkflowPipeline, data: Path, *, transition: int = 0, limit: int | None = 120,
                    samples: int = 8, seed: int = 0, extractor=None, priors: tuple[str, ...] | None = None) -> dict:
    """The measures above per prior the pipeline offers for ``transition`` (and the next one, which draws
    the drift check), on the first ``limit`` held-out drawings."""
    extractor = extractor or default_extractor()
    t, chain = transition, range(transition, min(transition + 2, len(pipe.transitions)))
    priors = priors or tuple(p for p in pipe.priors(t) if all(p in pipe.priors(i) for i in chain))
    sketches = load_stage(data, "test", 0, limit)
    inputs = load_stage(data, "test", t, limit)
    real = load_stage(data, "test", t + 1, limit)
    gen = pipe.transitions[t].generator
    regions = [line_regions(s) for s in sketches]
    artist = lab_pixels(real)
    drawing = [drawn(f).numpy() for f in real]
    results = {"transition": t, "stages": pipe.stages[t:t + 2], "n_sketches": len(sketches), "samples": samples,
               "extractor": extractor.name, "priors": {},
               "real_part_spread": float(np.mean([region_spread(r, a) for r, a in zip(regions, artist)]))}
    real_stats = feature_stats(extractor.extract(real), extractor.name)

    mu = pipe.transitions[t].latent_encoder(real)[0]  # the bound: each real picture, encoded
    bound = lab_pixels(gen(inputs, z=mu))
    results["encoder_bound"] = float(np.mean([region_colour_error(r, b, a) for r, b, a in zip(regions, bound, artist)]))
    # How many of z's dimensions the codes of real pictures use: the participation ratio (Σλ)² / Σλ² of
    # their covariance's eigenvalues (1: all variation along one direction, nz: spread evenly).
    results["encoder_code_std"] = [round(float(v), 3) for v in mu.std(0)]
    eig = torch.linalg.eigvalsh(torch.cov(mu.T.double()))
    results["encoder_effective_dims"] = float(eig.sum() ** 2 / (eig ** 2).sum())

    results["real_nearest"] = real_nearest_pictures(data, sketches, regions, artist, samples, t + 1)

    for prior in priors:
        errors, best, div, chroma, spread, drift, made = [], [], [], [], [], [], []
        for i, (x, reg) in enumerate(zip(inputs, regions)):
            x = x[None]
            z = pipe.sample_z(seed + i, samples, t, prior=prior, condition=x)
            out = gen(x.expand(samples, -1, -1, -1), z=z)
            lab_out = lab_pixels(out)
            e = [region_colour_error(reg, s, artist[i]) for s in lab_out]
            errors.append(np.mean(e))
            best.append(np.min(e))
            pairs = [(a, b) for a in range(samples) for b in range(a + 1, samples)]
            div.append(np.mean([float((out[a] - out[b]).abs().mean()) for a, b in pairs]))
            chroma.append(chroma_diversity(lab_out, [drawing[i]] * samples))
            spread.append(np.mean([region_spread(reg, s) for s in lab_out]))
            if t + 1 < len(pipe.transitions):
                z1 = pipe.sample_z(seed + 10_000 + i, 1, t + 1, prior=prior, condition=out)
                ab = np.linalg.norm(lab_pixels(pipe.transitions[t + 1].generator(out, z=z1))[..., 1:] - lab_out[..., 1:], axis=-1)
                drift.append(float(ab[:, drawing[i]].mean()))
            made.append(out)
        fd = frechet_distance(feature_stats(extractor.extract(torch.cat(made)), extractor.name), real_stats)
        results["priors"][prior] = {"colour_error_mean": float(np.mean(errors)), "colour_error_best": float(np.mean(best)),
                                    "fd": fd, "diversity": float(np.mean(div)), "chroma_diversity": float(np.mean(chroma)),
                                    "part_spread": float(np.mean(spread))}
        if drift:
            results["priors"][prior]["detail_ab_drift"] = float(np.mean(drift))
    return results


def real_nearest_pictures(data: Path, sketches: torch.Tensor, regions: list, artist: np.ndarray, n: int,
                          stage: int = 1) -> dict:
    """The colour error (and palette spread) of the real ``stage`` pictures of the ``n`` training drawings
    nearest to each sketch."""
    train_sketches = load_stage(data, "train", 0, None)
    near = torch.cdist(sketches.flatten(1), train_sketches.flatten(1), p=1).topk(n, largest=False).indices
    train = WorkflowDataset(data, "train")
    errors, chroma = [], []
    for reg, art, rows in zip(regions, artist, near):
        pictures = torch.stack([train[int(j)][stage] for j in rows])
        labs = lab_pixels(pictures)
        errors.append([region_colour_error(reg, lab, art) for lab in labs])
        chroma.append(chroma_diversity(labs, [drawn(p).numpy() for p in pictures]))
    errors = np.array(errors)
    return {"drawings": n, "colour_error_mean": float(errors.mean()), "colour_error_nearest": float(errors[:, 0].mean()),
            "chroma_diversity": float(np.mean(chroma))}


def prior_markdown(name: str, r: dict) -> str:
    made, given = (r.get("stages") or ["sketch", "flat"])[::-1]  # results files from before stages lack them
    drift = "detail_ab_drift" in next(iter(r["priors"].values()))
    newer = "chroma_diversity" in next(iter(r["priors"].values()))  # files from before these measures lack them
    lines = [f"### {name}: where sampled z come from ({given} → {made})", "",
             f"{r['n_sketches']} held-out drawings, {r['samples']} samples each; colour error = area-weighted ΔE "
             f"(CIE76) of each of the sketch's line regions' median colour against the real {made}; FD to the real "
             f"held-out {made}s ({r['extractor']}); diversity = mean pairwise L1 of the samples"
             + ("; palette = mean pairwise a*b* distance of the samples' mean colours; part spread = mean ΔE of a "
                "region's pixels to its median (one colour per part: 0)" if newer else "")
             + ("; next-stage drift = mean a*b* distance between a sample and the next stage drawn from it" if drift else "")
             + ".", ""]
    columns = ["z from", "colour error, mean ↓", "best of samples ↓", "FD ↓", "diversity"]
    columns += ["palette", "part spread ↓"] if newer else []
    columns += ["next-stage drift ↓"] if drift else []
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for prior, m in r["priors"].items():
        label = {"normal": "N(0, I) (paper)", "bank": "bank of training codes", "learned": f"learned p(z | {given})",
                 "nearest": "codes of the nearest training drawings"}[prior]
        cells = [label, f"{m['colour_error_mean']:.1f}", f"{m['colour_error_best']:.1f}", f"{m['fd']:.3f}",
                 f"{m['diversity']:.3f}"]
        cells += [f"{m['chroma_diversity']:.1f}", f"{m['part_spread']:.1f}"] if newer else []
        cells += [f"{m['detail_ab_drift']:.1f}"] if drift else []
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Bound (z = the encoder's code of the real {made}): colour error {r['encoder_bound']:.1f}."]
    if "encoder_effective_dims" in r:
        lines.append(f"The latent encoder's codes of the real pictures use {r['encoder_effective_dims']:.1f} of z's "
                     f"{len(r['encoder_code_std'])} dimensions (participation ratio of their covariance: 1 = one "
                     f"direction; per-dimension std {', '.join(f'{v:.2f}' for v in r['encoder_code_std'])}).")
    if "real_nearest" in r:  # results files from before this reference lack it
        ref = r["real_nearest"]
        lines.append(f"Reference, no model: the real {made}s of the {ref['drawings']} training drawings nearest to "
                     f"each sketch score {ref['colour_error_mean']:.1f} (the nearest one alone "
                     f"{ref['colour_error_nearest']:.1f})"
                     + (f", palette {ref['chroma_diversity']:.1f}" if "chroma_diversity" in ref else "")
                     + ": how far a drawing decides its colours here.")
    if "real_part_spread" in r:
        lines.append(f"Part spread of the real held-out {made}s: {r['real_part_spread']:.1f}.")
    lines.append("")
    return "\n".join(lines)


@torch.no_grad()
def prior_figure(pipe: WorkflowPipeline, data: Path, out: Path, *, transition: int = 0, rows: int = 6,
                 samples: int = 6, seed: int = 0, priors: tuple[str, ...] | None = None) -> Path:
    """Per held-out drawing (row): the sketch, the transition's input when it is not the sketch, the real
    picture it should make, then ``samples`` pictures from each prior (default: N(0, I) and the
    conditional ones the pipeline has)."""
    from ..images import image_grid, to_pil

    t = transition
    if priors is None:
        priors = tuple(compared_priors(pipe, t))

    sketches, inputs, real = (load_stage(data, "test", k, rows) for k in (0, t, t + 1))
    gen = pipe.transitions[t].generator
    grid = []
    for i, (sketch, x, target) in enumerate(zip(sketches, inputs, real)):
        row = [to_pil(sketch)] + ([to_pil(x)] if t > 0 else []) + [to_pil(target)]
        for prior in priors:
            z = pipe.sample_z(seed + i, samples, t, prior=prior, condition=x[None])
            row += [to_pil(f) for f in gen(x[None].expand(samples, -1, -1, -1), z=z)]
        grid.append(row)
    header = (["sketch"] + ([pipe.stages[t]] if t > 0 else []) + [f"real {pipe.stages[t + 1]}"]
              + [f"{p} {j + 1}" for p in priors for j in range(samples)])
    out.parent.mkdir(parents=True, exist_ok=True)
    image_grid(grid, header=header, gap=2, cell=(96, 96)).save(out)
    return out
