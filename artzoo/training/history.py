"""What trained a run's weights: per phase from its log, after the runs its warm-start source records.

Every checkpoint and export carries this as the pipeline's ``info``, so a warm start from either (a
published folder or a run's checkpoint) keeps the whole chain of runs behind the weights."""

from __future__ import annotations

import json
from pathlib import Path

ORDER = ("inference", "generation", "regularizer", "prior")
INIT_RECORD = "init.json"  # in a warm-started run folder: the source pipeline and its training info


def inherited_phases(run_dir: Path, cfg: dict) -> list[str]:
    """Phases finished in the pipeline this run was warm-started from, when it was trained on the same
    data (its weights were kept; a transfer from another data set inherits no learned θ or prior)."""
    init = Path(run_dir) / INIT_RECORD
    source = (json.loads(init.read_text()).get("info") or {}) if init.exists() else {}
    return source.get("phases", []) if source.get("name") == cfg["name"] else []


def training_summary(run_dir: Path) -> dict[str, dict]:
    """Per phase, from the run's log.jsonl: steps reached, seconds spent in steps, hardware, processes,
    and the step whose weights it ended on when that was a best held-out snapshot."""
    summary: dict[str, dict] = {}
    log = Path(run_dir) / "log.jsonl"
    if not log.exists():
        return summary
    for line in log.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a kill
            continue
        s = summary.setdefault(rec["phase"], {"steps": 0, "seconds": 0.0, "hardware": set(), "processes": 1})
        if rec.get("event") == "start":
            s["hardware"].add(rec["hardware"])
            s["processes"] = rec["processes"]
            s["batch_size"] = rec.get("batch_size")
            if rec.get("transitions"):  # a phase that trained some transitions only
                s["transitions"] = rec["transitions"]
        elif rec.get("event") == "kept":  # the phase ended on its best held-out snapshot (training/holdout.py)
            s["kept_step"] = rec["step"]
        elif "dt" in rec:  # steps redone after a kill count too: they were computed
            s["steps"] = max(s["steps"], rec["step"])
            s["seconds"] += rec["dt"]
            if s.get("batch_size") is None:  # logs from before the start event recorded the batch
                s["batch_size"] = round(rec["img_s"] * rec["dt"] / s["processes"])
    for s in summary.values():
        s["hardware"] = sorted(s["hardware"])
    return summary


def training_history(run_dir: Path, summary: dict) -> list[dict]:
    """Every run that trained these weights, oldest first: a warm-started run (``--init-from``) is
    preceded by the runs its source pipeline records. Per run and phase: steps, minutes, batch, hardware."""
    this = {"from": None, "phases": {
        phase: {"steps": s["steps"], "minutes": round(s["seconds"] / 60, 1), "batch_size": s["batch_size"],
                "processes": s["processes"], "hardware": s["hardware"]}
               | ({"kept_step": s["kept_step"]} if s.get("kept_step") is not None else {})
               | ({"transitions": s["transitions"]} if s.get("transitions") else {})
        for phase, s in summary.items() if s["steps"]}}
    init = Path(run_dir) / INIT_RECORD
    if not init.exists():
        return [this]
    record = json.loads(init.read_text())
    source = record.get("info") or {}
    # Older exports recorded only step counts.
    earlier = source.get("training") or [{"from": None, "phases": {p: {"steps": n} for p, n in source.get("steps", {}).items()}}]
    return earlier + [this | {"from": record["from"]} | ({"fresh": record["fresh"]} if record.get("fresh") else {})]


def run_info(cfg: dict, run_dir: Path, state: dict) -> dict:
    """The pipeline's ``info`` for weights at ``state`` (a checkpoint's phase, step and finished phases):
    name, licence, the phases finished here or in the source, step totals and the training history."""
    summary = training_summary(run_dir)
    if state["phase"] in summary:  # the log may run ahead of the checkpoint; these weights are from here
        summary[state["phase"]]["steps"] = state["step"]
    history = training_history(run_dir, summary)
    done = [p for p in ORDER if p in state["phases_done"] or p in inherited_phases(run_dir, cfg)]
    steps = {p: sum(run["phases"].get(p, {}).get("steps", 0) for run in history) for p in ORDER}
    return {"name": cfg["name"], "preset": cfg.get("preset"), "license": cfg["export"]["license"],
            "phases": done, "steps": {p: n for p, n in steps.items() if n}, "training": history}
