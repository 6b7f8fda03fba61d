"""Line-art → regions: which pixels are the user's lines, and which closed areas they draw.

`segment` works on the sketch at its own resolution (big sketches: on a grid of at most `WORK_SIDE` px
a side, found with block maxima so thin lines survive, then scaled back up):

1. Paper level: the brightest pixel of each block, smoothed (scanned pages are not evenly lit), so a
   line is what is darker than the paper *around it* — any line colour, pencil on grey paper included.
   Darkness relative to the paper, with the paper's grain taken off, is the line alpha (zero farther
   than 2 px from any line, so specks and grain are not drawn back). A picture that is mostly
   neither paper nor ink is a photo or a painting, not line art, and is refused.
2. Line mask: alpha above a fraction of the sketch's own ink level.
3. Gap closing: the cores of regions are the paper farther than ``max_gap / 2 + 1`` px from any line
   (the distance transform of the paper), so a gap of up to ``max_gap`` px cannot connect two cores.
   Every pixel then takes the label of its nearest core; paper that would thereby take a core from
   another connected paper area (it is walled off by a line) gets a region of its own instead —
   narrow closed areas that have no core of their own, e.g. thin bands.
4. Regions under ``min_area`` px merge into the neighbour they share the longest border with.
5. Regions touching the image border are "outside" (the paper around the drawing).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from PIL import Image
from scipy import ndimage

from ..errors import ArtzooError
from .colour import LUMA
from .resample import block_reduce, resize

WORK_SIDE = 1024  # larger sketches are segmented on a grid this size (the lines stay full size)
MAX_ASPECT = 20  # longer strips than this are not drawings a square model can have coloured
MAX_HALFTONE = 0.3  # sketches measured ≤ 0.04 (pencil scans more), photos 0.4–0.8


@dataclasses.dataclass
class Regions:
    """A sketch split into closed areas, at the sketch's resolution (H, W).

    labels   int32 region id per pixel, 0 … n-1 (line pixels belong to a neighbouring region)
    lines    bool, the user's lines
    alpha    float32 in [0, 1], how much each pixel darkens what is under it (0 on paper; anti-aliased)
    outside  bool per region: touches the image border (the paper around the drawing)
    depth    float32, distance in px to the nearest line (small near a region's border)
    """

    labels: np.ndarray
    lines: np.ndarray
    alpha: np.ndarray
    outside: np.ndarray
    depth: np.ndarray

    @property
    def count(self) -> int:
        return len(self.outside)

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape

    def areas(self) -> np.ndarray:
        return np.bincount(self.labels.ravel(), minlength=self.count)

    def inside_mask(self) -> np.ndarray:
        """Pixels of the drawing: not in an outside region."""
        return ~self.outside[self.labels]


def as_grey(sketch) -> np.ndarray:
    """PIL image or array (grey or RGB/RGBA, uint8 or float in [0, 1]) → float32 (H, W) in [0, 1]."""
    if isinstance(sketch, Image.Image):
        if sketch.mode in ("RGBA", "LA", "PA"):
            white = Image.new("RGBA", sketch.size, (255, 255, 255, 255))
            sketch = Image.alpha_composite(white, sketch.convert("RGBA"))
        sketch = np.asarray(sketch.convert("L"))
    a = np.asarray(sketch)
    was_uint8 = a.dtype == np.uint8
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].astype(np.float32) @ LUMA
    if a.ndim != 2:
        raise ArtzooError(f"a sketch must be an H×W (or H×W×3) picture, got an array of shape {np.shape(sketch)}")
    a = a.astype(np.float32)
    if was_uint8 or a.max(initial=0) > 1.0:
        a /= 255.0
    if not np.isfinite(a).all():
        raise ArtzooError("the sketch contains NaN or infinity")
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def check_shape(height: int, width: int) -> None:
    if min(height, width) < 8:
        raise ArtzooError(f"the sketch is {width}×{height} px; each side must be at least 8 px")
    if max(height, width) > MAX_ASPECT * min(height, width):
        raise ArtzooError(f"the sketch is {width}×{height} px, a strip more than {MAX_ASPECT}:1; crop it to "
                          "the drawing first")


def _paper_level(grey: np.ndarray) -> np.ndarray:
    """Local paper brightness: block maxima on a ~32-block grid, spread over fills, smoothed, upsampled."""
    h, w = grey.shape
    block = max(8, max(h, w) // 32)
    level = ndimage.maximum_filter(block_reduce(grey, block, "max"), size=3, mode="nearest")
    # Solid fills larger than a block must not pass for dark paper.
    level = np.maximum(level, 0.8 * float(np.median(level)))
    level = ndimage.uniform_filter(level, size=3, mode="nearest")
    return resize(level, h, w)


def _ink(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """Line alpha (darkness over the local paper, grain removed) and the sketch's ink level."""
    if float(np.percentile(grey[::4, ::4], 99)) < 0.2:
        raise ArtzooError("the sketch is dark all over: expected dark lines on light paper")
    if float(grey.max() - grey.min()) < 0.02:
        raise ArtzooError("the sketch is blank (a single flat tone): draw some lines first")
    darkness = 1.0 - grey / np.maximum(_paper_level(grey), 1e-3)
    # Paper grain: most of a sketch is paper, so its typical darkness is the noise to take off.
    grain = min(0.2, 0.03 + 2.0 * float(np.median(darkness[::3, ::3])))
    alpha = np.clip((darkness - grain) / (1.0 - grain), 0.0, 1.0)
    marked = alpha[::2, ::2]
    marked = marked[marked > 0.05]
    ink = float(np.percentile(marked, 98)) if marked.size else 0.0
    if ink < 0.1 or marked.size < 8:
        raise ArtzooError("the sketch is blank: no lines darker than the paper were found")
    # Line art is paper and ink with a thin anti-aliased rim; photos and paintings are mostly in between.
    tone = alpha[::2, ::2] / ink
    between = float(((tone > 0.15) & (tone < 0.85)).mean())
    if between > MAX_HALFTONE:
        raise ArtzooError(f"this looks like a photo or a painting, not line art ({between:.0%} of it is neither "
                          "paper nor ink): draw or upload a sketch (finished pictures go to decompose)")
    return alpha.astype(np.float32), ink


def border_labels(labels: np.ndarray) -> np.ndarray:
    """The labels that touch the picture's edge (once each): regions there are the paper around a drawing."""
    return np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))


