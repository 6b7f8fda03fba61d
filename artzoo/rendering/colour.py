"""Colour helpers for rendering: image arrays in [0, 1], CIELAB for judging colours, YCbCr for changing them.

Lab (via scikit-image, D65) is used wherever colours are compared or summarised, because distances there
track what people see; ΔE is CIE76 (Euclidean distance in Lab). YCbCr is linear in sRGB, so shading
(a gain on every channel) and chroma shifts can be applied to full-size pictures in a few array operations.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage import color as skcolor

from ..errors import ArtzooError

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601, as in JPEG's YCbCr
WHITE_LAB = np.array([100.0, 0.0, 0.0])


def as_rgb(image) -> np.ndarray:
    """PIL image or array (H×W grey or H×W×3/4; uint8 or float in [0, 1]) → float32 (H, W, 3) in [0, 1]
    (other floats are clipped into range; float32 colour arrays are passed through as they are)."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[..., None].repeat(3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ArtzooError(f"expected an H×W or H×W×3 picture, got an array of shape {a.shape}")
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.float32:  # the renderer's own pictures: already in range, not copied
        return a
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    scaled = np.multiply(rgb, 255.0, dtype=np.float32)
    scaled += 0.5
    return np.clip(scaled, 0.0, 255.0, out=scaled).astype(np.uint8)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] → (..., 3) CIELAB."""
    return skcolor.rgb2lab(np.asarray(rgb, np.float64).reshape(-1, 1, 3)).reshape(np.shape(rgb))


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(..., 3) CIELAB → (..., 3) sRGB float32 in [0, 1] (out-of-gamut colours clipped)."""
    rgb = skcolor.lab2rgb(np.asarray(lab, np.float64).reshape(-1, 1, 3)).reshape(np.shape(lab))
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def delta_e(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    """CIE76 colour difference of Lab arrays (broadcasting)."""
    return np.sqrt(((np.asarray(lab_a, np.float64) - lab_b) ** 2).sum(-1))


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ LUMA


def chroma_cbcr(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB → (..., 2) (Cb, Cr), each in [-0.5, 0.5]."""
    y = luma(rgb)
    return np.stack([(rgb[..., 2] - y) / 1.772, (rgb[..., 0] - y) / 1.402], axis=-1)


def cbcr_to_rgb_offset(cbcr: np.ndarray) -> np.ndarray:
    """A (Cb, Cr) shift as the RGB offset that adds it without changing luma."""
    cb, cr = cbcr[..., 0], cbcr[..., 1]
    return np.stack([1.402 * cr, -0.344136 * cb - 0.714136 * cr, 1.772 * cb], axis=-1)
