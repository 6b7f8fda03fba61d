"""Which perceptual distance should `fit` use by default? Fit held-out finals with each and compare.

    python benchmarks/compare_perceptual.py --pipeline checkpoints/fluent-emoji --data data/fluent-emoji

For each candidate (plain L1 only, the weight-free Laplacian pyramid, a fixed random VGG-16, and a
real VGG-16 when ARTZOO_VGG16_WEIGHTS is set) the same AdaIN fit (default steps, no regulariser) runs
on the same held-out finals; reported: reconstruction L1, FD of the reconstructions against training
finals (offline extractor), seconds per image. Printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from artzoo import WorkflowPipeline
from artzoo.evaluation import load_stage
from artzoo.metrics import default_extractor, feature_stats, frechet_distance


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pipeline", required=True)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--limit", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pipe = WorkflowPipeline.from_pretrained(args.pipeline)
    last = len(pipe.stages) - 1
    finals = load_stage(args.data, "test", last, args.limit)
    extractor = default_extractor()
    train_stats = feature_stats(extractor.extract(load_stage(args.data, "train", last, 1000)), extractor.name)
    candidates = [("L1 only", "laplacian-pyramid", 0.0), ("laplacian-pyramid", "laplacian-pyramid", 1.0),
                  ("random-vgg16", "random-vgg16", 1.0)]
    if os.environ.get("ARTZOO_VGG16_WEIGHTS"):
        candidates.append(("vgg16 (ImageNet)", "vgg16", 1.0))
    wf = pipe.decompose(finals)
    print(f"{len(finals)} held-out finals of {args.data}, {pipe.image_size} px\n")
    print("| perceptual | weight | recon L1 ↓ | recon FD ↓ | s / image |\n|---|---|---|---|---|")
    print(f"| (no fit) | – | {pipe.reconstruction_error(wf):.4f} | "
          f"{frechet_distance(feature_stats(extractor.extract(wf.images[-1])), train_stats):.3f} | – |")
    for label, backbone, weight in candidates:
        pipe.set_perceptual(backbone)
        t = time.perf_counter()
        fitted = pipe.fit(wf, perceptual_weight=weight)
        seconds = (time.perf_counter() - t) / len(finals)
        fd = frechet_distance(feature_stats(extractor.extract(fitted.images[-1])), train_stats)
        print(f"| {label} | {weight} | {pipe.reconstruction_error(fitted):.4f} | {fd:.3f} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
