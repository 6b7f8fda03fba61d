"""Pipeline folders on disk and on the Hugging Face Hub.

A pipeline folder (diffusers-like, nothing pickled):

    artzoo_pipeline.json          format version, stage names, channels, image size, component list
    generator_0/config.json       {"class": "StageGenerator", "config": {...}}
    generator_0/model.safetensors
    ...                           one folder per component; README.md (model card) optional
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from torch import nn

from . import models
from .models.presets import DISCRIMINATORS
from .errors import ArtzooError
from .tensorfile import read_tensors

INDEX_FILE = "artzoo_pipeline.json"
FORMAT_VERSION = 1
HUB_PATTERNS = [INDEX_FILE, "*/config.json", "*/model.safetensors", "README.md", "*.png"]

# Component class name → (network class, config class): the only classes a folder may name.
COMPONENT_CLASSES = {
    "StageGenerator": (models.StageGenerator, models.GeneratorConfig),
    "LatentEncoder": (models.LatentEncoder, models.LatentEncoderConfig),
    "InferenceNet": (models.InferenceNet, models.InferenceNetConfig),
    "MultiScaleDiscriminator": (models.MultiScaleDiscriminator, models.DiscriminatorConfig),
    "LearnedRegularizer": (models.LearnedRegularizer, models.RegularizerConfig),
}
# A transition's component kinds; a folder names each as "<kind>_<transition index>".
COMPONENT_KINDS = ("generator", "latent_encoder", "inference", *DISCRIMINATORS, "regularizer")


def write_folder(path: str | os.PathLike, index: dict, components: dict[str, nn.Module],
                 dtype: torch.dtype | None = None, extra_files: dict[str, bytes] | None = None) -> Path:
    """Write a pipeline folder atomically: build it in a temp dir beside the target, then rename."""
    from safetensors.torch import save_file

    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for name, module in components.items():
            folder = tmp / name
            folder.mkdir()
            config = {"class": type(module).__name__, "config": module.config.to_dict()}
            (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
            state = {}
            for key, value in module.state_dict().items():
                value = value.detach().cpu()
                if dtype is not None and value.is_floating_point():
                    value = value.to(dtype)
                state[key] = value.contiguous()
            save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
        full_index = {"format_version": FORMAT_VERSION, "library": "artzoo", **index, "components": sorted(components)}
        (tmp / INDEX_FILE).write_text(json.dumps(full_index, indent=2) + "\n")
        for name, data in (extra_files or {}).items():
            (tmp / name).write_bytes(data)
        # Swap in: an old folder is moved aside first, so a crash leaves either the old or the new one.
        backup = None
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            if backup.exists():
                shutil.rmtree(backup)
            path.rename(backup)
        tmp.rename(path)
        if backup is not None:
            shutil.rmtree(backup)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_index(folder: Path) -> dict:
    index_path = folder / INDEX_FILE
    if not index_path.is_file():
        raise ArtzooError(f"{folder} is not an artzoo pipeline folder (no {INDEX_FILE})")
    try:
        index = json.loads(index_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtzooError(f"{index_path} is corrupt ({e}); re-download or re-export the pipeline") from None
    version = index.get("format_version")
    if not isinstance(version, int):
        raise ArtzooError(f"{index_path} has no format_version: not written by artzoo")
    if version > FORMAT_VERSION:
        raise ArtzooError(f"{folder} uses pipeline format {version}, newer than this artzoo reads "
                          f"({FORMAT_VERSION}): upgrade artzoo")
    for key in ("stages", "channels", "image_size", "components"):
        if key not in index:
            raise ArtzooError(f"{index_path} lacks '{key}': not a complete artzoo pipeline index")
    return index


def read_component(folder: Path, name: str, dtype: torch.dtype = torch.float32) -> nn.Module:
    """Build one component from its config.json and load its safetensors weights (never a pickle)."""
    cdir = folder / name
    config_path, weights_path = cdir / "config.json", cdir / "model.safetensors"
    for p in (config_path, weights_path):
        if not p.is_file():
            raise ArtzooError(f"pipeline component '{name}' is missing {p.name} in {folder}; re-export or re-download it")
    try:
        spec = json.loads(config_path.read_text())
        network_cls, config_cls = COMPONENT_CLASSES[spec["class"]]
        module = network_cls(config_cls.from_dict(spec["config"]))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise ArtzooError(f"{config_path} is corrupt or foreign ({e.__class__.__name__}: {e})") from None
    state, _ = read_tensors(weights_path, f"weights file of '{name}'", hint="re-download or re-export the pipeline")
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ArtzooError(f"{weights_path} does not match its config (missing {missing[:3]}, unexpected "
                          f"{unexpected[:3]}): a foreign or mixed-up checkpoint")
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise ArtzooError(f"{weights_path}: {key} has shape {tuple(value.shape)}, config expects "
                              f"{tuple(expected[key].shape)}")
    # fp16 files load into fp32 (or the asked dtype): CPU kernels are fastest and exact in fp32.
    module.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()})
    return module.to(dtype)


def read_transitions(folder: Path, index: dict, dtype: torch.dtype = torch.float32) -> list[dict[str, nn.Module]]:
    """Each transition's components by kind ("generator", "latent_encoder", "inference", and any of the
    critics and "regularizer"), checked against each other and against the index."""
    names = set(index["components"])
    channels = index["channels"]
    transitions = []
    for i in range(len(index["stages"]) - 1):
        for kind in ("generator", "latent_encoder", "inference"):
            if f"{kind}_{i}" not in names:
                raise ArtzooError(f"{folder}: the index lists no {kind}_{i}; the pipeline is incomplete")
        parts = {kind: read_component(folder, f"{kind}_{i}", dtype) for kind in COMPONENT_KINDS if f"{kind}_{i}" in names}
        g = parts["generator"]
        if (g.config.in_channels, g.config.out_channels) != (channels[i], channels[i + 1]):
            raise ArtzooError(f"{folder}: generator_{i} maps {g.config.in_channels}→{g.config.out_channels} channels "
                              f"but the index says {channels[i]}→{channels[i + 1]}: mixed-up components")
        if parts["latent_encoder"].config.nz != g.config.nz:
            raise ArtzooError(f"{folder}: latent_encoder_{i} and generator_{i} disagree on nz")
        reg = parts.get("regularizer")
        if reg is not None and reg.config.num_params != g.num_adain_params:
            raise ArtzooError(f"{folder}: regularizer_{i} has {reg.config.num_params} weights for "
                              f"{g.num_adain_params} AdaIN parameters")
        transitions.append(parts)
    return transitions


def upload(folder: Path, repo_id: str, *, token: str | None = None, private: bool = False) -> str:
    """Upload a written pipeline folder to a Hub model repo (created if needed); returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    return str(api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message="Upload artzoo pipeline"))


