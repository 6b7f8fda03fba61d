"""The layout: a pipeline picker and three tabs (generate by stages, decompose and edit, sketch redraw),
wired to `Handlers`. Every public endpoint has an api_name; the private ones only move UI state around
(a clicked gallery item into hidden numbers, an example into an input)."""

from __future__ import annotations

import random
from types import SimpleNamespace

import gradio as gr
from PIL import Image

from .handlers import (DEFAULT_FIT_STEPS, DEFAULT_WEIGHT_DECAY, EDIT_FIRST_OUTPUTS, GENERATE_OUTPUTS, MAX_TRANSITIONS,
                       REDRAW_OUTPUTS, REGULARIZERS, FirstScreen, Handlers, default_regularizer, example_editor)
from .inputs import CheckedImage, CheckedImageEditor
from .limits import CacheCap, ClientLimits, one_heavy_job_per_client
from .outputs import CANVAS, downloads_root
from .registry import PipelineRegistry

STATE_TTL_S = 30 * 60   # a tab's workflows are dropped this long after its last action
SESSION_CAPACITY = 100  # sessions kept (~5-10 MB each; Gradio's default, 10,000, is GBs): least recently used go first
MAX_UPLOAD = "20mb"
DELETE_CACHE = (300, 3600)   # every 5 min, Gradio deletes the files it wrote for this app over an hour ago
CACHE_CAP_BYTES = 512 * 2**20  # ... and, whatever their age, the oldest beyond this (limits.CacheCap)
# Fits take seconds: one at a time across tabs, and one waiting or running per client (limits).
HEAVY = dict(concurrency_id="fit", concurrency_limit=1)
GALLERY_HEIGHT = 330  # one row of four at desktop width (an unset height leaves a tall empty box)
PAINT_COLOURS = ["#000000", "#ffffff", "#e53935", "#fb8c00", "#fdd835", "#43a047", "#1e88e5", "#8e24aa",
                 "#6d4c41", "#f8bbd0"]
CSS = """
.artzoo-pixels img { image-rendering: pixelated; }
.artzoo-howto p { font-size: 1.05em; margin: 0.2em 0 0.6em; }
/* Galleries fit their row on a phone (Gradio's columns are at least 100 px) and lose the desktop height. */
.artzoo-grid .grid-container { grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important; }
@media (max-width: 700px) {
  .artzoo-grid, .artzoo-grid .grid-wrap { height: auto !important; max-height: none !important; }
  .tab-container button { padding-left: 6px !important; padding-right: 6px !important; }  /* all three tabs fit */
  .artzoo-candidates .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
}
"""


PIXEL_GRID = ["artzoo-pixels", "artzoo-grid"]  # galleries of model-size pictures: crisp pixels


def _brush_px() -> int:
    """Brush radius on the canvas: lines as wide as those of the example sketches (the data set drawn at
    512 px has ~1.5 px lines). The networks take them alike from 1.5 to 12 px wide (measured on held-out
    sketches), and the rendered pictures draw the user's own lines, so the brush matches what is shown."""
    return 1


def _first(values: tuple | None, n: int) -> tuple:
    """A first screen's outputs for a tab, or empty ones where the pipeline has no examples."""
    return values if values is not None else (None,) * n


def _sketch_editor(label: str, elem_id: str, value: dict | None) -> gr.ImageEditor:
    # The eraser stays: in Gradio 6.31 eraser=False hides the whole toolbar, brush included.
    blank = {"background": Image.new("RGB", (CANVAS, CANVAS), "white"), "layers": [], "composite": None}
    return CheckedImageEditor(
        value=value or blank, label=label, elem_id=elem_id, type="pil", image_mode="RGBA",
        sources=("upload", "clipboard"),
        brush=gr.Brush(colors=["#000000", "#ffffff"], default_color="#000000", color_mode="fixed",
                       default_size=_brush_px()),
        layers=False, transforms=(), canvas_size=(CANVAS, CANVAS), format="png", height=560)


def _example_gallery(label: str, paths, elem_id: str) -> gr.Gallery:
    return gr.Gallery(value=[str(p) for p in paths], label=label, columns=6, fit_columns=False, height=130,
                      allow_preview=False, visible=bool(paths), elem_id=elem_id, format="png", interactive=False,
                      object_fit="contain", elem_classes="artzoo-grid")


