"""Quality, speed and memory of `artzoo.rendering` on held-out sketches, as Markdown tables; and a
comparison of render-kind choices for a pipeline.

    python -m artzoo.data build fluent-emoji --size 512 --out data/fluent-emoji-512 --limit 200
    python benchmarks/bench_rendering.py --threads 1 --grid docs/rendering/before_after.png
    python benchmarks/bench_rendering.py --threads 2 --speed-only

    # which render kinds suit a pipeline (here fluent-3d; any pipeline folder or zoo name):
    python -m artzoo.data build fluent-3d --size 512 --limit 150 --out data/fluent-3d-512
    python benchmarks/bench_rendering.py --pipeline checkpoints/fluent-3d --data data/fluent-3d-512 \
        --compare-kinds --grid docs/rendering/fluent-3d_kinds.png

The pipeline (``--pipeline``, default the published fluent-emoji) generates each test sketch's stages at
its own size (its load_image scales the 512 px sketch down; sketch i uses seed --seed + i); they are
rendered at 512 px. Stage names come from the pipeline; ``--data`` (the built folder or its test split)
holds the real stages at 512 px in folders of those names.

Default run: rendered with the pipeline's render kinds (default sketch, regions, continuous) and compared
with the network output scaled up (cut to the sketch's box, Lanczos). ΔE is CIE76. "Paper" is the white
around the drawing in the ground-truth picture (border-connected white, eroded 3 px). Targets: purity
of the first colour stage ≥ 0.99, paper tint ≤ 0.005, mean per-region ΔE render vs network ≤ 5, the last
stage's chroma shift ≤ the network's; 512 px → all stages ≤ 0.3 s, 2048 px ≤ 2 s, peak RSS ≤ 1.5 GB.

``--compare-kinds``: each ``--options`` entry (kinds per stage, comma-separated, or "network" for the
network's output scaled up with no rendering) renders every test sketch, generated twice (``--latents``):
with seed --seed + i, and with each z encoded from the real next stage (the latent encoder's mean, as
decompose takes it), so that ΔE to the real stage measures the drawing rather than how far a sampled
palette happens to fall from the real one (a grey picture is closer to a random palette than a wrong
colour is). Per colour stage: ΔE to the real stage over the drawing (the real picture's pixels that are
not its border-connected white, less the sketch's line pixels, which the real stages do not have), paper
tint (the paper as above, less the sketch's line pixels), region purity (over `fill_mask`; 1.0 by
construction for a "regions" stage; the real stages' purity is the reference), and the render time per
sketch (segmentation included; the network's generation is the same for every option and timed apart).
``--grid`` then writes sketch | real stage 1 | each option's stage 1 | real stage 2 | … for ``--grid-rows``
sketches spread over the test set, and a 1:1 crop beside it (+ "_zoom"); the second ``--latents`` run's
get "_encoded" added. ``--sketches``: the same pictures' sketches from another folder (e.g. a smaller
build's, to see how much the sketch's own resolution matters), scaled to the data's size.
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
from artzoo.rendering import apply_change, render_stages, segment, segment_sketch
from artzoo.rendering.colour import as_rgb, delta_e, rgb_to_lab
from artzoo.rendering.metrics import chroma_shift, fill_mask, paper_tint, region_delta_e, region_purity
from artzoo.rendering.regions import border_labels

NETWORK = "network"  # a --compare-kinds option: the network's output scaled up, no rendering
DEFAULT_OPTIONS = ("sketch,regions,continuous", "sketch,continuous,continuous", "sketch,regions,regions", NETWORK)


def grid_columns(stages: list[str], size: int) -> tuple[str, ...]:
    return ("sketch", f"network {stages[1]} ({size} px, scaled up)", f"rendered {stages[1]}",
            f"network {stages[-1]} (scaled up)", f"rendered {stages[-1]}")


def outside_white(truth: Image.Image) -> np.ndarray:
    """The ground-truth picture's white that touches the image border: the paper around the drawing."""
    white = (np.asarray(truth.convert("RGB")) >= 250).all(-1)
    parts, _ = ndimage.label(white)
    border = border_labels(parts)
    return np.isin(parts, border[border > 0])


def paper_mask(flat_truth: Image.Image) -> np.ndarray:
    """White around the drawing in the ground-truth flat picture, kept 3 px clear of the drawing."""
    return ndimage.binary_erosion(outside_white(flat_truth), iterations=3)


def scaled_up(tensor, placement, size) -> Image.Image:
    """The network's output as the app showed it before rendering: cut to the box, scaled up (Lanczos)."""
    picture = to_pil(tensor)
    return restore_aspect(picture, placement) if placement else picture.resize(size, Image.Resampling.LANCZOS)


