"""Rendering stages at the sketch's resolution from the networks' small outputs.

The networks decide which colours and shading go where; these functions make the picture crisp:

* `render_flat`: one colour per region, the robust (Lab median) colour the network gave its interior.
* `render_continuous`: a later stage as the network's *change* over its input stage — a luminance gain
  and a bounded chroma shift, so detail shades rather than re-colours — upsampled edge-aware (guided
  filter on the full-size previous stage) and kept inside regions, so nothing bleeds across a line.
* `overlay_lines`: the user's own lines multiplied over a stage.
* `apply_hints`: a colour scribble inside a region sets that region's colour exactly.
* `apply_change`: an edit of an uploaded picture applied at its own size; untouched pixels stay identical.

Pictures are float32 (H, W, 3) arrays in [0, 1] unless said otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from ..errors import ArtzooError
from ..images import PAPER_WHITE
from .colour import as_rgb, cbcr_to_rgb_offset, chroma_cbcr, lab_to_rgb, luma, rgb_to_lab, delta_e, WHITE_LAB
from .regions import Regions
from .resample import (GuidedUpsampler, apply_guided, block_reduce, guided_coefficients, model_crop, resize,
                       sample_points)

STATS_SIDE = 256  # region colours are read on a grid about this size: plenty of samples, little time
TILE_ROWS = 256  # full-size results are built in bands of rows to bound memory


def group_median(values: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-group median of each column of values (N, k) for groups in 0…n-1: ((n, k), counts)."""
    counts = np.bincount(groups, minlength=n)
    middle = np.cumsum(counts) - counts + (counts - 1) // 2
    middle = np.clip(middle, 0, max(len(groups) - 1, 0))
    out = np.zeros((n, values.shape[1]), np.float64)
    if len(groups):
        for c in range(values.shape[1]):
            order = np.lexsort((values[:, c], groups))
            out[:, c] = values[order[middle], c]
    return out, counts


def interior(depth: np.ndarray, labels: np.ndarray, n: int, border: float) -> np.ndarray:
    """Pixels at least ``border`` px from a line — or, in regions too thin for that, the inner half."""
    deepest = np.zeros(n, np.float32)
    np.maximum.at(deepest, labels.ravel(), depth.ravel())
    return depth >= np.minimum(border, 0.5 * deepest)[labels]


def _border(regions: Regions, model_height: int, border: float | None) -> float:
    """Default distance from a region's edge within which the network's colour is blurred: one model
    pixel (when the network's picture is given already upsampled: 1 % of the picture's side)."""
    if border is not None:
        return float(border)
    scale = regions.shape[0] / model_height
    return scale if scale > 1.5 else 0.01 * max(regions.shape)


