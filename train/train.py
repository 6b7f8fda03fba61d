"""Train an artzoo workflow pipeline, one phase at a time, in a run folder.

    python train/train.py --config train/configs/fluent-emoji.toml --preset cpu --phase inference
    accelerate launch train/train.py --config ... --phase generation --resume
    python train/train.py --config ... --phase export --out checkpoints/fluent-emoji
    python train/train.py --config ... --preset gpu --phase all    # every phase in order, one process

Phases: inference → generation → regularizer → prior, then export. Each phase starts from the weights the
run folder's latest checkpoint holds; --resume continues a phase that was stopped (SIGTERM/SIGINT
checkpoint, or the last periodic one after a kill -9).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from artzoo.training import export_pipeline, load_config, train_phase
from artzoo.training.history import ORDER


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="TOML file in train/configs/")
    ap.add_argument("--preset", default="cpu", help="table of the config to apply: cpu or gpu (default cpu; \"\" for none)")
    ap.add_argument("--phase", required=True, choices=[*ORDER, "all", "export"])
    ap.add_argument("--run-dir", help="default: runs/<config name>-<preset>")
    ap.add_argument("--resume", action="store_true", help="continue a stopped phase from its last checkpoint")
    ap.add_argument("--init-from", help="warm start a new run from a pipeline folder (or Hub id)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override a config value (TOML syntax), e.g. --set generation.steps_joint=0")
    ap.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU is present")
    ap.add_argument("--out", help="export: the pipeline folder to write")
    ap.add_argument("--from-phase", help="export: a finished phase's checkpoint (default: the latest checkpoint)")
    ap.add_argument("--full-precision", action="store_true", help="export float32 instead of the config's dtype")
    ap.add_argument("--with-discriminators", action="store_true", help="export the critics too (to train on)")
    args = ap.parse_args(argv)

    cfg = load_config(args.config, args.preset, args.set)
    run_dir = Path(args.run_dir or f"runs/{cfg['name']}-{args.preset or 'base'}")
    if args.phase == "export":
        if not args.out:
            ap.error("--phase export needs --out")
        path = export_pipeline(cfg, run_dir, args.out, from_phase=args.from_phase,
                               full_precision=args.full_precision, include_discriminators=args.with_discriminators)
        print(f"exported {path}")
        return 0
    for number, phase in enumerate(ORDER if args.phase == "all" else [args.phase]):
        # A warm start seeds the run's first phase; later phases start from the run's own checkpoints.
        signum = train_phase(cfg, phase, run_dir, resume=args.resume, init_from=args.init_from if number == 0 else None,
                             cpu=args.cpu)
        if signum:
            return 128 + signum if signum > 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
