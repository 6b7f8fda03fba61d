"""Crafted inputs → the message each gets, the time it takes and the memory it costs over the baseline:
the table in docs/HARDENING.md.

    python benchmarks/crafted_inputs.py              # prints the Markdown table
    python benchmarks/crafted_inputs.py --check      # exit 1 if any input takes > 2 s or > 200 MB

Pipeline folders and workflow files are the cases of tests/hardening_cases.py (a tiny 32 px pipeline);
uploads go through the library's and the app's readers; CLI names through `python -m artzoo` in
process. Memory is the peak resident size during the case (Linux: /proc/self/clear_refs resets it)
minus the resident size before it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import io
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from artzoo import Workflow, WorkflowPipeline  # noqa: E402
from hardening_cases import PIPELINE_CASES, WORKFLOW_CASES  # noqa: E402

LIMIT_S, LIMIT_MB = 2.0, 200


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(action) -> tuple[str, float, float]:
    """(outcome, seconds, MB over the baseline) of ``action()``; the outcome is the error message or what
    the action returns."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current size
    base = _status_mb("VmRSS")
    started = time.perf_counter()
    try:
        outcome = f"accepted: {action()}"
    except Exception as e:  # noqa: BLE001  (the message is what is measured)
        outcome = f"{type(e).__name__}: {e}"
    seconds = time.perf_counter() - started
    return outcome, seconds, max(0.0, _status_mb("VmHWM") - base)


def pipeline_cases(tmp: Path):
    good = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0,
                                        regularizer=True).save_pretrained(tmp / "good")
    yield "pipeline folder", "a good folder (reference)", lambda: (
        WorkflowPipeline.from_pretrained(good), "loaded")[1]
    for name, (change, _) in PIPELINE_CASES.items():
        folder = tmp / f"crafted-{uuid.uuid4().hex[:8]}"
        shutil.copytree(good, folder)
        change(folder)
        yield "pipeline folder", name, lambda folder=folder: WorkflowPipeline.from_pretrained(folder)


