"""Training throughput per phase (images/s) for a config preset, on random data at the model size.

    python benchmarks/bench_train.py [--config train/configs/fluent-emoji.toml] [--preset cpu] [--steps 10]

Each phase's networks start from the same random init; the regulariser row counts outer iterations
(one fitted pair, `inner_steps` AdaIN steps per transition) per second.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from accelerate import Accelerator

from artzoo.training.config import load_config
from artzoo.training.loop import build_pipeline, hardware
from artzoo.training.phases import PHASES


def bench(cfg: dict, name: str, steps: int, profile: bool = False) -> float:
    size = cfg["model"]["image_size"]
    pipe = build_pipeline(cfg, ["sketch", "flat", "detail"], [1, 3, 3]).train()
    phase = PHASES[name](pipe, cfg, Accelerator(cpu=True))
    torch.manual_seed(0)
    x = [torch.rand(phase.batch_size, c, size, size) * 2 - 1 for c in (1, 3, 3)]
    phase.step(x, 0)  # warm-up: allocator, oneDNN kernels
    if profile:
        with torch.profiler.profile() as prof:
            phase.step(x, 0)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    t0 = time.perf_counter()
    for step in range(steps):
        phase.step(x, step)
    per_step = 1 if name == "regularizer" else phase.batch_size  # one fitted pair per outer iteration
    return per_step * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="train/configs/fluent-emoji.toml")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--phases", nargs="+", default=list(PHASES))
    ap.add_argument("--profile", action="store_true", help="print torch.profiler's top ops per phase")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.preset)
    print(f"{cfg['name']} [{args.preset}], {cfg['model']['image_size']} px, preset {cfg['model']['preset']}; {hardware()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'phase':<12} {'batch':>5} {'img/s':>7}")
    for name in args.phases:
        rate = bench(cfg, name, args.steps if name != "regularizer" else max(1, args.steps // 5), args.profile)
        print(f"{name:<12} {cfg[name]['batch_size']:>5} {rate:>7.2f}")


if __name__ == "__main__":
    main()
