"""Checks for files artzoo did not necessarily write: pipeline indexes and workflow files.

Each check reads what a file declares (JSON, a safetensors header) and refuses it with a one-line
`ArtzooError` before anything is built or read from it, so a crafted file costs milliseconds, not
gigabytes. Nothing here unpickles or evaluates anything.

    parse_json(text, what)                     JSON with a size cap and no RecursionError
    check_stage_names(stages, what)            names safe in file and ZIP entry names
    check_signature(signature)                 a pipeline's (or a workflow's) stages, channels and sizes
    check_placement(placement, image_size)     where a picture sits in the model's square
    check_workflow_file(header, metadata)      a workflow file's header, before its tensors are read
    check_workflow(workflow, signature)        a Workflow's tensors against the pipeline that uses it
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import ArtzooError
from .images import MAX_PIXELS, RENDER_KINDS, SOURCE_MAX_SIDE

MAX_JSON_BYTES = 1_000_000   # an index or config.json; the published ones are a few kB
MAX_STAGES = 8
MAX_IMAGE_SIZE = 1024        # model size: the paper works at 256 px
MAX_BATCH = 64               # rows of a batched workflow (evaluation runs batches of 64 at most)
MAX_LATENT = 512             # nz
MAX_ADAIN = 1_000_000        # AdaIN vector length (the paper's preset: 4096)
CHANNELS = (1, 3)            # a stage is a greyscale sketch or an RGB picture (`images.to_tensor`)
STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
WORKFLOW_SERIES = ("images", "z", "adain", "delta", "targets")
WORKFLOW_META = ("format", "stages", "signature", "placement", "loss_history")


def parse_json(text: str | bytes, what: str) -> Any:
    """JSON text → value, or an ArtzooError naming ``what`` (too big, not JSON, nested absurdly deep)."""
    if len(text) > MAX_JSON_BYTES:
        raise ArtzooError(f"{what} is {len(text):,} bytes, over the {MAX_JSON_BYTES:,} an artzoo file needs: "
                          "not written by artzoo")
    try:
        return json.loads(text)
    except RecursionError:
        raise ArtzooError(f"{what} is nested too deeply to be an artzoo file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtzooError(f"{what} is corrupt ({e}); re-download or re-export it") from None


def _int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArtzooError(f"{what} must be an integer, got {str(value)[:40]!r}")
    if not low <= value <= high:
        raise ArtzooError(f"{what} is {value}, outside {low}..{high}")
    return value


def _int_list(value: Any, what: str, length: int, low: int, high: int) -> list[int]:
    if not isinstance(value, list) or len(value) != length:
        raise ArtzooError(f"{what} must be a list of {length} integers, got {str(value)[:60]!r}")
    return [_int(v, f"{what}[{i}]", low, high) for i, v in enumerate(value)]


def check_stage_names(stages: Any, what: str) -> list[str]:
    """2..8 distinct names of letters, digits, '_' and '-': they become file and ZIP entry names."""
    if not isinstance(stages, list) or not 2 <= len(stages) <= MAX_STAGES:
        raise ArtzooError(f"{what}: stages must be a list of 2..{MAX_STAGES} names, got {str(stages)[:60]!r}")
    for name in stages:
        if not isinstance(name, str) or not STAGE_NAME.fullmatch(name):
            raise ArtzooError(f"{what}: stage name {str(name)[:40]!r} is not 1-32 letters, digits, '_' or '-'")
    if len(set(stages)) != len(stages):
        raise ArtzooError(f"{what}: stage names repeat: {stages}")
    return stages


def check_signature(signature: Any, what: str = "workflow") -> dict:
    """A signature (`WorkflowPipeline.signature`): stage names, channels, image size, AdaIN and latent
    sizes per transition, each a type and within range."""
    if not isinstance(signature, dict):
        raise ArtzooError(f"{what}: the signature must be a JSON object")
    missing = [k for k in ("stages", "channels", "image_size", "adain", "nz") if k not in signature]
    if missing:
        raise ArtzooError(f"{what}: the signature lacks {missing}")
    n = len(check_stage_names(signature["stages"], what))
    channels = _int_list(signature["channels"], f"{what}: channels", n, 1, 3)
    if any(c not in CHANNELS for c in channels):
        raise ArtzooError(f"{what}: channels must each be 1 (sketch) or 3 (colour), got {channels}")
    _int(signature["image_size"], f"{what}: image_size", 8, MAX_IMAGE_SIZE)
    _int_list(signature["adain"], f"{what}: adain sizes", n - 1, 1, MAX_ADAIN)
    _int_list(signature["nz"], f"{what}: nz", n - 1, 1, MAX_LATENT)
    return signature


def check_placement(placement: Any, image_size: int, what: str = "workflow") -> None:
    """None, or the input's size (at most `images.MAX_PIXELS`) and its box inside the model square."""
    if placement is None:
        return
    if not isinstance(placement, dict) or set(placement) != {"width", "height", "box"}:
        raise ArtzooError(f"{what}: placement must be an object with width, height and box")
    w = _int(placement["width"], f"{what}: placement width", 1, MAX_PIXELS)
    h = _int(placement["height"], f"{what}: placement height", 1, MAX_PIXELS)
    if w * h > MAX_PIXELS:
        raise ArtzooError(f"{what}: placement of {w}×{h} px is over the {MAX_PIXELS / 1e6:.0f} MP limit")
    left, top, right, bottom = _int_list(placement["box"], f"{what}: placement box", 4, 0, image_size)
    if not (left < right and top < bottom):
        raise ArtzooError(f"{what}: placement box {placement['box']} is empty")


