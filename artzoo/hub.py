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
from .validation import CHANNELS, MAX_IMAGE_SIZE, MAX_JSON_BYTES, check_stage_names, parse_json

INDEX_FILE = "artzoo_pipeline.json"
FORMAT_VERSION = 1
HUB_PATTERNS = [INDEX_FILE, "*/config.json", "*/model.safetensors", "README.md", "*.png"]
FLOAT_DTYPES = ("F32", "F16", "BF16")

# Component class name → (network class, config class): the only classes a folder may name.
COMPONENT_CLASSES = {
    "StageGenerator": (models.StageGenerator, models.GeneratorConfig),
    "LatentEncoder": (models.LatentEncoder, models.LatentEncoderConfig),
    "InferenceNet": (models.InferenceNet, models.InferenceNetConfig),
    "MultiScaleDiscriminator": (models.MultiScaleDiscriminator, models.DiscriminatorConfig),
    "LearnedRegularizer": (models.LearnedRegularizer, models.RegularizerConfig),
    "LatentPrior": (models.LatentPrior, models.PriorConfig),
}
# A transition's component kinds and the class each must be; a folder names each "<kind>_<transition index>".
KIND_CLASSES = {"generator": "StageGenerator", "latent_encoder": "LatentEncoder", "inference": "InferenceNet",
                **{kind: "MultiScaleDiscriminator" for kind in DISCRIMINATORS}, "regularizer": "LearnedRegularizer",
                "prior": "LatentPrior"}
COMPONENT_KINDS = tuple(KIND_CLASSES)


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


def _read_json(path: Path, what: str):
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_JSON_BYTES + 1)  # a crafted file may be any size: read no more than allowed
    except OSError as e:
        raise ArtzooError(f"{what} {path} cannot be read ({e.__class__.__name__}: {e})") from None
    return parse_json(data, f"{what} {path}")


