"""How clean a render is, in numbers (used by the tests and `benchmarks/bench_rendering.py`).

Colours are compared in CIELAB with CIE76 ΔE (Euclidean distance; ΔE ≈ 2.3 is a just-noticeable step).
Pictures are (H, W, 3) arrays, uint8 or float in [0, 1]; masks are bool (H, W).
"""

from __future__ import annotations

import numpy as np

from .colour import WHITE_LAB, as_rgb, delta_e, luma, rgb_to_lab
from .regions import Regions
from .stages import group_median


def _lab(image) -> np.ndarray:
    return rgb_to_lab(as_rgb(image))


def fill_mask(regions: Regions) -> np.ndarray:
    """The drawing's colour fill: pixels inside it that the user's lines leave untouched (alpha 0)."""
    return regions.inside_mask() & (regions.alpha == 0)


def region_purity(image, regions: Regions, mask=None, tolerance: float = 3.0) -> float:
    """Share of the drawing's pixels (``mask``; default `fill_mask`) within ΔE ``tolerance`` of their
    region's median colour: 1.0 means every region is one flat colour."""
    mask = fill_mask(regions) if mask is None else np.asarray(mask, bool)
    if not mask.any():
        return 1.0
    lab = _lab(image)[mask]
    labels = regions.labels[mask]
    median, _ = group_median(lab, labels, regions.count)
    return float((delta_e(lab, median[labels]) <= tolerance).mean())


def paper_tint(image, paper_mask, tolerance: float = 5.0) -> float:
    """Share of the paper around the drawing (``paper_mask``) farther than ΔE ``tolerance`` from white."""
    paper_mask = np.asarray(paper_mask, bool)
    if not paper_mask.any():
        return 0.0
    return float((delta_e(_lab(image)[paper_mask], WHITE_LAB) > tolerance).mean())


def region_delta_e(image, reference, regions: Regions, mask=None) -> tuple[float, float]:
    """ΔE between each region's median colour in ``image`` and in ``reference`` (e.g. the network's output
    upsampled), over the pixels in ``mask`` (default `fill_mask`): (mean over regions, area-weighted
    mean). Low values mean the render invents no colours."""
    mask = fill_mask(regions) if mask is None else np.asarray(mask, bool)
    labels = regions.labels[mask]
    ours, counts = group_median(_lab(image)[mask], labels, regions.count)
    theirs, _ = group_median(_lab(reference)[mask], labels, regions.count)
    present = counts > 0
    if not present.any():
        return 0.0, 0.0
    diff = delta_e(ours[present], theirs[present])
    return float(diff.mean()), float(np.average(diff, weights=counts[present]))


def chroma_shift(image, base, mask=None, *, shading_matched: bool = True) -> float:
    """Mean distance in Lab's (a*, b*) plane between a stage and the stage it was made from: how much it
    re-colours. With ``shading_matched`` the base is first multiplied to the stage's luma, as a shading
    layer would, so only what shading cannot explain counts (pure shading scores 0); otherwise plain Δab."""
    picture, reference = as_rgb(image), as_rgb(base)
    if shading_matched:
        gain = (luma(picture) + 1e-3) / (luma(reference) + 1e-3)
        reference = np.clip(reference * gain[..., None], 0.0, 1.0)
    a, b = _lab(picture)[..., 1:], _lab(reference)[..., 1:]
    shift = np.sqrt(((a - b) ** 2).sum(-1))
    return float(shift.mean() if mask is None else shift[np.asarray(mask, bool)].mean())
