"""Turning whatever the user hands us into model tensors, and model tensors back into pictures.

Model tensors are float (1, C, S, S) in [-1, 1]; C is 1 for sketches and 3 otherwise. Inputs of any
size and aspect are fitted inside the square on a white margin (artwork here is drawn on white), and
`Placement` remembers where, so outputs can be cut out and scaled back to the input's aspect.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageSequence, UnidentifiedImageError

from .errors import ArtzooError

MAX_PIXELS = 40_000_000  # a 6k × 6k photo; more is almost surely a mistake and would eat the RAM
MIN_SIDE = 8
SOURCE_MAX_SIDE = 2048  # full-resolution pictures are drawn at most this big: the networks hold no more detail
# How a pipeline's stage is drawn at full resolution (`artzoo.rendering`): the user's sketch itself, flat
# colours filling the sketch's line regions, or shading laid over the stage before.
RENDER_KINDS = ("sketch", "regions", "continuous")
# A pixel brighter than this in every channel (0–1) is paper, not drawing: the white our artwork is drawn on.
PAPER_WHITE = 0.97


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where the user's picture sits inside the model's square: its original size and the box used."""

    width: int
    height: int
    box: tuple[int, int, int, int]  # left, top, right, bottom, in model pixels

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "box": list(self.box)}

    @classmethod
    def from_dict(cls, d: dict) -> "Placement":
        return cls(int(d["width"]), int(d["height"]), tuple(int(v) for v in d["box"]))


