"""Latency of every app endpoint, end to end through gradio_client on a loopback server, plus the bare
pipeline calls behind the two targets (at 64 px on 2 cores: n=4 variations ≤ 0.3 s, decompose + default
fit ≤ 6 s).

    python benchmarks/bench_app.py                 # checkpoints/fluent-emoji if published, else a random
    python benchmarks/bench_app.py --repeats 5     #   lean 64 px pipeline (same compute, no meaning)

Prints a table of median and best seconds per endpoint (each after one untimed warm-up call; the
end-to-end rows include HTTP, PNG encoding and the downloads each result carries). Timings on a shared
machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import torch  # noqa: E402

from artzoo import WorkflowPipeline, zoo  # noqa: E402
from artzoo.app.handlers import DEFAULT_FIT_STEPS, default_regularizer  # noqa: E402
from app_fixtures import artwork_image, serve, sketch_image  # noqa: E402

TARGETS = {"pipe.variations n=4": 0.3, "pipe.decompose + fit (default)": 6.0}


def checkpoints(tmp: Path) -> tuple[Path, str]:
    """The published fluent-emoji pipeline if there is one, else a random lean 64 px stand-in."""
    if (zoo.checkpoints_dir() / "fluent-emoji").is_dir():
        return zoo.checkpoints_dir(), "fluent-emoji"
    WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=64, preset="lean",
                                 regularizer=True).save_pretrained(tmp / "lean-64")
    return tmp, "lean-64"


def timed(fn, repeats: int) -> list[float]:
    """Seconds per call, after one untimed call (first calls pay one-off kernel and cache set-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (a free CPU Space has 2 cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from gradio_client import Client, handle_file

    tmp = Path(tempfile.mkdtemp())
    root, name = checkpoints(tmp)
    sketch_image(300, 450).save(tmp / "sketch.png")
    artwork_image().resize((320, 240)).save(tmp / "art.png")
    sketch = {"background": handle_file(str(tmp / "sketch.png")), "layers": [], "composite": None}
    art = handle_file(str(tmp / "art.png"))

    pipe = WorkflowPipeline.from_pretrained(root / name)
    reg = "learned" if default_regularizer(pipe) == "learned" else 0.01
    rows = [("pipe.variations n=4", timed(lambda: pipe.variations(tmp / "sketch.png", 0, n=4, seed=0), args.repeats)),
            ("pipe.decompose + fit (default)", timed(
                lambda: pipe.fit(pipe.decompose(tmp / "art.png"), steps=DEFAULT_FIT_STEPS, regularizer=reg),
                args.repeats))]

    with serve(root) as url:
        c = Client(url, verbose=False)
        calls = [
            ("/generate n=4", lambda: c.predict(name, sketch, 4, 0, False, api_name="/generate")),
            ("/choose_variation", lambda: c.predict(name, 1, 2, False, api_name="/choose_variation")),
            ("/more_variations", lambda: c.predict(name, 1, False, api_name="/more_variations")),
            ("/generate_outputs keep lines", lambda: c.predict(name, True, api_name="/generate_outputs")),
            ("/decompose", lambda: c.predict(name, art, api_name="/decompose")),
            ("/fit (default)", lambda: c.predict(name, default_regularizer(pipe), 0.01, DEFAULT_FIT_STEPS,
                                                 api_name="/fit")),
            ("/stage_image", lambda: c.predict(name, pipe.stages[1], api_name="/stage_image")),
            ("/resample", lambda: c.predict(name, pipe.stages[1], 3, 0.5, api_name="/resample")),
            ("/paint", lambda: c.predict(name, pipe.stages[1], {"background": art, "layers": [], "composite": None},
                                         api_name="/paint")),
            ("/hints 40 steps", lambda: c.predict(name, pipe.stages[1], {"background": art, "layers": [],
                                                                          "composite": None}, 40, api_name="/hints")),
            ("/reset_edits", lambda: c.predict(name, api_name="/reset_edits")),
            # A new session each time: the fitted reference is cached per session.
            ("/reference_sketch (decompose + fit)", lambda: Client(url, verbose=False).predict(
                name, art, api_name="/reference_sketch")),
            ("/redraw (reference cached)", lambda: c.predict(name, art, sketch, True, api_name="/redraw")),
        ]
        for label, call in calls:
            rows.append((label, timed(call, args.repeats)))

    print(f"\npipeline {name} ({pipe.image_size} px), torch threads {args.threads}, {args.repeats} runs each, "
          f"default fit {DEFAULT_FIT_STEPS} steps/stage\n")
    print(f"| {'endpoint':<38} | median s | best s | target s |")
    print(f"|{'-' * 40}|----------|--------|----------|")
    for label, times in rows:
        target = TARGETS.get(label)
        mark = "" if target is None else f"{target:.1f} {'ok' if statistics.median(times) <= target else 'MISSED'}"
        print(f"| {label:<38} | {statistics.median(times):8.3f} | {min(times):6.3f} | {mark:<8} |")


if __name__ == "__main__":
    main()
