"""The app's picture helpers, without a server: canvas values, masks, line overlays, output sizes."""

import numpy as np
import pytest
from PIL import Image

from app_fixtures import FOUR_STAGES, PIPELINE, make_checkpoints

gr = pytest.importorskip("gradio")

from artzoo import ArtzooError  # noqa: E402
from artzoo.app.inputs import editor_mask, editor_picture  # noqa: E402
from artzoo.app.outputs import enlarge, output_size, with_lines  # noqa: E402
from artzoo.app.registry import PipelineRegistry  # noqa: E402


def test_editor_picture_flattens_layers_on_white():
    layer = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    layer.paste((0, 0, 0, 255), (5, 5, 35, 8))
    picture = editor_picture({"background": None, "layers": [layer], "composite": None}, "sketch", "sketch")
    a = np.asarray(picture)
    assert picture.size == (40, 20) and a[6, 10].tolist() == [0, 0, 0] and a[15, 10].tolist() == [255, 255, 255]
    with pytest.raises(ArtzooError, match="draw or upload"):
        editor_picture({"background": None, "layers": [], "composite": None}, "sketch", "sketch")


def test_editor_mask_is_placed_like_the_picture():
    layer = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    layer.paste((255, 0, 0, 255), (0, 0, 100, 200))  # the left quarter
    mask = editor_mask({"background": None, "layers": [layer], "composite": None}, 32)
    # 400×200 fits the 32 px square as 32×16 centred vertically: rows 8..23, columns 0..7.
    assert mask.shape == (32, 32) and mask[8:24, :8].all()
    assert not mask[:8].any() and not mask[24:].any() and not mask[:, 9:].any()
    assert editor_mask({"background": layer, "layers": [], "composite": None}, 32) is None


def test_with_lines_multiplies_ink_over_colour():
    colour = Image.new("RGB", (10, 10), (200, 100, 50))
    lines = Image.new("L", (10, 10), 255)
    lines.putpixel((3, 3), 0)
    out = np.asarray(with_lines(colour, lines))
    assert out[3, 3].tolist() == [0, 0, 0] and out[0, 0].tolist() == [200, 100, 50]


def test_sizes():
    assert output_size(60, 90) == (341, 512)      # small inputs are enlarged for the screen
    assert output_size(600, 900) == (600, 900)    # within range: the input's own size
    assert output_size(4000, 2000) == (1024, 512)  # large ones capped
    assert enlarge(Image.new("RGB", (64, 48))).size == (256, 192)  # whole factor, nearest


def test_registry_lists_published_pipelines_with_examples(tmp_path):
    registry = PipelineRegistry(make_checkpoints(tmp_path))
    assert registry.names == [PIPELINE] and not registry.untrained
    assert registry.label(PIPELINE) == "tiny · sketch → flat → detail · 32 px"
    assert [p.name for p in registry.examples(PIPELINE, 0)] == ["example.png"]
    assert registry.examples(PIPELINE, 1) == []  # no examples of the flat stage: none shown
    assert registry.get(PIPELINE) is registry.get(PIPELINE)  # loaded once, shared
    with pytest.raises(ArtzooError, match="unknown pipeline"):
        registry.get("nope")


def test_switching_pipelines_updates_the_layout(tmp_path):
    from artzoo.app import build_demo
    from artzoo.app.handlers import MAX_TRANSITIONS

    demo = build_demo(PipelineRegistry(make_checkpoints(tmp_path, four_stages=True)))
    switch = next(f for f in demo.fns.values() if f.api_name == "switch_pipeline")
    out = switch.fn(FOUR_STAGES)
    assert len(out) == len(switch.outputs)
    groups = out[1:1 + MAX_TRANSITIONS]
    assert [g["visible"] for g in groups] == [True, True, True, False, False]
    assert out[-5]["choices"] == ["sketch", "normals", "colour", "shaded"]
    assert out[-4]["value"] == "weight decay"  # no learned regulariser in this pipeline
    assert "colour" in out[1 + MAX_TRANSITIONS + 1]["label"]
