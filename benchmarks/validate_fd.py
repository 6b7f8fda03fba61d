"""Check that the offline FD extractor worsens monotonically as real images are degraded.

Reference: the training images of one stage; evaluated: the test images, blurred / noised /
hue-shifted / JPEG-compressed at the graded strengths of `artzoo.metrics.degrade.DEGRADATIONS`.
Prints a markdown table (FD and KID per degradation and strength; strength 0 is the clean test set,
the real-data floor) and, for scale, the FD of an earlier stage's images and of mode-collapsed sets;
saves the tables next to the plot (.md), draws the curves (.png), and exits 1 if any FD curve is not
strictly increasing.

usage: python benchmarks/validate_fd.py [--data data/fluent-emoji] [--stage detail] [--compare-stage flat]
                                        [--plot docs/metrics/fd_validation.png] [--kid-subsets 50]
Needs matplotlib for the plot (skipped with a note if it is missing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from artzoo.metrics import default_extractor, frechet_distance, kid
from artzoo.metrics.degrade import DEGRADATIONS

UNITS = {"blur": "sigma (px)", "noise": "std ([-1, 1] units)", "color_shift": "hue rotation (deg)", "jpeg": "quality"}


def load_images(folder: Path) -> torch.Tensor:
    files = sorted(folder.glob("*.png"))
    if not files:
        sys.exit(f"no PNG images in {folder}")
    arrays = [np.array(Image.open(f).convert("RGB")) for f in files]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 127.5 - 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/fluent-emoji", type=Path)
    p.add_argument("--stage", default="detail")
    p.add_argument("--plot", default="docs/metrics/fd_validation.png", type=Path)
    p.add_argument("--kid-subsets", default=50, type=int, help="KID subsets (of min(1000, N) vectors) per cell")
    p.add_argument("--compare-stage", default="flat", help="an earlier stage, to show FD of images lacking detail")
    args = p.parse_args()

    train = load_images(args.data / "train" / args.stage)
    test = load_images(args.data / "test" / args.stage)
    extractor = default_extractor()
    start = time.perf_counter()
    train_feats = extractor.extract(train)
    seconds = time.perf_counter() - start
    header = [
        f"Extractor `{extractor.name}` ({extractor.dim}-d). Reference: {len(train)} train images; evaluated: "
        f"{len(test)} test images ({args.data}, stage {args.stage}), degraded at each strength. "
        f"Strength 0 is the clean test set (the real-data floor). KID over {args.kid_subsets} subsets.",
        "",
        f"Feature speed: {len(train)} images in {seconds:.2f} s = {len(train) / seconds:.0f} images/s "
        f"({torch.get_num_threads()} torch threads, {args.data.name} at {train.shape[-1]} px).",
        "",
    ]

    results = {}
    for name, (degrade, strengths) in DEGRADATIONS.items():
        rows = []
        for s in strengths:
            feats = extractor.extract(degrade(test, s))
            rows.append((s, frechet_distance(feats, train_feats), kid(feats, train_feats, args.kid_subsets)[0]))
        results[name] = rows

    table = ["| degradation | strength | FD | KID ×10³ |", "|---|---|---|---|"]
    failures = []
    for name, rows in results.items():
        table += [f"| {name} | {s:g} | {fd:.3f} | {k * 1e3:.2f} |" for s, fd, k in rows]
        fds = [fd for _, fd, _ in rows]
        if any(b <= a for a, b in zip(fds, fds[1:])):
            failures.append(name)
    verdict = "FD rises strictly with strength for every degradation." if not failures else (
        f"FD is NOT strictly increasing for: {', '.join(failures)}.")

    # Failure modes of a generator, for scale: no detail added, and mode collapse.
    n = len(test)
    points = {"clean test images (floor)": test}
    if (args.data / "test" / args.compare_stage).is_dir():
        points[f"test images of stage '{args.compare_stage}'"] = load_images(args.data / "test" / args.compare_stage)
    few = test[: max(1, n // 10)]
    points[f"{len(few)} distinct test images, repeated to {n} (mode collapse)"] = few.repeat(-(-n // len(few)), 1, 1, 1)[:n]
    points[f"one test image, repeated {n} times"] = test[:1].expand(n, -1, -1, -1)
    extra = ["| evaluated set (vs train) | FD |", "|---|---|"]
    extra += [f"| {label} | {frechet_distance(extractor.extract(x), train_feats):.3f} |" for label, x in points.items()]
    text = "\n".join(header + table + ["", verdict, ""] + extra) + "\n"
    print(text)
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    args.plot.with_suffix(".md").write_text(text)
    floor = results["blur"][0][1]

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot written")
        return 1 if failures else 0
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), constrained_layout=True)
    for ax, (name, rows) in zip(axes.flat, results.items()):
        ax.plot([s for s, _, _ in rows], [fd for _, fd, _ in rows], "o-")
        ax.axhline(floor, ls="--", c="grey", lw=1, label="clean test vs train")
        if name == "jpeg":
            ax.invert_xaxis()  # lower quality = stronger degradation
        ax.set(title=name, xlabel=UNITS[name], ylabel="FD (offline extractor)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"FD of degraded {args.data.name} {args.stage} test images vs clean train images\n{extractor.name}",
                 fontsize=10)
    fig.savefig(args.plot, dpi=100)
    print(f"plot: {args.plot}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
