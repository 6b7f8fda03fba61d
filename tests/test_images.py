"""Input handling: every kind of picture users hand in, and clear errors for what is not one."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from artzoo import ArtzooError
from artzoo.images import MAX_PIXELS, as_pil, load_for_model, open_image, restore_aspect, to_pil


def test_rgba_is_composited_on_white():
    rgba = Image.new("RGBA", (40, 20), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 20, 20))
    rgb = as_pil(rgba)
    assert rgb.mode == "RGB" and rgb.getpixel((30, 10)) == (255, 255, 255) and rgb.getpixel((5, 5)) == (0, 0, 255)


@pytest.mark.parametrize("mode", ["L", "P", "1", "I;16", "LA", "CMYK"])
def test_every_mode_becomes_rgb(mode):
    base = Image.new("RGB", (16, 16), (10, 200, 30))
    base.paste((250, 250, 250), (0, 0, 8, 16))
    image = base.convert("I;16") if mode == "I;16" else base.convert(mode)
    t, placement = load_for_model(image, 3, 32)
    assert t.shape == (1, 3, 32, 32) and t.min() >= -1 and t.max() <= 1


def test_numpy_and_tensor_inputs_agree():
    arr = np.zeros((20, 30, 3), np.uint8)
    arr[:, :15] = 255
    a, _ = load_for_model(arr, 3, 32)
    b, _ = load_for_model(torch.from_numpy(arr).permute(2, 0, 1).float() / 127.5 - 1, 3, 32)
    c, _ = load_for_model(arr.astype(np.float32) / 255, 3, 32)
    assert torch.allclose(a, b, atol=1 / 127) and torch.allclose(a, c, atol=1 / 127)


def test_aspect_is_kept_and_restored():
    arr = np.broadcast_to(np.arange(100, dtype=np.uint8)[None, :, None], (50, 100, 3))  # a wide gradient
    t, placement = load_for_model(arr, 3, 32)
    assert placement.box == (0, 8, 32, 24)
    assert to_pil(t).getpixel((16, 2)) == (255, 255, 255)  # white margin above the picture
    assert restore_aspect(to_pil(t), placement).size == (100, 50)
    assert restore_aspect(to_pil(t), placement, max_side=40).size == (40, 20)


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in [(255, 0, 0), (0, 255, 0)]]
    frames[0].paste((0, 0, 0), (0, 0, 4, 4))
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert as_pil(open_image(path)).getpixel((10, 10))[0] > 200


@pytest.mark.parametrize("bad, message", [
    ("no/such/file.png", "no such file"),
    (b"plain bytes", "expected an image"),
    (np.zeros((10, 10, 7)), "not an image"),
    (np.full((8, 8), np.nan), "NaN"),
    (torch.zeros(2, 3, 8, 8), "batch of 2"),
    (np.zeros((4, 4), np.uint8), "at least 8"),
])
def test_bad_inputs_name_the_problem(bad, message):
    with pytest.raises(ArtzooError, match=message):
        as_pil(bad)


def test_not_an_image_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ArtzooError, match="not a readable image"):
        open_image(path)
    with pytest.raises(ArtzooError, match="not a readable image"):
        open_image(io.BytesIO(b"\x89PNG\r\n\x1a\n broken"))


def test_huge_image_is_refused_before_decoding(tmp_path):
    side = int(MAX_PIXELS ** 0.5) + 100
    path = tmp_path / "huge.png"
    Image.new("1", (side, side)).save(path)  # tiny file, huge canvas
    with pytest.raises(ArtzooError, match="MP"):
        as_pil(open_image(path))


def test_blank_image_is_refused(tiny_pipeline):
    with pytest.raises(ArtzooError, match="blank"):
        tiny_pipeline.generate(np.full((32, 32), 255, np.uint8))
