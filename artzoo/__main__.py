"""Command line: `python -m artzoo list|generate|decompose|edit ...` (also installed as `artzoo`).

generate/decompose take an image file or a folder of them (a batch shares one seed, so a series keeps
one palette) and write, per input, one PNG per stage and an animated GIF of the workflow.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .errors import ArtzooError
from .fitting import FIT_STEPS, parse_regularizer
from .pipeline import PRIORS
from .images import to_pil

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def _load_pipeline(name_or_path: str):
    from . import zoo
    from .pipeline import WorkflowPipeline

    if Path(name_or_path).is_dir():
        return WorkflowPipeline.from_pretrained(name_or_path)
    return zoo.load(name_or_path)


def _inputs(path: str) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ArtzooError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {p}")
        return files
    if not p.exists():
        raise ArtzooError(f"no such file or folder: {p}")
    return [p]


def _output_folders(files: list[Path], out: Path) -> list[Path]:
    """Where each input's results go: ``out`` itself for one input, else one folder per input named after
    it, reduced to letters, digits, '_' and '-' (so '..' or '/' can never leave ``out``) and made unique
    (a.png and a.jpg get a_png and a_jpg, never one folder both write to)."""
    if len(files) == 1:
        return [out]
    safe = lambda text: re.sub(r"[^A-Za-z0-9_-]", "_", text) or "_"  # noqa: E731
    names = [safe(f.stem) for f in files]
    names = [safe(f.name) if names.count(n) > 1 else n for f, n in zip(files, names)]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return [out / name for name in unique]


def _write(workflow, folder: Path, args, prefix: str = "") -> None:
    """One PNG per stage (at the input's own size, drawn at full resolution, unless --model-size), the
    workflow as a GIF, and with --psd a layered PSD."""
    from .sharing import workflow_gif

    folder.mkdir(parents=True, exist_ok=True)
    images = workflow.pil_images(original_size=not args.model_size)
    for k, (name, image) in enumerate(zip(workflow.stages, images)):
        image.save(folder / f"{prefix}{k}_{name}.png")
    workflow_gif(images, folder / f"{prefix}workflow.gif")
    if args.psd:
        workflow.write_psd(folder / f"{prefix}workflow.psd")
    for note in workflow.notes:
        print(f"note: {note}", file=sys.stderr)


def _checked(parse):
    """An argparse type from a parser that raises ArtzooError: its message becomes the usage error."""
    def convert(text: str):
        try:
            return parse(text)
        except ArtzooError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return convert


def _progress(files: list[Path], what: str):
    from tqdm import tqdm

    return tqdm(files, desc=what, unit="img", disable=len(files) < 2)


def cmd_list(args) -> None:
    from . import zoo

    for row in zoo.list_pipelines():
        where = row["bundled"] or f"hub: {row['repo_id']}"
        stages = " → ".join(row.get("stages", [])) or "(not bundled)"
        size = f"{row['image_size']} px" if "image_size" in row else ""
        print(f"{row['name']:<16} {stages:<40} {size:<7} {where}")


def cmd_generate(args) -> None:
    pipe = _load_pipeline(args.pipeline)
    files = _inputs(args.input)
    for f, out in zip(_progress(files, "generate"), _output_folders(files, Path(args.out))):
        wf = pipe.generate(f, seed=args.seed, prior=args.prior)
        _write(wf, out, args)
    print(f"wrote {len(files)} workflow(s) to {args.out}")


def cmd_decompose(args) -> None:
    pipe = _load_pipeline(args.pipeline)
    files = _inputs(args.input)
    for f, out in zip(_progress(files, "decompose"), _output_folders(files, Path(args.out))):
        wf = pipe.decompose(f)
        before = pipe.reconstruction_error(wf)
        if args.fit_steps:
            wf = pipe.fit(wf, steps=args.fit_steps, regularizer=args.regularizer)
        _write(wf, out, args)
        for k, (name, target) in enumerate(zip(wf.stages, wf.targets)):
            to_pil(target).save(out / f"inferred_{k}_{name}.png")
        wf.save(out / "workflow.safetensors")
        print(f"{f.name}: reconstruction L1 {before:.3f} → {pipe.reconstruction_error(wf):.3f}")
    print(f"wrote {len(files)} workflow(s) to {args.out} (edit them with `python -m artzoo edit`)")


def cmd_edit(args) -> None:
    from .workflow import Workflow

    pipe = _load_pipeline(args.pipeline)
    wf = Workflow.load(args.workflow)
    stage = int(args.stage) if args.stage.isdigit() else args.stage
    if (args.seed is None) == (args.image is None):
        raise ArtzooError("edit needs exactly one of --seed (resample the stage's z) or --image (a new picture)")
    if args.seed is not None:
        k = pipe.stage_index(stage)
        if k == 0:
            raise ArtzooError(f"stage '{pipe.stages[0]}' has no latent: use --image")
        new = pipe.sample_z(args.seed, 1, k - 1, prior=args.prior, condition=wf.images[k - 1])
        z = pipe.interpolate(wf.z[k - 1], new, args.strength)
        edited = pipe.edit(wf, stage, z=z)
    else:
        edited = pipe.edit(wf, stage, image=args.image)
    _write(edited, Path(args.out), args)
    edited.save(Path(args.out) / "workflow.safetensors")
    print(f"wrote the edited workflow to {args.out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artzoo", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="known pipelines").set_defaults(func=cmd_list)

    def prior(p):
        p.add_argument("--prior", choices=PRIORS, help="where sampled latents come from: normal (N(0, I), the "
                       "paper's), bank, learned or nearest (default: nearest when the pipeline's prior has keys, "
                       "learned when it has a prior without them, else normal)")

    def outputs(p):
        p.add_argument("--original-size", action="store_true",
                       help="write at the input's own size, drawn at full resolution (the default)")
        p.add_argument("--model-size", action="store_true",
                       help="write the networks' own pictures at model size instead (e.g. 64 px)")
        p.add_argument("--psd", action="store_true", help="also write workflow.psd: the stages and the lines as layers")

    def common(p, input_help):
        p.add_argument("input", help=input_help)
        p.add_argument("--pipeline", default="fluent-emoji", help="zoo name or pipeline folder")
        p.add_argument("--out", default="artzoo-out", help="output folder")
        outputs(p)

    g = sub.add_parser("generate", help="sketch(es) → every later stage")
    common(g, "a sketch image or a folder of them")
    g.add_argument("--seed", type=int, default=0, help="latent seed, shared by a whole folder")
    prior(g)
    g.set_defaults(func=cmd_generate)

    d = sub.add_parser("decompose", help="finished picture(s) → earlier stages, latents, fitted reconstruction")
    common(d, "an artwork image or a folder of them")
    d.add_argument("--fit-steps", type=int, default=FIT_STEPS, help="AdaIN fitting steps per stage (0: no fit)")
    d.add_argument("--regularizer", default="learned", type=_checked(parse_regularizer),
                   help="none, learned, or a weight-decay value")
    d.set_defaults(func=cmd_decompose)

    e = sub.add_parser("edit", help="change one stage of a saved workflow; later stages follow")
    e.add_argument("workflow", help="workflow.safetensors written by decompose/edit")
    e.add_argument("--pipeline", default="fluent-emoji", help="zoo name or pipeline folder")
    e.add_argument("--stage", required=True, help="stage name or index")
    e.add_argument("--seed", type=int, help="resample the stage's latent from this seed")
    e.add_argument("--strength", type=float, default=1.0, help="0 keeps the old latent, 1 uses the new one")
    prior(e)
    e.add_argument("--image", help="a new picture for the stage (e.g. a repainted flat colouring)")
    e.add_argument("--out", default="artzoo-out", help="output folder")
    outputs(e)
    e.set_defaults(func=cmd_edit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ArtzooError as e:
        print(f"artzoo: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
