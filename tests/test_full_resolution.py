"""Workflows drawn at the input's own size (`Workflow.image(k, original_size=True)` through
`artzoo.rendering`): generate from a sketch, edit a decomposed artwork, redraw, save/load."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from artzoo import ArtzooError, Workflow, WorkflowPipeline
from artzoo.images import SOURCE_MAX_SIDE

KINDS = ["sketch", "regions", "continuous"]


@pytest.fixture(scope="module")
def pipe() -> WorkflowPipeline:
    return WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0,
                                        render_kinds=KINDS)


def drawing(width: int = 300, height: int = 420) -> Image.Image:
    """Two closed shapes in black 3 px lines on white, taller than wide."""
    im = Image.new("L", (width, height), 255)
    d = ImageDraw.Draw(im)
    d.ellipse((30, 30, width - 30, height // 2), outline=0, width=3)
    d.rectangle((50, height // 2 + 30, width - 50, height - 30), outline=0, width=3)
    return im


def test_generate_is_drawn_at_the_sketch_size_with_flat_regions_and_its_lines(pipe):
    sketch = drawing()
    wf = pipe.generate(sketch, seed=1)
    flat = np.asarray(wf.image("flat", original_size=True), dtype=np.int64)
    raw = np.asarray(wf.image("flat", original_size=True, rendered=False), dtype=np.int64)
    assert flat.shape == raw.shape == (420, 300, 3)
    # Inside the ellipse (away from its line) one flat colour; the raw upscaled network output is not flat.
    inside = flat[120:180, 110:190].reshape(-1, 3)
    assert (np.abs(inside - inside[0]).max(1) <= 1).mean() > 0.99
    assert np.abs(raw[120:180, 110:190].reshape(-1, 3) - raw[150, 150]).max() > 3
    # The user's lines are drawn over the colours, exactly where they are.
    lines = np.asarray(sketch) < 100
    assert flat[lines].mean() < 0.5 * flat[~lines].mean()
    # Around the drawing one colour too (paper white where a trained network leaves it white).
    assert (flat[:20, :20] == flat[0, 0]).all() and (flat[-20:, -20:] == flat[0, 0]).all()
    detail = np.asarray(wf.image("detail", original_size=True))
    assert detail.shape == (420, 300, 3) and wf.notes == []


def test_render_is_cached_and_follows_changes(pipe):
    wf = pipe.generate(drawing(), seed=1)
    first = wf.image("detail", original_size=True)
    assert wf.image("detail", original_size=True) is first  # same inputs: no second render
    other = pipe.edit(wf, "flat", z=pipe.sample_z(9))
    assert not np.array_equal(np.asarray(other.image("flat", original_size=True)), np.asarray(first))


def test_an_edit_of_a_decomposed_artwork_changes_the_upload_itself(pipe):
    art = np.full((240, 320, 3), 255, np.uint8)
    art[40:200, 60:260] = (230, 170, 40)
    art[90:150, 120:200] = (180, 40, 60)
    wf = pipe.decompose(art)
    assert wf.image(-1, original_size=True).size == (320, 240)
    same = pipe.edit(wf, "flat", z=wf.z[0])  # an edit that changes nothing
    assert np.array_equal(np.asarray(same.image(-1, original_size=True)), art)
    edited = pipe.edit(wf, "flat", z=pipe.sample_z(3))
    out = np.asarray(edited.image(-1, original_size=True))
    assert out.shape == art.shape and not np.array_equal(out, art)
    assert torch.equal(edited.edit_base, wf.images[-1])  # the change is measured from before the first edit
    again = pipe.edit(edited, "detail", z=pipe.sample_z(4))
    assert torch.equal(again.edit_base, wf.images[-1])


def test_redraw_draws_the_new_sketch_at_its_own_size(pipe):
    reference = pipe.decompose(np.asarray(drawing(200, 200).convert("RGB")))
    redrawn = pipe.edit(reference, "sketch", image=drawing(360, 240))
    assert redrawn.source_stage == 0 and redrawn.edit_base is None
    assert redrawn.image("detail", original_size=True).size == (360, 240)


def test_workflow_files_keep_what_full_size_drawing_needs(pipe, tmp_path):
    wf = pipe.decompose(np.asarray(drawing().convert("RGB")))  # also: images[0] and targets[0] must not share memory
    wf.save(tmp_path / "a.safetensors")
    edited = pipe.edit(wf, "flat", z=pipe.sample_z(2))
    edited.save(tmp_path / "b.safetensors")
    loaded = Workflow.load(tmp_path / "b.safetensors")
    assert loaded.render_kinds == KINDS and loaded.source_stage == 2 and loaded.source.size == (300, 420)
    assert torch.equal(loaded.edit_base, edited.edit_base)
    assert np.array_equal(np.asarray(loaded.image(-1, original_size=True)),
                          np.asarray(edited.image(-1, original_size=True)))


def test_large_inputs_are_drawn_at_most_max_side_with_a_note(pipe):
    wf = pipe.generate(drawing(SOURCE_MAX_SIDE + 452, 300), seed=0)
    assert max(wf.source.size) == SOURCE_MAX_SIDE and "2500×300" in wf.notes[0]
    assert wf.image("flat", original_size=True).size == (SOURCE_MAX_SIDE, 246)


def test_pipelines_without_render_kinds_scale_up_as_before(tiny_pipeline, sketch):
    wf = tiny_pipeline.generate(sketch, seed=0)
    assert wf.source is None
    assert np.array_equal(np.asarray(wf.image(1, original_size=True)),
                          np.asarray(wf.image(1, original_size=True, rendered=False)))


def test_render_kinds_travel_with_the_pipeline_folder_and_are_checked(pipe, tmp_path):
    assert WorkflowPipeline.from_pretrained(pipe.save_pretrained(tmp_path / "p")).render_kinds == KINDS
    with pytest.raises(ArtzooError, match="render kinds"):
        WorkflowPipeline.from_config(["sketch", "flat"], image_size=32, preset="tiny", render_kinds=["continuous", "regions"])
    with pytest.raises(ArtzooError, match="render kinds"):
        WorkflowPipeline.from_config(["sketch", "flat"], image_size=32, preset="tiny", render_kinds=["sketch"])


def test_layered_psd_has_the_lines_on_transparency_over_line_free_stages(pipe, tmp_path):
    from psd_tools import PSDImage

    sketch = drawing()
    wf = pipe.generate(sketch, seed=2)
    path = wf.write_psd(tmp_path / "w.psd")
    psd = PSDImage.open(path)
    layers = list(psd)
    assert [layer.name for layer in layers] == ["flat", "detail", "lines"] and psd.size == (300, 420)
    lines = np.asarray(layers[-1].composite(viewport=psd.viewbox).convert("RGBA"))
    ink = np.asarray(sketch) < 100
    assert lines[..., 3][ink].mean() > 200 and lines[..., 3][~ink].mean() < 10  # ink opaque, paper clear
    flat = np.asarray(layers[0].composite(viewport=psd.viewbox).convert("RGB"), dtype=np.int64)
    shown = np.asarray(wf.image("flat", original_size=True), dtype=np.int64)
    # The flat layer is the shown flat without the lines: equal on paper, lighter on the lines.
    assert np.abs(flat[~ink] - shown[~ink]).max() <= 2 and flat[ink].mean() > shown[ink].mean() + 20
    decomposed = pipe.decompose(np.asarray(drawing().convert("RGB")))
    assert [layer.name for layer in PSDImage.open(decomposed.write_psd(tmp_path / "d.psd"))] == ["flat", "detail"]


def test_a_colour_hint_sets_its_region_exactly_and_later_stages_follow(pipe):
    sketch = drawing()
    wf = pipe.generate(sketch, seed=1)
    hints = Image.new("RGB", sketch.size, "white")
    ImageDraw.Draw(hints).line((120, 150, 180, 160), fill=(230, 20, 40), width=6)  # a scribble in the ellipse
    hinted = pipe.fit_hints(wf, "flat", hints, steps=3)
    flat = np.asarray(hinted.image("flat", original_size=True), dtype=np.int64)
    inside = flat[100:200, 90:210].reshape(-1, 3)
    share_red = (np.abs(inside - [230, 20, 40]).max(1) <= 1).mean()
    assert share_red > 0.99  # the whole region, not just the scribble
    box = flat[260:380, 70:230].reshape(-1, 3)  # the other region keeps a colour of its own
    assert (np.abs(box - [230, 20, 40]).max(1) > 30).all()
    detail = np.asarray(hinted.image("detail", original_size=True), dtype=np.int64)
    before = np.asarray(wf.image("detail", original_size=True), dtype=np.int64)
    assert np.abs(detail[120:180, 110:190] - [230, 20, 40]).mean() < np.abs(before[120:180, 110:190] - [230, 20, 40]).mean()
    assert 1 in hinted.hints and not wf.hints  # the original workflow is untouched