def workflow_cases(tmp: Path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0)
    good = tmp / "good.safetensors"
    art = np.full((48, 64, 3), 255, np.uint8)
    art[8:40, 10:54] = (240, 180, 40)
    pipe.decompose(art).save(good)
    with safe_open(str(good), "pt") as f:
        meta = dict(f.metadata())
    yield "workflow file", "a good file (reference)", lambda: (Workflow.load(good), "loaded")[1]
    for name, (change, _) in WORKFLOW_CASES.items():
        tensors, m = load_file(str(good)), dict(meta)
        change(tensors, m)
        path = tmp / f"crafted-{uuid.uuid4().hex[:8]}.safetensors"
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=m)
        yield "workflow file", name, lambda path=path: Workflow.load(path)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def upload_cases(tmp: Path):
    from artzoo.images import as_pil

    def file(name: str, make) -> Path:
        path = tmp / name
        make(path)
        return path

    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    large = Image.new("RGB", (7000, 5670), "white")
    ImageDraw.Draw(large).ellipse((1000, 1000, 6000, 4600), fill=(240, 180, 40), outline=0, width=20)
    cases = {
        "PNG of 10000×10000 (100 MP, 12 kB)": file("bomb.png", lambda p: Image.new("1", (10_000, 10_000), 1).save(p)),
        "PNG of 20000×20000 (400 MP: Pillow's bomb limit)": file(
            "bomb2.png", lambda p: Image.new("1", (20_000, 20_000), 1).save(p)),
        "text file named .png": file("notes.png", lambda p: p.write_text("not an image")),
        "PNG cut in half": file("cut.png", lambda p: p.write_bytes(_png(noise)[:len(_png(noise)) // 2])),
        "1×1 PNG": file("dot.png", lambda p: Image.new("RGB", (1, 1)).save(p)),
    }
    for name, path in cases.items():
        yield "upload (library)", name, lambda path=path: f"{as_pil(path).size}"
    path = file("large.png", lambda p: large.save(p))
    del large
    try:
        from artzoo.app import inputs
    except ImportError:  # no gradio: the library rows only
        return
    with contextlib.redirect_stderr(io.StringIO()):  # gr.Warning prints outside an app
        yield "upload (app)", "PNG of 7000×5670 (39.7 MP, 70 kB) to decompose", lambda: (
            f"kept at {inputs.read_picture(str(path), 'artwork', 'artwork').size}")

    def blob(kind, index, data):
        def put():
            blob_id = uuid.uuid4().hex
            inputs.BLOBS.put(blob_id, "session", kind, index, data)
            refused = inputs.BLOBS.refusal(blob_id)
            if refused:
                raise ValueError(refused)
            return "stored"
        return put

    sketch = _png(Image.new("RGBA", (512, 512), (255, 255, 255, 0)))
    for name, args in {
        "canvas part: a layer at index 10^8 (12 bytes)": ("layer", 10**8, b"x" * 12),
        "canvas part: PNG header of 100 MP": ("composite", None, _png(Image.new("1", (10_000, 10_000), 1))),
        "canvas part: 2 MB of random bytes": ("background", None, os.urandom(2 * 2**20)),
        "canvas part: 21 MB": ("background", None, b"\x89PNG" + os.urandom(21 * 2**20)),
        "canvas part: a normal 512×512 layer (reference)": ("layer", 0, sketch),
    }.items():
        yield "upload (app canvas)", name, blob(*args)


def cli_cases(tmp: Path):
    from artzoo.__main__ import main

    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=0)
    folder = pipe.save_pretrained(tmp / "cli-pipe")
    sketch = np.full((90, 60), 255, np.uint8)
    sketch[10:80, 30] = 0

    def inputs(*names: str) -> Path:
        d = tmp / f"in-{uuid.uuid4().hex[:8]}"
        d.mkdir()
        for name in names:
            Image.fromarray(sketch).save(d / name, format="PNG")
        return d

    def run(source: Path, pipeline: Path = folder) -> str:
        out = tmp / f"out-{uuid.uuid4().hex[:8]}" / "out"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["generate", str(source), "--pipeline", str(pipeline), "--out", str(out), "--model-size"])
        if code:
            raise RuntimeError(err.getvalue().strip())
        outside = [p for p in out.parent.iterdir() if p != out]
        return f"{', '.join(sorted(p.name + '/' for p in out.iterdir()))} inside --out, {len(outside)} outside"

    yield "CLI names", "inputs '...png' (stem '..') and 'b.png'", lambda d=inputs("...png", "b.png"): run(d)
    yield "CLI names", "inputs 'a.png' and 'a.jpg'", lambda d=inputs("a.png", "a.jpg"): run(d)
    yield "CLI names", "inputs '-rf.png' and 'x y$(id).png'", lambda d=inputs("-rf.png", "x y$(id).png"): run(d)
    crafted = tmp / "cli-crafted"
    shutil.copytree(folder, crafted)
    PIPELINE_CASES["index: stage '../../etc'"][0](crafted)
    yield "CLI names", "a pipeline whose stage is '../../etc'", lambda: run(inputs("a.png"), crafted)


def rows(tmp: Path):
    torch.set_num_threads(1)
    for group in (pipeline_cases, workflow_cases, upload_cases, cli_cases):
        for kind, name, action in group(tmp):
            outcome, seconds, mb = measure(action)
            yield kind, name, outcome.replace(str(tmp), "…").replace("|", "\\|"), seconds, mb


def main() -> None:
    warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the table says what happened
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help=f"fail if any case takes > {LIMIT_S} s or > {LIMIT_MB} MB")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="artzoo-crafted-"))
    over = []
    try:
        print("| input | crafted | outcome (message) | time | memory |")
        print("|---|---|---|---|---|")
        for kind, name, outcome, seconds, mb in rows(tmp):
            print(f"| {kind} | {name} | {outcome[:220]} | {seconds * 1000:.0f} ms | {mb:.0f} MB |", flush=True)
            if seconds > LIMIT_S or mb > LIMIT_MB:
                over.append(name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nover {LIMIT_S} s or {LIMIT_MB} MB: {over or 'none'}")
    if args.check and over:
        sys.exit(1)


if __name__ == "__main__":
    main()
