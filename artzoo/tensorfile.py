"""Reading safetensors files we did not necessarily write: one checked reader for every kind of file
artzoo opens (pipeline weights, workflows, VGG/Inception weights, feature statistics, optimiser states).

Never a pickle. A missing, truncated or foreign file is an `ArtzooError` that names what the file was
meant to be and what to do, not a raw safetensors exception. The header (names, dtypes, shapes,
metadata) can be checked before any tensor is read, so a crafted file is refused before it costs memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .errors import ArtzooError

# name → (dtype as safetensors names it: "F32", "F16", "U8", ..., shape)
Header = dict[str, tuple[str, tuple[int, ...]]]
HeaderCheck = Callable[[Header, dict[str, str]], None]


def read_tensors(path: str | os.PathLike, what: str, *, framework: str = "pt", hint: str = "",
                 check: HeaderCheck | None = None) -> tuple[dict, dict[str, str]]:
    """(tensors by name, string metadata) of a safetensors file. ``what`` names the file in errors
    ("workflow file", "VGG-16 weights"); ``hint`` says what to do about a bad one; ``check(header,
    metadata)`` runs on the header before any tensor is read and raises `ArtzooError` to refuse it."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ArtzooError(f"{what} not found: {path}")
    try:
        with safe_open(str(path), framework=framework) as f:
            metadata = dict(f.metadata() or {})
            if check is not None:
                header = {key: (f.get_slice(key).get_dtype(), tuple(f.get_slice(key).get_shape())) for key in f.keys()}
                check(header, metadata)
            return {key: f.get_tensor(key) for key in f.keys()}, metadata
    except ArtzooError:
        raise
    except Exception as e:  # safetensors raises its own types (and OSError, ValueError) for bad files
        raise ArtzooError(f"{path} is not a readable {what}: corrupt, truncated or not a safetensors file "
                          f"({e.__class__.__name__}: {_first_line(e)}){'; ' + hint if hint else ''}") from None


def _first_line(error: Exception) -> str:
    """Errors are shown on one line; some libraries' messages run over several."""
    text = str(error).strip().splitlines()
    return text[0][:200] if text else ""
