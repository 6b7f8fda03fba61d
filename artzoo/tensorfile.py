"""Reading safetensors files we did not necessarily write: one checked reader for every kind of file
artzoo opens (pipeline weights, workflows, VGG/Inception weights, feature statistics, optimiser states).

Never a pickle. A missing, truncated or foreign file is an `ArtzooError` that names what the file was
meant to be and what to do, not a raw safetensors exception.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ArtzooError


def read_tensors(path: str | os.PathLike, what: str, *, framework: str = "pt", hint: str = ""
                 ) -> tuple[dict, dict[str, str]]:
    """(tensors by name, string metadata) of a safetensors file. ``what`` names the file in errors
    ("workflow file", "VGG-16 weights"); ``hint`` says what to do about a bad one."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ArtzooError(f"{what} not found: {path}")
    try:
        with safe_open(str(path), framework=framework) as f:
            return {key: f.get_tensor(key) for key in f.keys()}, dict(f.metadata() or {})
    except Exception as e:  # safetensors raises its own types (and OSError, ValueError) for bad files
        raise ArtzooError(f"{path} is not a readable {what}: corrupt, truncated or not a safetensors file "
                          f"({e.__class__.__name__}: {e}){'; ' + hint if hint else ''}") from None
