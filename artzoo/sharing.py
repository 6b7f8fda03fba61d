"""Sharing a workflow: its stages side by side (a strip), as an animated GIF, or as a ZIP of PNGs.

    from artzoo.sharing import workflow_gif, workflow_strip
    workflow_strip(wf.pil_images(original_size=True)).save("strip.png")
    workflow_gif(wf.pil_images(original_size=True), "workflow.gif")
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from PIL import Image

from .errors import ArtzooError
from .images import image_grid


def _same_size_rgb(images) -> list[Image.Image]:
    """RGB copies of the stage pictures, all at the first one's size (sketches are single-channel)."""
    images = list(images)
    if not images:
        raise ArtzooError("no stage images to export")
    size = images[0].size
    return [im.convert("RGB") if im.size == size else im.convert("RGB").resize(size, Image.Resampling.LANCZOS)
            for im in images]


def workflow_strip(images, labels: list[str] | None = None, gap: int = 8) -> Image.Image:
    """The stages left to right on white, ``gap`` px apart, each captioned with its label if given."""
    frames = _same_size_rgb(images)
    if labels is not None and len(labels) != len(frames):
        raise ArtzooError(f"{len(labels)} labels for {len(frames)} images")
    return image_grid([frames], header=labels, gap=gap)


def workflow_gif(images, path: str | os.PathLike, duration_ms: int = 700, final_hold_ms: int = 2000,
                 loop: int = 0) -> Path:
    """Write the stages as an animated GIF (each shown ``duration_ms``, the last ``final_hold_ms``)."""
    frames = _same_size_rgb(images)
    # One adaptive palette per frame (gradients in the detail stage would band with a shared one); the
    # octree method is ~10× faster than median cut at the same look for these flat-shaded pictures.
    paletted = [f.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE) for f in frames]
    durations = [duration_ms] * (len(frames) - 1) + [final_hold_ms]
    path = Path(path)
    paletted[0].save(path, save_all=True, append_images=paletted[1:], duration=durations, loop=loop,
                     disposal=1, optimize=False)
    return path


def workflow_zip(images, names: list[str], path: str | os.PathLike,
                 extra_files: dict[str, bytes] | None = None) -> Path:
    """Write one PNG per stage (``<index>_<name>.png``) and any extra files into a ZIP archive."""
    images = list(images)
    if len(names) != len(images):
        raise ArtzooError(f"{len(names)} names for {len(images)} images")
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (image, name) in enumerate(zip(images, names)):
            buffer = io.BytesIO()
            image.save(buffer, "PNG", compress_level=1)  # fast; these pictures are small
            archive.writestr(f"{i}_{name}.png", buffer.getvalue())
        for name, data in (extra_files or {}).items():
            archive.writestr(name, data)
    return path
