"""artzoo.sharing: the strip, GIF and ZIP the app hands out."""

import zipfile

import numpy as np
import pytest
from PIL import Image

from artzoo import ArtzooError
from artzoo.sharing import workflow_gif, workflow_strip, workflow_zip


def stages():
    sketch = Image.new("L", (40, 30), 255)
    sketch.paste(0, (5, 5, 35, 7))
    return [sketch, Image.new("RGB", (40, 30), (200, 40, 40)), Image.new("RGB", (80, 60), (40, 40, 200))]


def test_strip_puts_stages_side_by_side_with_labels():
    strip = workflow_strip(stages(), labels=["sketch", "flat", "detail"], gap=4)
    assert strip.size == (3 * 40 + 2 * 4, 30 + 14)
    assert strip.getpixel((44 + 20, 14 + 15)) == (200, 40, 40)  # the second stage, below its caption
    assert workflow_strip(stages()).size == (3 * 40 + 2 * 8, 30)
    with pytest.raises(ArtzooError):
        workflow_strip(stages(), labels=["one"])


def test_gif_has_one_frame_per_stage_and_holds_the_last(tmp_path):
    path = workflow_gif(stages(), tmp_path / "w.gif", duration_ms=300, final_hold_ms=1500)
    gif = Image.open(path)
    assert gif.n_frames == 3 and gif.size == (40, 30)
    durations = []
    for i in range(3):
        gif.seek(i)
        durations.append(gif.info["duration"])
        if i == 1:
            assert np.abs(np.asarray(gif.convert("RGB"), int)[15, 20] - (200, 40, 40)).max() <= 8
    assert durations == [300, 300, 1500]
    with pytest.raises(ArtzooError):
        workflow_gif([], tmp_path / "empty.gif")


def test_zip_holds_a_png_per_stage_and_extras(tmp_path):
    path = workflow_zip(stages(), ["sketch", "flat", "detail"], tmp_path / "w.zip", extra_files={"note.txt": b"hi"})
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["0_sketch.png", "1_flat.png", "2_detail.png", "note.txt"]
        with z.open("2_detail.png") as f:
            assert Image.open(f).size == (80, 60)  # each stage at its own size
