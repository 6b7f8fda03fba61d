"""Evaluate a pipeline on a built dataset: the paper's Table 2 (reconstruction) and Table 3 (editing).

    python train/evaluate.py --pipeline fluent-emoji --data data/fluent-emoji [--limit 256] [--plots docs/results]

Writes results/<name>.json and results/<name>.md. For each fitting method (none, latent-z optimisation,
AdaIN optimisation, AdaIN + small / strong weight decay, AdaIN + learned regulariser; the same steps
and learning rate for all), on held-out finals: L1 and FD of the reconstruction and seconds per image
(Table 2); then, per trial, resample z at a random stage and FD the edited finals (Table 3, mean ± std
over trials). Also the lower bound (FD of real test finals against the training finals), KID, and the
diversity of variations. FD uses `artzoo.metrics`' offline default extractor unless --inception names
the standard FID network's weights (only then are values comparable to published FIDs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from artzoo import WorkflowPipeline, zoo
from artzoo.data import WorkflowDataset
from artzoo.metrics import InceptionV3Features, default_extractor, diversity, feature_stats, frechet_distance, kid

# name → fit() arguments; None = decompose only. The decay values bracket the learned w (≈ 1e-3 at init).
METHODS = {
    "none": None,
    "latent z": dict(variable="latent"),
    "AdaIN": dict(regularizer=None),
    "AdaIN + small decay": dict(regularizer=1e-3),
    "AdaIN + strong decay": dict(regularizer=1.0),
    "AdaIN + learned reg.": dict(regularizer="learned"),
}


def load_stage(root: Path, split: str, stage_index: int, limit: int | None) -> torch.Tensor:
    """One stage of a split as an (N, C, S, S) tensor in [-1, 1] (first ``limit`` ids, sorted)."""
    ds = WorkflowDataset(root, split)
    n = len(ds) if limit is None else min(limit, len(ds))
    return torch.stack([ds[i][stage_index] for i in range(n)])


def batches(x: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i:i + size]


def evaluate(pipe: WorkflowPipeline, data: Path, *, limit: int | None = 256, train_limit: int | None = 2000,
             steps: int = 60, lr: float = 0.1, trials: int = 3, batch_size: int = 64, seed: int = 0,
             extractor=None, methods: dict | None = None, keep: int = 0) -> dict:
    """All metrics as a dict; ``keep`` > 0 also returns that many example workflows per method."""
    extractor = extractor or default_extractor()
    methods = METHODS if methods is None else methods
    if any(m and m.get("regularizer") == "learned" for m in methods.values()) and pipe.transitions[0].regularizer is None:
        methods = {k: v for k, v in methods.items() if not (v and v.get("regularizer") == "learned")}
    last = len(pipe.stages) - 1
    test = load_stage(data, "test", last, limit)
    train_feats = extractor.extract(load_stage(data, "train", last, train_limit))
    train_stats = feature_stats(train_feats, extractor.name)
    test_feats = extractor.extract(test)
    results = {"stages": pipe.stages, "image_size": pipe.image_size, "extractor": extractor.name,
               "n_test": len(test), "n_train": len(train_feats), "steps": steps, "lr": lr, "trials": trials,
               "perceptual": pipe.perceptual.name,
               "lower_bound_fd": frechet_distance(feature_stats(test_feats), train_stats),
               "lower_bound_kid": kid(test_feats, train_feats), "methods": {}}
    examples = {}
    gen = torch.Generator().manual_seed(seed)
    edit_plan = [(int(torch.randint(1, last + 1, (), generator=gen)), int(torch.randint(2**31, (), generator=gen)))
                 for _ in range(trials)]
    for name, fit_args in methods.items():
        finals, l1s, edits = [], [], [[] for _ in range(trials)]
        seconds = 0.0
        for b, x in enumerate(batches(test, batch_size)):
            t0 = time.perf_counter()
            wf = pipe.decompose(x)
            if fit_args is not None:
                wf = pipe.fit(wf, steps=steps, lr=lr, **fit_args)
            seconds += time.perf_counter() - t0
            finals.append(wf.images[-1])
            l1s.append((wf.images[-1] - x).abs().flatten(1).mean(1))
            for trial, (stage, z_seed) in enumerate(edit_plan):
                z = pipe.sample_z(z_seed + b, n=len(x), transition=stage - 1)
                edits[trial].append(pipe.edit(wf, stage, z=z).images[-1])
            if b == 0 and keep:
                examples[name] = (wf, [pipe.edit(wf, s, z=pipe.sample_z(zs, n=len(x), transition=s - 1))
                                       for s, zs in edit_plan])
        recon = torch.cat(finals)
        recon_feats = extractor.extract(recon)
        edit_fds = [frechet_distance(feature_stats(extractor.extract(torch.cat(e))), train_stats) for e in edits]
        results["methods"][name] = {
            "l1": float(torch.cat(l1s).mean()), "fd": frechet_distance(feature_stats(recon_feats), train_stats),
            "kid": kid(recon_feats, train_feats), "seconds_per_image": seconds / len(test),
            "edit_fd_mean": float(np.mean(edit_fds)), "edit_fd_std": float(np.std(edit_fds)),
            "edit_fds": edit_fds, "edit_stages": [pipe.stages[s] for s, _ in edit_plan],
        }
        print(f"  {name:<22} L1 {results['methods'][name]['l1']:.4f}  FD {results['methods'][name]['fd']:.3f}  "
              f"edit FD {np.mean(edit_fds):.3f} ± {np.std(edit_fds):.3f}", file=sys.stderr)
    results["diversity"] = _diversity(pipe, data, limit=min(len(test), 32), extractor=extractor)
    if keep:
        results["_examples"] = examples
    return results


@torch.no_grad()
def _diversity(pipe: WorkflowPipeline, data: Path, limit: int, extractor, n: int = 4) -> dict:
    """Mean pairwise distance between n variations of each held-out input, per transition."""
    out = {}
    for i, t in enumerate(pipe.transitions):
        x = load_stage(data, "test", i, limit)
        z = pipe.sample_z(0, n=len(x) * n, transition=i)
        generated = t.generator(x.repeat_interleave(n, 0), z=z)
        score = diversity(generated.view(len(x), n, *generated.shape[1:]), extractor)
        out[f"{pipe.stages[i]}→{pipe.stages[i + 1]}"] = {"pixel_l1": score.pixel_l1, "feature_l1": score.feature_l1}
    return out


def to_markdown(name: str, r: dict) -> str:
    lines = [f"### {name}", "",
             f"{r['n_test']} held-out finals, {r['image_size']} px; fit: {r['steps']} steps/stage, lr {r['lr']}, "
             f"perceptual = {r['perceptual']}; FD/KID features: {r['extractor']}; edits: {r['trials']} trials "
             f"(resampled stage per trial: {', '.join(next(iter(r['methods'].values()))['edit_stages'])}).", "",
             "| method | recon L1 ↓ | recon FD ↓ | recon KID ×10³ | edit FD ↓ (mean ± std) | s / image |",
             "|---|---|---|---|---|---|"]
    for method, m in r["methods"].items():
        lines.append(f"| {method} | {m['l1']:.4f} | {m['fd']:.3f} | {m['kid'][0] * 1e3:.2f} ± {m['kid'][1] * 1e3:.2f} | "
                     f"{m['edit_fd_mean']:.3f} ± {m['edit_fd_std']:.3f} | {m['seconds_per_image']:.3f} |")
    lines += ["", f"Lower bound (real test finals vs training finals): FD {r['lower_bound_fd']:.3f}, "
                  f"KID×10³ {r['lower_bound_kid'][0] * 1e3:.2f} ± {r['lower_bound_kid'][1] * 1e3:.2f}.", "",
              "Diversity of 4 variations per held-out input (mean pairwise L1; ~0 means mode collapse):", ""]
    for transition, d in r["diversity"].items():
        lines.append(f"- {transition}: pixels {d['pixel_l1']:.3f}, features {d['feature_l1']:.3f}")
    return "\n".join(lines) + "\n"


def update_card(card: Path, table: str) -> None:
    """Replace the evaluation section's body (after the metrics marker, up to the next heading)."""
    from artzoo.training.export import METRICS_MARKER

    text = card.read_text()
    if METRICS_MARKER not in text:
        raise SystemExit(f"{card} has no {METRICS_MARKER} marker to write the results under")
    head, tail = text.split(METRICS_MARKER, 1)
    rest = tail[tail.index("\n## "):] if "\n## " in tail else "\n"
    card.write_text(f"{head}{METRICS_MARKER}\n{table}{rest}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pipeline", required=True, help="zoo name or pipeline folder")
    p.add_argument("--data", required=True, type=Path, help="built dataset folder (python -m artzoo.data build ...)")
    p.add_argument("--name", help="results name (default: the pipeline's)")
    p.add_argument("--limit", type=int, default=256, help="held-out images to use (0: all)")
    p.add_argument("--train-limit", type=int, default=2000, help="training finals for the reference statistics")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--inception", help="safetensors weights of the FID Inception-v3 (default: offline extractor)")
    p.add_argument("--perceptual", help="perceptual backbone for fitting (VGG-16 safetensors or a name)")
    p.add_argument("--out", type=Path, default=Path("results"))
    p.add_argument("--plots", type=Path, help="also write figures here (see train/plots.py)")
    p.add_argument("--methods", help=f"comma-separated subset of: {', '.join(METHODS)} (default: all)")
    p.add_argument("--merge", action="store_true", help="add these methods to an existing results file")
    p.add_argument("--update-card", action="store_true",
                   help="write the tables into the pipeline folder's model card (under its metrics marker)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = WorkflowPipeline.from_pretrained(args.pipeline) if Path(args.pipeline).is_dir() else zoo.load(args.pipeline)
    if args.perceptual:
        pipe.set_perceptual(args.perceptual)
    extractor = InceptionV3Features.from_file(args.inception) if args.inception else None
    name = args.name or Path(args.pipeline).name
    methods = METHODS
    if args.methods:
        unknown = [m for m in args.methods.split(",") if m not in METHODS]
        if unknown:
            raise SystemExit(f"unknown methods {unknown}; choose from {list(METHODS)}")
        methods = {m: METHODS[m] for m in args.methods.split(",")}
    results = evaluate(pipe, args.data, limit=args.limit or None, train_limit=args.train_limit or None, steps=args.steps,
                       lr=args.lr, trials=args.trials, batch_size=args.batch_size, extractor=extractor,
                       methods=methods, keep=4 if args.plots else 0)
    examples = results.pop("_examples", None)
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / f"{name}.json"
    if args.merge and previous.exists():  # same data, seed and settings: rows from an earlier run stay valid
        merged = json.loads(previous.read_text())["methods"]
        merged.update(results["methods"])
        results["methods"] = {m: merged[m] for m in METHODS if m in merged}
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{name}.md").write_text(to_markdown(name, results))
    print(to_markdown(name, results))
    if args.plots:
        from plots import write_figures  # train/plots.py, beside this script

        write_figures(pipe, examples, results, args.plots, name)
    if args.update_card:
        table = to_markdown(name, results)
        if args.plots:  # the card's decompose → fit → edit figure travels with the pipeline folder
            shutil.copyfile(args.plots / f"{name}_methods.png", Path(args.pipeline) / "evaluation.png")
            table += ("\n![decompose, fit, edit](evaluation.png)\n\n`evaluation.png`: per held-out picture (row): "
                      "the input, its inferred earlier stages, its reconstruction after fitting with each method, "
                      "then an edit (one stage's z resampled, later stages re-rendered) after each method's fit.\n")
        update_card(Path(args.pipeline) / "README.md", table)


if __name__ == "__main__":
    main()
