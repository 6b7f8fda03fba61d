"""Check that the offline FD extractor worsens monotonically as real images are degraded.

Reference: the training images of one stage; evaluated: the test images, blurred / noised /
hue-shifted / JPEG-compressed at the graded strengths of `artzoo.metrics.degrade.DEGRADATIONS`.
Prints a markdown table (FD and KID per degradation and strength, plus the clean test-vs-train floor),
writes the curves to a PNG, and exits 1 if any curve is not strictly increasing.

usage: python benchmarks/validate_fd.py [--data data/fluent-emoji] [--stage detail]
                                        [--plot docs/metrics/fd_validation.png]
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
    args = p.parse_args()

    train = load_images(args.data / "train" / args.stage)
    test = load_images(args.data / "test" / args.stage)
    extractor = default_extractor()
    start = time.perf_counter()
    train_feats = extractor.extract(train)
    seconds = time.perf_counter() - start
    print(f"extractor {extractor.name} ({extractor.dim}-d), {torch.get_num_threads()} threads: "
          f"{len(train)} train images in {seconds:.2f} s = {len(train) / seconds:.0f} images/s")
    print(f"reference: {len(train)} train images; evaluated: {len(test)} test images ({args.data}, {args.stage})\n")

    results = {}
    for name, (degrade, strengths) in DEGRADATIONS.items():
        rows = []
        for s in strengths:
            feats = extractor.extract(degrade(test, s))
            rows.append((s, frechet_distance(feats, train_feats), kid(feats, train_feats)[0]))
        results[name] = rows

    print("| degradation | strength | FD | KID ×10³ |")
    print("|---|---|---|---|")
    failures = []
    for name, rows in results.items():
        for s, fd, k in rows:
            print(f"| {name} | {s:g} | {fd:.3f} | {k * 1e3:.2f} |")
        fds = [fd for _, fd, _ in rows]
        if any(b <= a for a, b in zip(fds, fds[1:])):
            failures.append(name)
    floor = results["blur"][0][1]
    print(f"\nstrength 0 is the clean test set: FD {floor:.3f} is the real-data floor.")
    print("monotonic:", "all" if not failures else f"NOT for {', '.join(failures)}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot written")
        return 1 if failures else 0
    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.4), constrained_layout=True)
    for ax, (name, rows) in zip(axes, results.items()):
        strengths = [s for s, _, _ in rows]
        ax.plot(strengths, [fd for _, fd, _ in rows], "o-")
        ax.axhline(floor, ls="--", c="grey", lw=1, label="clean test vs train")
        if name == "jpeg":
            ax.invert_xaxis()  # lower quality = stronger degradation
        ax.set(title=name, xlabel=UNITS[name], ylabel="FD (offline extractor)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"FD of degraded {args.data.name} {args.stage} test images vs clean train images ({extractor.name})",
                 fontsize=9)
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=100)
    print(f"plot: {args.plot}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