def load_pipeline(name_or_folder: str):
    """A pipeline folder (one with an index), else a zoo name (`artzoo.load`)."""
    from artzoo.hub import INDEX_FILE
    from artzoo.pipeline import WorkflowPipeline

    folder = Path(name_or_folder)
    if (folder / INDEX_FILE).is_file():
        return WorkflowPipeline.from_pretrained(folder)
    return artzoo.load(name_or_folder)


def split_folder(data: Path) -> Path:
    """--data may name the built folder or its test split."""
    return data / "test" if not (data / "sketch").is_dir() and (data / "test" / "sketch").is_dir() else data


def shift(image, base, mask, **kwargs) -> float:
    return chroma_shift(image, base, mask, **kwargs) if mask.any() else float("nan")


def quality(pipe, folder: Path, seed: int) -> tuple[list[dict], list[tuple]]:
    """Stage 1 (flat) and the last stage (detail), rendered with the pipeline's kinds, vs the network."""
    rows, pictures = [], []
    flat, detail = pipe.stages[1], pipe.stages[-1]
    for i, path in enumerate(sorted((folder / pipe.stages[0]).glob("*.png"))):
        sketch = Image.open(path)
        wf = pipe.generate(sketch, seed=seed + i)  # a palette per sketch: more of the network's range
        out = render_stages(sketch, wf.images, wf.placement, pipe.render_kinds)
        regions = out.regions
        net_flat, net_detail = (np.asarray(scaled_up(wf.images[k], wf.placement, sketch.size)) for k in (1, -1))
        inside = regions.inside_mask() & ~regions.lines
        paper = paper_mask(Image.open(folder / flat / path.name))
        rows.append({
            "name": path.stem, "regions": regions.count,
            f"purity {flat}": region_purity(out.images[1], regions),
            f"purity {flat} (network)": region_purity(net_flat, regions),
            f"tint {flat}": paper_tint(out.images[1], paper), f"tint {detail}": paper_tint(out.images[-1], paper),
            f"tint {flat} (network)": paper_tint(net_flat, paper),
            f"tint {detail} (network)": paper_tint(net_detail, paper),
            f"ΔE {flat}": region_delta_e(out.colours[1], net_flat, regions),
            f"ΔE {detail}": region_delta_e(out.colours[-1], net_detail, regions),
            # NaN where the drawing has no inside region (it reaches the picture's edge, e.g. a flag).
            "chroma shift": shift(out.colours[-1], out.colours[1], inside),
            "chroma shift (network)": shift(net_detail, net_flat, inside),
            "Δab": shift(out.colours[-1], out.colours[1], inside, shading_matched=False),
            "Δab (network)": shift(net_detail, net_flat, inside, shading_matched=False),
        })
        pictures.append((path.stem, sketch.convert("RGB"), Image.fromarray(net_flat), out.images[1],
                         Image.fromarray(net_detail), out.images[-1]))
    return rows, pictures


