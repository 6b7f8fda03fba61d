"""The training loop shared by every phase: data, per-step seeding, logging, samples, checkpoints.

Data parallel through accelerate: every process builds the same pipeline (same seed), draws its own
samples, and gradients are averaged before each optimiser step, so weights stay identical.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from tqdm import tqdm

from ..errors import ArtzooError
from ..pipeline import WorkflowPipeline
from .checkpoint import latest_checkpoint, load_optimizers, read_state, replace_folder, save_checkpoint
from .history import INIT_RECORD, ORDER, inherited_phases, run_info
from .holdout import SCORE, HoldoutCheck
from .phases import PHASES, cpu_info
from .samples import sample_grid

# The phases whose weights each phase starts from (the prior needs only the generators and encoders).
NEEDS = {"inference": (), "generation": ("inference",), "regularizer": ("inference", "generation"),
         "prior": ("generation",)}
KEPT = {f"{p}-{kind}" for p in ORDER for kind in ("final", "best")}  # checkpoints that outlive newer ones


def hardware() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()}, torch {torch.__version__}"
    model = cpu_info("model name") or platform.machine()
    return f"{model}, {torch.get_num_threads()} torch threads ({os.cpu_count()} CPUs visible), torch {torch.__version__}"


def open_dataset(cfg: dict, split: str):
    from artzoo.data import WorkflowDataset

    data = cfg["data"]
    ds = WorkflowDataset(data["root"], split=split, flip=split == "train" and data["flip"],
                         alt_prob=data["alt_prob"] if split == "train" else 0.0,
                         preload=data.get("preload", False) and split == "train")
    if ds.size != cfg["model"]["image_size"]:
        raise ArtzooError(f"{data['root']} holds {ds.size} px images but the model is {cfg['model']['image_size']} px; "
                          "build the data at that size (python -m artzoo.data build ... --size N)")
    return ds


def build_pipeline(cfg: dict, stages: list[str], channels: list[int], init_from: str | None = None) -> WorkflowPipeline:
    m = cfg["model"]
    pipe = WorkflowPipeline.from_config(stages, channels, m["image_size"], m["preset"],
                                        skip_connections=m["skip_connections"], nz=m["nz"], discriminators=True,
                                        regularizer=True, seed=cfg["train"]["seed"], overrides=m.get("overrides"),
                                        transition_overrides=m.get("transition_overrides"))
    if init_from:
        # Warm start: published pipelines may lack discriminators/regulariser; those stay fresh.
        # Stage names may differ (transfer from another data set, e.g. fluent-emoji's flat →
        # fluent-3d's rough): what must agree is the chain's shape, so every tensor fits.
        src = WorkflowPipeline.from_pretrained(init_from)
        if src.channels != pipe.channels:
            raise ArtzooError(f"{init_from} models stages {src.stages} with channels {src.channels}, "
                              f"the data has {pipe.stages} with channels {pipe.channels}")
        fresh = set(cfg["train"].get("init_fresh") or [])
        named = {f"{kind}_{i}" for i, t in enumerate(src.transitions) for kind in t.components()}
        if fresh - named:
            raise ArtzooError(f"train.init_fresh names {sorted(fresh - named)}, which {init_from} does not have "
                              f"(it has {sorted(named)})")
        for i, (t_src, t_dst) in enumerate(zip(src.transitions, pipe.transitions)):
            dst = t_dst.components()
            for kind, module in t_src.components().items():
                if f"{kind}_{i}" in fresh:
                    continue
                if kind == "regularizer" and module.config.num_params != t_dst.generator.num_adain_params:
                    continue  # the AdaIN vector grew (generator.modulated_decoder): θ starts fresh
                if kind in ("regularizer", "prior"):  # taken whole: their configs hold more than shapes (w's scale)
                    setattr(t_dst, kind, module)
                else:
                    dst[kind].load_state_dict(module.state_dict())
        pipe.info = src.info  # until export replaces it: what the source was trained with
    return pipe


def batch_of(ds, indices) -> list[torch.Tensor]:
    return [torch.stack(s) for s in zip(*(ds[int(i)] for i in indices))]


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop checkpoints and leaves at the end of the current step."""

    def __init__(self):
        self.signal = None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        self.signal = signum