def region_colours(regions: Regions, network_rgb, border: float | None = None) -> np.ndarray:
    """Lab colour per region (n, 3): the median of the network's colour over the region's interior.

    ``network_rgb`` covers the sketch's frame at any size (the model's crop or already upsampled)."""
    net = as_rgb(network_rgb)
    height, width = regions.shape
    n = regions.count
    step = max(1, max(height, width) // STATS_SIDE)
    rows, cols = np.arange(step // 2, height, step), np.arange(step // 2, width, step)
    labels = regions.labels[rows][:, cols].ravel()
    depth = regions.depth[rows][:, cols].ravel()
    samples = resize(net, height, width, rows, cols).reshape(-1, 3)
    keep = interior(depth, labels, n, _border(regions, net.shape[0], border))
    median, counts = group_median(rgb_to_lab(samples[keep]), labels[keep], n)
    missing = np.flatnonzero(counts == 0)
    if missing.size:  # regions the grid missed (small or thin): read every one of their pixels
        ys, xs = np.nonzero(np.isin(regions.labels, missing))
        colours = sample_points(net, ys, xs, height, width)
        filled, _ = group_median(rgb_to_lab(colours), np.searchsorted(missing, regions.labels[ys, xs]), missing.size)
        median[missing] = filled
    return median


def render_flat(regions: Regions, network_rgb, *, border: float | None = None,
                paper_tolerance: float = 10.0) -> np.ndarray:
    """Each region filled with one colour from the network's output (any size covering the same frame).

    Outside regions (the paper around the drawing) stay pure white when the network's colour there is
    within ΔE ``paper_tolerance`` of white. Returns float32 (H, W, 3) without lines (`overlay_lines`)."""
    lab = region_colours(regions, network_rgb, border)
    palette = lab_to_rgb(lab)
    paper = regions.outside & (delta_e(lab, WHITE_LAB) < paper_tolerance)
    palette[paper] = 1.0
    return np.take(palette, regions.labels, axis=0)


def _stage_change(net_prev: np.ndarray, net_out: np.ndarray, max_chroma: float,
                  gain_range: tuple[float, float]) -> np.ndarray:
    """The network's step as (log luma gain, ΔCb, ΔCr) per model pixel: out ≈ gain × prev + shift, the
    chroma shift bounded in length (a gain alone already scales chroma: only the rest is a shift)."""
    log_gain = np.log((luma(net_out) + 0.05) / (luma(net_prev) + 0.05))
    log_gain = np.clip(log_gain, *np.log(gain_range))
    shift = chroma_cbcr(net_out) - np.exp(log_gain)[..., None] * chroma_cbcr(net_prev)
    length = np.linalg.norm(shift, axis=-1, keepdims=True)
    shift *= np.minimum(1.0, max_chroma / np.maximum(length, 1e-6))
    return np.concatenate([log_gain[..., None], shift], axis=-1).astype(np.float32)


def render_continuous(prev_full, net_prev, net_out, regions: Regions, *, max_chroma: float = 0.03,
                      gain_range: tuple[float, float] = (0.3, 1.8), smoothing: float = 2.0,
                      eps: float = 1e-3) -> np.ndarray:
    """A later stage (detail) at full size: the network's change from ``net_prev`` to ``net_out`` (the
    model's crops of both stages) applied to ``prev_full`` (the full-size previous stage, without lines).

    The change is a luma gain (in ``gain_range``) times the previous stage plus a chroma shift of at most
    ``max_chroma`` (CbCr units, 0.03 ≈ ΔE 5–8); it is replaced near region borders by the nearest value
    inside the same region (the network's 64 px output blurs across borders), then guided-filtered with
    the previous stage as guide, so its edges are the regions' edges; ``smoothing`` is the filter's
    radius in model pixels (the network's pixel-level noise is not shading). Paper around the drawing
    stays as it is."""
    prev = as_rgb(prev_full)
    before, after = as_rgb(net_prev), as_rgb(net_out)
    if before.shape != after.shape:
        raise ArtzooError(f"the two network stages differ in size: {before.shape} vs {after.shape}")
    height, width = prev.shape[:2]
    if regions.shape != (height, width):
        raise ArtzooError(f"regions are {regions.shape}, the previous stage is {(height, width)}")
    scale = height / before.shape[0]
    factor = max(1, math.floor(scale / 4))  # the working grid: about 4 px per model pixel
    guide = block_reduce(prev, factor)
    work_h, work_w = guide.shape[:2]
    rows = np.minimum(np.arange(work_h) * factor + factor // 2, height - 1)
    cols = np.minimum(np.arange(work_w) * factor + factor // 2, width - 1)
    labels = regions.labels[rows][:, cols]
    change = resize(_stage_change(before, after, max_chroma, gain_range), work_h, work_w)
    inner = interior(regions.depth[rows][:, cols], labels, regions.count, _border(regions, before.shape[0], None))
    iy, ix = ndimage.distance_transform_edt(~inner, return_distances=False, return_indices=True)
    borrow = ~inner & (labels[iy, ix] == labels)
    change[borrow] = change[iy[borrow], ix[borrow]]
    paper = regions.outside & _white(prev, regions)
    change[paper[labels]] = 0.0
    a, b = guided_coefficients(guide, change, radius=max(1, round(smoothing * scale / factor)), eps=eps)
    filtered = GuidedUpsampler(a, b, prev, factor)
    out = np.empty_like(prev)
    for top in range(0, height, TILE_ROWS):
        band = slice(top, min(top + TILE_ROWS, height))
        q = filtered.band(band)
        q[paper[regions.labels[band]]] = 0.0
        shaded = prev[band] * np.exp(q[..., :1])
        shaded += cbcr_to_rgb_offset(q[..., 1:])
        np.clip(shaded, 0.0, 1.0, out=out[band])
    return out


def _white(image: np.ndarray, regions: Regions, stray: float = 0.02) -> np.ndarray:
    """Per region: is the picture paper white all over it (read on a coarse grid)? The lines and their
    anti-aliased rim do not count, nor a ``stray`` share of off-white samples: line pixels join a
    neighbouring region, and a previous stage that is the sketch itself has them drawn in, with a soft
    fringe farther out than the line alpha reaches (the paper around a drawing would otherwise not be
    paper, and take the next stage's shading). A flat colour stage is all or nothing either way."""
    step = max(1, max(regions.shape) // STATS_SIDE)
    labels = regions.labels[::step, ::step].ravel()
    counted = regions.alpha[::step, ::step].ravel() == 0
    tinted = (image[::step, ::step].reshape(-1, 3).min(-1) <= PAPER_WHITE) & counted
    total = np.bincount(labels, weights=counted, minlength=regions.count)
    return np.bincount(labels, weights=tinted, minlength=regions.count) <= stray * total


def overlay_lines(image, regions: Regions) -> np.ndarray:
    """The user's lines multiplied over a picture (anti-aliased: by the line alpha)."""
    return as_rgb(image) * (1.0 - regions.alpha[..., None])


def apply_hints(regions: Regions, flat, hints_rgb_full, mask=None) -> np.ndarray:
    """Colour hints, LazyBrush-style: each region a scribble touches takes the scribble's colour exactly
    (its most common colour there); other regions are unchanged.

    ``hints_rgb_full``: the scribbles at the sketch's size (RGB, or RGBA whose alpha marks them);
    ``mask``: bool H×W of scribbled pixels, default the alpha, or else every clearly coloured pixel."""
    out = as_rgb(flat).copy()
    hints = np.asarray(hints_rgb_full.convert("RGBA") if isinstance(hints_rgb_full, Image.Image) else hints_rgb_full)
    if hints.shape[:2] != regions.shape:
        raise ArtzooError(f"the hints are {hints.shape[1]}×{hints.shape[0]} px; the sketch is "
                          f"{regions.shape[1]}×{regions.shape[0]}")
    rgb = (as_rgb(hints) * 255 + 0.5).astype(np.int64)
    if mask is None:
        if hints.ndim == 3 and hints.shape[-1] == 4:
            mask = as_rgb(hints[..., 3])[..., 0] > 0.5
        else:
            mask = rgb.max(-1) - rgb.min(-1) > 64  # scribbles are coloured; lines and paper are grey
    mask = np.asarray(mask, bool) & ~regions.lines
    if not mask.any():
        raise ArtzooError("no colour hints found: scribble some colour inside the regions (or pass a mask)")
    n = regions.count
    code = (rgb[mask] @ np.array([1 << 16, 1 << 8, 1])) + regions.labels[mask].astype(np.int64) * (1 << 24)
    codes, votes = np.unique(code, return_counts=True)
    label, colour = codes >> 24, codes & 0xFFFFFF
    order = np.lexsort((-votes, label))
    first = np.r_[True, label[order][1:] != label[order][:-1]]
    chosen = np.zeros(n, bool)
    palette = np.zeros((n, 3), np.float32)
    chosen[label[order][first]] = True
    winner = colour[order][first]
    palette[label[order][first]] = np.stack([winner >> 16, (winner >> 8) & 255, winner & 255], -1) / 255.0
    hinted = chosen[regions.labels]
    out[hinted] = palette[regions.labels[hinted]]
    return out


def apply_change(original_full, before_model, after_model, placement=None, *, threshold: float = 2 / 255,
                 eps: float = 1e-3) -> np.ndarray:
    """An edit of an uploaded picture at the picture's own size.

    ``before_model``/``after_model``: the stage before and after the edit, model tensors (1, 3, S, S) in
    [-1, 1]; ``placement``: where the upload sat in the model's square (None: it filled it). The change
    (model px differing by less than ``threshold`` count as unchanged) is upsampled edge-aware with the
    original as guide and added to it. Returns uint8 (H, W, 3): identical to the original wherever the
    edit changed nothing (and wherever the upsampled change rounds to nothing)."""
    original = np.asarray(original_full.convert("RGB") if isinstance(original_full, Image.Image) else original_full)
    if original.dtype != np.uint8:
        original = (as_rgb(original) * 255 + 0.5).astype(np.uint8)
    elif original.ndim == 2:
        original = original[..., None].repeat(3, axis=-1)
    original = original[..., :3]
    before, after = model_crop(before_model, placement), model_crop(after_model, placement)
    if before.shape != after.shape or before.shape[-1] != 3:
        raise ArtzooError(f"before and after must be colour model tensors of one size, got {before.shape} "
                          f"and {after.shape}")
    change = after - before
    changed = np.abs(change).max(-1) >= threshold
    change[~changed] = 0.0
    out = original.copy()
    if not changed.any():
        return out
    height, width = original.shape[:2]
    scale = height / before.shape[0]
    factor = max(1, math.floor(scale / 4))
    guide = block_reduce(original, factor) / 255.0
    radius = max(1, round(scale / factor))
    a, b = guided_coefficients(guide, resize(change, *guide.shape[:2]), radius, eps)
    # The filter reaches about two windows past the change; everything farther stays as it was.
    reach = ndimage.binary_dilation(changed, iterations=2 * math.ceil(radius * factor / scale) + 1)
    ys, xs = np.nonzero(reach)
    top, bottom = int(ys.min() * height // reach.shape[0]), -(-int(ys.max() + 1) * height // reach.shape[0])
    left, right = int(xs.min() * width // reach.shape[1]), -(-int(xs.max() + 1) * width // reach.shape[1])
    cols = slice(left, min(right, width))
    col_cells = np.arange(width)[cols] * reach.shape[1] // width
    for start in range(top, min(bottom, height), TILE_ROWS):
        band = slice(start, min(start + TILE_ROWS, bottom, height))
        pixels = original[band, cols].astype(np.float32)
        q = apply_guided(a, b, pixels / 255.0, (height, width), band, cols) * 255.0
        inside = reach[np.arange(height)[band] * reach.shape[0] // height][:, col_cells]
        q[~inside] = 0.0
        q[np.abs(q) < 0.5] = 0.0  # numerical dust must not move a pixel
        out[band, cols] = np.clip(np.rint(pixels + q), 0, 255).astype(np.uint8)
    return out
