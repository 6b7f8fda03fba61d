"""Does the lighting vary with z? For pipelines whose last transition lights a colour stage with a normal
stage before it (chairs: sketch → normal → colour → light): per held-out chair, several lit pictures are
generated from the real colour stage, one per z, and the light's direction and colour are read back
from each; how far they spread across z is compared with how far they spread across the real test set
(each real chair has its own random light).

Reading the light back. The chairs renderer lights an albedo A as A·(ambient + max(0, n·l)·c) + gloss, so
on the object the shading s = luma(lit) / luma(A) is close to a + n·v with v = |c|·l, in camera space
(the normal stage stores camera-space normals). A least-squares fit of s on the true normals over the
object's pixels, refitted on the pixels that face the first estimate (the clamp at 0 and most shadows
drop out), gives l = v / |v|. The light's colour is the median of lit / A per channel over the lit
pixels, as a chromaticity (channels over their sum), in percent.

Does the lit picture keep the colour stage's colours? ``chroma drift``: the mean CIELAB a*b* distance
between the lit picture and its colour stage over the object's pixels; real lit chairs drift a little
(coloured lights, shadows), a lighting network that ignores its input drifts far.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ArtzooError
from ..pipeline import WorkflowPipeline
from .normals import BACKGROUND
from .priors import compared_priors, lab_pixels
from .tables import load_stage

STAGES = ("normal", "colour", "light")  # the last three stages this evaluation reads, in order
LUMA = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64)
MIN_ALBEDO = 0.05  # darker albedo pixels say little about the shading (a ratio of two small numbers)


def light_estimate(lit: torch.Tensor, albedo: torch.Tensor, normal: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Light direction (B, 3, unit, camera space) and chromaticity (B, 3) of lit pictures, from their
    albedo and true normal maps; all (B, 3, S, S) in [-1, 1]."""
    lit01, albedo01 = (lit.double() + 1) / 2, (albedo.double() + 1) / 2
    n = torch.nn.functional.normalize(normal.double(), dim=1, eps=1e-8)
    albedo_luma = torch.einsum("bchw,c->bhw", albedo01, LUMA)
    shading = torch.einsum("bchw,c->bhw", lit01, LUMA) / albedo_luma.clamp_min(MIN_ALBEDO)
    usable = (normal <= BACKGROUND).any(1) & (albedo_luma > MIN_ALBEDO)
    directions, colours = [], []
    for b in range(len(lit)):
        m = usable[b]
        if m.sum() < 8:
            raise ArtzooError("a normal map shows fewer than 8 object pixels: no light to read")
        normals, s = n[b][:, m].T, shading[b][m]
        v = _fit(normals, s)
        facing = normals @ v > 0.1 * v.norm()
        if facing.sum() >= 8:  # refit on the lit side, where s is linear in n
            v = _fit(normals[facing], s[facing])
        directions.append((v / v.norm().clamp_min(1e-12)).numpy())
        lit_side = m.clone()
        lit_side[m] = normals @ v > 0.1 * v.norm()
        chosen = lit_side if lit_side.sum() >= 8 else m
        ratio = (lit01[b][:, chosen] / albedo01[b][:, chosen].clamp_min(MIN_ALBEDO)).median(1).values
        colours.append((100 * ratio / ratio.sum().clamp_min(1e-12)).numpy())
    return np.stack(directions), np.stack(colours)


def chroma_drift(lit: torch.Tensor, albedo: torch.Tensor, normal: torch.Tensor) -> np.ndarray:
    """Per picture, the mean a*b* distance between a lit picture and its colour stage over the object's
    pixels (where the normal map is not background); all (B, 3, S, S) in [-1, 1]."""
    inside = (normal <= BACKGROUND).any(1).numpy()
    distance = np.linalg.norm(lab_pixels(lit)[..., 1:] - lab_pixels(albedo)[..., 1:], axis=-1)
    return (distance * inside).sum((1, 2)) / np.maximum(inside.sum((1, 2)), 1)


def _fit(normals: torch.Tensor, shading: torch.Tensor) -> torch.Tensor:
    """v of the least-squares fit shading ≈ a + normals·v."""
    design = torch.cat([torch.ones(len(normals), 1, dtype=normals.dtype), normals], 1)
    return torch.linalg.lstsq(design, shading[:, None]).solution[1:, 0]


def mean_pairwise_angle(directions: np.ndarray) -> float:
    """Mean angle in degrees between every two of (K, 3) unit vectors."""
    cos = np.clip(directions @ directions.T, -1, 1)
    i, j = np.triu_indices(len(directions), 1)
    return float(np.degrees(np.arccos(cos[i, j])).mean())


