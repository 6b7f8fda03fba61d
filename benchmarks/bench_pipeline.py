"""Inference-side timings of WorkflowPipeline on this machine (CPU), printed as a Markdown table.

    python benchmarks/bench_pipeline.py [--threads 2] [--pipeline checkpoints/fluent-emoji]

Timings do not depend on the weights, so by default randomly initialised 3-stage pipelines are used:
the 64 px "lean" config and the same widths at 128 px. Targets (64 px lean): one transition ≤ 30 ms,
decompose ≤ 100 ms, full default fit ≤ 5 s, peak RSS ≤ 1 GB.
"""

from __future__ import annotations

import argparse
import inspect
import resource
import statistics
import time

import numpy as np
import torch

from artzoo import WorkflowPipeline


def timed(fn, repeat: int) -> float:
    """Median wall time in ms after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def bench(pipe: WorkflowPipeline, label: str, repeat: int) -> dict:
    rng = np.random.default_rng(0)
    sketch = np.full((pipe.image_size, pipe.image_size), 255, np.uint8)
    sketch[rng.integers(0, pipe.image_size, 200), rng.integers(0, pipe.image_size, 200)] = 0
    art = rng.integers(0, 255, (pipe.image_size, pipe.image_size, 3), dtype=np.uint8)
    x, _ = pipe.load_image(sketch, 0)
    g = pipe.transitions[0].generator
    z = pipe.sample_z(0)
    with torch.no_grad():
        row = {"config": label, "params (M)": sum(p.numel() for p in pipe.parameters()) / 1e6,
               "transition (ms)": timed(lambda: g(x, z=z), repeat * 3)}
    row["variations n=4 (ms)"] = timed(lambda: pipe.variations(sketch, 0, n=4, seed=0), repeat)
    row["decompose (ms)"] = timed(lambda: pipe.decompose(art), repeat)
    wf = pipe.decompose(art)
    row["fit, 1 step/stage (ms)"] = timed(lambda: pipe.fit(wf, steps=1), repeat)
    row["default fit (s)"] = timed(lambda: pipe.fit(wf), max(1, repeat // 5)) / 1000
    row["peak RSS (MB)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--pipeline", help="a pipeline folder to time instead of the random configs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    stages = ["sketch", "flat", "detail"]
    if args.pipeline:
        pipes = [(WorkflowPipeline.from_pretrained(args.pipeline), args.pipeline)]
    else:
        pipes = [(WorkflowPipeline.from_config(stages, image_size=64, preset="lean"), "lean 64 px"),
                 (WorkflowPipeline.from_config(stages, image_size=128, preset="lean"), "lean 128 px")]
    rows = [bench(pipe, label, args.repeat) for pipe, label in pipes]
    steps = inspect.signature(WorkflowPipeline.fit).parameters["steps"].default
    print(f"torch {torch.__version__}, {args.threads} threads, default fit = {steps} steps per stage\n")
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    print("\nPeak RSS is the process maximum so far (the 128 px row includes the 64 px run).")


if __name__ == "__main__":
    main()
