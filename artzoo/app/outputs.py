"""What the app shows and hands out: stage pictures drawn at the input's size (or the networks' own
pixels), candidates drawn small, strips, GIFs, and the downloads (PNGs, ZIP, GIF, layered PSD)."""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from PIL import Image

from .. import rendering
from ..images import to_tensor
from ..sharing import workflow_gif, workflow_strip, workflow_zip
from ..workflow import Workflow

CANVAS = 512          # the drawing canvas, px a side; example sketches are shown and used at this size
DISPLAY_SIDE = 256     # model-size pictures are enlarged to at least this for the screen
CANDIDATE_SIDE = 256   # candidates are drawn this big: a gallery thumbnail's size, cheap enough for 8
OUTPUT_SIDES = (512, 1024)  # outputs at the input's size, brought into this range: upscaling adds no detail
GIF_SIDE = 384
KEEP_FILES_S = 600     # a request's downloads are deleted this long after (Gradio serves its own copies)
_DOWNLOADS_ROOTS: dict[int, Path] = {}


def enlarge(image: Image.Image, side: int = DISPLAY_SIDE) -> Image.Image:
    """Nearest-neighbour enlargement by a whole factor: every model pixel stays a crisp square."""
    factor = max(1, -(-side // max(image.size)))
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def network_view(picture: Image.Image, workflow: Workflow) -> Image.Image:
    """A model-size picture as the network made it: the input's box cut from the square, enlarged."""
    if workflow.placement is not None:
        picture = picture.crop(workflow.placement.box)
    return enlarge(picture).convert("RGB")


def editable(workflow: Workflow, stage: int, side: int = 512) -> dict:
    """An ImageEditor value holding one stage: the input's box cut from the model square, enlarged by a
    whole factor (nearest), so painting on it and shrinking back changes only the painted pixels."""
    picture = workflow.image(stage)
    if workflow.placement is not None:
        picture = picture.crop(workflow.placement.box)
    return {"background": enlarge(picture, side).convert("RGB"), "layers": [], "composite": None}


def is_drawn(workflow: Workflow) -> bool:
    """Whether the workflow's stages are drawn at the sketch's size (else: its network pictures scaled up)."""
    return workflow.render_kinds is not None and workflow.source is not None and workflow.source_stage == 0


def display_note(workflow: Workflow, size: int, network: bool = False) -> str:
    """Says what the pictures are: drawn at the input's size, or the networks' own pixels; and the
    workflow's notes (e.g. that the input was scaled down)."""
    p = workflow.placement
    if network:
        text = f"network view: the {size} px networks' own pixels, enlarged"
    elif p is None:
        text = f"{size} px model output, enlarged (nearest) for display"
    elif is_drawn(workflow):
        w, h = output_size(p.width, p.height)
        text = (f"drawn at {w}×{h} from the {size} px networks' colours: flat colours fill your line regions, "
                "shading follows them, your lines on top")
    else:
        w, h = output_size(p.width, p.height)
        text = f"model works at {size} px; outputs upscaled to the input's aspect, {w}×{h} (Lanczos)"
    return "; ".join([text, *workflow.notes])


def output_size(w: int, h: int, sides: tuple[int, int] = OUTPUT_SIDES) -> tuple[int, int]:
    """The input's size, scaled (keeping its aspect) so its longer side lies within ``sides``."""
    s = min(max(max(w, h), sides[0]), sides[1]) / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def stage_pictures(workflow: Workflow) -> list[Image.Image]:
    """Every stage at the input's aspect and (see `output_size`) size, drawn by `artzoo.rendering` where
    the pipeline says how (the user's lines are part of those pictures)."""
    pictures = []
    for k in range(len(workflow.stages)):
        picture = workflow.image(k, original_size=True, max_side=OUTPUT_SIDES[1]).convert("RGB")
        pictures.append(picture.resize(output_size(*picture.size), Image.Resampling.LANCZOS))
    return pictures


def strip(pictures: list[Image.Image], stages: list[str]) -> Image.Image:
    """The stages side by side, labelled, each at most `DISPLAY_SIDE` px."""
    thumbs = [p.resize(output_size(*p.size, (DISPLAY_SIDE, DISPLAY_SIDE)), Image.Resampling.LANCZOS)
              for p in pictures]
    return workflow_strip(thumbs, labels=stages)


@dataclasses.dataclass(frozen=True)
class CandidateCanvas:
    """A sketch made ready once for drawing its candidates: scaled to `CANDIDATE_SIDE`, with its regions."""

    sketch: Image.Image
    regions: rendering.Regions
    kinds: list[str]


def candidate_canvas(workflow: Workflow) -> CandidateCanvas | None:
    """The canvas of a workflow drawn from a sketch; None when its pipeline does not draw its stages."""
    if not is_drawn(workflow):
        return None
    source = workflow.source.convert("L")
    size = output_size(*source.size, (CANDIDATE_SIDE, CANDIDATE_SIDE))
    # A box filter keeps thin lines when shrinking; enlarging a small sketch needs a smooth filter.
    sketch = source.resize(size, Image.Resampling.BOX if size[0] < source.width else Image.Resampling.LANCZOS)
    return CandidateCanvas(sketch, rendering.segment_sketch(sketch), list(workflow.render_kinds))


def drawn_candidates(canvas: CandidateCanvas, workflow: Workflow, transition: int,
                     candidates: list[Image.Image]) -> list[Image.Image]:
    """Candidates for stage ``transition + 1`` (network pictures) drawn like that stage is, on the canvas:
    after the workflow's own stages up to ``transition``, each in its region colours or shading, with the
    sketch's lines on top."""
    regions, placement = canvas.regions, workflow.placement
    before = rendering.render_stages(canvas.sketch, workflow.images[:transition + 1], placement,
                                     canvas.kinds[:transition + 1], regions=regions)
    # Line-free colours of the stage before; for the sketch itself, its grey picture.
    prev = before.colours[transition] if before.colours[transition] is not None else before.images[transition]
    net_prev = rendering.model_crop(workflow.images[transition], placement)
    kind = canvas.kinds[transition + 1]
    drawn = []
    for picture in candidates:
        net = rendering.model_crop(to_tensor(picture.convert("RGB"), 3), placement)
        colour = (rendering.render_flat(regions, net) if kind == "regions"
                  else rendering.render_continuous(prev, net_prev, net, regions))
        drawn.append(Image.fromarray(rendering.to_uint8(rendering.overlay_lines(colour, regions))))
    return drawn


def downloads_root() -> Path:
    """This process's own folder for downloads, private (mode 0700: other local users cannot read the
    visitors' pictures) and removed at exit; no other process shares or sweeps it."""
    pid = os.getpid()
    if pid not in _DOWNLOADS_ROOTS:
        _DOWNLOADS_ROOTS[pid] = Path(tempfile.mkdtemp(prefix="artzoo-app-"))
        atexit.register(shutil.rmtree, _DOWNLOADS_ROOTS[pid], True)
    return _DOWNLOADS_ROOTS[pid]


def _downloads_dir() -> Path:
    """A fresh private folder for one request's downloads; old ones are swept so the disk does not fill up."""
    root = downloads_root()
    now = time.time()
    for old in root.iterdir():
        try:
            if now - old.stat().st_mtime > KEEP_FILES_S:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request swept it first
            pass
    folder = root / uuid.uuid4().hex
    folder.mkdir(mode=0o700)
    return folder


def downloads(workflow: Workflow, pipeline_name: str, pictures: list[Image.Image],
              folder: Path | None = None) -> dict:
    """The files of a finished workflow from its `stage_pictures`: one PNG per stage, a ZIP of them with
    the workflow file, the GIF and a layered PSD at the input's size, written to ``folder`` (default: a
    fresh one that is swept after an hour). Returns the GIF's path and the list of files."""
    if folder is None:
        folder = _downloads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{pipeline_name}-workflow"
    pngs = []
    for k, (picture, name) in enumerate(zip(pictures, workflow.stages)):
        path = folder / f"{stem}_{k}_{name}.png"
        picture.save(path, compress_level=1)  # fast; these are small and re-zipped anyway
        pngs.append(path)
    gif = workflow_gif([p.resize(output_size(*p.size, (GIF_SIDE, GIF_SIDE)), Image.Resampling.LANCZOS)
                        for p in pictures],
                       folder / f"{stem}.gif")
    workflow.save(folder / f"{stem}.safetensors")
    archive = workflow_zip(pictures, workflow.stages, folder / f"{stem}.zip",
                           extra_files={"workflow.safetensors": (folder / f"{stem}.safetensors").read_bytes()})
    psd = workflow.write_psd(folder / f"{stem}.psd", max_side=OUTPUT_SIDES[1])
    files = [str(p) for p in pngs] + [str(archive), str(gif), str(psd)]
    for path in files:
        os.chmod(path, 0o600)  # Gradio's cached copies keep this mode: only this server's user reads them
    return {"gif": str(gif), "files": files}
