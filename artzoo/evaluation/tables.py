"""The paper's Table 2 (reconstruction) and Table 3 (editing) for a pipeline on a built dataset, with
bootstrap intervals and a paired comparison of methods.

For each fitting method (none, latent-z optimisation, AdaIN optimisation, AdaIN + small / strong
weight decay, AdaIN + learned regulariser; the same steps and learning rate for all), on held-out
finals: L1, FD and KID of the reconstruction and seconds per image (Table 2); then the edits of
Table 3: every stage after the first is resampled in turn (``trials`` draws in all, z from N(0, I),
the same codes for every method), and the edited finals' FD is averaged over the draws.

Edit protocol. The paper's (``keep_delta=False``, the default): the resampled stage is rendered from
MLP(z) alone, without its fitted AdaIN increment Δ; the later stages keep their a + Δ — what the
learned regulariser (Algorithm 2) trains for. ``keep_delta=True`` keeps Δ at the resampled stage too
(what `WorkflowPipeline.edit` does by default, and what every results file without an
``edit_protocol`` record was made with). The results say which.

Uncertainty (`artzoo.evaluation.bootstrap`): ``bootstrap`` resamples of the held-out pictures (and,
for edit FD, of the draws within each stage), one fixed set for all methods, on cached per-picture
L1 and features (no network runs again): a bias-corrected percentile interval per number, and for
each pair in `PAIRS` evaluated in one run the difference (same pictures, same edits) with its
interval and whether it excludes 0. A simulation on fluent-emoji features (held-out sets of 64 and
256 drawn from 1172 real finals) found the paired-difference intervals about right (95% nominal:
0.96–1.00 coverage, width within 1.25× of the true spread), a single FD's interval conservative
(1.4–1.6× too wide: a resample repeats pictures, which FD feels more than a mean does).

FD uses `artzoo.metrics`' offline default extractor unless an Inception-v3 extractor with the
standard FID weights is passed (only then are values comparable to published FIDs). KID is the
unbiased MMD² against every training final (``kid``: [estimate, bootstrap standard error]; files
from before the intervals hold [mean, std] over random subsets). `train/evaluate.py` is the command
line.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from ..data import WorkflowDataset
from ..errors import ArtzooError
from ..fitting import FIT_LR, FIT_STEPS
from ..metrics import default_extractor, diversity, feature_stats
from ..pipeline import WorkflowPipeline
from .bootstrap import LEVEL, RESAMPLES, FrechetResampler, KidReference, KidResampler, interval, mean_replicates, \
    resample_counts

# Where a model card's evaluation tables go: `update_card` replaces what follows it.
METRICS_MARKER = "<!-- artzoo:metrics -->"

# name → fit() arguments; None = decompose only. A constant decay is given as a multiple of the learned
# regulariser's starting w (`starting_decay`): the decay that balances the fit's gradient, so "small" and
# "strong" mean the same for every pipeline whatever its loss scale.
METHODS = {
    "none": None,
    "latent z": dict(variable="latent"),
    "AdaIN": dict(regularizer=None),
    "AdaIN + small decay": dict(decay_multiple=1.0),
    "AdaIN + strong decay": dict(decay_multiple=100.0),
    "AdaIN + learned reg.": dict(regularizer="learned"),
}
# Short names for the command line (`select_methods`), and named sets of methods.
METHOD_ALIASES = {"none": "none", "latent": "latent z", "adain": "AdaIN", "small-decay": "AdaIN + small decay",
                  "strong-decay": "AdaIN + strong decay", "learned": "AdaIN + learned reg."}
METHOD_SETS = {"core": ("none", "AdaIN", "AdaIN + learned reg."), "all": tuple(METHODS)}
# Paired comparisons (method, baseline), reported when both were evaluated in the same run.
PAIRS = (("AdaIN + learned reg.", "AdaIN"), ("AdaIN", "none"))
# Per-method quantities with bootstrap replicates, as (results key, label in the paired comparison).
_PAIRED = (("edit_fd", "edit FD"), ("l1", "recon L1"), ("fd", "recon FD"))


def select_methods(spec: str | None, default: str = "core") -> dict:
    """METHODS restricted to a comma-separated list of method names, short names (METHOD_ALIASES) or
    sets (METHOD_SETS: "core" = none, AdaIN, AdaIN + learned reg.; "all"), in METHODS order."""
    chosen = set()
    for item in (spec or default).split(","):
        key = item.strip()
        if key in METHODS:
            chosen.add(key)
        elif key.lower() in METHOD_ALIASES:
            chosen.add(METHOD_ALIASES[key.lower()])
        elif key.lower() in METHOD_SETS:
            chosen.update(METHOD_SETS[key.lower()])
        else:
            raise ArtzooError(f"unknown method {key!r}; choose from {list(METHODS)}, the short names "
                              f"{list(METHOD_ALIASES)} or the sets {list(METHOD_SETS)}")
    return {m: METHODS[m] for m in METHODS if m in chosen}


def starting_decay(pipe: WorkflowPipeline) -> float:
    """The learned regulariser's w before meta-learning (geometric mean over transitions): the decay that
    balanced the fit's gradient when the regulariser phase calibrated it; 1e-3 (scale 0.01, the paper's
    init) for pipelines trained before calibration or without a regulariser."""
    regs = [t.regularizer for t in pipe.transitions if t.regularizer is not None]
    if not regs:
        return 1e-3
    return float(np.exp(np.mean(np.log([r.starting_w for r in regs]))))


def fit_arguments(pipe: WorkflowPipeline, method: dict) -> dict:
    """A METHODS entry as `WorkflowPipeline.fit` arguments (a decay multiple becomes its value)."""
    method = dict(method)
    if "decay_multiple" in method:
        method["regularizer"] = method.pop("decay_multiple") * starting_decay(pipe)
    return method


def edit_plan(n_stages: int, trials: int, seed: int) -> list[tuple[int, int]]:
    """(resampled stage, z seed) per edit draw: stages 1 … n_stages - 1 in turn, so every stage after
    the first gets its share of the draws."""
    gen = torch.Generator().manual_seed(seed)
    return [(1 + t % (n_stages - 1), int(torch.randint(2**31, (), generator=gen))) for t in range(trials)]


def load_stage(root: Path, split: str, stage_index: int, limit: int | None) -> torch.Tensor:
    """One stage of a split as an (N, C, S, S) tensor in [-1, 1] (first ``limit`` ids, sorted)."""
    ds = WorkflowDataset(root, split)
    n = len(ds) if limit is None else min(limit, len(ds))
    return torch.stack([ds[i][stage_index] for i in range(n)])


def batches(x: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i:i + size]


def evaluate(pipe: WorkflowPipeline, data: Path, *, limit: int | None = 256, train_limit: int | None = 2000,
             steps: int = FIT_STEPS, lr: float = FIT_LR, trials: int = 10, batch_size: int = 16, seed: int = 0,
             extractor=None, methods: dict | None = None, keep: int = 0, keep_delta: bool = False,
             bootstrap: int = RESAMPLES) -> dict:
    """All metrics as a dict (JSON-ready); ``keep`` > 0 also returns, under "_examples", each method's
    fitted workflow of the first batch and its edits (one per draw).

    ``trials``: edit draws in all, the stages after the first resampled in turn; ``keep_delta``: the
    edit protocol (False: the paper's, see the module docstring); ``bootstrap``: resamples for the
    intervals and the paired comparisons; ``seed`` fixes the draws' z and the resamples. Rows fit
    independently, so ``batch_size`` changes only the speed: on one CPU thread 16 pictures at a time
    fit ~25% faster per picture than 64 (fluent-emoji, 64 px).
    """
    started = time.perf_counter()
    extractor = extractor or default_extractor()
    methods = METHODS if methods is None else methods
    if any(m and m.get("regularizer") == "learned" for m in methods.values()) and pipe.transitions[0].regularizer is None:
        methods = {k: v for k, v in methods.items() if not (v and v.get("regularizer") == "learned")}
    if trials < 1 or bootstrap < 1:
        raise ArtzooError(f"need ≥ 1 edit draw and ≥ 1 bootstrap resample, got {trials} and {bootstrap}")
    last = len(pipe.stages) - 1
    test = load_stage(data, "test", last, limit)
    n = len(test)
    if n < 2:
        raise ArtzooError(f"{data} has {n} held-out picture(s); FD needs ≥ 2")
    train_feats = extractor.extract(load_stage(data, "train", last, train_limit))
    train_stats = feature_stats(train_feats, extractor.name)
    kid_reference = KidReference(train_feats)
    test_feats = extractor.extract(test)

    plan = edit_plan(len(pipe.stages), trials, seed)
    # One code per held-out picture and draw, shared by every method (the paired comparison's "same
    # edits"); the paper's protocol draws z from N(0, I), whatever prior the pipeline ships.
    edit_z = [pipe.sample_z(z_seed, n=n, transition=stage - 1, prior="normal") for stage, z_seed in plan]
    rng = np.random.default_rng(seed)
    pictures = resample_counts(n, bootstrap, rng)  # the same resampled pictures for every number
    draws = resample_counts([stage for stage, _ in plan], bootstrap, rng)  # draws, within each stage

    lower, lower_kid = FrechetResampler(test_feats, train_stats), KidResampler(test_feats, kid_reference)
    lower_kid_reps = lower_kid.replicates(pictures)
    stage_names = [pipe.stages[stage] for stage, _ in plan]
    results = {"stages": pipe.stages, "image_size": pipe.image_size, "extractor": extractor.name,
               "n_test": n, "n_train": len(train_feats), "steps": steps, "lr": lr, "trials": trials,
               "perceptual": pipe.perceptual.name,
               "edit_protocol": {"name": "keep-delta" if keep_delta else "paper", "keep_delta": keep_delta,
                                 "prior": "normal", "draws": trials, "stages": stage_names,
                                 "same_z_for_every_method": True},
               "bootstrap": {"resamples": bootstrap, "seed": seed, "level": LEVEL,
                             "interval": "bias-corrected percentile",
                             "resampled": "held-out pictures, the same resamples for every method; for edit FD "
                                          "also the draws within each stage"},
               "lower_bound_fd": lower.point(),
               "lower_bound_fd_ci": interval(lower.replicates(pictures), lower.point()),
               "lower_bound_kid": [lower_kid.point(), float(np.nanstd(lower_kid_reps))],
               "lower_bound_kid_ci": interval(lower_kid_reps, lower_kid.point()),
               "methods": {}}
    examples, replicates = {}, {}
    for name, fit_args in methods.items():
        finals, l1s, edited = [], [], [[] for _ in plan]
        seconds = edit_seconds = 0.0
        for b, x in enumerate(batches(test, batch_size)):
            rows = slice(b * batch_size, b * batch_size + len(x))
            t0 = time.perf_counter()
            wf = pipe.decompose(x)
            if fit_args is not None:
                wf = pipe.fit(wf, steps=steps, lr=lr, **fit_arguments(pipe, fit_args))
            seconds += time.perf_counter() - t0
            finals.append(wf.images[-1])
            l1s.append((wf.images[-1] - x).abs().flatten(1).mean(1))
            t0 = time.perf_counter()
            edits = [pipe.edit(wf, stage, z=z[rows], keep_delta=keep_delta) for (stage, _), z in zip(plan, edit_z)]
            edit_seconds += time.perf_counter() - t0
            for trial, e in enumerate(edits):
                edited[trial].append(e.images[-1])
            if b == 0 and keep:
                examples[name] = (wf, edits)
        l1 = torch.cat(l1s).double().numpy()
        recon_feats = extractor.extract(torch.cat(finals))
        fd, kid_ = FrechetResampler(recon_feats, train_stats), KidResampler(recon_feats, kid_reference)
        edit_fd = [FrechetResampler(extractor.extract(torch.cat(e)), train_stats) for e in edited]
        edit_fds = [r.point() for r in edit_fd]
        point = {"l1": float(l1.mean()), "fd": fd.point(), "kid": kid_.point(), "edit_fd": float(np.mean(edit_fds))}
        reps = {"l1": mean_replicates(l1, pictures), "fd": fd.replicates(pictures), "kid": kid_.replicates(pictures),
                "edit_fd": _edit_replicates(edit_fd, pictures, draws)}
        replicates[name] = reps
        ci = {key: interval(reps[key], point[key]) for key in reps}
        results["methods"][name] = row = {
            "l1": point["l1"], "l1_ci": ci["l1"], "fd": point["fd"], "fd_ci": ci["fd"],
            "kid": [point["kid"], float(np.nanstd(reps["kid"]))], "kid_ci": ci["kid"],
            "seconds_per_image": seconds / n, "edit_seconds_per_image": edit_seconds / n,
            "edit_fd_mean": point["edit_fd"], "edit_fd_std": float(np.std(edit_fds)), "edit_fd_ci": ci["edit_fd"],
            "edit_fds": edit_fds, "edit_stages": stage_names,
            "edit_fd_by_stage": {s: float(np.mean([f for f, t in zip(edit_fds, stage_names) if t == s]))
                                 for s in dict.fromkeys(stage_names)},
            "edit_keep_delta": keep_delta,
        }
        if fit_args and "decay_multiple" in fit_args:
            row["decay"] = fit_arguments(pipe, fit_args)["regularizer"]
        print(f"  {name:<22} L1 {row['l1']:.4f} {_ci(row['l1_ci'], 4)}  FD {row['fd']:.3f} {_ci(row['fd_ci'], 3)}  "
              f"edit FD {row['edit_fd_mean']:.3f} {_ci(row['edit_fd_ci'], 3)}  "
              f"({seconds / n:.2f} s/image fit, {edit_seconds / n:.3f} s/image edits)", file=sys.stderr)
    results["paired"] = paired_comparisons(results["methods"], replicates)
    if pipe.transitions[0].regularizer is not None:
        results["learned_w"] = learned_w_summary(pipe)
    results["diversity"] = _diversity(pipe, data, limit=min(n, 32), extractor=extractor)
    results["wall_seconds"] = time.perf_counter() - started
    if keep:
        results["_examples"] = examples
    return results


W_QUANTILES = (0.05, 0.5, 0.95)
W_NEAR_ZERO = 1e-6  # a decay this small leaves a 60-step fit free: the entry is effectively not regularised


def learned_w_summary(pipe: WorkflowPipeline) -> dict:
    """Per transition and AdaIN term (scale, bias, both): the learned decay w's 5/50/95 % quantiles, its
    mean and the share of entries below `W_NEAR_ZERO` (the paper's Figure 10 compares scale and bias)."""
    out = {}
    for k, t in enumerate(pipe.transitions):
        w = t.regularizer().detach().double()
        bias = t.generator.adain_bias_mask()
        out[f"{pipe.stages[k]}→{pipe.stages[k + 1]}"] = {
            term: {"quantiles": torch.quantile(v, torch.tensor(W_QUANTILES, dtype=v.dtype)).tolist(),
                   "mean": float(v.mean()), "near_zero": float((v < W_NEAR_ZERO).double().mean())}
            for term, v in (("scale", w[~bias]), ("bias", w[bias]), ("all", w))}
    return out


def _edit_replicates(resamplers: list[FrechetResampler], pictures: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Per resample: the mean edit FD over the resampled draws, each on the resampled pictures."""
    values = np.zeros(draws.shape)
    for t, r in enumerate(resamplers):
        used = draws[:, t] > 0
        values[used, t] = r.replicates(pictures[used])
    return (draws * values).sum(1) / draws.sum(1)


def paired_comparisons(rows: dict, replicates: dict, pairs=PAIRS) -> list[dict]:
    """For each (method, baseline) pair with replicates from the same resamples: the difference of
    edit FD, recon L1 and recon FD (method − baseline), its interval, and whether that excludes 0."""
    points = {"edit_fd": "edit_fd_mean", "l1": "l1", "fd": "fd"}
    out = []
    for method, baseline in pairs:
        if method not in replicates or baseline not in replicates:
            continue
        entry = {"method": method, "baseline": baseline}
        for key, _ in _PAIRED:
            diff = float(rows[method][points[key]] - rows[baseline][points[key]])
            lo, hi = interval(replicates[method][key] - replicates[baseline][key], diff)
            entry[key] = {"difference": diff, "ci": [lo, hi], "excludes_zero": bool(lo > 0 or hi < 0)}
        out.append(entry)
    return out


@torch.no_grad()
def _diversity(pipe: WorkflowPipeline, data: Path, limit: int, extractor, n: int = 4) -> dict:
    """Mean pairwise distance between n variations of each held-out input, per transition."""
    out = {}
    for i, t in enumerate(pipe.transitions):
        x = load_stage(data, "test", i, limit)
        z = pipe.sample_z(0, n=len(x) * n, transition=i, prior="normal")
        generated = t.generator(x.repeat_interleave(n, 0), z=z)
        score = diversity(generated.view(len(x), n, *generated.shape[1:]), extractor)
        out[f"{pipe.stages[i]}→{pipe.stages[i + 1]}"] = {"pixel_l1": score.pixel_l1, "feature_l1": score.feature_l1}
    return out


def _ci(ci, digits: int) -> str:
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _cell(value: float, ci, digits: int, scale: float = 1.0, ci_digits: int | None = None) -> str:
    text = f"{value * scale:.{digits}f}"
    if ci is not None:
        text += " " + _ci([c * scale for c in ci], digits if ci_digits is None else ci_digits)
    return text


def _protocol_line(r: dict) -> str:
    first = next(iter(r["methods"].values()), {})
    stages = r.get("edit_protocol", {}).get("stages") or first.get("edit_stages", [])
    counts = ", ".join(f"{s} ×{c}" for s, c in Counter(stages).items())
    if "edit_protocol" not in r:
        return (f"Edits: {r['trials']} trials (resampled stage per trial: {', '.join(stages)}); the resampled stage "
                "kept its fitted Δ (this file predates the paper's edit protocol).")
    p = r["edit_protocol"]
    how = ("its fitted Δ kept (not the paper's protocol)" if p["keep_delta"] else
           "rendered from MLP(z) without its fitted Δ, later stages keeping a + Δ (the paper's protocol)")
    return (f"Edits (Table 3): {p['draws']} draws ({counts}), each resampling one stage's z from N(0, I), the same "
            f"codes for every method; the resampled stage {how}. Edit FD: mean over the draws.")


def to_markdown(name: str, r: dict) -> str:
    """The tables as markdown; results files from before the intervals (no ``*_ci`` fields, no
    ``edit_protocol``) render as they always did."""
    with_ci = any("l1_ci" in m for m in r["methods"].values())
    file_keeps_delta = r.get("edit_protocol", {}).get("keep_delta", True)
    lines = [f"### {name}", "",
             f"{r['n_test']} held-out finals, {r['image_size']} px; fit: {r['steps']} steps/stage, lr {r['lr']}, "
             f"perceptual = {r['perceptual']}; FD/KID features: {r['extractor']}.", "", _protocol_line(r)]
    if "bootstrap" in r:
        b = r["bootstrap"]
        lines.append(f"[a, b]: bootstrap {b['level']:.0%} interval ({b['resamples']} resamples of the held-out "
                     f"pictures, and of the draws within each stage for edit FD; seed {b['seed']}; "
                     f"{b['interval']}).")
    edit_header = "edit FD ↓" if with_ci else "edit FD ↓ (mean ± std)"
    lines += ["", f"| method | recon L1 ↓ | recon FD ↓ | recon KID ×10³ | {edit_header} | s / image |",
              "|---|---|---|---|---|---|"]
    other_protocol = False
    for method, m in r["methods"].items():
        if "l1_ci" in m:
            cells = [_cell(m["l1"], m["l1_ci"], 4, ci_digits=3), _cell(m["fd"], m["fd_ci"], 3),
                     _cell(m["kid"][0], m["kid_ci"], 2, 1e3), _cell(m["edit_fd_mean"], m["edit_fd_ci"], 3)]
        else:
            cells = [f"{m['l1']:.4f}", f"{m['fd']:.3f}", f"{m['kid'][0] * 1e3:.2f} ± {m['kid'][1] * 1e3:.2f}",
                     f"{m['edit_fd_mean']:.3f} ± {m['edit_fd_std']:.3f}"]
        if m.get("edit_keep_delta", True) != file_keeps_delta:
            cells[3] += " †"
            other_protocol = True
        label = f"{method} (w = {m['decay']:.2g})" if "decay" in m else method
        lines.append(f"| {label} | {' | '.join(cells)} | {m['seconds_per_image']:.3f} |")
    if with_ci and not all("l1_ci" in m for m in r["methods"].values()):
        lines += ["", "Rows without intervals come from an earlier run (merged): ± is the std over its edit trials "
                      "(KID: over random subsets)."]
    if other_protocol:
        lines += ["", "† edits made under the other protocol (merged from another run): "
                      f"the resampled stage {'without' if file_keeps_delta else 'with'} its fitted Δ; not comparable."]
    for p in r.get("paired", []):
        parts = []
        for key, label in _PAIRED:
            d = p[key]
            digits = 4 if key == "l1" else 3
            parts.append(f"{label} {d['difference']:+.{digits}f} {_ci(d['ci'], digits)}"
                         f"{' (excludes 0)' if d['excludes_zero'] else ''}")
        lines += ["", f"Paired, {p['method']} − {p['baseline']} (same pictures, same edits): {'; '.join(parts)}."]
    lower_fd = f"FD {r['lower_bound_fd']:.3f}"
    if "lower_bound_fd_ci" in r:
        lower_fd += " " + _ci(r["lower_bound_fd_ci"], 3)
        lower_kid = f"KID×10³ {_cell(r['lower_bound_kid'][0], r['lower_bound_kid_ci'], 2, 1e3)}"
    else:
        lower_kid = f"KID×10³ {r['lower_bound_kid'][0] * 1e3:.2f} ± {r['lower_bound_kid'][1] * 1e3:.2f}"
    if "learned_w" in r:
        q = "/".join(f"{x:.0%}" for x in W_QUANTILES)
        lines += ["", f"Learned decay w (AdaIN + learned reg.): quantiles {q}, mean, share of entries below "
                      f"{W_NEAR_ZERO:g}.", "", "| transition | terms | quantiles | mean | near 0 |", "|---|---|---|---|---|"]
        for transition, terms in r["learned_w"].items():
            for term, d in terms.items():
                lines.append(f"| {transition} | {term} | {' / '.join(f'{x:.2g}' for x in d['quantiles'])} | "
                             f"{d['mean']:.2g} | {d['near_zero']:.1%} |")
    lines += ["", f"Lower bound (real test finals vs training finals): {lower_fd}, {lower_kid}.", "",
              "Diversity of 4 variations per held-out input (mean pairwise L1; ~0 means mode collapse):", ""]
    for transition, d in r["diversity"].items():
        lines.append(f"- {transition}: pixels {d['pixel_l1']:.3f}, features {d['feature_l1']:.3f}")
    return "\n".join(lines) + "\n"


def update_card(card: Path, table: str) -> None:
    """Replace the evaluation section's body (after the metrics marker, up to the next heading)."""
    text = card.read_text()
    if METRICS_MARKER not in text:
        raise ArtzooError(f"{card} has no {METRICS_MARKER} marker to write the results under")
    head, tail = text.split(METRICS_MARKER, 1)
    rest = tail[tail.index("\n## "):] if "\n## " in tail else "\n"
    card.write_text(f"{head}{METRICS_MARKER}\n{table}{rest}")


def write_to_card(pipeline_folder: Path, name: str, results: dict, figures: Path | None = None) -> None:
    """The tables (and, if figures were written, the decompose → fit → edit figure, copied into the
    folder so it travels with the pipeline) into the folder's model card."""
    table = to_markdown(name, results)
    if figures is not None:
        shutil.copyfile(figures / f"{name}_methods.png", pipeline_folder / "evaluation.png")
        protocol = results.get("edit_protocol")
        how = "" if protocol is None else (", rendered without its fitted Δ" if not protocol["keep_delta"] else
                                           ", keeping its fitted Δ")
        table += ("\n![decompose, fit, edit](evaluation.png)\n\n`evaluation.png`: per held-out picture (row): "
                  "the input, its inferred earlier stages, its reconstruction after fitting with each method, "
                  f"then an edit (the first draw: one stage's z resampled{how}, later stages re-rendered) after "
                  "each method's fit.\n")
    update_card(pipeline_folder / "README.md", table)


def merge_methods(previous: dict, results: dict) -> dict:
    """Rows of an earlier run (same data, seed and settings) kept beside this run's, in METHODS order.

    Earlier rows remember their edit protocol (files without a record kept Δ), so a table that mixes
    protocols marks them; paired comparisons are kept from the earlier run only for pairs this run
    neither evaluated nor replaced a row of (a pair needs both methods' resamples from one run).
    """
    earlier_keeps_delta = previous.get("edit_protocol", {}).get("keep_delta", True)
    earlier = {m: {"edit_keep_delta": earlier_keeps_delta, **row} for m, row in previous["methods"].items()}
    merged = {**earlier, **results["methods"]}
    paired = list(results.get("paired", []))
    done = {(p["method"], p["baseline"]) for p in paired}
    paired += [p for p in previous.get("paired", []) if (p["method"], p["baseline"]) not in done
               and p["method"] not in results["methods"] and p["baseline"] not in results["methods"]]
    return {**results, "methods": {m: merged[m] for m in METHODS if m in merged}, "paired": paired}
