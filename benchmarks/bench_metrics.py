"""Speed of the metric code: feature extraction (offline default and Inception-v3), FD and KID.

usage: python benchmarks/bench_metrics.py [--images 3000] [--size 64] [--threads 1 2]
Random images and random Inception weights: only the timings mean anything.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from artzoo.metrics import InceptionV3Features, default_extractor, feature_stats, frechet_distance, kid


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=3000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()

    images = torch.rand(args.images, 3, args.size, args.size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    extractor, inception = default_extractor(), InceptionV3Features()
    print("| extractor | threads | images | seconds | images/s |\n|---|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        extractor.extract(images[:64])  # warm-up
        seconds, feats = timed(lambda: extractor.extract(images))
        rate = args.images / seconds
        print(f"| {extractor.name} | {threads} | {args.images} × {args.size} px | {seconds:.2f} | {rate:.0f} |")
        n = 16
        seconds, _ = timed(lambda: inception.extract(images[:n]))
        print(f"| {inception.name} | {threads} | {n} × {args.size} px | {seconds:.2f} | {n / seconds:.1f} |")

    rng = np.random.default_rng(0)
    train, test = feats, feats[: args.images // 10] + rng.normal(0, 0.01, (args.images // 10, feats.shape[1]))
    train_stats = feature_stats(train)
    d = feats.shape[1]
    print(f"\n| distance ({d}-d features) | seconds |\n|---|---|")
    for label, fn in [
        (f"FD, features {len(test)} vs features {len(train)}", lambda: frechet_distance(test, train)),
        (f"FD, features {len(test)} vs stats of {len(train)}", lambda: frechet_distance(test, train_stats)),
        ("FD, stats vs stats (eigen route)", lambda: frechet_distance(feature_stats(test), train_stats)),
        (f"KID, 100 subsets of {len(test)}", lambda: kid(test, train)),
    ]:
        print(f"| {label} | {timed(fn)[0]:.2f} |")


if __name__ == "__main__":
    main()