def _howto(text: str) -> gr.Markdown:
    return gr.Markdown(text, elem_classes="artzoo-howto")


def _new_seed() -> int:
    return random.randrange(1_000_000)


def build_demo(registry: PipelineRegistry | None = None) -> gr.Blocks:
    """The whole app; ``registry`` defaults to the pipelines in the checkpoints folder. Each tab opens
    with the default pipeline's first screen (an example and its results), made here once."""
    registry = registry or PipelineRegistry()
    h = Handlers(registry)
    name = registry.default
    first = h.first_screen(name)

    with gr.Blocks(title="artzoo · artistic workflows", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown("# artzoo: artistic workflows\nA picture made the way an artist works, one stage at a time "
                    "(each pipeline's stages are listed under its name), after Tseng et al., *Modeling Artistic "
                    "Workflows for Image Generation and Editing* (ECCV 2020).")
        pipeline = gr.Dropdown(choices=[(registry.label(n), n) for n in registry.names], value=name,
                               label="Pipeline (name · stages · model size)", interactive=len(registry.names) > 1)
        about = gr.Markdown(registry.describe(name))
        with gr.Tabs():
            gen = _generate_tab(registry, name, h, pipeline, first)
            edit = _edit_tab(registry, name, h, pipeline, first)
            redraw = _redraw_tab(registry, name, h, pipeline, first)
        _wire_examples(h, pipeline, gen, edit, redraw)
        _wire_pipeline_switch(registry, h, pipeline, about, gen, edit, redraw)

    demo.queue(default_concurrency_limit=2, max_size=64)
    cache = CacheCap(demo, CACHE_CAP_BYTES, extra_roots=(downloads_root(),))
    one_heavy_job_per_client(demo, HEAVY["concurrency_id"], on_join=cache.maybe_sweep)
    return demo


def _generate_tab(registry: PipelineRegistry, name: str, h: Handlers, pipeline: gr.Dropdown,
                  first: FirstScreen) -> SimpleNamespace:
    """Tab 1: a sketch, candidates per stage (click one to fix it), the result and its downloads."""
    stages, size = registry.stages(name), registry.image_size(name)
    n_transitions = len(stages) - 1
    session, *shown = _first(first.generate, GENERATE_OUTPUTS)
    galleries_0, (final_0, strip_0, gif_0, files_0, status_0) = shown[:MAX_TRANSITIONS], shown[MAX_TRANSITIONS:]
    with gr.Tab("1 · Generate", id="generate"):
        _howto("**Draw a sketch** (black lines; white paints out) or pick an example, then press **Generate**. "
               "Each stage offers candidates: click one to keep it, and the later stages follow.")
        gen_state = gr.State(session, time_to_live=STATE_TTL_S)
        with gr.Row():
            with gr.Column(min_width=300):
                sketch = _sketch_editor("Sketch: draw, upload, or pick an example below", "sketch", first.sketch)
                sketch_examples = _example_gallery("Example sketches (held out from training)",
                                                   h.examples(name, 0), "sketch-examples")
                with gr.Row():
                    n = gr.Slider(1, 8, value=4, step=1, label="Candidates per stage", min_width=150)
                    seed = gr.Number(0, precision=0, minimum=0, label="Seed (same seed, same candidates)",
                                     min_width=150)
                with gr.Row():
                    gen_button = gr.Button("Generate", variant="primary", min_width=120)
                    surprise = gr.Button("Surprise me (new seed)", min_width=120)
                gen_status = gr.Markdown(status_0, elem_id="generate-status")
            with gr.Column(min_width=300):
                final = gr.Image(final_0, type="pil", format="png", interactive=False, elem_id="final",
                                 label="Final picture (at the sketch's size)")
                network = gr.Checkbox(False, label=f"Network view (the raw {size} px pictures)",
                                      visible=h.draws(name), elem_id="generate-network")
                gif = gr.Image(gif_0, type="filepath", label="The workflow, animated (GIF)", interactive=False)
        galleries, more_buttons, gallery_groups = [], [], []
        for i in range(MAX_TRANSITIONS):
            with gr.Group(visible=i < n_transitions) as group:
                galleries.append(gr.Gallery(
                    galleries_0[i], label=_gallery_label(stages, i + 1), columns=4, height=GALLERY_HEIGHT,
                    allow_preview=False, format="png", interactive=False, elem_id=f"candidates-{i + 1}",
                    object_fit="contain", elem_classes=["artzoo-grid", "artzoo-candidates"]))
                more_buttons.append(gr.Button("More candidates for this stage", size="sm"))
            gallery_groups.append(group)
        strip = gr.Image(strip_0, type="pil", format="png", label="The whole workflow", interactive=False)
        gen_files = gr.File(files_0, file_count="multiple", interactive=False,
                            label="Downloads: a PNG per stage, a ZIP of all, the GIF, a layered PSD")
        stage_pick = gr.Number(visible=False, precision=0)
        index_pick = gr.Number(visible=False, precision=0)

    gen_inputs = [pipeline, sketch, n, seed, network, gen_state]
    gen_outputs = [gen_state, *galleries, final, strip, gif, gen_files, gen_status]
    quiet = dict(show_progress_on=gen_status)  # an unexpected failure marks the status line, not the pictures
    gen_button.click(h.generate, gen_inputs, gen_outputs, api_name="generate", validator=h.check_generate,
                     **quiet)
    surprise.click(_new_seed, None, seed, api_name="new_seed", api_visibility="private", queue=False).success(
        h.generate, gen_inputs, gen_outputs, api_name="surprise", api_visibility="private",
        validator=h.check_generate, **quiet)
    stage_of = {g._id: k for k, g in enumerate(galleries, start=1)}

    def picked(evt: gr.SelectData):
        return stage_of[evt.target._id], evt.index

    gr.on([g.select for g in galleries], picked, None, [stage_pick, index_pick], api_name="pick_candidate",
          api_visibility="private", queue=False).success(
        h.choose_variation, [pipeline, stage_pick, index_pick, network, gen_state], gen_outputs,
        api_name="choose_variation", **quiet)
    more_of = {b._id: k for k, b in enumerate(more_buttons, start=1)}

    def pressed(evt: gr.EventData):
        return more_of[evt.target._id]

    gr.on([b.click for b in more_buttons], pressed, None, stage_pick,
          api_name="pick_stage", api_visibility="private", queue=False).success(
        h.more_variations, [pipeline, stage_pick, network, gen_state], gen_outputs, api_name="more_variations",
        **quiet)
    network.input(h.generate_outputs, [pipeline, network, gen_state], gen_outputs, api_name="generate_outputs",
                  **quiet)
    return SimpleNamespace(state=gen_state, sketch=sketch, sketch_examples=sketch_examples, galleries=galleries,
                           gallery_groups=gallery_groups, network=network, first=[sketch, *gen_outputs])


def _edit_tab(registry: PipelineRegistry, name: str, h: Handlers, pipeline: gr.Dropdown,
              first: FirstScreen) -> SimpleNamespace:
    """Tab 2: decompose a finished picture, fit it, then resample, paint or hint one stage."""
    stages = registry.stages(name)
    n_transitions = len(stages) - 1
    session, gallery_0, slider_0, files_0, status_0, recon_0 = _first(first.edit, EDIT_FIRST_OUTPUTS)
    with gr.Tab("2 · Decompose & edit", id="edit"):
        _howto("**Upload a finished picture** (or pick an example) and press **Decompose & fit**: artzoo "
               "recovers its earlier stages, down to the sketch. Then change one stage and the later stages follow.")
        edit_state = gr.State(session, time_to_live=STATE_TTL_S)
        with gr.Row():
            with gr.Column(min_width=300):
                artwork = CheckedImage(value=first.artwork, type="filepath", image_mode=None, label="Finished picture",
                                       elem_id="artwork", sources=("upload", "clipboard"), height=320)
                artwork_examples = _example_gallery("Example pictures (held out from training)",
                                                    h.examples(name, -1), "artwork-examples")
                with gr.Accordion("Fitting", open=False):
                    regularizer = gr.Radio(list(REGULARIZERS), value=default_regularizer(registry.get(name)),
                                           label="Regulariser (learned: the paper's meta-learned decay)")
                    weight_decay = gr.Number(DEFAULT_WEIGHT_DECAY, label="Weight decay (for 'weight decay')")
                    fit_steps = gr.Slider(0, 200, value=DEFAULT_FIT_STEPS, step=5,
                                          label="Fitting steps per stage")
                decompose_button = gr.Button("Decompose & fit", variant="primary")
            with gr.Column(min_width=300):
                recon = gr.ImageSlider(recon_0, type="pil", format="png", elem_id="recon",
                                       label="Artwork | reconstruction")
                edit_status = gr.Markdown(status_0, elem_id="edit-status")
        edit_gallery = gr.Gallery(gallery_0, label="Stages (current, the networks' pictures)", columns=4,
                                  fit_columns=False, height=GALLERY_HEIGHT, allow_preview=False, format="png",
                                  elem_classes=PIXEL_GRID, interactive=False, elem_id="edit-stages")
        # Choices follow the pipeline in the browser; API callers may name any pipeline's stage (the
        # handlers check it against that pipeline and say which stages it has).
        edit_stage = gr.Dropdown(choices=stages, value=stages[min(1, n_transitions)], label="Stage to edit",
                                 allow_custom_value=True)
        with gr.Row():
            with gr.Column(min_width=300):
                gr.Markdown("**Resample** the stage's latent: strength 0 keeps the fitted one, 1 uses the "
                            "seeded sample, in between interpolates.")
                edit_seed = gr.Slider(0, 999, value=1, step=1, label="Seed")
                strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength")
                with gr.Row():
                    resample_button = gr.Button("Apply new latent", min_width=120)
                    edit_surprise = gr.Button("Surprise me (new seed)", min_width=120)
            with gr.Column(scale=2, min_width=300):
                painter = CheckedImageEditor(
                    value=first.painting, label="Paint on the stage (apply replaces it) or scribble colour hints",
                    elem_id="painter", type="pil", image_mode="RGBA", sources=("upload", "clipboard"),
                    brush=gr.Brush(colors=PAINT_COLOURS, color_mode="defaults"), transforms=(),
                    canvas_size=(CANVAS, CANVAS), format="png", height=560)
                with gr.Row():
                    paint_button = gr.Button("Apply painting", min_width=120)
                    hints_button = gr.Button("Apply as colour hints", min_width=120)
                    hint_steps = gr.Slider(5, 100, value=40, step=5, label="Hint fitting steps", min_width=150)
        with gr.Row():
            edit_slider = gr.ImageSlider(slider_0, type="pil", format="png", label="Final: before | after edits",
                                         elem_id="edit-slider")
            with gr.Column(min_width=300):
                reset_button = gr.Button("Undo all edits")
                edit_files = gr.File(files_0, file_count="multiple", interactive=False,
                                     label="Downloads: a PNG per stage, a ZIP, the GIF, a layered PSD")

    edit_outputs = [edit_state, edit_gallery, edit_slider, edit_files, edit_status]
    quiet = dict(show_progress_on=edit_status)
    decompose_button.click(h.decompose, [pipeline, artwork, edit_state],
                           [edit_state, edit_gallery, recon, edit_status], api_name="decompose", **quiet).success(
        h.fit, [pipeline, regularizer, weight_decay, fit_steps, edit_state], [*edit_outputs, recon],
        api_name="fit", **HEAVY, **quiet).success(
        h.stage_image, [pipeline, edit_stage, edit_state], painter, api_name="stage_image_after_fit",
        api_visibility="private", show_progress="hidden")
    edit_stage.input(h.stage_image, [pipeline, edit_stage, edit_state], painter, api_name="stage_image")
    resample_inputs = [pipeline, edit_stage, edit_seed, strength, edit_state]
    resample_button.click(h.resample, resample_inputs, edit_outputs, api_name="resample",
                          validator=h.check_resample, **quiet)
    edit_surprise.click(_new_seed, None, edit_seed, api_name="new_edit_seed", api_visibility="private",
                        queue=False).success(h.resample, resample_inputs, edit_outputs, api_name="surprise_resample",
                                             api_visibility="private", validator=h.check_resample, **quiet)
    paint_button.click(h.paint, [pipeline, edit_stage, painter, edit_state], edit_outputs, api_name="paint",
                       validator=h.check_paint, **quiet)
    hints_button.click(h.hints, [pipeline, edit_stage, painter, hint_steps, edit_state], edit_outputs,
                       api_name="hints", validator=h.check_hints, **HEAVY, **quiet)
    reset_button.click(h.reset_edits, [pipeline, edit_state], edit_outputs, api_name="reset_edits", **quiet)
    return SimpleNamespace(state=edit_state, artwork=artwork, artwork_examples=artwork_examples,
                           edit_stage=edit_stage, regularizer=regularizer,
                           first=[artwork, *edit_outputs, recon, painter])


def _redraw_tab(registry: PipelineRegistry, name: str, h: Handlers, pipeline: gr.Dropdown,
                first: FirstScreen) -> SimpleNamespace:
    """Tab 3: a new sketch rendered with a reference artwork's look."""
    size = registry.image_size(name)
    session, slider_0, final_0, strip_0, gif_0, files_0, status_0 = _first(first.redraw, REDRAW_OUTPUTS)
    with gr.Tab("3 · Redraw", id="redraw"):
        _howto("**Pick a reference artwork** (its look) and **draw a new sketch** (or change the reference's "
               "own), then press **Redraw**: the sketch is painted the way the reference is.")
        redraw_state = gr.State(session, time_to_live=STATE_TTL_S)
        with gr.Row():
            with gr.Column(min_width=300):
                reference = CheckedImage(value=first.reference, type="filepath", image_mode=None,
                                         label="Reference artwork (its look)", elem_id="reference",
                                         sources=("upload", "clipboard"), height=320)
                reference_examples = _example_gallery("Example references", h.examples(name, -1),
                                                      "reference-examples")
                reference_button = gr.Button("Open the reference's own sketch in the editor")
            with gr.Column(min_width=300):
                new_sketch = _sketch_editor("New sketch: draw, upload, or change the reference's", "new-sketch",
                                            first.new_sketch)
                redraw_button = gr.Button("Redraw with the reference's look", variant="primary")
                redraw_status = gr.Markdown(status_0, elem_id="redraw-status")
        with gr.Row():
            redraw_slider = gr.ImageSlider(slider_0, type="pil", format="png", label="Reference | redrawn",
                                           elem_id="redraw-slider")
            with gr.Column(min_width=300):
                redraw_final = gr.Image(final_0, type="pil", format="png", interactive=False, elem_id="redraw-final",
                                        label="Redrawn (at the sketch's size)")
                redraw_network = gr.Checkbox(False, label=f"Network view (the raw {size} px pictures)",
                                             visible=h.draws(name), elem_id="redraw-network")
            redraw_gif = gr.Image(gif_0, type="filepath", label="The workflow, animated (GIF)", interactive=False)
        redraw_strip = gr.Image(strip_0, type="pil", format="png", label="The new workflow", interactive=False)
        with gr.Accordion("Reference: fitted stages", open=False):
            reference_gallery = gr.Gallery(first.reference_stages, label="Reference: fitted stages", columns=4,
                                           fit_columns=False, height=GALLERY_HEIGHT, allow_preview=False,
                                           format="png", elem_classes=PIXEL_GRID, interactive=False)
        redraw_files = gr.File(files_0, file_count="multiple", interactive=False,
                               label="Downloads: a PNG per stage, a ZIP, the GIF, a layered PSD")

    quiet = dict(show_progress_on=redraw_status)
    redraw_outputs = [redraw_state, redraw_slider, redraw_final, redraw_strip, redraw_gif, redraw_files,
                      redraw_status]
    reference_button.click(h.reference_sketch, [pipeline, reference, redraw_state],
                           [redraw_state, reference_gallery, new_sketch, redraw_status],
                           api_name="reference_sketch", **HEAVY, **quiet)
    redraw_button.click(h.redraw, [pipeline, reference, new_sketch, redraw_network, redraw_state], redraw_outputs,
                        api_name="redraw", validator=h.check_redraw, **HEAVY, **quiet)
    redraw_network.input(h.redraw_outputs, [pipeline, redraw_network, redraw_state], redraw_outputs,
                         api_name="redraw_outputs", **quiet)
    return SimpleNamespace(state=redraw_state, reference=reference, reference_examples=reference_examples,
                           network=redraw_network,
                           first=[reference, new_sketch, *redraw_outputs, reference_gallery])


def _first_values(first: FirstScreen) -> list:
    """A first screen in the order of the tabs' ``first`` components (see the three tab functions)."""
    return [first.sketch, *_first(first.generate, GENERATE_OUTPUTS),
            first.artwork, *_first(first.edit, EDIT_FIRST_OUTPUTS), first.painting,
            first.reference, first.new_sketch, *_first(first.redraw, REDRAW_OUTPUTS), first.reference_stages]


def _wire_examples(h: Handlers, pipeline: gr.Dropdown, gen, edit, redraw) -> None:
    """A click on an example puts it into its tab's input (UI plumbing, not API)."""
    def example_into(stage: int, as_editor: bool):
        def load(pipeline_name: str, evt: gr.SelectData):
            path = h.examples(pipeline_name, stage)[evt.index]
            return example_editor(path) if as_editor else str(path)
        return load

    for gallery, target, stage, as_editor, api in [
            (gen.sketch_examples, gen.sketch, 0, True, "example_sketch"),
            (edit.artwork_examples, edit.artwork, -1, False, "example_artwork"),
            (redraw.reference_examples, redraw.reference, -1, False, "example_reference")]:
        gallery.select(example_into(stage, as_editor), pipeline, target, api_name=api, api_visibility="private",
                       queue=False)


def _wire_pipeline_switch(registry: PipelineRegistry, h: Handlers, pipeline: gr.Dropdown, about: gr.Markdown,
                          gen, edit, redraw) -> None:
    """Choosing another pipeline swaps the stage galleries, examples, choices and the tabs' first screens
    (inputs, results and sessions)."""
    def switch_pipeline(pipeline_name: str):
        st = registry.stages(pipeline_name)
        example = lambda paths: gr.update(value=[str(p) for p in paths], visible=bool(paths))  # noqa: E731
        values = _first_values(h.first_screen(pipeline_name))
        galleries = values[2:2 + MAX_TRANSITIONS]
        values[2:2 + MAX_TRANSITIONS] = [gr.update(value=galleries[i], label=_gallery_label(st, i + 1))
                                         for i in range(MAX_TRANSITIONS)]
        return (registry.describe(pipeline_name),
                *[gr.update(visible=i < len(st) - 1) for i in range(MAX_TRANSITIONS)],
                example(h.examples(pipeline_name, 0)), example(h.examples(pipeline_name, -1)),
                example(h.examples(pipeline_name, -1)),
                gr.update(choices=st, value=st[min(1, len(st) - 1)]),
                gr.update(value=default_regularizer(registry.get(pipeline_name))),
                gr.update(visible=h.draws(pipeline_name), value=False),
                gr.update(visible=h.draws(pipeline_name), value=False),
                *values)

    pipeline.change(switch_pipeline, pipeline,
                    [about, *gen.gallery_groups, gen.sketch_examples, edit.artwork_examples,
                     redraw.reference_examples, edit.edit_stage, edit.regularizer, gen.network, redraw.network,
                     *gen.first, *edit.first, *redraw.first],
                    api_name="switch_pipeline", api_visibility="private")


def _gallery_label(stages: list[str], k: int) -> str:
    if k >= len(stages):
        return f"Stage {k}"  # hidden: this pipeline has fewer stages
    return f"Stage {k} · {stages[k]}: click a candidate to keep it"


def launch_kwargs(registry: PipelineRegistry) -> dict:
    """Server settings for `demo.launch`; host and port come from GRADIO_SERVER_NAME/PORT when set.
    Only the example folders are served as files (not the checkpoints); per-client request budgets
    (limits.ClientLimits); SSR is off since it needs Node, which a Space may lack."""
    from starlette.middleware import Middleware

    return dict(max_file_size=MAX_UPLOAD, allowed_paths=[str(p) for p in registry.example_folders()],
                state_session_capacity=SESSION_CAPACITY, app_kwargs={"middleware": [Middleware(ClientLimits)]},
                ssr_mode=False, css=CSS)
