"""Evaluate a pipeline on a built dataset: the paper's Table 2 (reconstruction) and Table 3 (editing).

    python train/evaluate.py --pipeline fluent-emoji --data data/fluent-emoji [--limit 256] [--plots docs/results]

Writes results/<name>.json and results/<name>.md (the code is `artzoo.evaluation`); --plots also writes
the figures, --update-card the tables into the pipeline folder's model card. By default: the methods
none, AdaIN and AdaIN + learned reg. (--methods all for every row), 10 edit draws under the paper's edit
protocol (--keep-delta for the older one), bootstrap 95% intervals and the paired comparisons.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from artzoo import WorkflowPipeline, zoo
from artzoo.errors import ArtzooError
from artzoo.evaluation import (METHOD_ALIASES, METHOD_SETS, METHODS, evaluate, evaluate_lighting, evaluate_normals,
                               evaluate_priors, lighting_markdown, merge_methods, normals_markdown, prior_figure,
                               prior_markdown, select_methods, to_markdown, write_to_card)
from artzoo.evaluation.bootstrap import RESAMPLES
from artzoo.fitting import FIT_LR, FIT_STEPS
from artzoo.metrics import InceptionV3Features


SETS = "; ".join(f"{k} = {', '.join(v)}" for k, v in METHOD_SETS.items())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pipeline", required=True, help="zoo name or pipeline folder")
    p.add_argument("--data", required=True, type=Path, help="built dataset folder (python -m artzoo.data build ...)")
    p.add_argument("--name", help="results name (default: the pipeline's)")
    p.add_argument("--limit", type=int, default=256, help="held-out images to use (0: all)")
    p.add_argument("--train-limit", type=int, default=2000, help="training finals for the reference statistics")
    p.add_argument("--steps", type=int, default=FIT_STEPS)
    p.add_argument("--lr", type=float, default=FIT_LR)
    p.add_argument("--trials", type=int, default=10,
                   help="edit draws in all; the stages after the first are resampled in turn (default 10)")
    p.add_argument("--keep-delta", action="store_true",
                   help="edits keep the fitted Δ at the resampled stage (default: the paper's protocol drops it "
                        "there; later stages keep theirs either way)")
    p.add_argument("--bootstrap", type=int, default=RESAMPLES,
                   help=f"bootstrap resamples for the intervals and paired comparisons (default {RESAMPLES})")
    p.add_argument("--seed", type=int, default=0, help="fixes the edit draws' z and the bootstrap resamples")
    p.add_argument("--batch-size", type=int, default=16,
                   help="pictures fitted at once (rows fit independently: only the speed changes; 16 is ~25%% "
                        "faster per picture than 64 on one CPU thread)")
    p.add_argument("--inception", help="safetensors weights of the FID Inception-v3 (default: offline extractor)")
    p.add_argument("--perceptual", help="perceptual backbone for fitting (VGG-16 safetensors or a name)")
    p.add_argument("--out", type=Path, default=Path("results"))
    p.add_argument("--plots", type=Path, help="also write figures here (artzoo.evaluation.figures)")
    p.add_argument("--methods", default="core",
                   help=f"comma-separated methods: names ({', '.join(METHODS)}), short names "
                        f"({', '.join(METHOD_ALIASES)}) or sets ({SETS}); default: core")
    p.add_argument("--merge", action="store_true", help="add these methods to an existing results file")
    p.add_argument("--update-card", action="store_true",
                   help="write the tables into the pipeline folder's model card (under its metrics marker)")
    p.add_argument("--priors", action="store_true",
                   help="instead: compare where sampled z come from (N(0, I), bank, learned prior) on held-out sketches")
    p.add_argument("--transition", type=int, default=0,
                   help="with --priors: the transition whose samples are judged (default 0, the sketch's; "
                        "chairs' colours: 1)")
    p.add_argument("--normals", action="store_true",
                   help="instead: angular error of the generated normal maps to the true ones (pipelines with a "
                        "'normal' stage), per z source")
    p.add_argument("--lighting", action="store_true",
                   help="instead: how much the light's direction and colour vary with z (pipelines ending in "
                        "normal, colour, light), per z source, against the real test set's spread")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = WorkflowPipeline.from_pretrained(args.pipeline) if Path(args.pipeline).is_dir() else zoo.load(args.pipeline)
    if args.perceptual:
        pipe.set_perceptual(args.perceptual)
    extractor = InceptionV3Features.from_file(args.inception) if args.inception else None
    name = args.name or Path(args.pipeline).name
    if args.priors:
        t = args.transition
        if not 0 <= t < len(pipe.transitions):
            raise SystemExit(f"--transition must be 0..{len(pipe.transitions) - 1} for {name}, got {t}")
        stem = f"{name}_priors" + (f"_{pipe.stages[t + 1]}" if t else "")
        results = evaluate_priors(pipe, args.data, transition=t, limit=args.limit or None, extractor=extractor)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
        (args.out / f"{stem}.md").write_text(prior_markdown(name, results))
        print(prior_markdown(name, results))
        if args.plots:
            prior_figure(pipe, args.data, args.plots / f"{stem}.png", transition=t)
        return
    if args.normals or args.lighting:
        kind, measure, markdown = (("normals", evaluate_normals, normals_markdown) if args.normals else
                                   ("lighting", evaluate_lighting, lighting_markdown))
        extra = {"bootstrap": args.bootstrap} if args.normals else {}
        try:
            results = measure(pipe, args.data, limit=args.limit or None, seed=args.seed, batch_size=args.batch_size,
                              **extra)
        except ArtzooError as e:
            raise SystemExit(str(e)) from None
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{name}_{kind}.json").write_text(json.dumps(results, indent=2) + "\n")
        (args.out / f"{name}_{kind}.md").write_text(markdown(name, results))
        print(markdown(name, results))
        return
    try:
        methods = select_methods(args.methods)
    except ArtzooError as e:
        raise SystemExit(str(e)) from None
    results = evaluate(pipe, args.data, limit=args.limit or None, train_limit=args.train_limit or None, steps=args.steps,
                       lr=args.lr, trials=args.trials, batch_size=args.batch_size, extractor=extractor,
                       methods=methods, keep=4 if args.plots else 0, keep_delta=args.keep_delta,
                       bootstrap=args.bootstrap, seed=args.seed)
    examples = results.pop("_examples", None)
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / f"{name}.json"
    if args.merge and previous.exists():
        results = merge_methods(json.loads(previous.read_text()), results)
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{name}.md").write_text(to_markdown(name, results))
    print(to_markdown(name, results))
    print(f"wall time: {results['wall_seconds']:.0f} s ({args.threads} thread(s))")
    if args.plots:
        from artzoo.evaluation.figures import write_figures

        write_figures(pipe, examples, results, args.plots, name)
    if args.update_card:
        write_to_card(Path(args.pipeline), name, results, args.plots)


if __name__ == "__main__":
    main()
