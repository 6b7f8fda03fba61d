"""Command line: python -m artzoo.data list | build NAME [--size 64] [--out data/NAME] [--limit N] ..."""

import argparse
import sys
import time

from artzoo.data.build import build
from artzoo.data.recipes import RECIPES
from artzoo.errors import ArtzooError


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m artzoo.data", description="Build workflow datasets.")
    commands = main.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the recipes and their stages")
    make = commands.add_parser("build", help="build (or resume building) a dataset")
    make.add_argument("name", help="recipe name (see: python -m artzoo.data list)")
    make.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    make.add_argument("--out", help="output folder (default data/NAME)")
    make.add_argument("--limit", type=int, help="at most this many samples (chairs: exactly this many; fluent-3d: spread evenly over the names)")
    make.add_argument("--workers", type=int, help="worker processes (default: one per CPU core)")
    make.add_argument("--quiet", action="store_true", help="no progress bar")
    # Recipe options; left unset they take the recipe's default, and a recipe rejects those it lacks.
    seen = set()
    for recipe in RECIPES.values():
        for option in recipe.options:
            if option.name not in seen:
                seen.add(option.name)
                make.add_argument(f"--{option.name.replace('_', '-')}", dest=option.name, type=option.type,
                                  choices=option.choices, default=None, help=option.help)
    make.set_defaults(option_names=sorted(seen))
    return main


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "list":
            for recipe in RECIPES.values():
                print(f"{recipe.name:14} {' -> '.join(recipe.stages):32} {recipe.description}")
            return 0
        options = {name: getattr(args, name) for name in args.option_names if getattr(args, name) is not None}
        start = time.perf_counter()
        meta = build(args.name, args.out or f"data/{args.name}", size=args.size, limit=args.limit,
                     workers=args.workers, progress=not args.quiet, **options)
    except ArtzooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts = meta["counts"]
    skipped = ", ".join(f"{n} {reason}" for reason, n in meta["skipped"].items()) or "none"
    print(f"{args.name}: {counts['train']} train + {counts['test']} test samples in "
          f"{time.perf_counter() - start:.0f} s; skipped: {skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