def open_image(source) -> Image.Image:
    """Open a path or file-like as a PIL image, with a clear error for anything that is not one."""
    if isinstance(source, (str, os.PathLike)) and not Path(source).exists():
        raise ArtzooError(f"no such file: {source}")
    try:
        image = Image.open(source)  # reads the header only: the size is known before any decoding
    except Image.DecompressionBombError as e:
        raise ArtzooError(f"image is far over the {MAX_PIXELS / 1e6:.0f} MP limit ({e}): scale it down first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        name = source if isinstance(source, (str, os.PathLike)) else "input"
        raise ArtzooError(f"{name} is not a readable image ({e.__class__.__name__}: {e})") from None
    _check_size(*image.size)  # before load(): a huge canvas must not be decoded into memory
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as e:
        name = source if isinstance(source, (str, os.PathLike)) else "input"
        raise ArtzooError(f"{name} is not a readable image ({e.__class__.__name__}: {e})") from None
    return image


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ArtzooError(f"image is {width}×{height} = {width * height / 1e6:.1f} MP; the limit is "
                          f"{MAX_PIXELS / 1e6:.0f} MP: scale it down first")
    if min(width, height) < MIN_SIDE:
        raise ArtzooError(f"image is {width}×{height}; each side must be at least {MIN_SIDE} px")


def _to_rgb_on_white(image: Image.Image) -> Image.Image:
    if getattr(image, "is_animated", False):
        image = next(ImageSequence.Iterator(image))  # an animated file: use its first frame
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if image.mode in ("I", "I;16", "F"):
        # 16-bit/float greyscale: rescale to 8 bits instead of clipping to white.
        arr = np.asarray(image, dtype=np.float64)
        span = max(arr.max() - arr.min(), 1e-9)
        return Image.fromarray(((arr - arr.min()) / span * 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def _from_array(array: np.ndarray) -> Image.Image:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # CHW → HWC
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ArtzooError(f"array of shape {tuple(np.asarray(array).shape)} is not an image "
                          "(expected H×W, H×W×3 or H×W×4)")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ArtzooError("image array contains NaN or infinity")
        # Floats in [-1, 1] (model range) or [0, 1]; anything else is treated as 0..255.
        if a.min() < 0:
            a = (a + 1) / 2
        if a.max() <= 1.0:
            a = a * 255
        a = np.clip(a, 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return Image.fromarray(a, "RGBA" if a.ndim == 3 and a.shape[-1] == 4 else None)


def as_pil(image) -> Image.Image:
    """PIL image, path, numpy array or tensor → an RGB PIL image composited on white."""
    if isinstance(image, (str, os.PathLike)):
        image = open_image(image)
    elif isinstance(image, torch.Tensor):
        t = image.detach().float().cpu()
        if t.ndim == 4:
            if t.shape[0] != 1:
                raise ArtzooError(f"tensor has a batch of {t.shape[0]} images; pass one at a time")
            t = t[0]
        image = _from_array(t.numpy())
    elif isinstance(image, np.ndarray):
        image = _from_array(image)
    elif not isinstance(image, Image.Image):
        raise ArtzooError(f"expected an image (PIL image, numpy array, tensor or file path), got {type(image).__name__}")
    _check_size(*image.size)
    return _to_rgb_on_white(image)


def check_render_kinds(kinds, n_stages: int) -> list[str]:
    """A pipeline's per-stage render kinds, validated (one per stage, known, the first not shading)."""
    kinds = list(kinds)
    if len(kinds) != n_stages or any(k not in RENDER_KINDS for k in kinds) or kinds[0] == "continuous":
        raise ArtzooError(f"render kinds must name one of {list(RENDER_KINDS)} per stage ({n_stages}), the first "
                          f"not 'continuous'; got {kinds}")
    return kinds


def cap_source(image: Image.Image, what: str = "picture") -> tuple[Image.Image, list[str]]:
    """The user's picture as kept for full-resolution rendering: at most `SOURCE_MAX_SIDE` px a side
    (scaled down with a box filter, which keeps thin lines), and a note saying so when it was."""
    if max(image.size) <= SOURCE_MAX_SIDE:
        return image, []
    s = SOURCE_MAX_SIDE / max(image.size)
    size = (max(MIN_SIDE, round(image.width * s)), max(MIN_SIDE, round(image.height * s)))
    note = (f"the {what} is {image.width}×{image.height} px; full-size pictures are drawn at {size[0]}×{size[1]} "
            f"(at most {SOURCE_MAX_SIDE} px a side)")
    return image.resize(size, Image.Resampling.BOX), [note]


def fit_square(image: Image.Image, size: int) -> tuple[Image.Image, Placement]:
    """Scale to fit a size×size square, centred on white, keeping the aspect ratio."""
    w, h = image.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    # Box filter when shrinking a lot keeps thin lines as grey rather than dropping them.
    resized = image.resize((nw, nh), Image.Resampling.BOX if scale < 0.5 else Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    left, top = (size - nw) // 2, (size - nh) // 2
    canvas.paste(resized, (left, top))
    return canvas, Placement(w, h, (left, top, left + nw, top + nh))


def to_tensor(image: Image.Image, channels: int) -> torch.Tensor:
    """RGB PIL → (1, C, H, W) float in [-1, 1]; one channel is luminance."""
    if channels == 1:
        image = image.convert("L")
    arr = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    t = torch.from_numpy(arr.copy())
    return (t[None] if channels == 1 else t.permute(2, 0, 1))[None]


def drawn(x: torch.Tensor) -> torch.Tensor:
    """Model tensors (..., C, H, W) in [-1, 1] → bool (..., H, W): the pixels that are not paper white."""
    return ((x + 1) / 2 <= PAPER_WHITE).any(-3)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """(1, C, H, W) or (C, H, W) in [-1, 1] → PIL (L for one channel, RGB otherwise)."""
    t = tensor.detach().float().cpu()
    if t.ndim == 4:
        t = t[0]
    arr = ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if arr.shape[0] == 1:
        return Image.fromarray(arr[0].numpy(), "L")
    return Image.fromarray(arr.permute(1, 2, 0).numpy(), "RGB")


def restore_aspect(image: Image.Image, placement: Placement, max_side: int | None = None) -> Image.Image:
    """Cut the model-size output back to the input's box and upscale to the input's size (capped)."""
    crop = image.crop(placement.box)
    w, h = placement.width, placement.height
    if max_side and max(w, h) > max_side:
        s = max_side / max(w, h)
        w, h = max(1, round(w * s)), max(1, round(h * s))
    return crop.resize((w, h), Image.Resampling.LANCZOS)


def load_for_model(image, channels: int, size: int, *, what: str = "image",
                   allow_blank: bool = False) -> tuple[torch.Tensor, Placement]:
    """Any supported input → ((1, C, size, size) tensor in [-1, 1], placement), rejecting blank images."""
    pil = as_pil(image)
    fitted, placement = fit_square(pil, size)
    tensor = to_tensor(fitted, channels)
    if not allow_blank and float(tensor.std()) < 1e-3:
        raise ArtzooError(f"the {what} is blank (a single flat colour): nothing to work from")
    return tensor, placement


def hint_mask(hints: torch.Tensor, mask=None) -> torch.Tensor:
    """Where colour hints apply, (S, S) bool for a (1, 3, S, S) hints tensor: the given ``mask`` (H×W,
    H×W×C or C×H×W, any size: resized nearest) or, without one, every clearly coloured pixel, since
    scribbles are coloured while sketch lines and paper are grey."""
    size = hints.shape[-2:]
    if mask is None:
        rgb = (hints[0] + 1) / 2
        return rgb.max(0).values - rgb.min(0).values > 0.25
    m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask, device=hints.device).bool()
    if m.ndim == 3:
        m = m.any(-1) if m.shape[-1] in (1, 3, 4) else m.any(0)
    if tuple(m.shape) != tuple(size):
        m = torch.nn.functional.interpolate(m[None, None].float(), size=tuple(size), mode="nearest")[0, 0] > 0.5
    return m


def full_size_hints(hints, mask, size: tuple[int, int], placement: Placement | None, model_size: int) -> Image.Image:
    """Colour hints at a source picture's ``size`` as RGBA, alpha marking the scribbles: ``hints`` is any
    image of the source's frame; ``mask`` (see `hint_mask`) is in the model square when it is model-size
    (cut out at ``placement``), else in the hints' own frame; None: every clearly coloured pixel."""
    rgb = as_pil(hints).resize(size, Image.Resampling.NEAREST)
    if mask is None:
        a = np.asarray(rgb, dtype=np.int16)
        marked = a.max(-1) - a.min(-1) > 64  # scribbles are coloured; lines and paper are grey
    else:
        m = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask, dtype=bool)
        if m.ndim == 3:
            m = m.any(-1) if m.shape[-1] in (1, 3, 4) else m.any(0)
        if m.shape == (model_size, model_size) and placement is not None:
            left, top, right, bottom = placement.box
            m = m[top:bottom, left:right]
        marked = np.asarray(Image.fromarray(m).resize(size, Image.Resampling.NEAREST))
    rgba = np.dstack([np.asarray(rgb), np.where(marked, 255, 0).astype(np.uint8)])
    return Image.fromarray(rgba, "RGBA")


CAPTION_PX = 14  # PIL's built-in bitmap font is about 11 px tall


def image_grid(rows: list[list[Image.Image]], *, header: list[str] | None = None, gap: int = 0,
               margin: int = 0, cell: tuple[int, int] | None = None) -> Image.Image:
    """Rows of pictures on white: every cell the size of the first picture (or ``cell``; others are
    resized, nearest so model pixels stay honest), ``gap`` px apart inside a ``margin``, under an optional
    caption per column. Used for strips, sample grids and evaluation figures alike."""
    if not rows or not rows[0]:
        raise ArtzooError("no pictures to lay out")
    w, h = cell or rows[0][0].size
    cols = max(len(r) for r in rows)
    top = margin + (CAPTION_PX if header else 0)
    out = Image.new("RGB", (2 * margin + cols * w + (cols - 1) * gap, top + margin + len(rows) * h + (len(rows) - 1) * gap),
                    "white")
    if header:
        draw = ImageDraw.Draw(out)
        for j, text in enumerate(header):
            draw.text((margin + j * (w + gap) + 2, margin + 1), text, fill=(60, 60, 60))
    for i, row in enumerate(rows):
        for j, picture in enumerate(row):
            picture = picture.convert("RGB")
            if picture.size != (w, h):
                picture = picture.resize((w, h), Image.Resampling.NEAREST)
            out.paste(picture, (margin + j * (w + gap), top + i * (h + gap)))
    return out