def grid(pictures: list[tuple], path: Path, columns: tuple[str, ...], cell: int = 256) -> None:
    """Rows of pictures under column titles (default run: sketch | network flat | rendered flat |
    network detail | rendered detail)."""
    head = 28
    canvas = Image.new("RGB", (cell * len(columns), head + cell * len(pictures)), "white")
    draw = ImageDraw.Draw(canvas)
    for c, title in enumerate(columns):
        draw.text((c * cell + 8, 8), title, fill="black")
    for r, (_, *images) in enumerate(pictures):
        for c, image in enumerate(images):
            canvas.paste(image.resize((cell, cell), Image.Resampling.LANCZOS), (c * cell, head + r * cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)


def zoom(pictures: list[tuple], path: Path, box=(128, 128, 384, 384), scale: int = 2) -> None:
    """The centre of the first two sketches at 1:1 (shown 2×): network flat/detail scaled up vs rendered."""
    crops = [image.crop(box) for _, _, *images in pictures[:2] for image in images]
    side = (box[2] - box[0]) * scale
    canvas = Image.new("RGB", (side * 4, side * 2), "white")
    for i, crop in enumerate(crops):
        canvas.paste(crop.resize((side, side), Image.Resampling.NEAREST), ((i % 4) * side, (i // 4) * side))
    canvas.save(path)


def parse_option(text: str, n_stages: int) -> list[str] | None:
    """A --options entry → kinds per stage (None: the network's output scaled up)."""
    if text == NETWORK:
        return None
    from artzoo.images import check_render_kinds

    return check_render_kinds([k.strip() for k in text.split(",")], n_stages)


@torch.no_grad()
def encoded_z(pipe, real: dict) -> list[torch.Tensor]:
    """Each transition's z from the real next stage (the latent encoder's mean, as decompose takes it)."""
    return [t.latent_encoder(pipe.load_image(real[i + 1], i + 1)[0])[0] for i, t in enumerate(pipe.transitions)]


def compare_kinds(pipe, folder: Path, seed: int, options: list[str], latents: str = "seed",
                  sketches: Path | None = None) -> tuple[dict, list[dict], list[tuple]]:
    """Every option on every test sketch: per colour stage ΔE to the real stage over the drawing, paper
    tint, region purity; render time. ``latents``: "seed" (sketch i sampled with seed + i) or "encoded"
    (z from the real stages, so the network aims at the real colours and ΔE measures the drawing, not
    how far a sampled palette happens to fall from the real one). Returns (per option: per-sketch rows),
    real pictures' own rows, and per sketch (name, sketch, {k: [real stage k, each option's stage k]}).
    ``sketches``: a folder of other sketches of the same pictures (same file names), used instead of the
    test split's, scaled (Lanczos) to the real stages' size."""
    stages = pipe.stages
    kinds = {o: parse_option(o, len(stages)) for o in options}
    rows = {o: [] for o in options}
    real_rows, pictures, generate_s = [], [], []
    for i, path in enumerate(sorted((folder / stages[0]).glob("*.png"))):
        real = {k: Image.open(folder / stages[k] / path.name).convert("RGB") for k in range(1, len(stages))}
        sketch = Image.open(path if sketches is None else sketches / path.name)
        if sketch.size != real[1].size:
            sketch = sketch.convert("L").resize(real[1].size, Image.Resampling.LANCZOS)
        start = time.perf_counter()
        z = None if latents == "seed" else encoded_z(pipe, real)
        wf = pipe.generate(sketch, seed=seed + i, z=z)
        generate_s.append(time.perf_counter() - start)
        regions = segment_sketch(sketch)  # the measuring stick (each option below segments for itself)
        fill = fill_mask(regions)
        outside = {k: outside_white(real[k]) for k in real}
        drawing = {k: ~outside[k] & (regions.alpha == 0) for k in real}
        # Paper: as in the default run, less the sketch's line pixels (a --sketches sketch's lines need
        # not lie exactly where the real picture's edge is; lines on the paper are not tint).
        paper = {k: ndimage.binary_erosion(outside[k], iterations=3) & (regions.alpha == 0) for k in real}
        real_rows.append({"regions": regions.count, **{f"purity {stages[k]}": region_purity(real[k], regions, fill)
                                                       for k in real}})
        shown = {k: [real[k]] for k in real}
        for option, option_kinds in kinds.items():
            start = time.perf_counter()
            if option_kinds is None:
                images = [None] + [scaled_up(wf.images[k], wf.placement, sketch.size) for k in real]
            else:
                images = render_stages(sketch, wf.images, wf.placement, option_kinds).images
            seconds = time.perf_counter() - start
            row = {"name": path.stem, "render (s)": seconds}
            for k in real:
                picture = np.asarray(images[k])
                ours, theirs = rgb_to_lab(as_rgb(picture)[drawing[k]]), rgb_to_lab(as_rgb(real[k])[drawing[k]])
                row[f"ΔE {stages[k]}"] = float(delta_e(ours, theirs).mean())
                row[f"tint {stages[k]}"] = paper_tint(picture, paper[k])
                row[f"purity {stages[k]}"] = region_purity(picture, regions, fill)
                shown[k].append(images[k] if isinstance(images[k], Image.Image) else Image.fromarray(picture))
            rows[option].append(row)
        pictures.append((path.stem, sketch.convert("RGB"), shown))
    print(f"generation at {pipe.image_size} px, z {latents} (the same for every option): "
          f"{statistics.median(generate_s):.3f} s per sketch (median)\n")
    return rows, real_rows, pictures


def kinds_table(rows: dict, real_rows: list[dict], stages: list[str]) -> list[dict]:
    """One row per option: means over the sketches (purity also its minimum), render time median."""
    colour = stages[1:]
    out = [{"option": "real stages (reference)",
            **{f"ΔE {s}": "—" for s in colour}, **{f"tint {s}": "—" for s in colour},
            **{f"purity {s} (min)": f"{np.mean([r[f'purity {s}'] for r in real_rows]):.3f} "
                                    f"({min(r[f'purity {s}'] for r in real_rows):.3f})" for s in colour},
            "render (s)": "—"}]
    for option, option_rows in rows.items():
        mean = lambda key: float(np.mean([r[key] for r in option_rows]))  # noqa: E731
        out.append({"option": f"`{option}`" if option != NETWORK else "network, scaled up (no rendering)",
                    **{f"ΔE {s}": mean(f"ΔE {s}") for s in colour},
                    **{f"tint {s}": mean(f"tint {s}") for s in colour},
                    **{f"purity {s} (min)": f"{mean(f'purity {s}'):.3f} "
                                            f"({min(r[f'purity {s}'] for r in option_rows):.3f})" for s in colour},
                    "render (s)": statistics.median(r["render (s)"] for r in option_rows)})
    return out


def per_sketch_table(rows: dict, real_rows: list[dict], stages: list[str]) -> list[dict]:
    """ΔE of each colour stage per sketch and option (stage 1 / stage 2 / …)."""
    options = list(rows)
    out = []
    for j, real in enumerate(real_rows):
        row = {"sketch": rows[options[0]][j]["name"], "regions": real["regions"]}
        for option in options:
            row[option] = tuple(rows[option][j][f"ΔE {s}"] for s in stages[1:])
        out.append(row)
    return out


def kinds_grid(pictures: list[tuple], path: Path, stages: list[str], options: list[str], rows: int,
               cell: int = 160) -> None:
    """sketch | real stage 1 | each option's stage 1 | real stage 2 | … for ``rows`` sketches spread over
    the test set, and the centre of the first of them at 1:1 beside it (name + "_zoom")."""
    label = lambda o: "network, scaled up" if o == NETWORK else o.replace(",", ", ")  # noqa: E731
    columns = ["sketch"]
    for s in stages[1:]:
        columns += [f"real {s}"] + [f"{s}: {label(o)}" for o in options]
    picks = [pictures[round(j)] for j in np.linspace(0, len(pictures) - 1, min(rows, len(pictures)))]
    head = 40
    canvas = Image.new("RGB", (cell * len(columns), head + cell * len(picks)), "white")
    draw = ImageDraw.Draw(canvas)
    for c, title in enumerate(columns):
        words = title.split(": ")
        for line, text in enumerate(words if len(words) > 1 else [title]):
            draw.text((c * cell + 6, 6 + 14 * line), text + (":" if line == 0 and len(words) > 1 else ""),
                      fill="black")
    for r, (_, sketch, shown) in enumerate(picks):
        images = [sketch] + [image for k in sorted(shown) for image in shown[k]]
        for c, image in enumerate(images):
            canvas.paste(image.resize((cell, cell), Image.Resampling.LANCZOS), (c * cell, head + r * cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)
    # 1:1: of the picked sketches, the one with the most line, in its quarter-size window with the most line
    # (lines, their edges and the paper beside them are what the renders differ in), one row per stage.
    ink = [np.asarray(sketch.convert("L")) < 128 for _, sketch, _ in picks]
    best = int(np.argmax([d.sum() for d in ink]))
    (_, sketch, shown), dark = picks[best], ink[best]
    side, step = sketch.width // 2, max(1, sketch.width // 16)
    corners = [(x, y) for y in range(0, sketch.height - side + 1, step)
               for x in range(0, sketch.width - side + 1, step)]
    x, y = max(corners, key=lambda c: dark[c[1]:c[1] + side, c[0]:c[0] + side].sum())
    box = (x, y, x + side, y + side)
    zoom_canvas = Image.new("RGB", (side * (1 + len(options)), head + side * len(shown)), "white")
    draw = ImageDraw.Draw(zoom_canvas)
    for c, title in enumerate(["real"] + [label(o) for o in options]):
        draw.text((c * side + 6, 6), title, fill="black")
    for r, k in enumerate(sorted(shown)):
        for c, image in enumerate(shown[k]):
            zoom_canvas.paste(image.crop(box), (c * side, head + r * side))
        draw.text((6, head + r * side + 6), stages[k], fill="black")
    zoom_canvas.save(path.with_name(path.stem + "_zoom.png"), optimize=True)


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
    kinds = pipe.render_kinds
    upload = np.asarray(render_stages(big, wf.images, wf.placement, kinds).images[-1])
    return {
        "peak RSS before (MB)": rss_before,
        "segment 512 (s)": timed(lambda: segment(np.asarray(sketch)), repeat),
        "all stages 512 (s)": timed(lambda: render_stages(sketch, wf.images, wf.placement, kinds), repeat),
        "segment 2048 (s)": timed(lambda: segment(np.asarray(big)), max(1, repeat // 3)),
        "all stages 2048 (s)": timed(lambda: render_stages(big, wf.images, wf.placement, kinds),
                                     max(1, repeat // 3)),
        # An edit that changes every pixel of a 2048 px upload (the worst case for apply_change).
        "edit 2048 (s)": timed(lambda: apply_change(upload, wf.images[-1], wf.images[-1] * 0.8, wf.placement),
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
    parser.add_argument("--pipeline", default="fluent-emoji", help="a pipeline folder or a zoo name")
    parser.add_argument("--data", type=Path, default=Path("data/fluent-emoji-512/test"),
                        help="the 512 px data: the built folder or its test split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--grid", type=Path, help="write the before/after grid here")
    parser.add_argument("--grid-rows", type=int, default=None, help="sketches in the grid (default 8; 4 with "
                        "--compare-kinds)")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--compare-kinds", action="store_true",
                        help="compare render-kind choices (--options) instead of the default run")
    parser.add_argument("--options", nargs="+", default=list(DEFAULT_OPTIONS),
                        help=f"kinds per stage, comma-separated, or '{NETWORK}' (default: %(default)s)")
    parser.add_argument("--latents", nargs="+", choices=("seed", "encoded"), default=["seed", "encoded"],
                        help="--compare-kinds: z sampled with seed + i, and/or encoded from the real stages; "
                        "the grid (and zoom) of the first, the others' beside it with _<latents> added")
    parser.add_argument("--sketches", type=Path, help="--compare-kinds: the same pictures' sketches from this "
                        "folder instead (e.g. a smaller build's test/sketch), scaled to the data's size")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.pipeline)
    folder = split_folder(args.data)
    sketches = sorted((folder / pipe.stages[0]).glob("*.png"))
    if not sketches:
        sys.exit(f"no sketches in {folder / pipe.stages[0]}: build them first (see the docstring)")
    print(f"{args.threads} thread(s), {os.cpu_count()} CPU cores, torch {torch.__version__}; pipeline "
          f"{args.pipeline} ({' → '.join(pipe.stages)}, {pipe.image_size} px, render kinds {pipe.render_kinds}); "
          f"{len(sketches)} sketches in {folder}\n")
    if args.compare_kinds:
        for latents in args.latents:
            rows, real_rows, pictures = compare_kinds(pipe, folder, args.seed, args.options, latents, args.sketches)
            what = (f"sketch i sampled with seed {args.seed} + i" if latents == "seed"
                    else "z encoded from the real stages")
            what += f", sketches from {args.sketches} scaled to the real stages' size" if args.sketches else ""
            print(f"Render kinds over {len(sketches)} held-out sketches at {Image.open(sketches[0]).width} px, "
                  f"{what} (means; ΔE CIE76 to the real stage over the drawing, line pixels excluded; tint: share "
                  "of the paper > ΔE 5 from white; purity: mean (min); render: median s per sketch)\n")
            print(table(kinds_table(rows, real_rows, pipe.stages)) + "\n")
            print("ΔE per sketch (" + " / ".join(pipe.stages[1:]) + ")\n")
            print(table(per_sketch_table(rows, real_rows, pipe.stages)) + "\n")
            if args.grid:
                path = args.grid if latents == args.latents[0] else args.grid.with_stem(f"{args.grid.stem}_{latents}")
                kinds_grid(pictures, path, pipe.stages, args.options, args.grid_rows or 4)
                print(f"wrote {path} and {path.stem}_zoom.png beside it\n")
        return
    if not args.speed_only:
        rows, pictures = quality(pipe, folder, args.seed)
        mean = {k: (float(np.nanmean([r[k] for r in rows])) if not isinstance(rows[0][k], tuple)
                    else tuple(np.mean([r[k] for r in rows], axis=0)))
                for k in rows[0] if k != "name"}
        mean[f"purity {pipe.stages[1]} (min)"] = min(r[f"purity {pipe.stages[1]}"] for r in rows)
        print(f"Quality over {len(rows)} held-out sketches (means; ΔE: mean over regions / area-weighted)\n")
        print(table([{"name": "mean", **mean}]) + "\n")
        print(table(rows) + "\n")
        if args.grid:
            grid(pictures[: args.grid_rows or 8], args.grid, grid_columns(pipe.stages, pipe.image_size))
            zoom(pictures, args.grid.with_name("zoom.png"))
            print(f"wrote {args.grid} and zoom.png beside it\n")
        print(table(bad_inputs()) + "\n")
    print(table([speed(pipe, sketches[0], args.repeat)]))
    print("\n2048 px input: the first test sketch scaled up 4×. Peak RSS is the whole process's (pipeline and "
          "torch included) before and after the timed renders.")


if __name__ == "__main__":
    main()