def _series_shapes(signature: dict) -> dict[str, list[tuple[int, ...]]]:
    """Per series, each tensor's shape without the batch dimension."""
    s, ch = signature["image_size"], signature["channels"]
    return {"images": [(c, s, s) for c in ch], "targets": [(c, s, s) for c in ch],
            "z": [(n,) for n in signature["nz"]], "adain": [(p,) for p in signature["adain"]],
            "delta": [(p,) for p in signature["adain"]]}


def check_workflow_file(header: dict[str, tuple[str, tuple[int, ...]]], metadata: dict[str, str],
                        what: str = "workflow file") -> None:
    """A workflow file's safetensors header and metadata (see `Workflow.save`), before its tensors are
    read: known names only, every tensor float32 with the shape its own signature implies, one batch
    size, a source picture of at most `images.SOURCE_MAX_SIDE` a side, placement inside the square."""
    if metadata.get("format") != "1":
        raise ArtzooError(f"{what} is not an artzoo workflow (format {str(metadata.get('format'))[:20]!r}, expected 1)")
    missing = [k for k in WORKFLOW_META if k not in metadata]
    if missing:
        raise ArtzooError(f"{what} lacks metadata {missing}: not a complete artzoo workflow")
    parsed = {k: parse_json(v, f"{what} metadata '{k}'") for k, v in metadata.items() if k != "format"}
    signature = check_signature(parsed["signature"], what)
    if parsed["stages"] != signature["stages"]:
        raise ArtzooError(f"{what}: its stages {str(parsed['stages'])[:60]} differ from its signature's")
    check_placement(parsed["placement"], signature["image_size"], what)
    if not isinstance(parsed["loss_history"], dict):
        raise ArtzooError(f"{what}: loss_history must be an object")
    n = len(signature["stages"])
    if parsed.get("source_stage") not in (None, 0, n - 1):
        raise ArtzooError(f"{what}: source_stage must be null, 0 or {n - 1}")
    kinds = parsed.get("render_kinds")
    if kinds is not None and (not isinstance(kinds, list) or len(kinds) != n or any(k not in RENDER_KINDS for k in kinds)):
        raise ArtzooError(f"{what}: render_kinds must name one of {list(RENDER_KINDS)} per stage")
    notes = parsed.get("notes", [])
    if not isinstance(notes, list) or len(notes) > 16 or any(not isinstance(t, str) or len(t) > 1000 for t in notes):
        raise ArtzooError(f"{what}: notes must be a short list of short texts")

    expected = _series_shapes(signature)
    batches = {"pictures": set(), "latents": set()}
    for name, (dtype, shape) in header.items():
        series, _, index = name.partition(".")
        if name == "source" or series == "hints":  # the user's picture (RGB) and colour scribbles (RGBA)
            channels = 3 if name == "source" else 4
            if series == "hints" and not (index.isdigit() and 1 <= int(index) < len(signature["stages"])):
                raise ArtzooError(f"{what}: unexpected tensor {name[:40]!r}")
            if dtype != "U8" or len(shape) != 3 or shape[2] != channels or not (
                    1 <= shape[0] <= SOURCE_MAX_SIDE and 1 <= shape[1] <= SOURCE_MAX_SIDE):
                raise ArtzooError(f"{what}: {name} is {dtype} {list(shape)}; expected an 8-bit picture of {channels} "
                                  f"channels and at most {SOURCE_MAX_SIDE} px a side")
            continue
        if name == "edit_base":
            series, index = "images", str(len(signature["stages"]) - 1)
        elif series not in WORKFLOW_SERIES or not index.isdigit() or int(index) >= len(expected[series]):
            raise ArtzooError(f"{what}: unexpected tensor {name[:40]!r}")
        want = expected[series][int(index)]
        if dtype != "F32" or len(shape) != len(want) + 1 or tuple(shape[1:]) != want or not 1 <= shape[0] <= MAX_BATCH:
            raise ArtzooError(f"{what}: {name} is {dtype} {list(shape)}; its signature implies F32 [batch ≤ "
                              f"{MAX_BATCH}, {', '.join(map(str, want))}]")
        batches["pictures" if series in ("images", "targets") else "latents"].add(shape[0])
    _check_batches(batches["pictures"], batches["latents"], what)
    for series in ("images", "z", "adain", "delta"):
        have = sorted(int(k.partition(".")[2]) for k in header if k.startswith(series + "."))
        if have != list(range(len(expected[series]))):
            raise ArtzooError(f"{what}: needs {series}.0 … {series}.{len(expected[series]) - 1}, has {have}")
    targets = sum(k.startswith("targets.") for k in header)
    if targets not in (0, len(expected["targets"])):
        raise ArtzooError(f"{what}: has {targets} targets; a decomposed workflow has one per stage")


