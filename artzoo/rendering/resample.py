"""Moving pictures between the model's square and the sketch's frame, and the edge-aware upsampler.

Bilinear resizing here is separable gather-and-blend on numpy arrays with pixel-centre alignment (the
same sampling as ``torch.nn.functional.interpolate(..., align_corners=False)``), and it can produce any
band of output rows, so full-size results can be built in tiles of bounded memory.

`guided_coefficients` is He, Sun and Tang's guided filter with a colour guide (ECCV 2010, and the "fast"
variant of 2015): the filter is solved on a small grid as local linear maps from guide colour to value,
and those maps are applied to the full-resolution guide, so the result's edges are the guide's edges.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from ..images import Placement


def model_crop(tensor, placement: Placement | None) -> np.ndarray:
    """A model tensor (1, C, S, S) or (C, S, S) in [-1, 1] → the picture's box as float32 (h, w, C) in [0, 1]."""
    t = torch.as_tensor(tensor).detach().float().cpu()
    if t.ndim == 4:
        t = t[0]
    a = ((t.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
    if placement is None:
        return np.ascontiguousarray(a)
    left, top, right, bottom = placement.box
    return np.ascontiguousarray(a[top:bottom, left:right])


def _axis_taps(n_out: int, n_in: int, index: np.ndarray | None = None):
    """Source indices and blend weight of bilinear sampling along one axis (pixel-centre aligned)."""
    dst = np.arange(n_out) if index is None else np.asarray(index)
    src = np.clip((dst + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (src - lo).astype(np.float32)


def resize(image: np.ndarray, height: int, width: int, rows=None, cols=None) -> np.ndarray:
    """Bilinear resize of (h, w, ...) float to (height, width, ...); ``rows``/``cols`` (slices or index
    arrays) pick a band or a sample of the output instead of all of it."""
    h, w = image.shape[:2]
    r0, r1, rw = _axis_taps(height, h, _indices(rows, height))
    c0, c1, cw = _axis_taps(width, w, _indices(cols, width))
    extra = (None,) * (image.ndim - 2)
    rw = rw[(slice(None), None) + extra]
    band = image[r0] * (1 - rw) + image[r1] * rw
    cw = cw[(None, slice(None)) + extra]
    return band[:, c0] * (1 - cw) + band[:, c1] * cw


def sample_points(image: np.ndarray, ys: np.ndarray, xs: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear samples of (h, w, ...) at points (ys, xs) of a (height, width) frame: (N, ...)."""
    h, w = image.shape[:2]
    r0, r1, rw = _axis_taps(height, h, ys)
    c0, c1, cw = _axis_taps(width, w, xs)
    extra = (None,) * (image.ndim - 2)
    rw, cw = rw[(slice(None),) + extra], cw[(slice(None),) + extra]
    top = image[r0, c0] * (1 - cw) + image[r0, c1] * cw
    bottom = image[r1, c0] * (1 - cw) + image[r1, c1] * cw
    return top * (1 - rw) + bottom * rw


def _indices(pick, n: int) -> np.ndarray | None:
    return np.arange(n)[pick] if isinstance(pick, slice) else pick


def block_reduce(image: np.ndarray, factor: int, how: str = "mean") -> np.ndarray:
    """Shrink (H, W, ...) by an integer factor, each output pixel the mean, max or min of its block (edges
    padded). Reduced one axis at a time with in-place ufuncs: several times faster than a 2-axis reduce."""
    if factor == 1:
        return image
    h, w = image.shape[:2]
    ph, pw = -h % factor, -w % factor
    if ph or pw:
        image = np.pad(image, ((0, ph), (0, pw)) + ((0, 0),) * (image.ndim - 2), mode="edge")
    combine = {"mean": np.add, "max": np.maximum, "min": np.minimum}[how]
    rest = image.shape[2:]
    rows = image.reshape(image.shape[0] // factor, factor, image.shape[1], *rest)
    acc = rows[:, 0].astype(np.float32) if how == "mean" else rows[:, 0].copy()
    for i in range(1, factor):
        combine(acc, rows[:, i], out=acc)
    cols = acc.reshape(acc.shape[0], acc.shape[1] // factor, factor, *rest)
    out = cols[:, :, 0].copy()
    for i in range(1, factor):
        combine(out, cols[:, :, i], out=out)
    return out / np.float32(factor * factor) if how == "mean" else out


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    size = (2 * radius + 1,) * 2 + (1,) * (x.ndim - 2)
    return ndimage.uniform_filter(x, size=size, mode="nearest")


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float):
    """Guided-filter maps for a colour guide (h, w, 3) and sources (h, w, k): returns A (h, w, k, 3) and
    b (h, w, k), already box-averaged, so that the filtered source is ``A @ guide + b`` at any resolution
    the (resized) maps are applied to."""
    guide = guide.astype(np.float32)
    source = source.astype(np.float32)
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(source, radius)
    cov_ip = box_mean(source[..., :, None] * guide[..., None, :], radius) - mean_p[..., :, None] * mean_i[..., None, :]
    var_i = box_mean(guide[..., :, None] * guide[..., None, :], radius) - mean_i[..., :, None] * mean_i[..., None, :]
    var_i += eps * np.eye(3, dtype=np.float32)
    a = np.einsum("hwcd,hwkd->hwkc", np.linalg.inv(var_i), cov_ip)
    b = mean_p - np.einsum("hwkc,hwc->hwk", a, mean_i)
    return box_mean(a, radius), box_mean(b, radius)


def apply_guided(a: np.ndarray, b: np.ndarray, guide: np.ndarray, size: tuple[int, int],
                 rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
    """Evaluate guided-filter maps on the full-resolution guide of a (height, width) frame, or on the window
    ``rows`` × ``cols`` of it (``guide`` is then that window): (R, C, k)."""
    k = b.shape[-1]
    maps = resize(np.concatenate([a.reshape(*a.shape[:2], -1), b], axis=-1), *size, rows, cols)
    out = maps[..., 3 * k:]
    for c in range(3):  # a sum over guide channels, without a (R, C, k, 3) temporary
        out += maps[..., c: 3 * k: 3] * guide[..., c: c + 1]
    return out



class GuidedUpsampler:
    """The guided filter's result on a full-resolution frame, band by band, computed per pixel only where
    the guide varies: where the guide is one constant colour over a pixel's bilinear footprint, ``A @ guide
    + b`` upsampled equals the small-grid result upsampled, which needs a quarter of the maps. Exact up
    to ``tolerance`` in the guide; fast for flat-colour guides, no slower than `apply_guided` otherwise.

    ``a``, ``b``: `guided_coefficients` on a grid ``factor`` times smaller than ``guide`` (block means).
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, guide: np.ndarray, factor: int, tolerance: float = 1e-3):
        self.guide, self.factor, self.k = guide, factor, b.shape[-1]
        self.maps = np.concatenate([a.reshape(*a.shape[:2], -1), b], axis=-1)
        self.small = b + np.einsum("hwkc,hwc->hwk", a, block_reduce(guide, factor))
        # Cells whose 3 × 3 neighbourhood (the bilinear footprint of any pixel in them) is not one colour.
        high = ndimage.maximum_filter(block_reduce(guide, factor, "max"), size=(3, 3, 1), mode="nearest")
        low = ndimage.minimum_filter(block_reduce(guide, factor, "min"), size=(3, 3, 1), mode="nearest")
        self.varying = (high - low).max(-1) > tolerance

    def band(self, rows: slice) -> np.ndarray:
        """The filtered values of one band of rows: (R, W, k)."""
        height, width = self.guide.shape[:2]
        out = resize(self.small, height, width, rows)
        row_index = np.arange(height)[rows]
        ys, xs = np.nonzero(self.varying[row_index // self.factor][:, np.arange(width) // self.factor])
        if ys.size:
            maps = sample_points(self.maps, row_index[ys], xs, height, width)
            exact = maps[:, 3 * self.k:]
            for c in range(3):
                exact += maps[:, c: 3 * self.k: 3] * self.guide[row_index[ys], xs, c: c + 1]
            out[ys, xs] = exact
        return out
