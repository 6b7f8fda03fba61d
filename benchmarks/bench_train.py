"""Training throughput per phase (images/s) for a config preset, on random data at the model size.

    python benchmarks/bench_train.py [--config train/configs/fluent-emoji.toml] [--preset cpu] [--steps 10]

Runs on the GPU when there is one (--cpu to stay on the CPU); --batch overrides every phase's batch size.

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


def bench(cfg: dict, name: str, steps: int, profile: bool = False, cpu: bool = False) -> float:
    size = cfg["model"]["image_size"]
    accelerator = Accelerator(cpu=cpu or not torch.cuda.is_available())
    sync = torch.cuda.synchronize if accelerator.device.type == "cuda" else (lambda: None)
    pipe = build_pipeline(cfg, ["sketch", "flat", "detail"], [1, 3, 3]).to(accelerator.device).train()
    phase = PHASES[name](pipe, cfg, accelerator)
    torch.manual_seed(0)
    x = [torch.rand(phase.batch_size, c, size, size, device=accelerator.device) * 2 - 1 for c in (1, 3, 3)]
    phase.step(x, 0)  # warm-up: allocator, oneDNN / cuDNN kernels
    if profile:
        activities = [torch.profiler.ProfilerActivity.CPU]
        if accelerator.device.type == "cuda":  # a GPU step is often bound by the CPU's kernel launches
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        with torch.profiler.profile(activities=activities) as prof:
            phase.step(x, 0)
            sync()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    sync()
    t0 = time.perf_counter()
    for step in range(steps):
        phase.step(x, step)
    sync()
    per_step = 1 if name == "regularizer" else phase.batch_size  # one fitted pair per outer iteration
    return per_step * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="train/configs/fluent-emoji.toml")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--steps", type=int, default=10)
    # The prior phase trains on cached encodings (seconds on a CPU): nothing to benchmark.
    ap.add_argument("--phases", nargs="+", default=["inference", "generation", "regularizer"])
    ap.add_argument("--profile", action="store_true", help="print torch.profiler's top ops per phase")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--cpu", action="store_true", help="stay on the CPU even if a GPU is present")
    ap.add_argument("--batch", type=int, help="batch size of every phase (default: the config's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.preset, [f"{p}.batch_size={args.batch}" for p in args.phases] if args.batch else [])
    print(f"{cfg['name']} [{args.preset}], {cfg['model']['image_size']} px, preset {cfg['model']['preset']}; {hardware()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'phase':<12} {'batch':>5} {'img/s':>7}")
    for name in args.phases:
        rate = bench(cfg, name, args.steps if name != "regularizer" else max(1, args.steps // 5), args.profile,
                     args.cpu)
        print(f"{name:<12} {cfg[name]['batch_size']:>5} {rate:>7.2f}")


if __name__ == "__main__":
    main()
