"""Training configs: TOML files in train/configs/, read with tomllib.

A dataset config names ``base`` (shared hyper-parameters, relative to itself) and has one table per
preset (``[cpu]``, ``[gpu]``) whose keys replace the base's: ``[cpu.generation] steps_separate = ...``.
``overrides`` ("section.key=value", value parsed as TOML) are applied last (command line, tests).
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from ..errors import ArtzooError

SECTIONS = ("data", "model", "train", "inference", "generation", "regularizer", "prior", "export")


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(path: str | Path, preset: str | None = None, overrides: list[str] = ()) -> dict:
    path = Path(path)
    raw = tomllib.loads(path.read_text())
    cfg = {}
    if "base" in raw:
        cfg = tomllib.loads((path.parent / raw.pop("base")).read_text())
    presets = {k: v for k, v in raw.items() if k not in SECTIONS and isinstance(v, dict)}
    cfg = merge(cfg, {k: v for k, v in raw.items() if k not in presets})
    if preset:
        if preset not in presets:
            raise ArtzooError(f"{path} has no preset {preset!r}; it has {sorted(presets)}")
        cfg = merge(cfg, presets[preset])
    for item in overrides:
        key, _, value = item.partition("=")
        section, _, name = key.strip().partition(".")
        if section not in SECTIONS or not name:
            raise ArtzooError(f"override {item!r}: use section.key=value with section in {SECTIONS}")
        cfg.setdefault(section, {})[name] = tomllib.loads(f"v = {value}")["v"]
    cfg["name"] = raw.get("name", path.stem)
    cfg["preset"] = preset or None
    return cfg