def mean_pairwise_distance(points: np.ndarray) -> float:
    i, j = np.triu_indices(len(points), 1)
    return float(np.linalg.norm(points[i] - points[j], axis=1).mean())


@torch.no_grad()
def evaluate_lighting(pipe: WorkflowPipeline, data: Path, *, limit: int | None = 64, samples: int = 8,
                      seed: int = 0, batch_size: int = 16) -> dict:
    """Per z source (N(0, I) and the pipeline's priors): the light direction's and colour's spread across
    ``samples`` draws per held-out chair, averaged over chairs; beside them the spread across the real
    test set and, for z encoded from each real lit picture, how close the regenerated light comes to it."""
    if tuple(pipe.stages[-3:]) != STAGES:
        raise ArtzooError(f"lighting needs the stages to end in {list(STAGES)}, this pipeline has {pipe.stages}")
    k = len(pipe.stages) - 1
    t = pipe.transitions[k - 1]
    normal, colour, lit = (load_stage(data, "test", i, limit) for i in (k - 2, k - 1, k))
    n = len(lit)
    if n < 2:
        raise ArtzooError(f"{data} has {n} held-out picture(s); a spread needs ≥ 2")
    real_dir, real_col = light_estimate(lit, colour, normal)
    sources = compared_priors(pipe, k - 1)
    spread = {s: {"direction": [], "colour": [], "drift": []} for s in sources}
    encoded_angle = []
    for start in range(0, n, batch_size):
        rows = slice(start, start + batch_size)
        x, y, nm = colour[rows], lit[rows], normal[rows]
        d, _ = light_estimate(t.generator(x, t.latent_encoder(y)[0]), x, nm)
        encoded_angle += list(np.degrees(np.arccos(np.clip((d * real_dir[rows]).sum(1), -1, 1))))
        for source in sources:
            draws = [pipe.sample_z(seed + i, transition=k - 1, prior=source, condition=x) for i in range(samples)]
            made = [t.generator(x, z) for z in draws]
            per_draw = [light_estimate(y, x, nm) for y in made]
            spread[source]["drift"] += list(np.mean([chroma_drift(y, x, nm) for y in made], 0))
            for b in range(len(x)):
                spread[source]["direction"].append(mean_pairwise_angle(np.stack([p[0][b] for p in per_draw])))
                spread[source]["colour"].append(mean_pairwise_distance(np.stack([p[1][b] for p in per_draw])))
    return {"n": n, "samples": samples, "image_size": pipe.image_size,
            "real": {"direction_spread": mean_pairwise_angle(real_dir), "colour_spread": mean_pairwise_distance(real_col),
                     "chroma_drift": float(chroma_drift(lit, colour, normal).mean())},
            "encoded_angle_to_real": float(np.mean(encoded_angle)),
            "sources": {s: {"direction_spread": float(np.mean(v["direction"])), "colour_spread": float(np.mean(v["colour"])),
                            "chroma_drift": float(np.mean(v["drift"]))} for s, v in spread.items()}}


def lighting_markdown(name: str, r: dict) -> str:
    label = {"normal": "z ~ N(0, I) (paper)", "learned": "z from the learned prior p(z | colour)",
             "nearest": "z from the nearest training drawings' codes"}
    lines = [f"### {name}: does the lighting vary with z?", "",
             f"{r['n']} held-out chairs, {r['image_size']} px; the light's direction (camera space) and colour "
             "(chromaticity, %) read back from each lit picture with the true normals and the colour stage "
             "(`artzoo/evaluation/lighting.py`); spread = mean over pairs of the angle between directions / the "
             f"distance between colours; chroma drift = mean a*b* distance between a lit picture and its colour stage "
             f"on the object (does lighting keep the colours?); sampled sources: {r['samples']} draws per chair from "
             "the real colour stage.", "",
             "| lights compared | direction spread | colour spread | chroma drift |", "|---|---|---|---|",
             f"| real test chairs, each with its own random light (target) | {r['real']['direction_spread']:.1f}° | "
             f"{r['real']['colour_spread']:.2f} | {r['real']['chroma_drift']:.1f} |"]
    for source, s in r["sources"].items():
        lines.append(f"| one chair, {label.get(source, source)} | {s['direction_spread']:.1f}° | "
                     f"{s['colour_spread']:.2f} | {s['chroma_drift']:.1f} |")
    lines += ["", f"z encoded from the real lit picture: the regenerated light is {r['encoded_angle_to_real']:.1f}° "
                  "from the real one, on average (how well the generator can reproduce a given light)."]
    return "\n".join(lines) + "\n"
