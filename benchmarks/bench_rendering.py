"""Quality, speed and memory of `artzoo.rendering` on held-out fluent-emoji sketches, as Markdown tables.

    python -m artzoo.data build fluent-emoji --size 512 --out data/fluent-emoji-512 --limit 200
    python benchmarks/bench_rendering.py --threads 1 --grid docs/rendering/before_after.png
    python benchmarks/bench_rendering.py --threads 2 --speed-only

The published pipeline generates each test sketch's stages at 64 px (its own load_image scales the
512 px sketch down; sketch i uses seed --seed + i); they are rendered at 512 px and compared with the
network output scaled up (cut to the sketch's box, Lanczos). ΔE is CIE76. "Paper" is the white around the drawing in the
ground-truth flat picture (border-connected white, eroded 3 px). Targets: flat purity ≥ 0.99, paper
tint ≤ 0.005, mean per-region ΔE render vs network ≤ 5, detail's chroma shift ≤ the network's;
512 px → all stages ≤ 0.3 s, 2048 px ≤ 2 s, peak RSS ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":  # thread counts must be fixed before numpy / torch start their pools
    _threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads

import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

import artzoo
from artzoo.images import restore_aspect, to_pil
from artzoo.rendering import apply_change, render_stages, segment
from artzoo.rendering.metrics import chroma_shift, paper_tint, region_delta_e, region_purity

GRID_COLUMNS = ("sketch", "network flat (64 px, scaled up)", "rendered flat", "network detail (scaled up)",
                "rendered detail")


def paper_mask(flat_truth: Image.Image) -> np.ndarray:
    """White around the drawing in the ground-truth flat picture, kept 3 px clear of the drawing."""
    white = (np.asarray(flat_truth.convert("RGB")) >= 250).all(-1)
    parts, _ = ndimage.label(white)
    border = np.unique(np.concatenate([parts[0], parts[-1], parts[:, 0], parts[:, -1]]))
    outside = np.isin(parts, border[border > 0])
    return ndimage.binary_erosion(outside, iterations=3)


def scaled_up(tensor, placement, size) -> Image.Image:
    """The network's output as the app showed it before rendering: cut to the box, scaled up (Lanczos)."""
    picture = to_pil(tensor)
    return restore_aspect(picture, placement) if placement else picture.resize(size, Image.Resampling.LANCZOS)


def quality(pipe, folder: Path, seed: int) -> tuple[list[dict], list[tuple]]:
    rows, pictures = [], []
    for i, path in enumerate(sorted((folder / "sketch").glob("*.png"))):
        sketch = Image.open(path)
        wf = pipe.generate(sketch, seed=seed + i)  # a palette per sketch: more of the network's range
        out = render_stages(sketch, wf.images, wf.placement)
        regions = out.regions
        net_flat, net_detail = (np.asarray(scaled_up(wf.images[k], wf.placement, sketch.size)) for k in (1, 2))
        inside = regions.inside_mask() & ~regions.lines
        paper = paper_mask(Image.open(folder / "flat" / path.name))
        rows.append({
            "name": path.stem, "regions": regions.count,
            "purity flat": region_purity(out.images[1], regions),
            "purity flat (network)": region_purity(net_flat, regions),
            "tint flat": paper_tint(out.images[1], paper), "tint detail": paper_tint(out.images[2], paper),
            "tint flat (network)": paper_tint(net_flat, paper), "tint detail (network)": paper_tint(net_detail, paper),
            "ΔE flat": region_delta_e(out.colours[1], net_flat, regions),
            "ΔE detail": region_delta_e(out.colours[2], net_detail, regions),
            "chroma shift": chroma_shift(out.colours[2], out.colours[1], inside),
            "chroma shift (network)": chroma_shift(net_detail, net_flat, inside),
            "Δab": chroma_shift(out.colours[2], out.colours[1], inside, shading_matched=False),
            "Δab (network)": chroma_shift(net_detail, net_flat, inside, shading_matched=False),
        })
        pictures.append((path.stem, sketch.convert("RGB"), Image.fromarray(net_flat), out.images[1],
                         Image.fromarray(net_detail), out.images[2]))
    return rows, pictures