def _open_run(cfg: dict, run_dir: Path, ds, init_from: str | None, main: bool) -> tuple[WorkflowPipeline, dict, Path | None]:
    """The pipeline to train (the run's latest checkpoint, or a new/warm-started one), the run's state
    and that checkpoint."""
    ckpt = latest_checkpoint(run_dir)
    if ckpt is not None:
        if init_from:
            raise ArtzooError(f"{run_dir} already has checkpoints: --init-from only starts a new run")
        return WorkflowPipeline.from_pretrained(ckpt / "pipeline"), read_state(ckpt), ckpt
    pipe = build_pipeline(cfg, list(ds.stages), list(ds.channels), init_from)
    if init_from and main:  # the export's model card counts the source's training too
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = run_dir / ".init.json.tmp"
        fresh = sorted(cfg["train"].get("init_fresh") or [])  # components not taken from the source
        tmp.write_text(json.dumps({"from": str(init_from), "info": pipe.info} | ({"fresh": fresh} if fresh else {}),
                                  indent=1) + "\n")
        os.replace(tmp, run_dir / INIT_RECORD)
    return pipe, {"phases_done": [], "train_seconds": {}}, None


class _Recorder:
    """What a phase leaves in the run folder (main process only): the log, sample grids, checkpoints."""

    def __init__(self, run_dir: Path, cfg: dict, phase: str, pipe: WorkflowPipeline, optimizers: dict, state: dict,
                 fixed: list[torch.Tensor], accelerator: Accelerator, start: int, total: int):
        self.run_dir, self.cfg, self.phase, self.pipe, self.optimizers = run_dir, cfg, phase, pipe, optimizers
        self.state, self.fixed, self.accelerator, self.total = state, fixed, accelerator, total
        self.main = accelerator.is_main_process
        self.log = None
        if self.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "samples").mkdir(exist_ok=True)
            (run_dir / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
            self.log = open(run_dir / "log.jsonl", "a")
            self.write({"event": "start", "phase": phase, "step": start, "time": time.time(),
                        "processes": accelerator.num_processes, "batch_size": cfg[phase]["batch_size"],
                        "transitions": cfg[phase].get("transitions") or None,  # None: all
                        "hardware": hardware() + (f", {cfg['train']['precision']} autocast"
                                                  if phase == "generation" and cfg["train"]["precision"] != "float32" else "")})

    def write(self, record: dict, flush: bool = False) -> None:
        if self.main:
            self.log.write(json.dumps(record) + "\n")
            if flush:
                self.log.flush()

    def checkpoint(self, step: int, seconds: float, done: bool) -> None:
        if self.main:
            s = {"phase": self.phase, "step": step, "total_steps": self.total,
                 "train_seconds": {**self.state["train_seconds"], self.phase: seconds},
                 "phases_done": self.state["phases_done"] + ([self.phase] if done else []), "hardware": hardware()}
            self.log.flush()
            self.pipe.info = run_info(self.cfg, self.run_dir, s)  # a warm start from this checkpoint keeps the history
            save_checkpoint(self.run_dir, self.pipe, self.optimizers, s, keep=KEPT)
            if done:  # kept for exports and warm starts after later phases move on
                root = self.run_dir / "checkpoints"
                replace_folder(root / f"{self.phase}-final", lambda tmp: shutil.copytree(root / f"{self.phase}-{step:07d}", tmp))
        self.accelerator.wait_for_everyone()

    @property
    def best_dir(self) -> Path:
        return self.run_dir / "checkpoints" / f"{self.phase}-best"

    def best_score(self) -> float | None:
        """The best held-out score so far in this run's phase (None before the first check)."""
        state = self.best_dir / "state.json"
        return json.loads(state.read_text())[SCORE] if state.exists() else None

    def holdout(self, check: HoldoutCheck, step: int) -> None:
        """Score the weights on held-out pictures; a better score than the best so far makes them the best
        snapshot (weights only, written atomically). Main process; the others wait."""
        if self.main:
            scores = check(self.pipe)
            best = self.best_score()
            improved = best is None or scores[SCORE] < best
            self.write({"event": "holdout", "phase": self.phase, "step": step, **scores, "best": improved}, flush=True)
            if improved:
                def fill(tmp: Path) -> None:
                    self.pipe.save_pretrained(tmp / "pipeline")
                    (tmp / "state.json").write_text(json.dumps({"step": step, **scores}, indent=1) + "\n")

                replace_folder(self.best_dir, fill)
        self.accelerator.wait_for_everyone()

    def restore_best(self) -> int | None:
        """Load the best snapshot's weights into the pipeline (every process); the step it was taken at."""
        self.accelerator.wait_for_everyone()
        if not (self.best_dir / "state.json").exists():
            return None
        best = WorkflowPipeline.from_pretrained(self.best_dir / "pipeline").to(self.accelerator.device)
        self.pipe.load_state_dict(best.state_dict())
        return json.loads((self.best_dir / "state.json").read_text())["step"]

    def samples(self, step: int) -> None:
        if self.main:
            t = self.cfg["train"]
            self.pipe.eval()
            grid = sample_grid(self.pipe, [x.to(self.accelerator.device) for x in self.fixed], n_z=t["sample_z"],
                               seed=t["seed"])
            self.pipe.train()
            grid.save(self.run_dir / "samples" / f"{self.phase}-{step:07d}.png")

    def close(self) -> None:
        if self.main:
            self.log.close()


def train_phase(cfg: dict, phase_name: str, run_dir: str | Path, *, resume: bool = False,
                init_from: str | None = None, cpu: bool = False, stop_after: int | None = None) -> int:
    """Run (or continue) one phase in ``run_dir``. Returns 0 when the phase is complete, else the
    number of the signal that stopped it (or -1 for ``stop_after``: tests simulating a kill)."""
    if phase_name not in PHASES:
        raise ArtzooError(f"unknown phase {phase_name!r}; choose from {ORDER}")
    # Without CUDA, cpu=True is what makes accelerate join torchrun's processes (gloo) instead of
    # leaving each one alone.
    accelerator = Accelerator(cpu=cpu or not torch.cuda.is_available())
    run_dir = Path(run_dir)
    tcfg = cfg["train"]
    ds = open_dataset(cfg, "train")
    fixed = batch_of(open_dataset(cfg, "test"), range(tcfg["sample_rows"]))
    pipe, state, ckpt = _open_run(cfg, run_dir, ds, init_from, accelerator.is_main_process)
    missing = [p for p in NEEDS[phase_name] if p not in state["phases_done"] + inherited_phases(run_dir, cfg)]
    if missing and not init_from:
        accelerator.print(f"warning: phase(s) {missing} not run in {run_dir}; {phase_name} starts from their current weights")
    if phase_name in state["phases_done"]:
        accelerator.print(f"{phase_name}: already complete in {run_dir}")
        return 0
    pipe.to(accelerator.device).train()
    phase = PHASES[phase_name](pipe, cfg, accelerator)
    start = 0
    if ckpt is not None and state.get("phase") == phase_name:
        if not resume:
            raise ArtzooError(f"{run_dir} has a partial {phase_name} run (step {state['step']}); pass --resume to "
                              "continue it, or use another --run-dir")
        load_optimizers(ckpt, phase.optimizers)
        start = state["step"]
    total = phase.total_steps
    seconds = state["train_seconds"].get(phase_name, 0.0)
    cfg = {**cfg, "train": {**tcfg, "precision": phase.precision}}  # "auto" resolved, for config.json
    stop = StopFlag()  # from here on a signal waits for the end of a step (or of a held-out check)
    record = _Recorder(run_dir, cfg, phase_name, pipe, phase.optimizers, state, fixed, accelerator, start, total)
    check, every = None, cfg[phase_name].get("holdout_every", 0) if phase_name == "generation" else 0
    if every:
        test = open_dataset(cfg, "test")
        n_check = min(cfg[phase_name]["holdout_pictures"], len(test))
        if n_check < 2:
            raise ArtzooError(f"generation.holdout_every needs at least 2 test pictures (holdout_pictures = "
                              f"{cfg[phase_name]['holdout_pictures']}, the test split has {len(test)})")
        # The split's last pictures: evaluations take the first ones, so a selected snapshot is not judged
        # on the pictures that selected it (when the split has room for both; there is no validation split).
        check = HoldoutCheck(batch_of(test, range(len(test) - n_check, len(test))), tcfg["seed"])
        if record.best_score() is None:  # the starting weights are the first candidate
            record.holdout(check, start)
    world, rank = accelerator.num_processes, accelerator.process_index
    bar = tqdm(total=total, initial=start, desc=phase_name, disable=not accelerator.is_main_process, dynamic_ncols=True)
    rate = None
    stopped = 0
    budget = cfg[phase_name].get("minutes", 0) * 60  # wall-clock cap: the phase ends early, as complete
    n = start
    run_seconds = 0.0  # this command's steps only: its pace predicts the rest
    for step in range(start, total):
        t0 = time.perf_counter()
        # Reseed every step from (seed, phase, step, process): resuming needs no saved RNG state.
        set_seed(tcfg["seed"] + ORDER.index(phase_name) * 10**8 + step * world + rank)
        if hasattr(phase, "draw"):  # a phase that serves its own batches (the prior: cached encodings)
            x = phase.draw(ds)
        else:
            x = [s.to(accelerator.device) for s in batch_of(ds, torch.randint(len(ds), (phase.batch_size,)))]
        losses = phase.step(x, step)
        dt = time.perf_counter() - t0
        seconds += dt
        run_seconds += dt
        img_s = phase.batch_size * world / dt
        rate = img_s if rate is None else 0.9 * rate + 0.1 * img_s
        n = step + 1
        # Training seconds left: the remaining steps at this command's pace, or the time budget, if sooner.
        left = (total - n) * run_seconds / (n - start)
        if budget:
            left = max(0.0, min(left, budget - seconds))
        record.write({"phase": phase_name, "step": n, "dt": round(dt, 4), "img_s": round(img_s, 2),
                      "left_s": round(left, 1), **losses}, flush=n % tcfg["log_every"] == 0)
        if n % tcfg["log_every"] == 0:
            shown = {k: f"{v:.3f}" for k, v in losses.items() if k.endswith(("l1", "recon", "w_mean"))}
            ends = time.strftime("%H:%M", time.localtime(time.time() + left))
            bar.set_postfix(shown | {"img/s": f"{rate:.1f}", "ends": ends}, refresh=False)
        bar.update(1)
        if not all(map(torch.isfinite, map(torch.tensor, losses.values()))):
            raise ArtzooError(f"{phase_name} step {n}: non-finite loss {losses}")
        flag = stop.signal or (-1 if stop_after is not None and n >= stop_after and n < total else 0)
        if world > 1:  # all processes must stop at the same step, or the others hang in a reduce
            flag = int(accelerator.reduce(torch.tensor(abs(flag), device=accelerator.device), reduction="sum").item())
        if n == total or budget and seconds >= budget:
            break
        if n % tcfg["sample_every"] == 0:
            record.samples(n)
        if check is not None and n % every == 0:
            record.holdout(check, n)
        if flag or n % tcfg["checkpoint_every"] == 0:
            record.checkpoint(n, seconds, done=False)
        if flag:
            stopped = stop.signal or -1
            break
    bar.close()
    if not stopped:
        if n < total:
            accelerator.print(f"{phase_name}: time budget reached after {n} of {total} steps")
        if check is not None:
            record.holdout(check, n)  # the last step leaves the loop before its check
            kept = record.restore_best()
            record.write({"event": "kept", "phase": phase_name, "step": kept})
            accelerator.print(f"{phase_name}: ends on its best held-out snapshot, from step {kept}")
        if hasattr(phase, "finish"):  # work on the trained weights (the prior's bank and keys)
            phase.finish(ds)
        record.samples(n)
        record.checkpoint(n, seconds, done=True)
        accelerator.print(f"{phase_name}: done, {seconds / 60:.1f} min of training")
    record.write({"event": "end" if not stopped else "stopped", "phase": phase_name, "step": n,
                  "train_seconds": seconds, "time": time.time()})
    record.close()
    return stopped
