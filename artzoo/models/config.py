"""Base for the per-network config dataclasses: plain JSON in config.json, checked on the way in.

A config.json may come from anywhere, so `from_dict` checks every value's type and range (each config
class lists its ranges in ``LIMITS``) before a network is built from it: a crafted file must fail with a
message, not allocate gigabytes or build 200,000 layers.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, TypeVar

from ..errors import ArtzooError

C = TypeVar("C", bound="NetConfig")


@dataclasses.dataclass
class NetConfig:
    # field → (lowest, highest) accepted by `from_dict`; every int and float field has one.
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[C], data: Any) -> C:
        if not isinstance(data, dict):
            raise ArtzooError(f"{cls.__name__}: config must be a JSON object, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ArtzooError(f"{cls.__name__}: unknown keys {unknown[:5]} in config.json (written by a newer artzoo?)")
        for name, value in data.items():
            _check_value(cls.__name__, name, fields[name].type, value, cls.LIMITS.get(name))
        return cls(**data)

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


def _check_value(owner: str, name: str, kind: str, value: Any, limits: tuple[float, float] | None) -> None:
    """One config value against its declared type ("int", "float" or "bool": annotations are strings
    here) and range."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise ArtzooError(f"{owner}.{name} must be true or false, got {value!r}")
        return
    ok = isinstance(value, int) if kind == "int" else isinstance(value, (int, float)) and math.isfinite(value)
    if isinstance(value, bool) or not ok:
        raise ArtzooError(f"{owner}.{name} must be {'an integer' if kind == 'int' else 'a finite number'}, "
                          f"got {_short(value)}")
    if limits is not None and not limits[0] <= value <= limits[1]:
        raise ArtzooError(f"{owner}.{name} is {value}, outside the accepted range {_num(limits[0])}..{_num(limits[1])}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
