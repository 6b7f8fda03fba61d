"""What users hand the app: uploads and canvases turned into pictures, with clear messages for bad ones.

Everything here raises `ArtzooError` for unusable input (the `user_errors` decorator turns it into a
`gr.Error` toast) and `gr.Warning` for input that works but probably not as the user expects.
"""

from __future__ import annotations

import functools
import html
import logging

import gradio as gr
import numpy as np
from PIL import Image

from ..errors import ArtzooError
from ..images import MAX_PIXELS, as_pil, fit_square, open_image

log = logging.getLogger("artzoo.app")


def user_errors(fn):
    """Show `ArtzooError`s as the message they are; log anything else and show a short notice, never a trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except ArtzooError as e:
            raise gr.Error(html.escape(str(e)), print_exception=False) from None
        except Exception as e:
            log.exception("%s failed", fn.__name__)
            raise gr.Error(f"Something went wrong on the server ({type(e).__name__}) and this request was not "
                           "completed; other requests are unaffected. Please try again.",
                           print_exception=False) from None

    return wrapper


def _check_pixels(path) -> None:
    """Refuse huge pictures from their header, before anything decodes them into memory."""
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception:
        return  # not an image at all: the decoding step below says so
    if w * h > MAX_PIXELS:
        raise gr.Error(f"The uploaded image is {w}×{h} = {w * h / 1e6:.0f} MP; the limit is "
                       f"{MAX_PIXELS / 1e6:.0f} MP: scale it down first", print_exception=False)


def _unreadable(error: Exception) -> gr.Error:
    return gr.Error(f"The uploaded file is not a readable image ({type(error).__name__}); "
                    "use a PNG, JPEG or WebP picture", print_exception=False)


def _checked(preprocess, payload, paths: list[str]):
    """Size-check the uploaded files, then run Gradio's preprocessing with its failures made readable."""
    for path in paths:
        _check_pixels(path)
    try:
        return preprocess(payload)
    except gr.Error:
        raise
    except Exception as e:
        raise _unreadable(e) from None


class CheckedImage(gr.Image):
    """`gr.Image` whose unreadable or oversized uploads get a clear message instead of a bare 'Error'."""

    is_template = True  # rendered by the stock Image front end

    def preprocess(self, payload):
        paths = [payload.path] if payload is not None and payload.path else []
        return _checked(super().preprocess, payload, paths)


class CheckedImageEditor(gr.ImageEditor):
    """`gr.ImageEditor` with the same treatment of bad uploads as `CheckedImage`."""

    is_template = True  # rendered by the stock ImageEditor front end

    def preprocess(self, payload):
        parts = [] if payload is None else [payload.background, payload.composite, *(payload.layers or [])]
        return _checked(super().preprocess, payload, [p.path for p in parts if p is not None and getattr(p, "path", None)])


def _is_grey(rgb: Image.Image) -> bool:
    a = np.asarray(rgb.convert("RGB").resize((64, 64)), dtype=np.int16)
    return int(np.abs(a - a.mean(-1, keepdims=True)).max()) <= 6


def _warn_format(image: Image.Image, what: str) -> None:
    """Toasts for uploads that work but may surprise: animation, transparency."""
    if getattr(image, "is_animated", False):
        gr.Warning(f"{what} is animated: only its first frame is used.")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        if image.convert("RGBA").getchannel("A").getextrema()[0] < 255:
            gr.Warning(f"{what} has transparent areas: they are filled with white.")


def _warn_content(rgb: Image.Image, what: str, kind: str) -> None:
    """Toasts for pictures unlike what the pipeline was trained on."""
    if kind == "artwork" and _is_grey(rgb):
        gr.Warning(f"{what} is greyscale, but this pipeline paints in colour: expect odd results.")
    if kind == "sketch":
        if not _is_grey(rgb):
            gr.Warning(f"{what} is in colour; sketches are dark lines on white, so it is used in greyscale.")
        if np.asarray(rgb.convert("L"), dtype=np.float32).mean() < 128:
            gr.Warning(f"{what} is mostly dark; sketches are dark lines on a white background.")


def read_picture(path, what: str, kind: str) -> Image.Image:
    """An uploaded file (path from `CheckedImage(type="filepath")`) → RGB on white, with warnings."""
    if path is None:
        raise ArtzooError(f"no {what}: upload one or pick an example first")
    image = open_image(path)
    _warn_format(image, what.capitalize())
    rgb = as_pil(image)
    _warn_content(rgb, what.capitalize(), kind)
    return rgb


def _flatten(value: dict) -> Image.Image | None:
    """The editor's picture: its composite, else the background with the drawn layers on top."""
    if value.get("composite") is not None:
        return value["composite"]
    background, layers = value.get("background"), value.get("layers") or []
    if background is None and not layers:
        return None
    base = (background or Image.new("RGBA", layers[0].size, "white")).convert("RGBA")
    for layer in layers:
        base.alpha_composite(layer.convert("RGBA").resize(base.size))
    return base


def editor_picture(value, what: str, kind: str) -> Image.Image:
    """An ImageEditor value (PIL images) → RGB on white; ArtzooError if nothing was drawn or uploaded."""
    picture = _flatten(value) if value else None
    if picture is None:
        raise ArtzooError(f"no {what}: draw or upload one first")
    rgb = as_pil(picture)  # the canvas is transparent where nothing was drawn: white paper, no warning
    _warn_content(rgb, what.capitalize(), kind)
    return rgb


def editor_mask(value, size: int) -> np.ndarray | None:
    """Where the user painted on the editor's layers, at model size and placed like the picture itself
    (fitted into the square on the same margin), or None when the value carries no layers."""
    layers = (value or {}).get("layers") or []
    if not layers:
        return None
    alpha = np.zeros(layers[0].size[::-1], dtype=bool)
    for layer in layers:
        alpha |= np.asarray(layer.convert("RGBA").resize(layers[0].size).getchannel("A")) > 0
    # Strokes black on white, so the white margin of fit_square means "not painted".
    strokes = Image.fromarray(np.where(alpha, 0, 255).astype(np.uint8)).convert("RGB")
    fitted, _ = fit_square(strokes, size)
    return np.asarray(fitted.convert("L")) < 250  # any coverage: downscaling greys thin strokes