def grid(pictures: list[tuple], path: Path, cell: int = 256) -> None:
    """Rows of sketch | network flat | rendered flat | network detail | rendered detail."""
    head = 28
    canvas = Image.new("RGB", (cell * len(GRID_COLUMNS), head + cell * len(pictures)), "white")
    draw = ImageDraw.Draw(canvas)
    for c, title in enumerate(GRID_COLUMNS):
        draw.text((c * cell + 8, 8), title, fill="black")
    for r, (_, *images) in enumerate(pictures):
        for c, image in enumerate(images):
            canvas.paste(image.resize((cell, cell), Image.Resampling.LANCZOS), (c * cell, head + r * cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def zoom(pictures: list[tuple], path: Path, box=(128, 128, 384, 384), scale: int = 2) -> None:
    """The centre of the first two sketches at 1:1 (shown 2×): network flat/detail scaled up vs rendered."""
    crops = [image.crop(box) for _, _, *images in pictures[:2] for image in images]
    side = (box[2] - box[0]) * scale
    canvas = Image.new("RGB", (side * 4, side * 2), "white")
    for i, crop in enumerate(crops):
        canvas.paste(crop.resize((side, side), Image.Resampling.NEAREST), ((i % 4) * side, (i // 4) * side))
    canvas.save(path)


def timed(fn, repeat: int) -> float:
    """Median wall time in s after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed(pipe, sketch_path: Path, repeat: int) -> dict:
    sketch = Image.open(sketch_path).convert("L")
    wf = pipe.generate(sketch, seed=0)
    big = sketch.resize((2048, 2048), Image.Resampling.LANCZOS)
    rss_before = peak_rss_mb()
    upload = np.asarray(render_stages(big, wf.images, wf.placement).images[2])
    return {
        "peak RSS before (MB)": rss_before,
        "segment 512 (s)": timed(lambda: segment(np.asarray(sketch)), repeat),
        "all stages 512 (s)": timed(lambda: render_stages(sketch, wf.images, wf.placement), repeat),
        "segment 2048 (s)": timed(lambda: segment(np.asarray(big)), max(1, repeat // 3)),
        "all stages 2048 (s)": timed(lambda: render_stages(big, wf.images, wf.placement), max(1, repeat // 3)),
        # An edit that changes every pixel of a 2048 px upload (the worst case for apply_change).
        "edit 2048 (s)": timed(lambda: apply_change(upload, wf.images[2], wf.images[2] * 0.8, wf.placement),
                               max(1, repeat // 3)),
        "peak RSS after (MB)": peak_rss_mb(),
    }


def bad_inputs() -> list[dict]:
    """What each kind of bad sketch gets (a message or a render) and how long it takes."""
    from skimage import data

    from artzoo.errors import ArtzooError

    scan = np.full((3648, 5472), 190, np.uint8)  # a 20 MP scan of a rectangle on grey paper
    scan[495:505, 800:4600] = scan[3095:3105, 800:4600] = 70
    scan[500:3100, 795:805] = scan[500:3100, 4595:4605] = 70
    stroke = np.full((512, 512), 255, np.uint8)
    stroke[250:254, 40:470] = 0
    cases = {"blank": np.full((512, 512), 255, np.uint8), "all black": np.zeros((512, 512), np.uint8),
             "photo (astronaut)": data.astronaut(), "one giant region (a stroke)": stroke,
             "1×8000 strip": np.full((1, 8000), 255, np.uint8), "20 MP scan": scan}
    stages = [torch.zeros(1, 1, 64, 64), torch.full((1, 3, 64, 64), 0.9), torch.full((1, 3, 64, 64), 0.7)]
    rows = []
    for name, sketch in cases.items():
        start = time.perf_counter()
        try:
            out = render_stages(sketch, stages)
            outcome = f"render {out.images[-1].width}×{out.images[-1].height}, {out.regions.count} region(s)"
            outcome += f"; note: {out.notes[0]}" if out.notes else ""
        except ArtzooError as e:
            outcome = f"ArtzooError: {e}"
        rows.append({"input": name, "outcome": outcome, "time (s)": time.perf_counter() - start})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    for row in rows:
        cells = []
        for v in row.values():
            if isinstance(v, tuple):
                cells.append(" / ".join(f"{x:.2f}" for x in v))
            else:
                cells.append(f"{v:.3f}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path("data/fluent-emoji-512/test"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--grid", type=Path, help="write the before/after grid here")
    parser.add_argument("--grid-rows", type=int, default=8)
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = artzoo.load("fluent-emoji")
    sketches = sorted((args.data / "sketch").glob("*.png"))
    if not sketches:
        sys.exit(f"no sketches in {args.data / 'sketch'}: build them first (see the docstring)")
    print(f"{args.threads} thread(s), {os.cpu_count()} CPU cores, torch {torch.__version__}\n")
    if not args.speed_only:
        rows, pictures = quality(pipe, args.data, args.seed)
        mean = {k: (float(np.mean([r[k] for r in rows])) if not isinstance(rows[0][k], tuple)
                    else tuple(np.mean([r[k] for r in rows], axis=0)))
                for k in rows[0] if k != "name"}
        mean["purity flat (min)"] = min(r["purity flat"] for r in rows)
        print(f"Quality over {len(rows)} held-out sketches (means; ΔE: mean over regions / area-weighted)\n")
        print(table([{"name": "mean", **mean}]) + "\n")
        print(table(rows) + "\n")
        if args.grid:
            grid(pictures[: args.grid_rows], args.grid)
            zoom(pictures, args.grid.with_name("zoom.png"))
            print(f"wrote {args.grid} and zoom.png beside it\n")
        print(table(bad_inputs()) + "\n")
    print(table([speed(pipe, sketches[0], args.repeat)]))
    print("\n2048 px input: the first test sketch scaled up 4×. Peak RSS is the whole process's (pipeline and "
          "torch included) before and after the timed renders.")


if __name__ == "__main__":
    main()
