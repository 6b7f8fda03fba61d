"""The layout: a pipeline picker and three tabs (generate by stages, decompose and edit, sketch redraw),
wired to `Handlers`. Every public endpoint has an api_name; the private ones only move UI state around
(a clicked gallery item into hidden numbers, an example into an input)."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
from PIL import Image

from .handlers import (DEFAULT_FIT_STEPS, DEFAULT_WEIGHT_DECAY, MAX_TRANSITIONS, REGULARIZERS, Handlers,
                       default_regularizer)
from .inputs import CheckedImage, CheckedImageEditor
from .limits import CacheCap, ClientLimits, one_heavy_job_per_client
from .outputs import DISPLAY_SIDE, downloads_root, enlarge
from .registry import PipelineRegistry

CANVAS = 512
STATE_TTL_S = 30 * 60   # a tab's workflows are dropped this long after its last action
SESSION_CAPACITY = 200  # sessions kept (Gradio's default, 10,000, is GBs): the least recently used go first
MAX_UPLOAD = "20mb"
DELETE_CACHE = (300, 3600)   # every 5 min, Gradio deletes the files it wrote for this app over an hour ago
CACHE_CAP_BYTES = 512 * 2**20  # ... and, whatever their age, the oldest beyond this (limits.CacheCap)
# Fits take seconds: one at a time across tabs, and one waiting or running per client (limits).
HEAVY = dict(concurrency_id="fit", concurrency_limit=1)
GALLERY_HEIGHT = 330  # one row of four at desktop width (an unset height leaves a tall empty box)
PAINT_COLOURS = ["#000000", "#ffffff", "#e53935", "#fb8c00", "#fdd835", "#43a047", "#1e88e5", "#8e24aa",
                 "#6d4c41", "#f8bbd0"]
CSS = """
.artzoo-gallery img, .artzoo-pixels img { image-rendering: pixelated; }
"""


def _brush_px(image_size: int) -> int:
    """Brush size on the canvas that, once the sketch is shrunk to model size, gives the ~1.5 px lines
    of the training sketches (the brush size is a radius in canvas pixels)."""
    return max(1, round(1.5 * CANVAS / image_size / 2))


def _blank_canvas() -> dict:
    return {"background": Image.new("RGB", (CANVAS, CANVAS), "white"), "layers": [], "composite": None}


def _sketch_editor(label: str, image_size: int, elem_id: str) -> gr.ImageEditor:
    # The eraser stays: in Gradio 6.31 eraser=False hides the whole toolbar, brush included.
    return CheckedImageEditor(
        value=_blank_canvas(), label=label, elem_id=elem_id, type="pil", image_mode="RGBA",
        sources=("upload", "clipboard"),
        brush=gr.Brush(colors=["#000000", "#ffffff"], default_color="#000000", color_mode="fixed",
                       default_size=_brush_px(image_size)),
        layers=False, transforms=(), canvas_size=(CANVAS, CANVAS), format="png", height=560)


def _example_gallery(label: str, paths, elem_id: str) -> gr.Gallery:
    return gr.Gallery(value=[str(p) for p in paths], label=label, columns=6, fit_columns=False, height=130,
                      allow_preview=False, visible=bool(paths), elem_id=elem_id, elem_classes="artzoo-pixels",
                      format="png", interactive=False)


def build_demo(registry: PipelineRegistry | None = None) -> gr.Blocks:
    """The whole app; ``registry`` defaults to the pipelines in the checkpoints folder."""
    registry = registry or PipelineRegistry()
    h = Handlers(registry)
    name = registry.default

    with gr.Blocks(title="artzoo · artistic workflows", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown("# artzoo: artistic workflows\nSketch → flat colours → detail, one stage at a time, after "
                    "Tseng et al., *Modeling Artistic Workflows for Image Generation and Editing* (ECCV 2020).")
        pipeline = gr.Dropdown(choices=[(registry.label(n), n) for n in registry.names], value=name,
                               label="Pipeline (name · stages · model size)", interactive=len(registry.names) > 1)
        about = gr.Markdown(registry.describe(name))
        with gr.Tabs():
            gen = _generate_tab(registry, name, h, pipeline)
            edit = _edit_tab(registry, name, h, pipeline)
            redraw = _redraw_tab(registry, name, h, pipeline)
        _wire_examples(registry, pipeline, gen, edit, redraw)
        _wire_pipeline_switch(registry, pipeline, about, gen, edit, redraw)

    demo.queue(default_concurrency_limit=2, max_size=64)
    cache = CacheCap(demo, CACHE_CAP_BYTES, extra_roots=(downloads_root(),))
    one_heavy_job_per_client(demo, HEAVY["concurrency_id"], on_join=cache.maybe_sweep)
    return demo


def _generate_tab(registry: PipelineRegistry, name: str, h: Handlers, pipeline: gr.Dropdown) -> SimpleNamespace:
    """Tab 1: a sketch, candidates per stage (click one to fix it), the result and its downloads."""
    stages, size = registry.stages(name), registry.image_size(name)
    n_transitions = len(stages) - 1
    with gr.Tab("1 · Generate by stages", id="generate"):
        gen_state = gr.State(None, time_to_live=STATE_TTL_S)
        with gr.Row():
            with gr.Column():
                sketch = _sketch_editor("Sketch: draw thin black lines (white paints out), or upload", size,
                                        "sketch")
                sketch_examples = _example_gallery("Example sketches (held out from training)",
                                                   registry.examples(name, 0), "sketch-examples")
                with gr.Row():
                    n = gr.Slider(1, 8, value=4, step=1, label="Candidates per stage")
                    seed = gr.Number(0, precision=0, label="Seed")
                keep_lines = gr.Checkbox(False, label="Keep my lines (draw my sketch over the colours)")
                gen_button = gr.Button("Generate", variant="primary")
            with gr.Column():
                final = gr.Image(type="pil", format="png", interactive=False,
                                 label="Final picture (upscaled to the sketch's size)")
                gif = gr.Image(type="filepath", label="The workflow, animated (GIF)", interactive=False)
        gen_status = gr.Markdown(label="status", elem_id="generate-status")
        galleries, more_buttons, gallery_groups = [], [], []
        for i in range(MAX_TRANSITIONS):
            with gr.Group(visible=i < n_transitions) as group:
                galleries.append(gr.Gallery(
                    label=_gallery_label(stages, i + 1, size), columns=8, height=GALLERY_HEIGHT,
                    allow_preview=False, format="png", elem_classes="artzoo-gallery", interactive=False,
                    elem_id=f"candidates-{i + 1}"))
                more_buttons.append(gr.Button("More candidates for this stage", size="sm"))
            gallery_groups.append(group)
        strip = gr.Image(type="pil", format="png", label="The whole workflow", interactive=False)
        gen_files = gr.File(file_count="multiple", label="Downloads: a PNG per stage, a ZIP of all, the GIF",
                            interactive=False)
        stage_pick = gr.Number(visible=False, precision=0)
        index_pick = gr.Number(visible=False, precision=0)

    gen_outputs = [gen_state, *galleries, final, strip, gif, gen_files, gen_status]
    gen_button.click(h.generate, [pipeline, sketch, n, seed, keep_lines, gen_state], gen_outputs,
                     api_name="generate")
    stage_of = {g._id: k for k, g in enumerate(galleries, start=1)}

    def picked(evt: gr.SelectData):
        return stage_of[evt.target._id], evt.index

    gr.on([g.select for g in galleries], picked, None, [stage_pick, index_pick], api_name="pick_candidate",
          api_visibility="private", queue=False).success(
        h.choose_variation, [pipeline, stage_pick, index_pick, keep_lines, gen_state], gen_outputs,
        api_name="choose_variation")
    more_of = {b._id: k for k, b in enumerate(more_buttons, start=1)}

    def pressed(evt: gr.EventData):
        return more_of[evt.target._id]

    gr.on([b.click for b in more_buttons], pressed, None, stage_pick,
          api_name="pick_stage", api_visibility="private", queue=False).success(
        h.more_variations, [pipeline, stage_pick, keep_lines, gen_state], gen_outputs, api_name="more_variations")
    keep_lines.input(h.generate_outputs, [pipeline, keep_lines, gen_state], gen_outputs,
                     api_name="generate_outputs")
    return SimpleNamespace(state=gen_state, sketch=sketch, sketch_examples=sketch_examples, galleries=galleries,
                           gallery_groups=gallery_groups)


def _edit_tab(registry: PipelineRegistry, name: str, h: Handlers, pipeline: gr.Dropdown) -> SimpleNamespace:
    """Tab 2: decompose a finished picture, fit it, then resample, paint or hint one stage."""
    stages = registry.stages(name)
    n_transitions = len(stages) - 1
    with gr.Tab("2 · Decompose and edit", id="edit"):
        edit_state = gr.State(None, time_to_live=STATE_TTL_S)
        with gr.Row():
            with gr.Column():
                artwork = CheckedImage(type="filepath", image_mode=None, label="Finished picture",
                                       elem_id="artwork",
                                       sources=("upload", "clipboard"), height=320)
                artwork_examples = _example_gallery("Example pictures (held out from training)",
                                                    registry.examples(name, -1), "artwork-examples")
                with gr.Accordion("Fitting", open=True):
                    regularizer = gr.Radio(list(REGULARIZERS), value=default_regularizer(registry.get(name)),
                                           label="Regulariser (learned: the paper's meta-learned decay)")
                    weight_decay = gr.Number(DEFAULT_WEIGHT_DECAY, label="Weight decay (for 'weight decay')")
                    fit_steps = gr.Slider(0, 200, value=DEFAULT_FIT_STEPS, step=5,
                                          label="Fitting steps per stage")
                decompose_button = gr.Button("Decompose & fit", variant="primary")
            with gr.Column():
                recon = gr.ImageSlider(type="pil", format="png", label="Artwork | reconstruction (upscaled)")
                edit_status = gr.Markdown(label="status", elem_id="edit-status")
        edit_gallery = gr.Gallery(label="Stages (current)", columns=4, fit_columns=False, height=GALLERY_HEIGHT,
                                  allow_preview=False, format="png", elem_classes="artzoo-gallery",
                                  interactive=False)
        with gr.Row():
            edit_stage = gr.Dropdown(choices=stages, value=stages[min(1, n_transitions)],
                                     label="Stage to edit")
        with gr.Row():
            with gr.Column():
                gr.Markdown("**Resample** the stage's latent: strength 0 keeps the fitted one, 1 uses the "
                            "seeded sample, in between interpolates.")
                edit_seed = gr.Slider(0, 999, value=1, step=1, label="Seed")
                strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength")
                resample_button = gr.Button("Apply new latent")
            with gr.Column(scale=2):
                painter = CheckedImageEditor(
                    label="Paint on the stage (apply replaces it) or scribble colour hints", elem_id="painter",
                    type="pil", image_mode="RGBA", sources=("upload", "clipboard"),
                    brush=gr.Brush(colors=PAINT_COLOURS, color_mode="defaults"), transforms=(),
                    canvas_size=(CANVAS, CANVAS), format="png", height=560)
                with gr.Row():
                    paint_button = gr.Button("Apply painting")
                    hints_button = gr.Button("Apply as colour hints")
                    hint_steps = gr.Slider(5, 100, value=40, step=5, label="Hint fitting steps")
        with gr.Row():
            edit_slider = gr.ImageSlider(type="pil", format="png",
                                         label="Final: before | after edits (upscaled)")
            with gr.Column():
                reset_button = gr.Button("Undo all edits")
                edit_files = gr.File(file_count="multiple", label="Downloads: a PNG per stage, a ZIP, the GIF",
                                     interactive=False)

    edit_outputs = [edit_state, edit_gallery, edit_slider, edit_files, edit_status]
    decompose_button.click(h.decompose, [pipeline, artwork, edit_state],
                           [edit_state, edit_gallery, recon, edit_status], api_name="decompose").success(
        h.fit, [pipeline, regularizer, weight_decay, fit_steps, edit_state], [*edit_outputs, recon],
        api_name="fit", **HEAVY).success(
        h.stage_image, [pipeline, edit_stage, edit_state], painter, api_name="stage_image_after_fit",
        api_visibility="private")
    edit_stage.input(h.stage_image, [pipeline, edit_stage, edit_state], painter, api_name="stage_image")
    resample_button.click(h.resample, [pipeline, edit_stage, edit_seed, strength, edit_state], edit_outputs,
                          api_name="resample")
    paint_button.click(h.paint, [pipeline, edit_stage, painter, edit_state], edit_outputs, api_name="paint")
    hints_button.click(h.hints, [pipeline, edit_stage, painter, hint_steps, edit_state], edit_outputs,
                       api_name="hints", **HEAVY)
    reset_button.click(h.reset_edits, [pipeline, edit_state], edit_outputs, api_name="reset_edits")
    return SimpleNamespace(state=edit_state, artwork=artwork, artwork_examples=artwork_examples,
                           edit_stage=edit_stage, regularizer=regularizer)


def _redraw_tab(registry: PipelineRegistry, name: str, h: Handlers, pipeline: gr.Dropdown) -> SimpleNamespace:
    """Tab 3: a new sketch rendered with a reference artwork's look."""
    size = registry.image_size(name)
    with gr.Tab("3 · Sketch redraw", id="redraw"):
        redraw_state = gr.State(None, time_to_live=STATE_TTL_S)
        with gr.Row():
            with gr.Column():
                reference = CheckedImage(type="filepath", image_mode=None, label="Reference artwork (its look)",
                                         elem_id="reference",
                                         sources=("upload", "clipboard"), height=320)
                reference_examples = _example_gallery("Example references", registry.examples(name, -1),
                                                      "reference-examples")
                reference_button = gr.Button("Open the reference's own sketch in the editor")
            with gr.Column():
                new_sketch = _sketch_editor("New sketch: draw, upload, or change the reference's", size,
                                            "new-sketch")
                redraw_keep_lines = gr.Checkbox(False, label="Keep my lines")
                redraw_button = gr.Button("Redraw with the reference's look", variant="primary")
        redraw_status = gr.Markdown(label="status", elem_id="redraw-status")
        with gr.Row():
            redraw_slider = gr.ImageSlider(type="pil", format="png", label="Reference | redrawn (upscaled)")
            redraw_final = gr.Image(type="pil", format="png", label="Redrawn (upscaled to the sketch's size)",
                                    interactive=False)
            redraw_gif = gr.Image(type="filepath", label="The workflow, animated (GIF)", interactive=False)
        redraw_strip = gr.Image(type="pil", format="png", label="The new workflow", interactive=False)
        reference_gallery = gr.Gallery(label="Reference: fitted stages", columns=4, fit_columns=False,
                                       height=GALLERY_HEIGHT,
                                       allow_preview=False, format="png", elem_classes="artzoo-gallery",
                                       interactive=False)
        redraw_files = gr.File(file_count="multiple", label="Downloads: a PNG per stage, a ZIP, the GIF",
                               interactive=False)

    reference_button.click(h.reference_sketch, [pipeline, reference, redraw_state],
                           [redraw_state, reference_gallery, new_sketch, redraw_status],
                           api_name="reference_sketch", **HEAVY)
    redraw_button.click(h.redraw, [pipeline, reference, new_sketch, redraw_keep_lines, redraw_state],
                        [redraw_state, redraw_slider, redraw_final, redraw_strip, redraw_gif, redraw_files,
                         redraw_status], api_name="redraw", **HEAVY)
    return SimpleNamespace(state=redraw_state, reference=reference, reference_examples=reference_examples)


