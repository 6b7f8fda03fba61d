"""Layered export: a PSD with the user's lines on transparency over the colour stages (psd-tools)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ArtzooError
from .colour import to_uint8
from .regions import Regions


def line_layer(regions: Regions) -> Image.Image:
    """The user's lines as black ink on transparency (alpha = line alpha): over a stage it looks exactly
    like `overlay_lines`."""
    rgba = np.zeros((*regions.shape, 4), np.uint8)
    rgba[..., 3] = to_uint8(regions.alpha)
    return Image.fromarray(rgba, "RGBA")


def write_psd(path: str | os.PathLike, layers: list[tuple[str, Image.Image]]) -> Path:
    """Write a PSD whose layers are ``layers`` (name, picture), bottom first, all of one size; RGBA
    pictures keep their transparency. Written to a temporary file and renamed, so never half-written."""
    from psd_tools import PSDImage

    if not layers:
        raise ArtzooError("a PSD needs at least one layer")
    size = layers[0][1].size
    if any(image.size != size for _, image in layers):
        raise ArtzooError(f"PSD layers must share one size: {[image.size for _, image in layers]}")
    psd = PSDImage.new("RGBA", size)  # an RGBA document keeps layer alpha as transparency, not as a mask
    for name, image in layers:
        psd.create_pixel_layer(image if image.mode in ("RGB", "RGBA") else image.convert("RGB"), name=name)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        psd.save(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
