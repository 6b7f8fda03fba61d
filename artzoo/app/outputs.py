"""What the app shows and hands out: enlarged stage pictures, line overlays, strips, GIFs, PNGs, ZIPs."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from PIL import Image, ImageChops

from ..sharing import workflow_gif, workflow_strip, workflow_zip
from ..workflow import Workflow

DISPLAY_SIDE = 256     # model-size pictures are enlarged to at least this for the screen
OUTPUT_SIDES = (512, 1024)  # outputs at the input's size, brought into this range: upscaling adds no detail
GIF_SIDE = 384
KEEP_FILES_S = 600     # a request's downloads are deleted this long after (Gradio serves its own copies)
_DOWNLOADS_ROOTS: dict[int, Path] = {}


def enlarge(image: Image.Image, side: int = DISPLAY_SIDE) -> Image.Image:
    """Nearest-neighbour enlargement by a whole factor: every model pixel stays a crisp square."""
    factor = max(1, -(-side // max(image.size)))
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def editable(workflow: Workflow, stage: int, side: int = 512) -> dict:
    """An ImageEditor value holding one stage: the input's box cut from the model square, enlarged by a
    whole factor (nearest), so painting on it and shrinking back changes only the painted pixels."""
    picture = workflow.image(stage)
    if workflow.placement is not None:
        picture = picture.crop(workflow.placement.box)
    return {"background": enlarge(picture, side).convert("RGB"), "layers": [], "composite": None}


def display_note(workflow: Workflow, size: int) -> str:
    """Says how big the model's pictures really are and how outputs were enlarged."""
    p = workflow.placement
    if p is None:
        return f"{size} px model output, enlarged (nearest) for display"
    w, h = output_size(p.width, p.height)
    return f"model works at {size} px; outputs upscaled to the input's aspect, {w}×{h} (Lanczos)"


def output_size(w: int, h: int, sides: tuple[int, int] = OUTPUT_SIDES) -> tuple[int, int]:
    """The input's size, scaled (keeping its aspect) so its longer side lies within ``sides``."""
    s = min(max(max(w, h), sides[0]), sides[1]) / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def with_lines(picture: Image.Image, lines: Image.Image) -> Image.Image:
    """The user's own line art laid exactly over a coloured picture (multiply: white paper vanishes)."""
    ink = lines.convert("L").resize(picture.size, Image.Resampling.LANCZOS).convert("RGB")
    return ImageChops.multiply(picture.convert("RGB"), ink)


def stage_pictures(workflow: Workflow, lines: Image.Image | None = None) -> list[Image.Image]:
    """Every stage at the input's aspect and (see `output_size`) size; with ``lines``, the coloured
    stages carry the user's own line art."""
    pictures = []
    for k in range(len(workflow.stages)):
        picture = workflow.image(k, original_size=True, max_side=OUTPUT_SIDES[1]).convert("RGB")
        pictures.append(picture.resize(output_size(*picture.size), Image.Resampling.LANCZOS))
    if lines is not None:
        pictures = [pictures[0]] + [with_lines(p, lines) for p in pictures[1:]]
    return pictures


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


def downloads(workflow: Workflow, pipeline_name: str, lines: Image.Image | None = None,
              pictures: list[Image.Image] | None = None) -> dict:
    """The outputs of a finished workflow: final picture, labelled strip, GIF and downloadable files
    (one PNG per stage, a ZIP of them with the workflow file, and the GIF). ``pictures``: its
    `stage_pictures`, when the caller made them already."""
    pictures = stage_pictures(workflow, lines) if pictures is None else pictures
    folder = _downloads_dir()
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
    thumbs = [p.resize(output_size(*p.size, (DISPLAY_SIDE, DISPLAY_SIDE)), Image.Resampling.LANCZOS)
              for p in pictures]
    files = [str(p) for p in pngs] + [str(archive), str(gif)]
    for path in files:
        os.chmod(path, 0o600)  # Gradio's cached copies keep this mode: only this server's user reads them
    return {"final": pictures[-1], "strip": workflow_strip(thumbs, labels=workflow.stages), "gif": str(gif),
            "files": files}