def _wire_examples(registry: PipelineRegistry, pipeline: gr.Dropdown, gen, edit, redraw) -> None:
    """A click on an example puts it into its tab's input (UI plumbing, not API)."""
    def example_into(stage: int, as_editor: bool):
        def load(pipeline_name: str, evt: gr.SelectData):
            path = registry.examples(pipeline_name, stage)[evt.index]
            if not as_editor:
                return str(path)
            # Enlarged to the canvas so the brush (sized for the canvas) draws lines of the same width.
            picture = enlarge(Image.open(path).convert("RGB"), CANVAS)
            return {"background": picture, "layers": [], "composite": None}
        return load

    for gallery, target, stage, as_editor, api in [
            (gen.sketch_examples, gen.sketch, 0, True, "example_sketch"),
            (edit.artwork_examples, edit.artwork, -1, False, "example_artwork"),
            (redraw.reference_examples, redraw.reference, -1, False, "example_reference")]:
        gallery.select(example_into(stage, as_editor), pipeline, target, api_name=api, api_visibility="private",
                       queue=False)


def _wire_pipeline_switch(registry: PipelineRegistry, pipeline: gr.Dropdown, about: gr.Markdown, gen, edit,
                          redraw) -> None:
    """Choosing another pipeline swaps the stage galleries, examples and choices, and drops the sessions."""
    def switch_pipeline(pipeline_name: str):
        st, sz = registry.stages(pipeline_name), registry.image_size(pipeline_name)
        sketches, artworks = registry.examples(pipeline_name, 0), registry.examples(pipeline_name, -1)
        example = lambda paths: gr.update(value=[str(p) for p in paths], visible=bool(paths))  # noqa: E731
        return (registry.describe(pipeline_name),
                *[gr.update(visible=i < len(st) - 1) for i in range(MAX_TRANSITIONS)],
                *[gr.update(value=[], label=_gallery_label(st, i + 1, sz)) for i in range(MAX_TRANSITIONS)],
                example(sketches), example(artworks), example(artworks),
                gr.update(choices=st, value=st[min(1, len(st) - 1)]),
                gr.update(value=default_regularizer(registry.get(pipeline_name))),
                None, None, None)

    pipeline.change(switch_pipeline, pipeline,
                    [about, *gen.gallery_groups, *gen.galleries, gen.sketch_examples, edit.artwork_examples,
                     redraw.reference_examples, edit.edit_stage, edit.regularizer, gen.state, edit.state, redraw.state],
                    api_name="switch_pipeline", api_visibility="private")


def _gallery_label(stages: list[str], k: int, size: int) -> str:
    if k >= len(stages):
        return f"Stage {k}"  # hidden: this pipeline has fewer stages
    factor = max(1, -(-DISPLAY_SIDE // size))
    return f"Stage {k} · {stages[k]}: click a candidate to fix it ({size} px, shown ×{factor}, nearest)"


def launch_kwargs(registry: PipelineRegistry) -> dict:
    """Server settings for `demo.launch`; host and port come from GRADIO_SERVER_NAME/PORT when set.
    Only the example folders are served as files (not the checkpoints); per-client request budgets
    (limits.ClientLimits); SSR is off since it needs Node, which a Space may lack."""
    from starlette.middleware import Middleware

    return dict(max_file_size=MAX_UPLOAD, allowed_paths=[str(p) for p in registry.example_folders()],
                state_session_capacity=SESSION_CAPACITY, app_kwargs={"middleware": [Middleware(ClientLimits)]},
                ssr_mode=False, css=CSS)
