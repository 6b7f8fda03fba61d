"""Training throughput per phase (images/s) for a config preset, on random data at the model size.

    python benchmarks/bench_train.py [--config train/configs/fluent-emoji.toml] [--preset cpu] [--steps 10]
    python benchmarks/bench_train.py --phases generation --against 8c06a97 --precision float32 bfloat16

Runs on the GPU when there is one (--cpu to stay on the CPU); --batch overrides every phase's batch size.

Each phase's networks start from the same random init; the regulariser row counts outer iterations
(one fitted pair, `inner_steps` AdaIN steps per transition) per second.

Side by side: ``--against REV`` adds the phases as committed at git revision REV, and ``--precision`` one
variant per training precision. Every variant is built first, then their steps are timed in turn (one
step of each per round), so a machine whose load changes slows them all alike; the table gives each
variant's median step and its speed relative to the first.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import time

import torch
from accelerate import Accelerator

from artzoo.training.config import load_config
from artzoo.training.loop import build_pipeline, hardware
from artzoo.training.phases import PHASES


def phases_at(rev: str) -> dict:
    """The PHASES table of artzoo/training/phases.py as committed at git revision ``rev``."""
    src = subprocess.run(["git", "show", f"{rev}:artzoo/training/phases.py"], capture_output=True, text=True,
                         check=True).stdout
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(f"artzoo.training.phases_{rev}", None))
    module.__package__ = "artzoo.training"  # its relative imports resolve against today's package
    exec(compile(src, f"{rev}:artzoo/training/phases.py", "exec"), module.__dict__)
    return module.PHASES


class Variant:
    """One phase, built from a phases table and a config, with a fixed random batch."""

    def __init__(self, label: str, phases: dict, cfg: dict, name: str, accelerator):
        self.name, self.times = name, []
        size = cfg["model"]["image_size"]
        torch.manual_seed(0)
        pipe = build_pipeline(cfg, ["sketch", "flat", "detail"], [1, 3, 3]).to(accelerator.device).train()
        self.phase = phases[name](pipe, cfg, accelerator)
        self.label = f"{label}, {getattr(self.phase, 'precision', 'float32')}"  # "auto" as resolved here
        self.x = [torch.rand(self.phase.batch_size, c, size, size, device=accelerator.device) * 2 - 1
                  for c in (1, 3, 3)]
        self.phase.step(self.x, 0)  # warm-up: allocator, oneDNN / cuDNN kernels

    def timed_step(self, step: int, sync) -> None:
        sync()
        t0 = time.perf_counter()
        self.phase.step(self.x, step)
        sync()
        self.times.append(time.perf_counter() - t0)

    @property
    def rate(self) -> float:
        """Images (regulariser: fitted pairs) per second at the median step."""
        per_step = 1 if self.name == "regularizer" else self.phase.batch_size
        return per_step / statistics.median(self.times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="train/configs/fluent-emoji.toml")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per variant (regulariser: a fifth)")
    # The prior phase trains on cached encodings (seconds on a CPU): nothing to benchmark.
    ap.add_argument("--phases", nargs="+", default=["inference", "generation", "regularizer"])
    ap.add_argument("--profile", action="store_true", help="print torch.profiler's top ops per phase (first variant)")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--cpu", action="store_true", help="stay on the CPU even if a GPU is present")
    ap.add_argument("--batch", type=int, help="batch size of every phase (default: the config's)")
    ap.add_argument("--against", metavar="REV", help="also time the phases as committed at this git revision")
    ap.add_argument("--precision", nargs="+", help="train.precision values to time (default: the config's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = [f"{p}.batch_size={args.batch}" for p in args.phases] if args.batch else []
    cfg = load_config(args.config, args.preset, overrides)
    accelerator = Accelerator(cpu=args.cpu or not torch.cuda.is_available())
    sync = torch.cuda.synchronize if accelerator.device.type == "cuda" else (lambda: None)
    tables = [(f"then ({args.against})", phases_at(args.against), cfg)] if args.against else []
    for precision in args.precision or [cfg["train"]["precision"]]:
        tables.append(("now", PHASES,
                       load_config(args.config, args.preset, overrides + [f'train.precision="{precision}"'])))
    print(f"{cfg['name']} [{args.preset}], {cfg['model']['image_size']} px, preset {cfg['model']['preset']}; "
          f"{hardware()}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'phase':<12} {'variant':<28} {'batch':>5} {'ms/step':>8} {'img/s':>7} {'× first':>8}")
    for name in args.phases:
        variants = [Variant(label, phases, c, name, accelerator) for label, phases, c in tables]
        if args.profile:
            with torch.profiler.profile() as prof:
                variants[0].phase.step(variants[0].x, 0)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
        for step in range(args.steps if name != "regularizer" else max(1, args.steps // 5)):
            for v in variants:
                v.timed_step(step + 1, sync)
        for v in variants:
            print(f"{name:<12} {v.label:<28} {v.phase.batch_size:>5} {1000 * statistics.median(v.times):>8.0f} "
                  f"{v.rate:>7.2f} {v.rate / variants[0].rate:>8.2f}")


if __name__ == "__main__":
    main()
