"""What users hand the app: uploads and canvases turned into pictures, with clear messages for bad ones.

Everything here raises `ArtzooError` for unusable input (the `user_errors` decorator turns it into a
`gr.Error` toast) and `gr.Warning` for input that works but probably not as the user expects.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import functools
import html
import inspect
import io
import logging
import threading
import time
from dataclasses import dataclass, field

import gradio as gr
import numpy as np
from gradio.components.base import server
from gradio.components.image_editor import EditorDataBlobs
from PIL import Image

from ..errors import ArtzooError
from ..images import MAX_PIXELS, as_pil, fit_square, open_image
from .outputs import OUTPUT_SIDES

# Pictures a session keeps are at most this big a side: the app shows and hands out no more, and a 40 MP
# upload kept whole would hold ~120 MB per session for hours.
KEEP_SIDE = OUTPUT_SIDES[1]
# The editors' in-memory canvas uploads (Gradio's "blobs", sent before the action that uses them).
MAX_LAYERS = 4                  # layer indices a submission may use (the editors show at most a few)
MAX_BLOB_BYTES = 20 * 2**20     # one canvas part, as the upload limit
BLOB_PIXELS = 2 * MAX_PIXELS    # all parts of one submission (background + composite of a 40 MP picture)
BLOB_SESSION_BYTES = 32 * 2**20  # per browser session, waiting to be used
BLOB_TOTAL_BYTES = 128 * 2**20   # all sessions together; the oldest submissions go first
BLOB_TTL_S = 600                # a submission never used is dropped after this
USED_TTL_S = 60                 # ... and one used this long ago (an event's validator and function both read it)
MAX_SUBMISSIONS = 2000          # submissions remembered (refused ones hold no bytes, only their reason)
BIG_PICTURE = 4_000_000         # pixels from which decoding takes its turn (`_decoding`)
BIG_DECODES = 2
_BIG_DECODES = threading.BoundedSemaphore(BIG_DECODES)

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


def _pixels(source) -> int:
    """Pixel count from an image's header (a path or bytes), before anything decodes it; 0 when it is
    not an image at all (the decoding step says so)."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source) as im:
            w, h = im.size
    except Exception:
        return 0
    return w * h


def _too_big(pixels: int) -> str:
    return (f"The uploaded image is {pixels / 1e6:.0f} MP; the limit is {MAX_PIXELS / 1e6:.0f} MP: "
            "scale it down first")


def _check_pixels(path) -> None:
    """Refuse huge pictures from their header, before anything decodes them into memory."""
    pixels = _pixels(path)
    if pixels > MAX_PIXELS:
        raise gr.Error(_too_big(pixels), print_exception=False)


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


@dataclass
class _Submission:
    session: str
    blobs: EditorDataBlobs = field(default_factory=lambda: EditorDataBlobs(background=None, layers=[], composite=None))
    nbytes: int = 0
    pixels: int = 0
    refused: str | None = None   # why a part was refused: told when the submission is used
    created: float = field(default_factory=lambda: time.monotonic())
    used: float | None = None


class BlobStore:
    """Gradio's ImageEditor keeps canvas uploads in a plain dict with no limits (one request with a layer
    index of 10^8 took 760 MB). This store takes its place, shared by every editor of the process: parts
    checked from their header (size, pixel count) as they arrive, layer indices capped, bytes capped per
    session and in total (the oldest submissions are dropped first), unused submissions expired."""

    def __init__(self):
        self._items: collections.OrderedDict[str, _Submission] = collections.OrderedDict()
        self._lock = threading.Lock()

    def put(self, blob_id: str, session: str, kind: str, index, data: bytes) -> None:
        with self._lock:
            self._expire()
            item = self._items.get(blob_id)
            if item is None or item.session != session:
                item = self._items[blob_id] = _Submission(session)
            refusal = self._refusal(item, kind, index, data)
            if refusal is not None:
                item.refused = item.refused or refusal
                return
            if kind == "layer":
                item.blobs.layers.extend([None] * (int(index) + 1 - len(item.blobs.layers)))
                old, item.blobs.layers[int(index)] = item.blobs.layers[int(index)], data
            else:
                old = getattr(item.blobs, kind)
                setattr(item.blobs, kind, data)
            item.nbytes += len(data) - len(old or b"")
            item.pixels += _pixels(data) - (_pixels(old) if old else 0)
            self._enforce_caps(blob_id)

    def _refusal(self, item: _Submission, kind: str, index, data: bytes) -> str | None:
        if kind not in ("background", "layer", "composite"):
            return f"unknown canvas part {kind[:20]!r}"
        if kind == "layer" and not (isinstance(index, int) and 0 <= index < MAX_LAYERS):
            return f"the canvas has too many layers (at most {MAX_LAYERS})"
        if len(data) > MAX_BLOB_BYTES:
            return f"a canvas part is over {MAX_BLOB_BYTES // 2**20} MB: scale the picture down first"
        pixels = _pixels(data)
        if pixels == 0:
            return "a canvas part is not a readable image"
        if pixels > MAX_PIXELS:
            return _too_big(pixels)
        if item.pixels + pixels > BLOB_PIXELS:
            return f"the canvas holds over {BLOB_PIXELS / 1e6:.0f} MP in all: scale the picture down first"
        mine = sum(i.nbytes for i in self._items.values() if i.session == item.session)
        if mine + len(data) > BLOB_SESSION_BYTES:
            return "too much canvas data is waiting in this session: apply or clear the drawings first"
        return None

    def _expire(self) -> None:
        now = time.monotonic()
        for blob_id, item in list(self._items.items()):
            if now - item.created > BLOB_TTL_S or (item.used is not None and now - item.used > USED_TTL_S):
                del self._items[blob_id]

    def _enforce_caps(self, keep: str) -> None:
        total = sum(i.nbytes for i in self._items.values())
        for blob_id in list(self._items):
            if total <= BLOB_TOTAL_BYTES and len(self._items) <= MAX_SUBMISSIONS:
                break
            if blob_id != keep:
                total -= self._items.pop(blob_id).nbytes

    # The dict interface gr.ImageEditor.preprocess uses.
    def get(self, blob_id, default=None):
        with self._lock:
            item = self._items.get(blob_id)
            return default if item is None else item.blobs

    def refusal(self, blob_id) -> str | None:
        item = self._items.get(blob_id)
        return None if item is None else item.refused

    def pop(self, blob_id, default=None):
        """Gradio drops a submission once preprocessed; it is kept a little longer here, since an event
        with a validator preprocesses its inputs twice."""
        with self._lock:
            item = self._items.get(blob_id)
            if item is None:
                return default
            item.used = item.used or time.monotonic()
            return item.blobs

    def __contains__(self, blob_id) -> bool:
        return blob_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return sum(i.nbytes for i in list(self._items.values()))


