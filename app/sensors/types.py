"""Sensor types and their default rules, read from data/types.toml (reference data in the repo)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

TYPES_FILE = Path(__file__).resolve().parent / "data" / "types.toml"


@dataclass(frozen=True)
class SensorType:
    code: str
    name_zh: str
    name_en: str
    unit: str
    subcategory: str  # the event a warning raises
    rules: tuple[dict, ...]  # the city-wide defaults load_rules() inserts


def read_types(path: Path = TYPES_FILE) -> dict[str, SensorType]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        code: SensorType(
            code=code,
            name_zh=spec["name_zh"],
            name_en=spec["name_en"],
            unit=spec["unit"],
            subcategory=spec["subcategory"],
            rules=tuple(spec["rules"]),
        )
        for code, spec in data.items()
    }


SPECS: dict[str, SensorType] = read_types()