def _check_batches(pictures: set[int], latents: set[int], what: str) -> None:
    """One batch size for the pictures; latents have that many rows, or one shared by all."""
    if len(pictures) > 1 or not latents <= pictures | {1}:
        raise ArtzooError(f"{what}: its tensors disagree on the batch size (pictures {sorted(pictures)}, "
                          f"latents {sorted(latents)})")


def check_workflow(workflow, signature: dict) -> None:
    """A `Workflow` (loaded, or built in code) against the signature of the pipeline about to use it:
    the same signature, and every tensor of the shape it implies (one batch size throughout)."""
    if workflow.signature != signature:
        raise ArtzooError("this workflow was made by a different pipeline (stages, size or latent sizes "
                          f"differ: {workflow.signature} vs {signature})")
    expected = _series_shapes(signature)
    batches = {"pictures": set(), "latents": set()}
    for series, shapes in expected.items():
        tensors = getattr(workflow, series)
        if tensors is None and series == "targets":
            continue
        if tensors is None or len(tensors) != len(shapes):
            raise ArtzooError(f"this workflow has {0 if tensors is None else len(tensors)} {series}, its pipeline "
                              f"needs {len(shapes)}")
        for i, (t, want) in enumerate(zip(tensors, shapes)):
            if t is None or t.ndim != len(want) + 1 or tuple(t.shape[1:]) != want:
                shape = None if t is None else list(t.shape)
                raise ArtzooError(f"this workflow's {series}[{i}] has shape {shape}, its pipeline needs "
                                  f"[batch, {', '.join(map(str, want))}]")
            batches["pictures" if series in ("images", "targets") else "latents"].add(t.shape[0])
    _check_batches(batches["pictures"], batches["latents"], "this workflow")
    if workflow.placement is not None:
        p = workflow.placement
        check_placement({"width": p.width, "height": p.height, "box": list(p.box)}, signature["image_size"],
                        "this workflow")