BLOBS = BlobStore()


def _index(value) -> int | None:
    """The layer index as the browser sends it (a number as text, or "null")."""
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 6 else (None if value in (None, "", "null") else -1)


class CheckedImageEditor(gr.ImageEditor):
    """`gr.ImageEditor` with the same treatment of bad uploads as `CheckedImage`, and its canvas uploads
    kept in the bounded `BLOBS` store instead of an unbounded dict."""

    is_template = True  # rendered by the stock ImageEditor front end

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.blob_storage = BLOBS

    # Gradio builds the page's component config from __init__'s signature: show it ImageEditor's, or the
    # editors lose their label, value, size and brush in the browser.
    __init__.__signature__ = inspect.signature(gr.ImageEditor.__init__)

    @server
    def accept_blobs(self, data):
        """One canvas part from the browser (the route /gradio_api/component_server), checked before it is
        kept; a refused part is reported when the submission is used."""
        fields, files = data.data, data.files
        if not files or not isinstance(fields, dict):
            return
        BLOBS.put(str(fields.get("id"))[:64], str(fields.get("session_hash"))[:64], str(fields.get("type")),
                  _index(fields.get("index")), files[0][1])

    def preprocess(self, payload):
        if payload is not None and payload.id is not None:
            refused = BLOBS.refusal(payload.id)
            if refused is not None:
                raise gr.Error(refused[0].upper() + refused[1:], print_exception=False)
        parts = [] if payload is None else [payload.background, payload.composite, *(payload.layers or [])]
        paths = [p.path for p in parts if p is not None and getattr(p, "path", None)]
        blobs = BLOBS.get(payload.id) if payload is not None and payload.id is not None else None
        pixels = sum(map(_pixels, paths)) + (0 if blobs is None else sum(
            _pixels(b) for b in [blobs.background, blobs.composite, *blobs.layers] if b))
        with _decoding(pixels):
            return _checked(super().preprocess, payload, paths)


def _is_grey(rgb: Image.Image) -> bool:
    a = np.asarray(rgb.convert("RGB").resize((64, 64)), dtype=np.int16)
    return int(np.abs(a - a.mean(-1, keepdims=True)).max()) <= 6


def _warn_format(image: Image.Image, what: str, animated: bool) -> None:
    """Toasts for uploads that work but may surprise: animation, transparency."""
    if animated:
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
    with _decoding(_pixels(path)):
        image = open_image(path)
        animated, big = getattr(image, "is_animated", False), max(image.size) > KEEP_SIDE
        if big:  # shrunk as decoded, before any full-size copy (a 40 MP RGB copy is 120 MB)
            image = _kept(image if image.mode in _RESIZABLE else image.convert("RGBA"))
        _warn_format(image, what.capitalize(), animated)
        rgb = _kept(as_pil(image))
        if big:
            _release_memory()
    _warn_content(rgb, what.capitalize(), kind)
    return rgb


@contextlib.contextmanager
def _decoding(pixels: int):
    """At most `BIG_DECODES` large pictures are decoded at once, whoever asks (actions run two at a time,
    but validators and canvas preprocessing run outside the queue): each costs up to ~300 MB for a moment."""
    if pixels <= BIG_PICTURE:
        yield
        return
    with _BIG_DECODES:
        yield


_RESIZABLE = ("L", "LA", "RGB", "RGBA", "I", "F", "I;16")  # others (1, P, CMYK, ...) resize badly or not at all


def _kept(picture: Image.Image) -> Image.Image:
    """The picture as a session keeps it: at most `KEEP_SIDE` a side (shrunk in place: callers pass a
    picture of their own)."""
    if max(picture.size) > KEEP_SIDE:
        picture.thumbnail((KEEP_SIDE, KEEP_SIDE), Image.Resampling.BOX)  # box: thin lines stay as grey
    return picture


def _release_memory() -> None:
    """Hand the freed decode buffers of a large picture back to the system: glibc keeps them in per-thread
    arenas otherwise, and a server's RSS ratchets up by hundreds of MB per big upload."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


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
    rgb = _kept(as_pil(picture))  # the canvas is transparent where nothing was drawn: white paper, no warning
    if max(picture.size) > KEEP_SIDE:
        _release_memory()
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
