"""Small conversions between float arrays and PIL images shared by the recipes."""

import numpy as np
from PIL import Image


def on_white(rgba: np.ndarray) -> np.ndarray:
    """Composite float RGBA (H, W, 4), colour not premultiplied, over a white background."""
    alpha = rgba[..., 3:]
    return rgba[..., :3] * alpha + (1 - alpha)


def to_image(array: np.ndarray, size: int) -> Image.Image:
    """Float grey (H, W) or RGB (H, W, 3) in [0, 1] -> 8-bit image, area-downsampled to size."""
    image = Image.fromarray(np.round(np.clip(array, 0, 1) * 255).astype(np.uint8))
    return image if image.size == (size, size) else image.resize((size, size), Image.BOX)
