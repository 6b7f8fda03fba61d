"""Base for the per-network config dataclasses: plain JSON in config.json, checked on the way in."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from ..errors import ArtzooError

C = TypeVar("C", bound="NetConfig")


@dataclasses.dataclass
class NetConfig:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ArtzooError(f"{cls.__name__}: unknown keys {unknown} in config.json (written by a newer artzoo?)")
        return cls(**data)

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)
