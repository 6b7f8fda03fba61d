"""The app's picture helpers, without a server: canvas values, masks, line overlays, output sizes."""

import numpy as np
import pytest
from PIL import Image

from app_fixtures import DRAWN, FOUR_STAGES, PIPELINE, add_drawn_pipeline, make_checkpoints, shapes_sketch

gr = pytest.importorskip("gradio")

from artzoo import ArtzooError  # noqa: E402
from artzoo.app.inputs import editor_mask, editor_picture  # noqa: E402
from artzoo.app.outputs import enlarge, output_size  # noqa: E402
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


def test_switching_pipelines_updates_the_layout_and_the_first_screen(tmp_path):
    from artzoo.app import build_demo
    from artzoo.app.handlers import MAX_TRANSITIONS

    demo = build_demo(PipelineRegistry(add_drawn_pipeline(make_checkpoints(tmp_path, four_stages=True))))
    switch = next(f for f in demo.fns.values() if f.api_name == "switch_pipeline")

    def switched_to(name: str) -> dict:
        out = switch.fn(name)
        assert len(out) == len(switch.outputs)
        names = [c.elem_id or getattr(c, "label", None) for c in switch.outputs]
        return {n: v for n, v in zip(names, out) if n}

    four = switched_to(FOUR_STAGES)
    groups = switch.fn(FOUR_STAGES)[1:1 + MAX_TRANSITIONS]
    assert [g["visible"] for g in groups] == [True, True, True, False, False]
    assert four["Stage to edit"]["choices"] == ["sketch", "normals", "colour", "shaded"]
    assert four["Regulariser (learned: the paper's meta-learned decay)"]["value"] == "weight decay"
    assert "colour" in four["candidates-2"]["label"]
    assert four["sketch"] is None and four["final"] is None  # no examples: the tabs open empty

    drawn = switched_to(DRAWN)  # its example sketch, already generated, and its network-view toggle
    assert drawn["sketch"]["background"].size == (512, 512) and drawn["final"].size == (512, 512)
    assert len(drawn["candidates-1"]["value"]) == 4 and drawn["generate-network"]["visible"]
    assert drawn["redraw-final"].size == (512, 512) and "Fitted" in drawn["edit-status"]


def test_validators_put_one_message_on_the_input_at_fault(tmp_path):
    from artzoo.app.handlers import Handlers

    h = Handlers(PipelineRegistry(add_drawn_pipeline(tmp_path)))
    blank = {"background": Image.new("RGB", (64, 64), "white"), "layers": [], "composite": None}
    verdicts = h.check_generate(DRAWN, blank, 4, 0, False, None)
    assert [v["is_valid"] for v in verdicts] == [True, False, True, True, True, True]
    assert verdicts[1]["message"].startswith("The sketch image is blank")
    good = {"background": shapes_sketch(), "layers": [], "composite": None}
    assert all(v["is_valid"] for v in h.check_generate(DRAWN, good, 4, 0, False, None))
    assert not h.check_resample(DRAWN, "sketch", 1, 1.0, None)[1]["is_valid"]
    assert "No reference artwork" in h.check_redraw(DRAWN, None, good, False, None)[1]["message"]


def test_examples_at_canvas_size_are_preferred(tmp_path):
    from artzoo.app.handlers import Handlers

    root = add_drawn_pipeline(tmp_path)
    Image.new("RGB", (64, 64), "white").save(root / DRAWN / "examples" / "sketch" / "a-small.png")
    h = Handlers(PipelineRegistry(root))
    assert [p.name for p in h.examples(DRAWN, 0)] == ["shapes.png"]  # the 64 px copy is not shown enlarged


def test_the_status_says_where_candidates_latents_come_from():
    import torch

    from artzoo import WorkflowPipeline
    from artzoo.app.handlers import prior_note
    from artzoo.models import LatentPrior

    plain = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny")
    with_prior = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", prior=True)
    assert "N(0, I)" in prior_note(plain) and "learned prior" in prior_note(with_prior)
    for t in with_prior.transitions:
        t.prior = LatentPrior(t.prior.config.replace(neighbours=2))
        t.prior.index(torch.zeros(3, t.prior.config.nz), torch.ones(3, t.prior.config.hidden))
    assert "most similar training drawings" in prior_note(with_prior) and "learned" not in prior_note(with_prior)
    with_prior.transitions[0].prior = LatentPrior(with_prior.transitions[0].prior.config)  # keys for 'detail' only
    mixed = prior_note(with_prior)
    assert "learned prior p(z | the stage before) for flat" in mixed and "training drawings for detail" in mixed
