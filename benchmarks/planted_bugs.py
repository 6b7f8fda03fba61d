"""Plant small, plausible bugs one at a time and count how many the tests catch.

    python benchmarks/planted_bugs.py                 # every bug, ~20-40 s each on 2 cores
    python benchmarks/planted_bugs.py --only app      # the bugs whose name contains "app"
    python benchmarks/planted_bugs.py --batch blind   # bugs written after the tests, never used to add one
    python benchmarks/planted_bugs.py --list

Each bug is a one-line change (exact text → replacement) in a copy of the tree (`git ls-files`, in a
temporary folder: the working tree is never touched); the test files relevant to the changed module run
against that copy (`-x`, stop at the first failure) and the bug is caught when they fail. A bug whose
text is no longer in the code is reported as stale, not counted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LIBRARY = ["tests/test_pipeline.py", "tests/test_hardening_library.py"]
FILES = ["tests/test_hub.py", "tests/test_hardening_files.py", "tests/test_hardening_library.py"]
TESTS = {
    "artzoo/fitting.py": ["tests/test_fitting.py", *LIBRARY],
    "artzoo/pipeline.py": [*LIBRARY, "tests/test_hub.py"],
    "artzoo/hub.py": FILES,
    "artzoo/workflow.py": [*LIBRARY, "tests/test_hardening_files.py"],
    "artzoo/images.py": ["tests/test_images.py", *LIBRARY],
    "artzoo/models/": LIBRARY,
    "artzoo/validation.py": ["tests/test_hardening_files.py"],
    "artzoo/models/config.py": FILES,
    "artzoo/app/handlers.py": ["tests/test_hardening_outputs.py"],
    "artzoo/app/inputs.py": ["tests/test_app_helpers.py", "tests/test_hardening_app.py", "tests/test_hardening_outputs.py"],
    "artzoo/app/limits.py": ["tests/test_hardening_app.py"],
    "artzoo/__main__.py": ["tests/test_hardening_files.py", "tests/test_cli.py"],
    "artzoo/sharing.py": ["tests/test_sharing.py", "tests/test_cli.py"],
    "artzoo/app/outputs.py": ["tests/test_hardening_app.py", "tests/test_hardening_attack.py"],
}


@dataclass(frozen=True)
class Bug:
    name: str
    path: str
    old: str
    new: str

    @property
    def tests(self) -> list[str]:
        key = max((k for k in TESTS if self.path.startswith(k)), key=len)
        return TESTS[key]


BUGS = [
    # Fitting (Algorithm 1) and the learned regulariser (Algorithm 2).
    Bug("fit: decay pushes Δ away instead of back", "artzoo/fitting.py",
        "grad + decay * delta.detach()", "grad - decay * delta.detach()"),
    Bug("fit: Adam without bias correction of m", "artzoo/fitting.py", "(m / (1 - b1 ** k))", "m"),
    Bug("fit: squared error instead of L1", "artzoo/fitting.py",
        "loss = (out - self.target).abs().flatten(1).mean(1)", "loss = ((out - self.target) ** 2).flatten(1).mean(1)"),
    Bug("fit: learned decay is θ, not w = 0.01·softplus(θ)", "artzoo/fitting.py",
        "return learned().detach()", "return learned.theta.detach()"),
    Bug("fit: a weight decay of 0 refused", "artzoo/fitting.py", "if not decay >= 0 or", "if not decay > 0 or"),
    Bug("fit: regulariser applied to the first transition only", "artzoo/pipeline.py",
        "decay = fitting.decay_weights(regularizer, g.num_adain_params",
        "decay = fitting.decay_weights(regularizer if i == 0 else None, g.num_adain_params"),
    Bug("fit: every transition uses transition 0's learned θ", "artzoo/pipeline.py",
        "g.num_adain_params, t.regularizer, self.device)", "g.num_adain_params, self.transitions[0].regularizer, self.device)"),
    Bug("fit: without the perceptual term", "artzoo/pipeline.py",
        "FitObjective(wf.targets[i + 1], self.perceptual, perceptual_weight)",
        "FitObjective(wf.targets[i + 1], self.perceptual, 0.0)"),
    # The pipeline's operations.
    Bug("decompose: z from logvar instead of the mean", "artzoo/pipeline.py",
        "latent_encoder(targets[i + 1])[0]", "latent_encoder(targets[i + 1])[1]"),
    Bug("hints: the mask is ignored", "artzoo/pipeline.py", "m = hint_mask(target, mask)", "m = hint_mask(target, None)"),
    Bug("hints: the keep term covers the mask", "artzoo/pipeline.py",
        "keep = (out - current).abs() * (1 - m)", "keep = (out - current).abs() * m"),
    Bug("edit: a new z does not regenerate its own stage", "artzoo/pipeline.py",
        "self._render(wf, k if image is not None else k - 1)", "self._render(wf, k)"),
    Bug("render: the fitted increment is dropped", "artzoo/pipeline.py",
        "generator(wf.images[i], adain=wf.adain[i] + wf.delta[i])", "generator(wf.images[i], adain=wf.adain[i])"),
    Bug("by_stages: the workflow keeps the first candidate, not the chosen", "artzoo/pipeline.py",
        "adain[j:j + 1], out[j:j + 1]", "adain[j:j + 1], out[0:1]"),
    Bug("generate: one seed for every transition", "artzoo/pipeline.py",
        "self.sample_z(base + i, 1, i,", "self.sample_z(base, 1, i,"),
    Bug("load: dtype= ignored", "artzoo/pipeline.py",
        "hub.read_transitions(folder, index, dtype or torch.float32)", "hub.read_transitions(folder, index)"),
    Bug("load: device= ignored", "artzoo/pipeline.py",
        "return pipe.to(device) if device is not None else pipe", "return pipe"),
    Bug("load: revision= ignored", "artzoo/pipeline.py",
        "hub.resolve(repo_id_or_path, revision,", "hub.resolve(repo_id_or_path, None,"),
    Bug("save: dtype= (fp16) ignored", "artzoo/pipeline.py",
        "components, dtype=dtype, extra_files=extra)", "components, dtype=None, extra_files=extra)"),
    Bug("save: discriminators always written", "artzoo/pipeline.py",
        "if kind in DISCRIMINATORS and not include_discriminators:",
        "if kind in DISCRIMINATORS and include_discriminators is None:"),
    Bug("reconstruction error on the wrong stage", "artzoo/pipeline.py",
        "F.l1_loss(workflow.images[-1], workflow.targets[-1])", "F.l1_loss(workflow.images[-2], workflow.targets[-2])"),
    # Pipeline folders and the Hub.
    Bug("save: the fp16 cast applied to non-float tensors only", "artzoo/hub.py",
        "if dtype is not None and value.is_floating_point():", "if dtype is not None and not value.is_floating_point():"),
    Bug("save: the replaced folder is left behind", "artzoo/hub.py",
        "            shutil.rmtree(backup)\n    except BaseException:", "            pass\n    except BaseException:"),
    Bug("hub: weights not in the download patterns", "artzoo/hub.py",
        '"*/config.json", "*/model.safetensors", ', '"*/config.json", '),
    Bug("load: weight shapes compared by rank only", "artzoo/hub.py",
        "if shape != expected[key]:", "if len(shape) != len(expected[key]):"),
    Bug("index: a component of a transition past the last accepted", "artzoo/hub.py",
        "int(i) >= n - 1", "int(i) > n - 1"),
    Bug("config: only the lower bound checked", "artzoo/models/config.py",
        "not limits[0] <= value <= limits[1]", "not limits[0] <= value"),
    # Workflows.
    Bug("workflow: saved in half precision", "artzoo/workflow.py",
        'tensors[f"{name}.{i}"] = t.detach().float().contiguous()',
        'tensors[f"{name}.{i}"] = t.detach().half().float().contiguous()'),
    Bug("workflow: targets dropped on load", "artzoo/workflow.py",
        'targets=series("targets") or None', "targets=None"),
    Bug("workflow: copies share their increments", "artzoo/workflow.py", "delta=clone(self.delta)", "delta=self.delta"),
    Bug("validation: placement box unbounded", "artzoo/validation.py",
        'placement["box"], f"{what}: placement box", 4, 0, image_size)',
        'placement["box"], f"{what}: placement box", 4, 0, MAX_PIXELS)'),
    Bug("validation: workflow batch unbounded", "artzoo/validation.py",
        "not 1 <= shape[0] <= MAX_BATCH", "not 1 <= shape[0]"),
    # Pictures in and out.
    Bug("images: placement box transposed", "artzoo/images.py",
        "left, top = (size - nw) // 2, (size - nh) // 2", "left, top = (size - nh) // 2, (size - nw) // 2"),
    Bug("images: pixels scaled to [0, 1] instead of [-1, 1]", "artzoo/images.py", "/ 127.5 - 1.0", "/ 255.0"),
    Bug("images: hint threshold too high", "artzoo/images.py",
        "rgb.max(0).values - rgb.min(0).values > 0.25", "rgb.max(0).values - rgb.min(0).values > 0.75"),
    Bug("images: transparency composited on black", "artzoo/images.py",
        'Image.new("RGBA", rgba.size, (255, 255, 255, 255))', 'Image.new("RGBA", rgba.size, (0, 0, 0, 255))'),
    # The networks.
    Bug("AdaIN: scale without the +1", "artzoo/models/layers.py",
        "x * (1 + scale[:, :, None, None])", "x * scale[:, :, None, None]"),
    Bug("latent encoder: (logvar, mu) swapped", "artzoo/models/encoder.py",
        "return self.mu(h), self.logvar(h)", "return self.logvar(h), self.mu(h)"),
    Bug("regulariser: softplus without its β", "artzoo/models/regularizer.py",
        "F.softplus(self.theta, beta=self.config.beta)", "F.softplus(self.theta)"),
    # The app.
    Bug("app: fit ignores its steps", "artzoo/app/handlers.py",
        "return self._fit(s, regularizer, weight_decay, int(steps), progress)",
        "return self._fit(s, regularizer, weight_decay, DEFAULT_FIT_STEPS, progress)"),
    Bug("app: paint does nothing", "artzoo/app/handlers.py",
        "current=pipe.edit(s.current, k, image=picture))", "current=s.current)"),
    Bug("app: the final picture is not the chosen candidate", "artzoo/app/handlers.py",
        "chosen[k - 1] = j", "chosen[k - 1] = 0"),
    Bug("app: hints ignore the painted layers", "artzoo/app/handlers.py",
        "mask = editor_mask(painting, pipe.image_size)", "mask = None"),
    Bug("app: resample ignores the strength", "artzoo/app/handlers.py",
        "z = pipe.interpolate(s.base.z[k - 1], new, float(strength))", "z = pipe.interpolate(s.base.z[k - 1], new, 1.0)"),
    Bug("app: the hint mask is not placed like the picture", "artzoo/app/inputs.py",
        "fitted, _ = fit_square(strokes, size)", "fitted = strokes.resize((size, size))"),
    Bug("app: canvas layer index unbounded", "artzoo/app/inputs.py",
        "0 <= index < MAX_LAYERS", "0 <= index"),
    Bug("app: canvas pixel count unchecked", "artzoo/app/inputs.py",
        "        if pixels > MAX_PIXELS:\n            return _too_big(pixels)",
        "        if pixels > 100 * MAX_PIXELS:\n            return _too_big(pixels)"),
    Bug("app: a client may queue two heavy jobs", "artzoo/app/limits.py", "if mine >= per_client:", "if mine > per_client:"),
    # The command line.
    Bug("CLI: --regularizer ignored", "artzoo/__main__.py",
        "regularizer=args.regularizer)", "regularizer=None)"),
    Bug("CLI: --seed ignored", "artzoo/__main__.py", "seed=args.seed, prior", "seed=0, prior"),
    Bug("CLI: a.png and a.jpg share a folder", "artzoo/__main__.py",
        "names = [safe(f.name) if names.count(n) > 1 else n for f, n in zip(files, names)]", "names = list(names)"),
    Bug("CLI: edit --strength ignored", "artzoo/__main__.py", "z = pipe.interpolate(wf.z[k - 1], new, args.strength)",
        "z = pipe.interpolate(wf.z[k - 1], new, 1.0)"),
]


# A second batch, written after the tests were strengthened on the first; its first run caught 3 of 11
# (the relevant files) or 4 of 11 (13 test files), and tests were then added for the ones missed.
SECOND = [
    Bug("second: interpolation runs backwards", "artzoo/pipeline.py",
        "return (1 - t) * z_a + t * z_b", "return t * z_a + (1 - t) * z_b"),
    Bug("second: fit's loss curve records sums, not means", "artzoo/fitting.py",
        "history.append(loss.mean().item())", "history.append(loss.sum().item())"),
    Bug("second: pictures truncated, not rounded, to 8 bits", "artzoo/images.py",
        "arr = ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)", "arr = ((t.clamp(-1, 1) + 1) * 127.5).to(torch.uint8)"),
    Bug("second: outputs not cut back to the input's box", "artzoo/images.py",
        "crop = image.crop(placement.box)", "crop = image"),
    Bug("second: ZIP entries without their stage index", "artzoo/sharing.py",
        'archive.writestr(f"{i}_{name}.png", buffer.getvalue())', 'archive.writestr(f"{name}.png", buffer.getvalue())'),
    Bug("second: workflow copies share their loss history", "artzoo/workflow.py",
        "loss_history={k: list(v) for k, v in self.loss_history.items()}", "loss_history=self.loss_history"),
    Bug("second: keep_delta inverted", "artzoo/pipeline.py", "if not keep_delta:", "if keep_delta:"),
    Bug("second: by_stages gives every transition the same seed", "artzoo/pipeline.py",
        "seeds = [int(seeds) + i for i in range(n_trans)]", "seeds = [int(seeds) for i in range(n_trans)]"),
    Bug("second: perceptual weight ignored", "artzoo/fitting.py",
        "loss = loss + self.perceptual_weight * self.perceptual(", "loss = loss + self.perceptual("),
    Bug("second: Adam's v bias-corrected with the wrong step", "artzoo/fitting.py",
        "(v / (1 - b2 ** k) + ADAM_EPS ** 2)", "(v / (1 - b2 ** (k + 1)) + ADAM_EPS ** 2)"),
    Bug("second: variations drawn from transition 0's latent size and prior", "artzoo/pipeline.py",
        "z=self.sample_z(seed, n, k, prior=prior, condition=x))", "z=self.sample_z(seed, n, 0, prior=prior, condition=x))"),
]


# A third batch, written after that and never used to add a test: how the tests do on bugs nobody aimed
# them at.
BLIND = [
    Bug("blind: float arrays in [0, 1] with a 0 read as [-1, 1]", "artzoo/images.py", "if a.min() < 0:", "if a.min() <= 0:"),
    Bug("blind: a weight-decay value scaled like the learned one", "artzoo/fitting.py",
        "return torch.full((num_params,), choice, device=device)",
        "return torch.full((num_params,), 0.01 * choice, device=device)"),
    Bug("blind: a z of the wrong size accepted", "artzoo/pipeline.py",
        "if zi.shape[-1] != nz or zi.ndim > 2:", "if zi.ndim > 2:"),
    Bug("blind: the GIF's last frame not held", "artzoo/sharing.py",
        "durations = [duration_ms] * (len(frames) - 1) + [final_hold_ms]", "durations = [duration_ms] * len(frames)"),
    Bug("blind: a repainted later stage moves the placement", "artzoo/pipeline.py",
        "if k == 0 and placement is not None:", "if placement is not None:"),
    Bug("blind: faint pictures refused as blank", "artzoo/images.py",
        "float(tensor.std()) < 1e-3", "float(tensor.std()) < 1e-1"),
    Bug("blind: 16-bit pictures scaled by the full range", "artzoo/images.py",
        "span = max(arr.max() - arr.min(), 1e-9)", "span = 65535.0"),
    Bug("blind: budgets refill per request, not per second", "artzoo/app/limits.py",
        "level + (now - then) * budget.per_s", "level + budget.per_s"),
    Bug("blind: downloads readable by everyone", "artzoo/app/outputs.py", "os.chmod(path, 0o600)", "os.chmod(path, 0o644)"),
    Bug("blind: the blob store keeps refused parts' bytes", "artzoo/app/inputs.py",
        "                item.refused = item.refused or refusal\n                return",
        "                item.refused = item.refused or refusal"),
]


def copy_tree(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    for name in files:
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def run_one(bug: Bug, tree: Path, timeout: int, tests: list[str] | None = None) -> tuple[str, float]:
    path = tree / bug.path
    original = path.read_text()
    if original.count(bug.old) != 1:
        return "stale", 0.0
    path.write_text(original.replace(bug.old, bug.new))
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    started = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                 "-W", "ignore", *(tests or bug.tests)], cwd=tree, env=env, capture_output=True, text=True,
                                timeout=timeout)
        outcome = "caught" if result.returncode != 0 else "missed"
    except subprocess.TimeoutExpired:
        outcome = "caught (timeout)"
    finally:
        path.write_text(original)
    return outcome, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="run the bugs whose name contains this text")
    parser.add_argument("--list", action="store_true", help="list the bugs and the tests each runs")
    parser.add_argument("--batch", choices=("first", "second", "blind"), default="first",
                        help="first: the main set; second: written later; blind: never used to add a test")
    parser.add_argument("--tests", nargs="+", help="run these test files for every bug instead")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per bug")
    args = parser.parse_args()
    batch = {"first": BUGS, "second": SECOND, "blind": BLIND}[args.batch]
    bugs = [b for b in batch if not args.only or args.only in b.name]
    if args.list:
        for b in bugs:
            print(f"{b.name:<62} {b.path:<26} {' '.join(Path(t).name for t in b.tests)}")
        return
    with tempfile.TemporaryDirectory(prefix="artzoo-planted-") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        results = []
        for bug in bugs:
            outcome, seconds = run_one(bug, tree, args.timeout, args.tests)
            results.append((bug, outcome))
            print(f"{outcome:<16} {seconds:5.0f} s  {bug.name}", flush=True)
    counted = [r for r in results if r[1] != "stale"]
    caught = [r for r in counted if r[1].startswith("caught")]
    print(f"\ncaught {len(caught)} of {len(counted)} planted bugs ({100 * len(caught) / max(1, len(counted)):.0f} %)"
          + (f"; {len(results) - len(counted)} stale" if len(results) != len(counted) else ""))
    for bug, outcome in counted:
        if not outcome.startswith("caught"):
            print(f"  missed: {bug.name} ({bug.path})")


if __name__ == "__main__":
    main()
