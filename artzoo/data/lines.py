"""Line extraction shared by the recipes: thin black lines on white, like a drawn sketch.

Every extractor works on an image rendered at a multiple of the output size and returns a
boolean edge mask at that resolution; `draw_lines` then thins the mask to a centre line,
redraws it one output pixel wide and downsamples by area. Detecting at high resolution
and drawing at a fixed width is what keeps 64 px sketches crisp instead of grey smears.
"""

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from artzoo.data.imaging import on_white


def _neighbour_difference(channels: np.ndarray) -> np.ndarray:
    """Largest absolute difference to any 4-neighbour, over all channels (H, W, C) -> (H, W)."""
    dx = np.abs(np.diff(channels, axis=1)).max(-1)
    dy = np.abs(np.diff(channels, axis=0)).max(-1)
    out = np.zeros(channels.shape[:2], np.float32)
    # Mark both pixels of each differing pair so boundaries are closed curves.
    out[:, 1:] = np.maximum(out[:, 1:], dx)
    out[:, :-1] = np.maximum(out[:, :-1], dx)
    out[1:] = np.maximum(out[1:], dy)
    out[:-1] = np.maximum(out[:-1], dy)
    return out


def region_edges(rgb: np.ndarray, alpha: np.ndarray | None = None, threshold: float = 0.04) -> np.ndarray:
    """Boundaries between flat colour regions (and the silhouette, from alpha when given).

    rgb: float (H, W, 3) in [0, 1]; alpha: float (H, W) in [0, 1]. Flat colourings have no
    gradients, so any step above `threshold` is a region boundary; the low threshold keeps
    boundaries between similar shades, which an artist would still draw.
    """
    channels = rgb if alpha is None else np.concatenate([rgb, alpha[..., None]], axis=-1)
    return _neighbour_difference(channels.astype(np.float32)) > threshold


def boundary_sketch(flat_rgba: np.ndarray, size: int) -> Image.Image:
    """Sketch of a flat colouring rendered at a multiple of `size`: region boundaries and silhouette."""
    edges = region_edges(on_white(flat_rgba), alpha=flat_rgba[..., 3])
    return Image.fromarray(draw_lines(edges, size))


def label_edges(labels: np.ndarray) -> np.ndarray:
    """Boundaries between integer labels (H, W), e.g. part ids or segmentation classes."""
    return _neighbour_difference(labels[..., None].astype(np.float32)) > 0


def xdog_edges(gray: np.ndarray, sigma: float, k: float = 1.6, tau: float = 0.98, epsilon: float = -0.02) -> np.ndarray:
    """Pencil-style lines by thresholded difference of Gaussians (Winnemoeller's XDoG).

    gray: float (H, W) in [0, 1]. A pixel is ink where the fine blur is darker than
    `tau` times the coarse blur by more than `epsilon`: this fires on the dark side of
    edges and on thin dark features, but not in smooth shading.
    """
    fine = ndi.gaussian_filter(gray, sigma)
    coarse = ndi.gaussian_filter(gray, sigma * k)
    return fine - tau * coarse < epsilon


def draw_lines(edges: np.ndarray, size: int, width: float = 1.0, min_length: int = 0) -> np.ndarray:
    """Redraw an edge mask at `size` px as anti-aliased lines `width` output pixels wide.

    edges: bool (H, W) with H == W == size * scale for an integer scale. Returns uint8
    (size, size), 255 = paper, 0 = ink. Skeleton pieces shorter than `min_length`
    high-resolution pixels (specks from texture or noise) are dropped.
    """
    scale = edges.shape[0] // size
    if edges.shape != (size * scale, size * scale):
        raise ValueError(f"edge mask {edges.shape} is not a multiple of {size}")
    skeleton = skeletonize(edges)
    if min_length:
        labels, count = ndi.label(skeleton, structure=np.ones((3, 3)))
        lengths = np.bincount(labels.ravel(), minlength=count + 1)
        keep = lengths >= min_length
        keep[0] = False
        skeleton = keep[labels]
    # Ink falls off linearly over one high-res pixel at the stroke border (anti-aliasing).
    distance = ndi.distance_transform_edt(~skeleton)
    ink = np.clip(width * scale / 2 + 0.5 - distance, 0, 1)
    coverage = ink.reshape(size, scale, size, scale).mean(axis=(1, 3))
    # A one-pixel line rarely sits on the pixel grid; boosting coverage keeps it dark.
    darkness = np.clip(coverage * 1.4, 0, 1)
    return np.round(255 * (1 - darkness)).astype(np.uint8)