def _merge_small(labels: np.ndarray, n: int, min_area: float) -> tuple[np.ndarray, int]:
    """Merge regions below ``min_area`` into the neighbour with the longest shared border; relabel 0…m-1."""
    for _ in range(3):  # a small region may first merge into another small one
        areas = np.bincount(labels.ravel(), minlength=n)
        small = areas < min_area
        small[areas == 0] = False
        if not small.any() or small.all():
            break
        pairs = []
        for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
            differ = a != b
            pairs += [np.stack([a[differ], b[differ]]), np.stack([b[differ], a[differ]])]
        pairs = np.concatenate(pairs, axis=1)
        pairs = pairs[:, small[pairs[0]]]
        if not pairs.shape[1]:
            break
        codes, shared = np.unique(pairs[0].astype(np.int64) * n + pairs[1], return_counts=True)
        src, dst = codes // n, codes % n
        # Prefer neighbours that stay (not small), then the longest border.
        order = np.lexsort((-shared, small[dst], src))
        first = np.r_[True, src[order][1:] != src[order][:-1]]
        target = np.arange(n)
        target[src[order][first]] = dst[order][first]
        labels = target[labels]
    present = np.bincount(labels.ravel(), minlength=n) > 0
    compact = np.cumsum(present) - 1
    return compact[labels].astype(np.int32), int(present.sum())


def segment(sketch, *, max_gap: float = 6.0, min_area: float | None = None) -> Regions:
    """Split a sketch at its own resolution into regions (see the module docstring for the method).

    ``sketch``: H×W greyscale (or RGB) uint8 / float array or PIL image, lines darker than the paper.
    ``max_gap``: gaps in the lines up to this many px still separate regions.
    ``min_area``: smaller regions merge into a neighbour (default: 0.015 % of the picture, ≥ 12 px).
    Raises `ArtzooError` for blank or all-dark sketches, strips and tiny pictures.
    """
    grey = as_grey(sketch)
    h, w = grey.shape
    check_shape(h, w)
    alpha, ink = _ink(grey)
    lines = alpha > 0.4 * ink
    factor = math.ceil(max(h, w) / WORK_SIDE)
    work_lines = block_reduce(lines, factor, "max")
    depth = ndimage.distance_transform_edt(~work_lines).astype(np.float32)
    cores, n_cores = ndimage.label(depth > (max_gap / 2 + 1) / factor)
    paper_parts, _ = ndimage.label(~work_lines)
    if n_cores == 0:  # nothing but lines and slivers: one region
        labels = np.zeros(work_lines.shape, np.int32)
    else:
        iy, ix = ndimage.distance_transform_edt(cores == 0, return_distances=False, return_indices=True)
        labels = cores[iy, ix]
        del iy, ix
        part_of_core = np.zeros(n_cores + 1, paper_parts.dtype)
        part_of_core[cores.ravel()] = paper_parts.ravel()
        walled_off = ~work_lines & (part_of_core[labels] != paper_parts)
        if walled_off.any():
            extra, n_extra = ndimage.label(walled_off)
            labels[walled_off] = n_cores + extra[walled_off]
        labels -= 1
    n = int(labels.max()) + 1
    if min_area is None:
        min_area = max(12.0, 1.5e-4 * h * w)
    labels, n = _merge_small(labels, n, min_area / factor**2)
    outside = np.zeros(n, bool)
    outside[border_labels(labels)] = True
    if factor > 1:
        rows, cols = np.arange(h) // factor, np.arange(w) // factor
        labels = labels[rows][:, cols]
        depth = depth[rows][:, cols] * factor
    alpha[depth > 2 + factor] = 0.0  # paper grain and specks away from any line are not drawn back
    return Regions(labels=labels, lines=lines, alpha=alpha, outside=outside, depth=depth)