def read_index(folder: Path) -> dict:
    """The folder's index, checked: types and ranges of every key artzoo reads, safe stage names, and
    component names that are components of this pipeline (they name folders to read)."""
    index_path = folder / INDEX_FILE
    if not index_path.is_file():
        raise ArtzooError(f"{folder} is not an artzoo pipeline folder (no {INDEX_FILE})")
    index = _read_json(index_path, "pipeline index")
    if not isinstance(index, dict):
        raise ArtzooError(f"{index_path} is not a JSON object: not an artzoo pipeline index")
    version = index.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ArtzooError(f"{index_path} has no valid format_version: not written by artzoo")
    if version > FORMAT_VERSION:
        raise ArtzooError(f"{folder} uses pipeline format {version}, newer than this artzoo reads "
                          f"({FORMAT_VERSION}): upgrade artzoo")
    for key in ("stages", "channels", "image_size", "components"):
        if key not in index:
            raise ArtzooError(f"{index_path} lacks '{key}': not a complete artzoo pipeline index")
    n = len(check_stage_names(index["stages"], str(index_path)))
    channels = index["channels"]
    if not isinstance(channels, list) or len(channels) != n or any(
            isinstance(c, bool) or c not in CHANNELS for c in channels):
        raise ArtzooError(f"{index_path}: channels must list 1 (sketch) or 3 (colour) for each of the {n} stages, "
                          f"got {str(channels)[:60]}")
    size = index["image_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= MAX_IMAGE_SIZE:
        raise ArtzooError(f"{index_path}: image_size must be an integer in 8..{MAX_IMAGE_SIZE}, got {str(size)[:40]}")
    components = index["components"]
    if not isinstance(components, list) or len(set(map(str, components))) != len(components):
        raise ArtzooError(f"{index_path}: components must be a list of distinct names")
    for name in components:
        kind, _, i = str(name).rpartition("_")
        if not isinstance(name, str) or kind not in COMPONENT_KINDS or not i.isdigit() or int(i) >= n - 1 \
                or name != f"{kind}_{int(i)}":
            raise ArtzooError(f"{index_path}: {str(name)[:40]!r} is not a component of a {n}-stage pipeline "
                              f"(expected <kind>_<transition> with kind in {list(COMPONENT_KINDS)})")
    if not isinstance(index.get("info", {}), dict):
        raise ArtzooError(f"{index_path}: info must be a JSON object")
    render = index.get("render")
    if render is not None and (not isinstance(render, list) or not all(isinstance(k, str) for k in render)):
        raise ArtzooError(f"{index_path}: render must be a list of names, one per stage")
    sampling = index.get("sampling")
    if sampling is not None and (not isinstance(sampling, list) or len(sampling) != n - 1
                                 or not all(k is None or isinstance(k, str) for k in sampling)):
        raise ArtzooError(f"{index_path}: sampling must be a list of z source names (or null), one per transition")
    return index


def _read_spec(folder: Path, name: str):
    """A component's config.json → (network class, checked config), nothing built yet."""
    config_path = folder / name / "config.json"
    for p in (config_path, folder / name / "model.safetensors"):
        if not p.is_file():
            raise ArtzooError(f"pipeline component '{name}' is missing {p.name} in {folder}; re-export or re-download it")
    spec = _read_json(config_path, f"config of '{name}'")
    if not isinstance(spec, dict) or "config" not in spec:
        raise ArtzooError(f"{config_path} is corrupt or foreign: not an object with 'class' and 'config'")
    if spec.get("class") not in COMPONENT_CLASSES:
        raise ArtzooError(f"{config_path} is corrupt or foreign (class {str(spec.get('class'))[:40]!r}; artzoo "
                          f"builds only its own networks)")
    network_cls, config_cls = COMPONENT_CLASSES[spec["class"]]
    try:
        return network_cls, config_cls.from_dict(spec["config"])
    except ArtzooError as e:
        raise ArtzooError(f"{config_path} is corrupt or foreign: {e}") from None


def _check_configs(folder: Path, index: dict, i: int, specs: dict) -> None:
    """One transition's configs against the index and each other (channels, size, nz), before any
    network is built: every mismatch is a mixed-up or crafted folder."""
    channels, size = index["channels"], index["image_size"]
    c_in, c_out = channels[i], channels[i + 1]
    for kind, (network_cls, config) in specs.items():
        if network_cls.__name__ != KIND_CLASSES[kind]:
            raise ArtzooError(f"{folder}: {kind}_{i} is a {network_cls.__name__}, expected {KIND_CLASSES[kind]}")
        if hasattr(config, "image_size") and config.image_size != size:
            raise ArtzooError(f"{folder}: {kind}_{i} is configured for {config.image_size} px but the index says "
                              f"{size} px: mixed-up components")
    g, e, inf = specs["generator"][1], specs["latent_encoder"][1], specs["inference"][1]
    if (g.in_channels, g.out_channels) != (c_in, c_out):
        raise ArtzooError(f"{folder}: generator_{i} maps {g.in_channels}→{g.out_channels} channels "
                          f"but the index says {c_in}→{c_out}: mixed-up components")
    if (inf.in_channels, inf.out_channels) != (c_out, c_in) or e.in_channels != c_out:
        raise ArtzooError(f"{folder}: inference_{i} or latent_encoder_{i} does not read {c_out}-channel pictures "
                          "of the index: mixed-up components")
    if e.nz != g.nz:
        raise ArtzooError(f"{folder}: latent_encoder_{i} and generator_{i} disagree on nz")
    prior = specs.get("prior", (None, None))[1]
    if prior is not None and (prior.nz, prior.in_channels) != (g.nz, g.base_channels * 2 ** g.n_downsample):
        raise ArtzooError(f"{folder}: prior_{i} does not read generator_{i}'s content features or its nz")
    for net, depth in (("generator", g.n_downsample), ("inference", inf.n_downsample)):
        if size % 2 ** depth:
            raise ArtzooError(f"{folder}: {net}_{i} halves {depth} times, which {size} px does not allow")
    if size < 2 ** e.n_blocks:
        raise ArtzooError(f"{folder}: latent_encoder_{i} halves {e.n_blocks} times, more than {size} px allows")
    for kind in DISCRIMINATORS:
        if kind in specs and specs[kind][1].in_channels != (c_in + c_out if kind == "disc_inference" else c_out):
            raise ArtzooError(f"{folder}: {kind}_{i} reads {specs[kind][1].in_channels} channels: mixed-up components")


def _build(folder: Path, name: str, network_cls, config, dtype: torch.dtype) -> nn.Module:
    """Check the weights file's header against the network the config describes (built on the meta
    device: no memory), then read the weights and build the network for real."""
    weights_path = folder / name / "model.safetensors"
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in network_cls(config).state_dict().items()}

    def check(header, _metadata):
        missing, unexpected = sorted(set(expected) - set(header)), sorted(set(header) - set(expected))
        if missing or unexpected:
            raise ArtzooError(f"{weights_path} does not match its config (missing {missing[:3]}, unexpected "
                              f"{[k[:40] for k in unexpected[:3]]}): a foreign or mixed-up checkpoint")
        for key, (kind, shape) in header.items():
            if shape != expected[key]:
                raise ArtzooError(f"{weights_path}: {key} has shape {list(shape)}, config expects {list(expected[key])}")
            if kind not in FLOAT_DTYPES:
                raise ArtzooError(f"{weights_path}: {key} is stored as {kind}; artzoo weights are F32, F16 or BF16")

    state, _ = read_tensors(weights_path, f"weights file of '{name}'", hint="re-download or re-export the pipeline",
                            check=check)
    module = network_cls(config)
    # fp16 files load into fp32 (or the asked dtype): CPU kernels are fastest and exact in fp32.
    module.load_state_dict({k: v.to(dtype) for k, v in state.items()})
    return module.to(dtype)


def read_component(folder: Path, name: str, dtype: torch.dtype = torch.float32) -> nn.Module:
    """Build one component from its config.json and load its safetensors weights (never a pickle)."""
    return _build(folder, name, *_read_spec(folder, name), dtype)


def read_transitions(folder: Path, index: dict, dtype: torch.dtype = torch.float32) -> list[dict[str, nn.Module]]:
    """Each transition's components by kind ("generator", "latent_encoder", "inference", and any of the
    critics and "regularizer"), checked against each other and against the index (a checked
    `read_index`) before any of them is built."""
    names = set(index["components"])
    specs = []
    for i in range(len(index["stages"]) - 1):
        for kind in ("generator", "latent_encoder", "inference"):
            if f"{kind}_{i}" not in names:
                raise ArtzooError(f"{folder}: the index lists no {kind}_{i}; the pipeline is incomplete")
        specs.append({kind: _read_spec(folder, f"{kind}_{i}") for kind in COMPONENT_KINDS if f"{kind}_{i}" in names})
        _check_configs(folder, index, i, specs[-1])
    transitions = []
    for i, parts in enumerate(specs):
        built = {kind: _build(folder, f"{kind}_{i}", cls, config, dtype) for kind, (cls, config) in parts.items()}
        reg, g = built.get("regularizer"), built["generator"]
        if reg is not None and reg.config.num_params != g.num_adain_params:
            raise ArtzooError(f"{folder}: regularizer_{i} has {reg.config.num_params} weights for "
                              f"{g.num_adain_params} AdaIN parameters")
        transitions.append(built)
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
