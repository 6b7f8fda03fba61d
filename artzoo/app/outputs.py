"""What the app shows and hands out: enlarged stage pictures, line overlays, strips, GIFs, PNGs, ZIPs."""

from __future__ import annotations

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
KEEP_FILES_S = 3600    # downloads older than this are deleted when new ones are written
DOWNLOADS_ROOT = Path(tempfile.gettempdir()) / "artzoo-app"


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


def _downloads_dir() -> Path:
    """A fresh folder for one request's downloads; old ones are swept so the disk does not fill up."""
    DOWNLOADS_ROOT.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in DOWNLOADS_ROOT.iterdir():
        try:
            if now - old.stat().st_mtime > KEEP_FILES_S:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request swept it first
            pass
    folder = DOWNLOADS_ROOT / uuid.uuid4().hex
    folder.mkdir()
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
    return {"final": pictures[-1], "strip": workflow_strip(thumbs, labels=workflow.stages), "gif": str(gif),
            "files": [str(p) for p in pngs] + [str(archive), str(gif)]}
