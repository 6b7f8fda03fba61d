"""The app's endpoints, one method each, independent of the layout (`ui.py` wires them to components).

Each takes the pipeline name first and its tab's session (a gr.State: one per browser tab, or per
gradio_client session) last, and returns plain values in the order `ui.py` lists the outputs. The
``check_*`` methods are validators: they run first, cheaply, and put a message on the input at fault
instead of starting the work (so no output turns into an error box). Endpoints that start from an uploaded
file (decompose, reference_sketch) have none: there a validator would hide the upload checks' own
messages from API clients (Gradio answers a failed preprocessing in a validator with a bare 400).
Sessions hold `Workflow` objects server-side; pipelines are shared and never modified.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
from PIL import Image, ImageOps

from ..errors import ArtzooError
from ..fitting import parse_regularizer
from ..images import to_pil
from ..pipeline import WorkflowPipeline
from ..workflow import Workflow
from .inputs import editor_mask, editor_picture, read_picture, user_errors
from .outputs import (CANVAS, CandidateCanvas, candidate_canvas, display_note, downloads, drawn_candidates, editable,
                      enlarge, network_view, stage_pictures, strip)
from .registry import PipelineRegistry

MAX_TRANSITIONS = 5        # galleries built for pipelines of up to 6 stages
DEFAULT_FIT_STEPS = 20     # per stage; chosen so decompose + fit stays within seconds at 64 px on 2 cores
DEFAULT_WEIGHT_DECAY = 0.01
REGULARIZERS = ("none", "weight decay", "learned")
SEED_STRIDE = 1000         # "more" moves a stage's seed this far, so its new candidates are all new
GENERATE_OUTPUTS = 1 + MAX_TRANSITIONS + 5  # session, galleries, final, strip, GIF, files, status
REDRAW_OUTPUTS = 7                          # session, slider, final, strip, GIF, files, status
EDIT_FIRST_OUTPUTS = 6                      # decompose + fit: session, gallery, slider, files, status, recon

log = logging.getLogger("artzoo.app")


class _Value:
    """Sessions are values: handlers make new ones and never change one. So a tab's first session (its
    example, `FirstScreen`) is shared by every visitor as it is, not deep-copied into each new session."""

    def __deepcopy__(self, memo):
        return self


@dataclasses.dataclass
class GenerateSession(_Value):
    pipeline: str
    workflow: Workflow             # the chosen candidate at every stage
    seeds: list[int]               # per transition: candidate j is sample_z(seed, n)[j]
    n: int
    chosen: list[int | None]       # per transition, the chosen candidate (None: not among those shown)
    candidates: list[list[Image.Image]]  # per transition, the networks' pictures (model size)
    drawn: list[list[Image.Image]] | None  # the same drawn on the canvas (None: the pipeline draws none)
    canvas: CandidateCanvas | None
    pictures: list[Image.Image]    # the workflow's stages at the sketch's size
    files: dict                    # its downloads (`outputs.downloads`)


@dataclasses.dataclass
class EditSession(_Value):
    pipeline: str
    artwork: Image.Image
    base: Workflow                 # decomposed, then fitted: what edits start from and compare with
    current: Workflow              # with the user's edits
    base_final: Image.Image        # the base's final picture at output size (shown beside every edit)
    fitted: bool = False


@dataclasses.dataclass
class RedrawSession(_Value):
    pipeline: str
    key: str                       # which reference file and pipeline the fitted workflow belongs to
    artwork: Image.Image
    reference: Workflow
    result: Workflow | None = None  # the last redrawn sketch, its stage pictures and downloads
    pictures: list[Image.Image] | None = None
    files: dict | None = None


@dataclasses.dataclass(frozen=True)
class FirstScreen:
    """A pipeline's tabs as a visitor first sees them: a held-out example in each input, its results
    shown (the outputs tuples are what the tab's handlers return). None where it has no examples."""

    sketch: dict | None = None
    generate: tuple | None = None
    artwork: str | None = None
    edit: tuple | None = None           # decompose + fit: session, gallery, slider, files, status, recon
    painting: dict | None = None
    reference: str | None = None
    new_sketch: dict | None = None
    redraw: tuple | None = None
    reference_stages: list | None = None  # the reference's fitted stages (a gallery)


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


def _no_progress(*args, **kwargs) -> None:
    """A progress callback for work done outside a request (the first screen)."""


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


def _problem(check) -> str | None:
    """What ``check()`` says is wrong with an input, or None when it passes."""
    try:
        check()
    except ArtzooError as e:
        return str(e)
    except gr.Error as e:
        return str(e.message)
    return None


def _verdicts(n_inputs: int, problems: dict[int, str | None]) -> list[dict]:
    """A validator's answer: one gr.validate per input, the problems (by input position) as messages."""
    return [gr.validate(not problems.get(i), _sentence(problems.get(i) or "")) for i in range(n_inputs)]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def example_editor(path: Path) -> dict:
    """An example sketch as an ImageEditor value, at least canvas size (the brush is sized for it)."""
    return {"background": enlarge(Image.open(path).convert("RGB"), CANVAS), "layers": [], "composite": None}


PRIOR_WORDS = {"nearest": "the palettes of the most similar training drawings",
               "learned": "the learned prior p(z | the stage before)",
               "bank": "the codes of random training pictures",
               "normal": "N(0, I), as in the paper"}


def prior_note(pipe: WorkflowPipeline) -> str:
    """Where the candidates' latents come from (each transition's default prior), in words."""
    used = [pipe.default_prior(i) for i in range(len(pipe.transitions))]
    if len(set(used)) == 1:
        return f"z from {PRIOR_WORDS[used[0]]}"
    return "z from " + "; ".join(f"{PRIOR_WORDS[p]} for {pipe.stages[i + 1]}" for i, p in enumerate(used))


class Handlers:
    def __init__(self, registry: PipelineRegistry):
        self.registry = registry
        self._first: dict[str, FirstScreen] = {}
        self._first_lock = threading.Lock()
        # The first screens' downloads live apart from the requests' (which are swept after an hour).
        self._first_files = Path(tempfile.mkdtemp(prefix="artzoo-app-examples-"))

    def _pipe(self, name: str) -> WorkflowPipeline:
        return self.registry.get(name)

    @staticmethod
    def _session(session, kind, pipeline: str, what: str):
        if not isinstance(session, kind) or session.pipeline != pipeline:
            raise gr.Error(f"{what} first (with the pipeline '{pipeline}')", print_exception=False)
        return session

    # ---- examples and the first screen -------------------------------------------------------------------
    def examples(self, name: str, stage: int) -> list[Path]:
        """The pipeline's held-out examples of a stage; only those at canvas size where there are some
        (a pipeline folder's export also holds model-size copies, which would only show enlarged)."""
        paths = self.registry.examples(name, stage)
        full = []
        for path in paths:
            with Image.open(path) as im:
                if max(im.size) >= CANVAS:
                    full.append(path)
        return full or paths

    def draws(self, name: str) -> bool:
        """Whether the pipeline's stages are drawn at the sketch's size (else only scaled up)."""
        return self._pipe(name).render_kinds is not None

    def first_screen(self, name: str) -> FirstScreen:
        """The pipeline's first screen, made once (at start-up for the default pipeline, on the first
        switch for the others) and shared by every visitor."""
        with self._first_lock:
            if name not in self._first:
                start = time.perf_counter()
                try:
                    self._first[name] = self._make_first_screen(name)
                except Exception:  # a broken example must not take the app down: the tabs open empty
                    log.exception("the first screen of %s failed", name)
                    self._first[name] = FirstScreen()
                log.info("first screen of %s made in %.1f s", name, time.perf_counter() - start)
            return self._first[name]

    def _make_first_screen(self, name: str) -> FirstScreen:
        """Tab 1 generates from the first example sketch; tab 2 decomposes and fits an example artwork, and
        tab 3 redraws the second example sketch in that artwork's look (one fit serves both)."""
        sketches, artworks = self.examples(name, 0), self.examples(name, -1)
        folder = self._first_files / name
        out = {}
        if sketches:
            sketch = example_editor(sketches[0])
            s = self._generated(name, editor_picture(sketch, "sketch", "sketch"), 4, 0, folder / "generate")
            out.update(sketch=sketch, generate=self._generate_outputs(s, False))
        if artworks:
            artwork = str(artworks[min(1, len(artworks) - 1)])
            s, _ = self._decomposed(name, read_picture(artwork, "artwork", "artwork"))
            edit = self._fit(s, default_regularizer(self._pipe(name)), DEFAULT_WEIGHT_DECAY, DEFAULT_FIT_STEPS,
                             _no_progress, folder / "edit")
            stages = self.registry.stages(name)
            out.update(artwork=artwork, edit=edit, painting=editable(edit[0].current, min(1, len(stages) - 1)))
            if sketches:
                fitted = edit[0].base  # fitted with the redraw's own settings (`_reference`)
                reference = RedrawSession(name, f"{name}:{_file_key(artwork)}", edit[0].artwork, fitted)
                new_sketch = example_editor(sketches[min(2, len(sketches) - 1)])  # not tab 1's
                s = self._redrawn(reference, editor_picture(new_sketch, "new sketch", "sketch"), folder / "redraw")
                out.update(reference=artwork, new_sketch=new_sketch, redraw=self._redraw_outputs(s, False),
                           reference_stages=_stage_gallery(fitted))
        return FirstScreen(**out)

    # ---- tab 1: generate by stages --------------------------------------------------------------------
    def _generate_session(self, s: GenerateSession, from_transition: int, folder: Path | None = None,
                          workflow_changed: bool = True) -> GenerateSession:
        """``s`` with its candidates drawn from transition ``from_transition`` on, and (when the workflow
        changed) its stage pictures and downloads made anew."""
        if s.canvas is not None:
            drawn = list(s.drawn or [])[:from_transition]
            drawn += [drawn_candidates(s.canvas, s.workflow, i, s.candidates[i])
                      for i in range(from_transition, len(s.candidates))]
            s = dataclasses.replace(s, drawn=drawn)
        if workflow_changed:
            pictures = stage_pictures(s.workflow)
            s = dataclasses.replace(s, pictures=pictures,
                                    files=downloads(s.workflow, s.pipeline, pictures, folder))
        return s

    def _generated(self, pipeline: str, picture: Image.Image, n: int, seed: int,
                   folder: Path | None = None) -> GenerateSession:
        pipe = self._pipe(pipeline)
        seeds = [seed + i for i in range(len(pipe.transitions))]
        workflow, candidates = pipe.by_stages(picture, n=n, seeds=seeds)
        s = GenerateSession(pipeline, workflow, seeds, n, [0] * len(seeds), candidates, None,
                            candidate_canvas(workflow), [], {})
        return self._generate_session(s, 0, folder)

    def _generate_outputs(self, s: GenerateSession, network: bool) -> tuple:
        wf = s.workflow
        galleries = []
        for i in range(MAX_TRANSITIONS):
            if i >= len(s.candidates):
                galleries.append([])
                continue
            captions = [f"#{j + 1}{' ✓ chosen' if s.chosen[i] == j else ''} · seed {s.seeds[i]}"
                        for j in range(len(s.candidates[i]))]
            shown = s.drawn[i] if s.drawn is not None and not network else \
                [network_view(c, wf) for c in s.candidates[i]]
            galleries.append(list(zip(shown, captions)))
        pictures = [network_view(wf.image(k), wf) for k in range(len(wf.stages))] if network else s.pictures
        size = self.registry.image_size(s.pipeline)
        status = (f"Chosen candidates: {', '.join('—' if c is None else f'#{c + 1}' for c in s.chosen)} · "
                  f"seeds {', '.join(str(x) for x in s.seeds)} · {prior_note(self._pipe(s.pipeline))} · "
                  f"{display_note(wf, size, network)}")
        return (s, *galleries, pictures[-1], strip(pictures, wf.stages), s.files["gif"], s.files["files"], status)

    def check_generate(self, pipeline: str, sketch: dict | None, n: float, seed: float, network: bool,
                       session=None) -> list[dict]:
        """Validator of `generate`: a sketch the pipeline can work from."""
        def check():
            self._pipe(pipeline).load_image(editor_picture(sketch, "sketch", "sketch"), 0)
        return _verdicts(6, {1: _problem(check)})

    @user_errors
    def generate(self, pipeline: str, sketch: dict | None, n: float, seed: float, network: bool = False,
                 session=None):
        """Start from a sketch: n candidates per stage (seeded), the first of each chosen, and the result;
        ``network``: show the networks' own pictures instead of the drawn ones."""
        picture = editor_picture(sketch, "sketch", "sketch")
        s = self._generated(pipeline, picture, int(n or 1), int(seed or 0))  # a cleared box arrives as None
        return self._generate_outputs(s, network)

    @user_errors
    def choose_variation(self, pipeline: str, stage: float, index: float, network: bool = False, session=None):
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
        return self._generate_outputs(self._generate_session(s, k), network)

    @user_errors
    def more_variations(self, pipeline: str, stage: float, network: bool = False, session=None):
        """New candidates for ``stage`` (a new seed); the chosen picture stays until one is clicked."""
        s = self._session(session, GenerateSession, pipeline, "Generate from a sketch")
        pipe = self._pipe(pipeline)
        k = int(stage)
        if not 1 <= k <= len(pipe.transitions):
            raise gr.Error(f"stage must be 1..{len(pipe.transitions)}")
        seeds, chosen, candidates = list(s.seeds), list(s.chosen), list(s.candidates)
        seeds[k - 1] += SEED_STRIDE
        chosen[k - 1] = None
        candidates[k - 1] = pipe.variations(s.workflow.images[k - 1], k - 1, n=s.n, seed=seeds[k - 1])
        s = dataclasses.replace(s, seeds=seeds, chosen=chosen, candidates=candidates)
        drawn = None if s.drawn is None else list(s.drawn)
        if drawn is not None:
            drawn[k - 1] = drawn_candidates(s.canvas, s.workflow, k - 1, candidates[k - 1])
        return self._generate_outputs(dataclasses.replace(s, drawn=drawn), network)

    @user_errors
    def generate_outputs(self, pipeline: str, network: bool = False, session=None):
        """The current result again, e.g. in the other view (nothing before a first generate)."""
        if not isinstance(session, GenerateSession) or session.pipeline != pipeline:
            return tuple(gr.skip() for _ in range(GENERATE_OUTPUTS))
        return self._generate_outputs(session, network)

    # ---- tab 2: decompose and edit ---------------------------------------------------------------------
    def _edit_outputs(self, s: EditSession, status: str, pictures: list[Image.Image] | None = None,
                      folder: Path | None = None) -> tuple:
        """``pictures``: the current workflow's stage pictures when the caller has them already."""
        pictures = stage_pictures(s.current) if pictures is None else pictures
        files = downloads(s.current, s.pipeline, pictures, folder)["files"]
        notes = "".join(f" Note: {n}." for n in s.current.notes)
        return (s, _stage_gallery(s.current), _pair(s.base_final, pictures[-1]), files, status + notes)

    def _decomposed(self, pipeline: str, picture: Image.Image) -> tuple[EditSession, str]:
        pipe = self._pipe(pipeline)
        start = time.perf_counter()
        workflow = pipe.decompose(picture)
        seconds = time.perf_counter() - start
        s = EditSession(pipeline, picture, workflow, workflow, stage_pictures(workflow)[-1])
        status = (f"Decomposed in {seconds:.2f} s. Reconstruction L1 before fitting: "
                  f"{pipe.reconstruction_error(workflow):.3f} (mean absolute error in [-1, 1] units; 0 is exact) · "
                  f"{display_note(workflow, pipe.image_size)}")
        return s, status

    @user_errors
    def decompose(self, pipeline: str, artwork, session=None):
        """Infer the earlier stages of a finished picture and regenerate it from them (before fitting)."""
        picture = read_picture(artwork, "artwork", "artwork")
        s, status = self._decomposed(pipeline, picture)
        return (s, _stage_gallery(s.base, s.base.targets, "inferred "), _pair(picture, s.base_final), status)

    def _fit(self, s: EditSession, regularizer: str, weight_decay: float, steps: int, progress,
             folder: Path | None = None) -> tuple:
        pipe = self._pipe(s.pipeline)
        reg = _regularizer(regularizer, weight_decay)
        before = pipe.reconstruction_error(s.base)
        start = time.perf_counter()
        fitted = pipe.fit(s.base, steps=steps, regularizer=reg, progress=_fit_progress(progress, "fitting"))
        seconds = time.perf_counter() - start
        after = pipe.reconstruction_error(fitted)
        pictures = stage_pictures(fitted)  # once: the edit view, the downloads and the slider all show them
        s = EditSession(s.pipeline, s.artwork, fitted, fitted, pictures[-1], fitted=True)
        status = (f"Fitted {steps} steps per stage in {seconds:.1f} s with regulariser '{regularizer}': "
                  f"reconstruction L1 {before:.3f} → {after:.3f}.")
        return (*self._edit_outputs(s, status, pictures, folder), _pair(s.artwork, pictures[-1]))

    @user_errors
    def fit(self, pipeline: str, regularizer: str, weight_decay: float, steps: float, session=None,
            progress=gr.Progress()):
        """AdaIN fitting of the decomposed artwork (Algorithm 1) with the chosen regulariser."""
        s = self._session(session, EditSession, pipeline, "Decompose an artwork")
        return self._fit(s, regularizer, weight_decay, int(steps), progress)

    @user_errors
    def stage_image(self, pipeline: str, stage: str, session=None):
        """The current picture of one stage, at the input's aspect and enlarged, to paint on (nothing
        before a first decompose)."""
        if not isinstance(session, EditSession) or session.pipeline != pipeline:
            return gr.skip()
        return editable(session.current, self._pipe(pipeline).stage_index(stage))

    def check_resample(self, pipeline: str, stage: str, seed: float, strength: float, session=None) -> list[dict]:
        """Validator of `resample`: a stage that has a latent."""
        def check():
            if self._pipe(pipeline).stage_index(stage) == 0:
                raise ArtzooError(f"'{stage}' is the input stage: it has no latent to resample; paint on it instead")
        return _verdicts(5, {1: _problem(check)})

    @user_errors
    def resample(self, pipeline: str, stage: str, seed: float, strength: float, session=None):
        """New latent for ``stage``: the fitted one moved ``strength`` (0..1) of the way to a seeded sample."""
        s = self._session(session, EditSession, pipeline, "Decompose an artwork")
        pipe = self._pipe(pipeline)
        k = pipe.stage_index(stage)
        if k == 0:
            raise gr.Error(f"'{stage}' is the input stage: it has no latent to resample; paint on it instead")
        # Drawn for the picture this stage is made from: the prior's palettes fit the drawing.
        new = pipe.sample_z(int(seed), 1, k - 1, condition=s.current.images[k - 1])
        z = pipe.interpolate(s.base.z[k - 1], new, float(strength))
        s = dataclasses.replace(s, current=pipe.edit(s.current, k, z=z))
        return self._edit_outputs(s, f"Resampled '{stage}' (seed {int(seed)}, strength {float(strength):.2f}); "
                                     "later stages followed.")

    def _check_painting(self, pipeline: str, stage: str, painting: dict | None, what: str) -> str | None:
        def check():
            pipe = self._pipe(pipeline)
            k = pipe.stage_index(stage)
            picture = editor_picture(painting, what, "sketch" if k == 0 else "colour")
            pipe.load_image(picture, k, allow_blank=k > 0)
        return _problem(check)

    def check_paint(self, pipeline: str, stage: str, painting: dict | None, session=None) -> list[dict]:
        """Validator of `paint`: a painting the stage can take."""
        return _verdicts(4, {2: self._check_painting(pipeline, stage, painting, f"{stage} painting")})

    @user_errors
    def paint(self, pipeline: str, stage: str, painting: dict | None, session=None):
        """Replace ``stage``'s picture with the painted one; later stages are regenerated from it."""
        s = self._session(session, EditSession, pipeline, "Decompose an artwork")
        pipe = self._pipe(pipeline)
        k = pipe.stage_index(stage)
        picture = editor_picture(painting, f"{stage} painting", "sketch" if k == 0 else "colour")
        s = dataclasses.replace(s, current=pipe.edit(s.current, k, image=picture))
        return self._edit_outputs(s, f"Applied the painted '{stage}'; later stages followed.")

    def check_hints(self, pipeline: str, stage: str, painting: dict | None, steps: float, session=None) -> list[dict]:
        """Validator of `hints`: something painted to take the colours from."""
        return _verdicts(5, {2: self._check_painting(pipeline, stage, painting, "colour hints")})

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

    def _redrawn(self, s: RedrawSession, sketch: Image.Image, folder: Path | None = None) -> RedrawSession:
        result = self._pipe(s.pipeline).edit(s.reference, 0, image=sketch)  # a new sketch brings its own aspect
        pictures = stage_pictures(result)
        return dataclasses.replace(s, result=result, pictures=pictures,
                                   files=downloads(result, s.pipeline, pictures, folder))

    def _redraw_outputs(self, s: RedrawSession, network: bool) -> tuple:
        wf = s.result
        pictures = [network_view(wf.image(k), wf) for k in range(len(wf.stages))] if network else s.pictures
        note = display_note(wf, self.registry.image_size(s.pipeline), network)
        return (s, _pair(s.artwork, pictures[-1]), pictures[-1], strip(pictures, wf.stages), s.files["gif"],
                s.files["files"], f"Redrawn with the reference's look · {note}")

    def _check_reference(self, pipeline: str, reference) -> str | None:
        def check():
            if reference is None:
                raise ArtzooError("no reference artwork: upload one or pick an example first")
            pipe = self._pipe(pipeline)
            pipe.load_image(read_picture(reference, "reference artwork", "artwork"), pipe.stages[-1])
        return _problem(check)

    @user_errors
    def reference_sketch(self, pipeline: str, reference, session=None, progress=gr.Progress()):
        """Decompose and fit the reference; its inferred sketch goes to the editor to be changed."""
        pipe = self._pipe(pipeline)
        s = self._reference(pipe, pipeline, reference, session, progress)
        status = (f"The reference's own sketch (inferred) is in the editor: change it and press Redraw. "
                  f"Reconstruction L1 after fitting: {pipe.reconstruction_error(s.reference):.3f}.")
        return (s, _stage_gallery(s.reference), editable(s.reference, 0), status)

    def check_redraw(self, pipeline: str, reference, sketch: dict | None, network: bool, session=None) -> list[dict]:
        """Validator of `redraw`: a reference and a new sketch the pipeline can work from."""
        def check_sketch():
            self._pipe(pipeline).load_image(editor_picture(sketch, "new sketch", "sketch"), 0)
        return _verdicts(5, {1: self._check_reference(pipeline, reference), 2: _problem(check_sketch)})

    @user_errors
    def redraw(self, pipeline: str, reference, sketch: dict | None, network: bool = False, session=None,
               progress=gr.Progress()):
        """Render a new sketch with the reference's look (its latents and fitted AdaIN parameters)."""
        pipe = self._pipe(pipeline)
        new = editor_picture(sketch, "new sketch", "sketch")
        s = self._reference(pipe, pipeline, reference, session, progress)
        return self._redraw_outputs(self._redrawn(s, new), network)

    @user_errors
    def redraw_outputs(self, pipeline: str, network: bool = False, session=None):
        """The last redraw again, e.g. in the other view (nothing before a first redraw)."""
        if not isinstance(session, RedrawSession) or session.pipeline != pipeline or session.result is None:
            return tuple(gr.skip() for _ in range(REDRAW_OUTPUTS))
        return self._redraw_outputs(session, network)
