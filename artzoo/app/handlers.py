"""The app's endpoints, one method each, independent of the layout (`ui.py` wires them to components).

Each takes the pipeline name first and its tab's session (a gr.State: one per browser tab, or per
gradio_client session) last, and returns plain values in the order `ui.py` lists the outputs.
Sessions hold `Workflow` objects server-side; pipelines are shared and never modified.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time

import gradio as gr
from PIL import Image, ImageOps

from ..fitting import parse_regularizer
from ..images import to_pil
from ..pipeline import WorkflowPipeline
from ..workflow import Workflow
from .inputs import editor_mask, editor_picture, read_picture, user_errors
from .outputs import display_note, editable, enlarge, downloads, stage_pictures
from .registry import PipelineRegistry

MAX_TRANSITIONS = 5        # galleries built for pipelines of up to 6 stages
DEFAULT_FIT_STEPS = 20     # per stage; chosen so decompose + fit stays within seconds at 64 px on 2 cores
DEFAULT_WEIGHT_DECAY = 0.01
REGULARIZERS = ("none", "weight decay", "learned")
SEED_STRIDE = 1000         # "more" moves a stage's seed this far, so its new candidates are all new
GENERATE_OUTPUTS = 1 + MAX_TRANSITIONS + 5  # session, galleries, final, strip, GIF, files, status


@dataclasses.dataclass
class GenerateSession:
    pipeline: str
    sketch: Image.Image            # as drawn/uploaded, full resolution: "keep my lines" uses it
    workflow: Workflow             # the chosen candidate at every stage
    seeds: list[int]               # per transition: candidate j is sample_z(seed, n)[j]
    n: int
    chosen: list[int | None]       # per transition, the chosen candidate (None: not among those shown)
    candidates: list[list[Image.Image]]


@dataclasses.dataclass
class EditSession:
    pipeline: str
    artwork: Image.Image
    base: Workflow                 # decomposed, then fitted: what edits start from and compare with
    current: Workflow              # with the user's edits
    base_final: Image.Image        # the base's final picture at output size (shown beside every edit)
    fitted: bool = False


@dataclasses.dataclass
class RedrawSession:
    pipeline: str
    key: str                       # which reference file and pipeline the fitted workflow belongs to
    artwork: Image.Image
    reference: Workflow


def _regularizer(choice: str, weight_decay: float):
    """The app's radio choice (+ its weight box) as `fit`'s regularizer argument."""
    if choice not in REGULARIZERS:
        raise gr.Error(f"regulariser must be one of {', '.join(REGULARIZERS)}")
    return parse_regularizer(weight_decay or 0) if choice == "weight decay" else parse_regularizer(choice)


def default_regularizer(pipe: WorkflowPipeline) -> str:
    """Learned when the pipeline ships one (the paper's best), else plain weight decay."""
    return "learned" if all(t.regularizer is not None for t in pipe.transitions) else "weight decay"


def _fit_progress(progress, action: str):
    """Adapts `fit`'s (step, total, stage, loss) callback to a gr.Progress bar."""
    def report(step: int, total: int, stage: str, loss: float) -> None:
        progress((step, total), desc=f"{action} {stage}: loss {loss:.3f}", unit="steps")
    return report


def _gallery(pictures: list[Image.Image], captions: list[str]) -> list[tuple[Image.Image, str]]:
    return [(enlarge(p), c) for p, c in zip(pictures, captions)]


def _stage_gallery(workflow: Workflow, images=None, prefix: str = "") -> list[tuple[Image.Image, str]]:
    images = workflow.images if images is None else images
    return _gallery([to_pil(t) for t in images], [f"{prefix}{k}: {name}" for k, name in enumerate(workflow.stages)])


def _pair(before: Image.Image, after: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Two pictures for an ImageSlider: the first fitted (on white) to the second's size."""
    return ImageOps.pad(before.convert("RGB"), after.size, Image.Resampling.LANCZOS, color="white"), after


def _file_key(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


class Handlers:
    def __init__(self, registry: PipelineRegistry):
        self.registry = registry

    def _pipe(self, name: str) -> WorkflowPipeline:
        return self.registry.get(name)

    @staticmethod
    def _session(session, kind, pipeline: str, what: str):
        if not isinstance(session, kind) or session.pipeline != pipeline:
            raise gr.Error(f"{what} first (with the pipeline '{pipeline}')", print_exception=False)
        return session

    # ---- tab 1: generate by stages --------------------------------------------------------------------
    def _generate_outputs(self, s: GenerateSession, keep_lines: bool) -> tuple:
        galleries = []
        for i in range(MAX_TRANSITIONS):
            if i >= len(s.candidates):
                galleries.append([])
                continue
            captions = [f"#{j + 1}{' ✓ chosen' if s.chosen[i] == j else ''} · seed {s.seeds[i]}"
                        for j in range(len(s.candidates[i]))]
            galleries.append(_gallery(s.candidates[i], captions))
        out = downloads(s.workflow, s.pipeline, s.sketch if keep_lines else None)
        size = self.registry.image_size(s.pipeline)
        status = (f"Chosen candidates: {', '.join('—' if c is None else f'#{c + 1}' for c in s.chosen)} · "
                  f"{display_note(s.workflow, size)}")
        return (s, *galleries, out["final"], out["strip"], out["gif"], out["files"], status)

    @user_errors
    def generate(self, pipeline: str, sketch: dict | None, n: float, seed: float, keep_lines: bool,
                 session=None):
        """Start from a sketch: n candidates per stage (seeded), the first of each chosen, and the result."""
        pipe = self._pipe(pipeline)
        picture = editor_picture(sketch, "sketch", "sketch")
        n, seed = int(n or 1), int(seed or 0)  # a cleared number box arrives as None
        seeds = [seed + i for i in range(len(pipe.transitions))]
        workflow, candidates = pipe.by_stages(picture, n=n, seeds=seeds)
        s = GenerateSession(pipeline, picture, workflow, seeds, n, [0] * len(seeds), candidates)
        return self._generate_outputs(s, keep_lines)

    @user_errors
    def choose_variation(self, pipeline: str, stage: float, index: float, keep_lines: bool, session=None):
        """Fix candidate ``index`` (0-based) of ``stage`` (1 = first after the sketch); later stages follow."""
        s = self._session(session, GenerateSession, pipeline, "Generate from a sketch")
        pipe = self._pipe(pipeline)
        k, j = int(stage), int(index)
        if not 1 <= k <= len(pipe.transitions):
            raise gr.Error(f"stage must be 1..{len(pipe.transitions)} (0 is the sketch itself)")
        if not 0 <= j < s.n:
            raise gr.Error(f"index must be 0..{s.n - 1}")
        chosen = list(s.chosen)
        chosen[k - 1] = j
        # Later stages keep their latents; their candidates are redrawn from the new picture.
        workflow, candidates = pipe.by_stages(s.workflow, n=s.n, seeds=s.seeds, chosen=chosen, from_stage=k - 1)
        s = dataclasses.replace(s, workflow=workflow, chosen=chosen, candidates=s.candidates[:k - 1] + candidates)
        return self._generate_outputs(s, keep_lines)

    @user_errors
    def more_variations(self, pipeline: str, stage: float, keep_lines: bool, session=None):
        """New candidates for ``stage`` (a new seed); the chosen picture stays until one is clicked."""
        s = self._session(session, GenerateSession, pipeline, "Generate from a sketch")
        pipe = self._pipe(pipeline)
        k = int(stage)
        if not 1 <= k <= len(pipe.transitions):
            raise gr.Error(f"stage must be 1..{len(pipe.transitions)}")
        s = dataclasses.replace(s, seeds=list(s.seeds), chosen=list(s.chosen), candidates=list(s.candidates))
        s.seeds[k - 1] += SEED_STRIDE
        s.chosen[k - 1] = None
        s.candidates[k - 1] = pipe.variations(s.workflow.images[k - 1], k - 1, n=s.n, seed=s.seeds[k - 1])
        return self._generate_outputs(s, keep_lines)

    @user_errors
    def generate_outputs(self, pipeline: str, keep_lines: bool, session=None):
        """The current result again, e.g. with "keep my lines" switched (nothing before a first generate)."""
        if not isinstance(session, GenerateSession) or session.pipeline != pipeline:
            return tuple(gr.skip() for _ in range(GENERATE_OUTPUTS))
        return self._generate_outputs(session, keep_lines)

    # ---- tab 2: decompose and edit ---------------------------------------------------------------------
    def _edit_outputs(self, s: EditSession, status: str, pictures: list[Image.Image] | None = None) -> tuple:
        """``pictures``: the current workflow's stage pictures when the caller has them already."""
        out = downloads(s.current, s.pipeline, pictures=pictures)
        return (s, _stage_gallery(s.current), _pair(s.base_final, out["final"]), out["files"], status)

    @user_errors
    def decompose(self, pipeline: str, artwork, session=None):
        """Infer the earlier stages of a finished picture and regenerate it from them (before fitting)."""
        pipe = self._pipe(pipeline)
        picture = read_picture(artwork, "artwork", "artwork")
        start = time.perf_counter()
        workflow = pipe.decompose(picture)
        seconds = time.perf_counter() - start
        recon = stage_pictures(workflow)[-1]
        s = EditSession(pipeline, picture, workflow, workflow, recon)
        error = pipe.reconstruction_error(workflow)
        status = (f"Decomposed in {seconds:.2f} s. Reconstruction L1 before fitting: {error:.3f} "
                  f"(mean absolute error in [-1, 1] units; 0 is exact). "
                  f"{display_note(workflow, pipe.image_size)}.")
        return (s, _stage_gallery(workflow, workflow.targets, "inferred "), _pair(picture, recon), status)

    @user_errors
    def fit(self, pipeline: str, regularizer: str, weight_decay: float, steps: float, session=None,
            progress=gr.Progress()):
        """AdaIN fitting of the decomposed artwork (Algorithm 1) with the chosen regulariser."""
        s = self._session(session, EditSession, pipeline, "Decompose an artwork")
        pipe = self._pipe(pipeline)
        reg = _regularizer(regularizer, weight_decay)
        before = pipe.reconstruction_error(s.base)
        start = time.perf_counter()
        fitted = pipe.fit(s.base, steps=int(steps), regularizer=reg, progress=_fit_progress(progress, "fitting"))
        seconds = time.perf_counter() - start
        after = pipe.reconstruction_error(fitted)
        pictures = stage_pictures(fitted)  # once: the edit view, the downloads and the slider all show them
        s = EditSession(pipeline, s.artwork, fitted, fitted, pictures[-1], fitted=True)
        status = (f"Fitted {int(steps)} steps per stage in {seconds:.1f} s with regulariser '{regularizer}': "
                  f"reconstruction L1 {before:.3f} → {after:.3f}.")
        return (*self._edit_outputs(s, status, pictures), _pair(s.artwork, pictures[-1]))

    @user_errors
    def stage_image(self, pipeline: str, stage: str, session=None):
        """The current picture of one stage, at the input's aspect and enlarged, to paint on (nothing
        before a first decompose)."""
        if not isinstance(session, EditSession) or session.pipeline != pipeline:
            return gr.skip()
        return editable(session.current, self._pipe(pipeline).stage_index(stage))

    @user_errors
    def resample(self, pipeline: str, stage: str, seed: float, strength: float, session=None):
        """New latent for ``stage``: the fitted one moved ``strength`` (0..1) of the way to a seeded sample."""
        s = self._session(session, EditSession, pipeline, "Decompose an artwork")
        pipe = self._pipe(pipeline)
        k = pipe.stage_index(stage)
        if k == 0:
            raise gr.Error(f"'{stage}' is the input stage: it has no latent to resample; paint on it instead")
        z = pipe.interpolate(s.base.z[k - 1], pipe.sample_z(int(seed), transition=k - 1), float(strength))
        s = dataclasses.replace(s, current=pipe.edit(s.current, k, z=z))
        return self._edit_outputs(s, f"Resampled '{stage}' (seed {int(seed)}, strength {float(strength):.2f}); "
                                     "later stages followed.")

    @user_errors
    def paint(self, pipeline: str, stage: str, painting: dict | None, session=None):
        """Replace ``stage``'s picture with the painted one; later stages are regenerated from it."""
        s = self._session(session, EditSession, pipeline, "Decompose an artwork")
        pipe = self._pipe(pipeline)
        k = pipe.stage_index(stage)
        picture = editor_picture(painting, f"{stage} painting", "sketch" if k == 0 else "colour")
        s = dataclasses.replace(s, current=pipe.edit(s.current, k, image=picture))
        return self._edit_outputs(s, f"Applied the painted '{stage}'; later stages followed.")

    @user_errors
    def hints(self, pipeline: str, stage: str, painting: dict | None, steps: float, session=None,
              progress=gr.Progress()):
        """Colour hints: adapt ``stage``'s style so it takes the scribbled colours where they are."""
        s = self._session(session, EditSession, pipeline, "Decompose an artwork")
        pipe = self._pipe(pipeline)
        k = pipe.stage_index(stage)
        picture = editor_picture(painting, "colour hints", "colour")
        mask = editor_mask(painting, pipe.image_size)
        current = pipe.fit_hints(s.current, k, picture, mask=mask, steps=int(steps),
                                 progress=_fit_progress(progress, "following hints on"))
        s = dataclasses.replace(s, current=current)
        return self._edit_outputs(s, f"Adapted '{stage}' to the colour hints ({int(steps)} steps); "
                                     "later stages followed.")

    @user_errors
    def reset_edits(self, pipeline: str, session=None):
        """Drop every edit: back to the fitted (or decomposed) workflow."""
        s = self._session(session, EditSession, pipeline, "Decompose an artwork")
        s = dataclasses.replace(s, current=s.base)
        return self._edit_outputs(s, "Edits undone.")

    # ---- tab 3: sketch redraw ----------------------------------------------------------------------------
    def _reference(self, pipe: WorkflowPipeline, pipeline: str, reference, session, progress) -> RedrawSession:
        """The reference decomposed and fitted, reused while the reference and pipeline stay the same."""
        if reference is None:
            raise gr.Error("no reference artwork: upload one or pick an example first", print_exception=False)
        key = f"{pipeline}:{_file_key(reference)}"
        if isinstance(session, RedrawSession) and session.key == key:
            return session
        picture = read_picture(reference, "reference artwork", "artwork")
        reg = _regularizer(default_regularizer(pipe), DEFAULT_WEIGHT_DECAY)
        fitted = pipe.fit(pipe.decompose(picture), steps=DEFAULT_FIT_STEPS, regularizer=reg,
                          progress=_fit_progress(progress, "learning the reference's look:"))
        return RedrawSession(pipeline, key, picture, fitted)

    @user_errors
    def reference_sketch(self, pipeline: str, reference, session=None, progress=gr.Progress()):
        """Decompose and fit the reference; its inferred sketch goes to the editor to be changed."""
        pipe = self._pipe(pipeline)
        s = self._reference(pipe, pipeline, reference, session, progress)
        status = (f"The reference's own sketch (inferred) is in the editor: change it and press Redraw. "
                  f"Reconstruction L1 after fitting: {pipe.reconstruction_error(s.reference):.3f}.")
        return (s, _stage_gallery(s.reference), editable(s.reference, 0), status)

    @user_errors
    def redraw(self, pipeline: str, reference, sketch: dict | None, keep_lines: bool, session=None,
               progress=gr.Progress()):
        """Render a new sketch with the reference's look (its latents and fitted AdaIN parameters)."""
        pipe = self._pipe(pipeline)
        new = editor_picture(sketch, "new sketch", "sketch")
        s = self._reference(pipe, pipeline, reference, session, progress)
        workflow = pipe.edit(s.reference, 0, image=new)  # a new sketch brings its own aspect
        out = downloads(workflow, pipeline, new if keep_lines else None)
        status = f"Redrawn with the reference's look. {display_note(workflow, pipe.image_size)}."
        return (s, _pair(s.artwork, out["final"]), out["final"], out["strip"], out["gif"], out["files"], status)