def resolve(repo_id_or_path: str | os.PathLike, revision: str | None = None, cache_dir: str | None = None,
            local_files_only: bool = False) -> Path:
    """A local folder as is; otherwise a Hub repo id fetched (or found in the cache) by snapshot_download."""
    path = Path(os.path.expanduser(str(repo_id_or_path)))
    if path.is_dir():
        return path
    text = str(repo_id_or_path)
    if text.startswith((".", "/", "~")) or text.count("/") != 1:
        raise ArtzooError(f"no pipeline folder at {text} (and it is not a Hub repo id like 'owner/name')")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)
    try:
        return Path(snapshot_download(text, revision=revision, cache_dir=cache_dir, allow_patterns=HUB_PATTERNS,
                                      local_files_only=local_files_only))
    except RepositoryNotFoundError:
        raise ArtzooError(f"Hub repo {text} not found (or private: log in with `hf auth login`)") from None
    except RevisionNotFoundError:
        raise ArtzooError(f"Hub repo {text} has no revision {revision!r}") from None
    except LocalEntryNotFoundError:
        raise ArtzooError(f"{text} is not in the local Hugging Face cache and the Hub is unreachable (or "
                          "HF_HUB_OFFLINE=1): connect once to download it, or pass a local folder") from None
    except HFValidationError as e:
        raise ArtzooError(f"{text!r} is neither a folder nor a valid Hub repo id: {e}") from None
    except OSError as e:  # connection errors and the like
        raise ArtzooError(f"could not download {text} from the Hub ({e.__class__.__name__}: {e})") from None
