"""Earlier stages derived from a finished picture: sketch -> rough -> detail.

The anime workflow of the paper, approximated from a single final image:
detail = the picture on white, rough = SLIC superpixels filled with their median colour
and median-filtered (blocky base colours), sketch = thresholded difference-of-Gaussians
lines (pencil style) plus the silhouette where the picture has transparency.
Used by the fluent-3d and folder recipes.
"""

import io

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage as ndi
from skimage.segmentation import slic

from artzoo.data.imaging import to_image
from artzoo.data.lines import draw_lines, label_edges, xdog_edges
from artzoo.data.recipes.base import Skip

LINE_SCALE = 4  # lines are found at 4x the output size, then drawn 1 px wide ...
# ... but at most at this size: the sources are ~256 px, and in a larger enlargement their edges are too soft
# for XDoG to find anything inside the drawing (512 px sketches kept only the outline). Larger sketches
# draw the same lines, proportionally wider.
LINE_MAX_SIDE = 512
ROUGH_SCALE = 2  # superpixels are computed at 2x and area-downsampled
# As many superpixels as a 64 px picture gets (one per 12 output pixels there) at every size: a rough stage
# is rough relative to the picture; more of them at 512 px made it nearly the detail stage.
ROUGH_SEGMENTS = 64 * 64 // 12
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
STAGES = ("sketch", "rough", "detail")


def square(image: Image.Image, fit: str) -> Image.Image:
    """RGBA square: centre-crop, or pad with transparent pixels (later white)."""
    image = image.convert("RGBA")
    side = min(image.size) if fit == "crop" else max(image.size)
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def to_array(image: Image.Image, px: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB on white and alpha, float in [0, 1], resized to px."""
    rgba = np.asarray(image.resize((px, px), Image.LANCZOS), np.float32) / 255
    alpha = rgba[..., 3]
    return np.clip(rgba[..., :3] * alpha[..., None] + (1 - alpha[..., None]), 0, 1), alpha


def rough_colours(rgb: np.ndarray) -> np.ndarray:
    """`ROUGH_SEGMENTS` superpixels (fewer below 64 px) filled with their median colour."""
    side = rgb.shape[0] // ROUGH_SCALE
    segments = slic(rgb, n_segments=min(side * side // 12, ROUGH_SEGMENTS), compactness=12, start_label=0)
    _, segments = np.unique(segments, return_inverse=True)  # labels 0..n-1 with none unused
    segments = segments.reshape(rgb.shape[:2])
    flat = rgb.reshape(-1, 3)
    order = np.argsort(segments.ravel(), kind="stable")
    bounds = np.cumsum(np.bincount(segments.ravel()))[:-1]
    medians = np.stack([np.median(group, axis=0) for group in np.split(flat[order], bounds)])
    return ndi.median_filter(medians[segments], size=(3, 3, 1))


def pencil_sketch(rgb: np.ndarray, alpha: np.ndarray | None, size: int) -> Image.Image:
    """Lines found in ``rgb`` (a multiple of ``size``), drawn at ``size``: the XDoG scale and the shortest
    kept piece are fixed in ``rgb``'s pixels; lines are 1 px wide up to 256 px, wider beyond."""
    edges = xdog_edges(rgb @ LUMA, sigma=0.3 * LINE_SCALE, epsilon=-0.01)
    if alpha is not None:
        edges |= label_edges(alpha > 0.5)  # the silhouette
    width = max(1.0, size / 256)
    return Image.fromarray(draw_lines(edges, size, width=width, min_length=2 * LINE_SCALE))


def derive(image: Image.Image, size: int, fit: str = "pad") -> dict[str, Image.Image]:
    """The three stages of one picture."""
    image = square(image, fit)
    line_px = size * max(1, min(LINE_SCALE, LINE_MAX_SIDE // size))
    rgb, alpha = to_array(image, line_px)
    has_alpha = alpha.min() < 1
    small, _ = to_array(image, size * ROUGH_SCALE)
    return {
        "sketch": pencil_sketch(rgb, alpha if has_alpha else None, size),
        "rough": to_image(rough_colours(small), size),
        "detail": to_image(rgb if line_px == size * LINE_SCALE else to_array(image, size * LINE_SCALE)[0], size),
    }


def open_image(data: bytes | str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise Skip("not an image") from error
    return image
