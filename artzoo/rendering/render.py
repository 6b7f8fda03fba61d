"""`render_stages`: every stage of a workflow drawn at the sketch's own size, the one call a pipeline needs."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from PIL import Image

from ..errors import ArtzooError
from ..images import RENDER_KINDS, SOURCE_MAX_SIDE, Placement, as_pil
from .colour import to_uint8
from .export import line_layer, write_psd
from .regions import Regions, as_grey, check_shape, segment
from .resample import model_crop
from .stages import apply_hints, overlay_lines, render_continuous, render_flat

MAX_SIDE = SOURCE_MAX_SIDE  # larger sketches are scaled down first: the networks' colours hold no more detail
KINDS = RENDER_KINDS


@dataclasses.dataclass
class Rendered:
    """The stages at the sketch's size.

    images   one RGB picture per stage, the user's lines drawn over the colour stages
    colours  per stage, the line-free colours as float32 (H, W, 3) in [0, 1] (None for a sketch stage)
    regions  the sketch's regions (`segment`)
    notes    things to tell the user, e.g. that a huge sketch was scaled down
    """

    images: list[Image.Image]
    colours: list[np.ndarray | None]
    regions: Regions
    kinds: list[str]
    notes: list[str]

    def write_psd(self, path: str | os.PathLike, names: list[str] | None = None):
        """A layered PSD: each colour stage as a layer (bottom first), the lines on top on transparency."""
        names = names or [f"stage {k}" for k in range(len(self.kinds))]
        layers = [(name, Image.fromarray(to_uint8(c))) for name, c in zip(names, self.colours) if c is not None]
        return write_psd(path, layers + [("lines", line_layer(self.regions))])


def prepare_sketch(sketch) -> tuple[np.ndarray, list[str]]:
    """Any sketch input (path, PIL, array, tensor) → float32 grey (H, W) at most `MAX_SIDE` a side, notes."""
    picture = sketch if isinstance(sketch, Image.Image) else as_pil(sketch)
    check_shape(picture.height, picture.width)
    notes = []
    if max(picture.size) > MAX_SIDE:
        scale = MAX_SIDE / max(picture.size)
        size = (max(8, round(picture.width * scale)), max(8, round(picture.height * scale)))
        notes.append(f"the sketch is {picture.width}×{picture.height} px; it was rendered at {size[0]}×{size[1]} "
                     f"(at most {MAX_SIDE} px a side)")
        picture = picture.convert("L").resize(size, Image.Resampling.BOX)
    return as_grey(picture), notes


def segment_sketch(sketch_full) -> Regions:
    """`segment` of a sketch as `render_stages` sees it (scaled down to `MAX_SIDE` first): compute it once
    and pass it to every render of the same sketch."""
    return segment(prepare_sketch(sketch_full)[0])


def render_stages(sketch_full, model_images: list, placement: Placement | None = None,
                  kinds: list[str] | None = None, *, regions: Regions | None = None,
                  hints: dict[int, Image.Image] | None = None) -> Rendered:
    """Render a workflow's stages at the sketch's own resolution.

    ``sketch_full``: the user's sketch as given (any size; over `MAX_SIDE` px a side it is scaled down and
    ``notes`` says so). ``model_images``: each stage's model tensor (1, C, S, S) in [-1, 1], as in
    `Workflow.images`. ``placement``: where the sketch sat in the model's square (None: it filled it).
    ``kinds`` per stage: "sketch" (the sketch itself), "regions" (flat colours per region) or
    "continuous" (the network's change over the previous stage, shading; not for the first stage);
    default sketch, regions, then continuous. ``regions``: `segment_sketch` of this sketch, if known.
    ``hints``: stage index → colour hints at the sketch's size (RGBA, alpha marks the scribbles): each
    region of that "regions" stage a scribble touches takes its colour exactly, and later stages follow.
    """
    n = len(model_images)
    kinds = (["sketch", "regions"] + ["continuous"] * (n - 2))[:n] if kinds is None else list(kinds)
    if len(kinds) != n or not n:
        raise ArtzooError(f"need one kind per stage: {n} stage images, {len(kinds)} kinds")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ArtzooError(f"unknown stage kind(s) {unknown}; use {list(KINDS)}")
    if kinds[0] == "continuous":
        raise ArtzooError("the first stage cannot be 'continuous': it has no stage before it")
    grey, notes = prepare_sketch(sketch_full)
    if regions is None:
        regions = segment(grey)
    elif regions.shape != grey.shape:
        raise ArtzooError(f"regions of a {regions.shape[1]}×{regions.shape[0]} sketch given for a "
                          f"{grey.shape[1]}×{grey.shape[0]} one")
    crops = [model_crop(m, placement) for m in model_images]
    crops = [c[..., 0] if c.shape[-1] == 1 else c for c in crops]
    colours: list[np.ndarray | None] = []
    images = []
    for k, kind in enumerate(kinds):
        if kind == "sketch":
            colours.append(None)
            images.append(Image.fromarray(to_uint8(grey)).convert("RGB"))
            continue
        if kind == "regions":
            colour = render_flat(regions, crops[k])
            scribbles = hints.get(k) if hints else None
            if scribbles is not None:
                scribbles = scribbles.resize(regions.shape[::-1], Image.Resampling.NEAREST)
                if (np.asarray(scribbles)[..., 3] > 127)[~regions.lines].any():  # not only on the lines
                    colour = apply_hints(regions, colour, scribbles)
        else:
            prev = colours[k - 1] if colours[k - 1] is not None else np.repeat(grey[..., None], 3, -1)
            colour = render_continuous(prev, crops[k - 1], crops[k], regions)
        colours.append(colour)
        images.append(Image.fromarray(to_uint8(overlay_lines(colour, regions))))
    return Rendered(images=images, colours=colours, regions=regions, kinds=kinds, notes=notes)
