"""The app's heaviest handlers called in-process (no HTTP): what the server itself spends per click.

    python benchmarks/bench_handlers.py [--repeats 5] [--threads 2]

Uses the published fluent-emoji pipeline. Generate draws 4 candidates per stage; fit runs the app's
default steps; redraw reuses the session's fitted reference (as after the first redraw). To compare
two versions of the code, run this file from each checkout back to back on the same machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import torch  # noqa: E402

from app_fixtures import artwork_image, sketch_image  # noqa: E402
from bench_app import timed  # noqa: E402  (this folder is on sys.path when run as a script)
from artzoo import zoo  # noqa: E402
from artzoo.app import PipelineRegistry  # noqa: E402
from artzoo.app.handlers import DEFAULT_FIT_STEPS, Handlers, default_regularizer  # noqa: E402


class NoProgress:
    def __call__(self, *args, **kwargs):
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    registry = PipelineRegistry(zoo.checkpoints_dir())
    name = "fluent-emoji"
    h = Handlers(registry)
    pipe = registry.get(name)
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    art_path = tmp / "bench_handlers_art.png"
    artwork_image().resize((320, 240)).save(art_path)
    sketch = {"background": sketch_image(300, 450).convert("RGBA"), "layers": [], "composite": None}
    progress = NoProgress()

    edit = h.decompose(name, str(art_path))[0]
    redraw_session = h.reference_sketch(name, str(art_path), None, progress)[0]
    rows = {
        "generate n=4": timed(lambda: h.generate(name, sketch, 4, 0, False), args.repeats),
        f"fit {DEFAULT_FIT_STEPS} steps": timed(
            lambda: h.fit(name, default_regularizer(pipe), 0.01, DEFAULT_FIT_STEPS, edit, progress), args.repeats),
        "redraw (reference cached)": timed(
            lambda: h.redraw(name, str(art_path), sketch, False, redraw_session, progress), args.repeats),
    }
    print(f"| handler | median ms | best ms |  ({name}, {args.threads} threads, {args.repeats} runs)")
    print("|---|---|---|")
    for label, times in rows.items():
        print(f"| {label} | {statistics.median(times) * 1e3:.0f} | {min(times) * 1e3:.0f} |")


if __name__ == "__main__":
    main()
