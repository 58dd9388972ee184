"""Load and validate the two-level incident taxonomy (app/categories/data/taxonomy.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "categories" / "data" / "taxonomy.toml"

TOP_CODES: tuple[str, ...] = (
    "DISPUTE",
    "SAFETY",
    "GEOHAZARD",
    "SANITATION",
    "MUNICIPAL",
    "ECOLOGY",
    "PUBLIC_ORDER",
    "LIVELIHOOD",
    "BUILDING",
    "FOOD_DRUG",
    "TRAFFIC",
    "HEALTH",
    "OTHER",
)
TOP_NAMES_ZH: dict[str, str] = {
    "DISPUTE": "矛盾纠纷",
    "SAFETY": "安全隐患",
    "GEOHAZARD": "地质灾害",
    "SANITATION": "市容环卫",
    "MUNICIPAL": "市政设施",
    "ECOLOGY": "生态环境",
    "PUBLIC_ORDER": "社会治安",
    "LIVELIHOOD": "民生服务",
    "BUILDING": "违法建设",
    "FOOD_DRUG": "食品药品",
    "TRAFFIC": "道路交通",
    "HEALTH": "公共卫生",
    "OTHER": "其他",
}
HANDLING_LEVELS: tuple[str, ...] = ("grid", "village", "board", "department")
BOARDS: dict[str, str] = {
    "party": "党的建设",
    "economy": "经济发展",
    "livelihood": "民生服务",
    "safety": "平安法治",
}
DEPARTMENTS: dict[str, str] = {
    "CG": "城管",
    "ZJ": "住建",
    "GH": "规划自然资源",
    "ST": "生态环境",
    "GA": "公安",
    "SJ": "市场监管",
    "WJ": "卫健",
    "YJ": "应急",
    "SL": "水利",
    "MZ": "民政",
    "JT": "交通",
    "JY": "教育",
}
UNITS: tuple[str, ...] = ("working_hours", "working_days", "hours")
STAGES: tuple[str, ...] = ("accept", "handle", "verify")
FALLBACK_SUBCATEGORY = "OTHER_MISC"

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
_FILE_KEYS = {"schema_version", "dedup_radius_m", "dedup_window_hours"}
_CATEGORY_KEYS = {"name_zh", "name_en", "subcategories"}
_REQUIRED = (
    "code",
    "name_zh",
    "name_en",
    "filing_criteria",
    "closing_criteria",
    "handling_level",
    "accept",
    "handle",
    "verify",
    "emergency",
    "priority",
)
_OPTIONAL = ("board", "department", "dedup_radius_m", "dedup_window_hours", "gbt_ref")


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """A stage's time limit; unit says whether it counts working time or the wall clock."""

    amount: float
    unit: str


@dataclass(frozen=True, slots=True)
class Subcategory:
    """One second-level category with its handling route, time limits and dedup window."""

    code: str
    category: str
    name_zh: str
    name_en: str
    filing_criteria: str
    closing_criteria: str
    handling_level: str
    board: str | None
    department: str | None
    accept: TimeLimit
    handle: TimeLimit
    verify: TimeLimit
    emergency: bool
    priority: int
    dedup_radius_m: float
    dedup_window_hours: float
    gbt_ref: str | None


@dataclass(frozen=True, slots=True)
class Category:
    """One top-level category and its subcategories in file order."""

    code: str
    name_zh: str
    name_en: str
    subcategories: tuple[Subcategory, ...]


@dataclass(frozen=True)
class Taxonomy:
    """The whole validated taxonomy, with lookups by subcategory code."""

    categories: tuple[Category, ...]
    dedup_radius_m: float
    dedup_window_hours: float
    schema_version: int = 1

    def __post_init__(self) -> None:
        index = {s.code: s for c in self.categories for s in c.subcategories}
        object.__setattr__(self, "_index", index)

    @property
    def subcategories(self) -> tuple[Subcategory, ...]:
        """All subcategories in file order."""
        return tuple(s for c in self.categories for s in c.subcategories)

    @property
    def category_codes(self) -> tuple[str, ...]:
        """The top-level codes in file order."""
        return tuple(c.code for c in self.categories)

    @property
    def codes(self) -> tuple[str, ...]:
        """All subcategory codes in file order."""
        return tuple(s.code for s in self.subcategories)

    def subcategory(self, code: str) -> Subcategory:
        """The subcategory with this code; KeyError when unknown."""
        return self._index[code]  # type: ignore[attr-defined]

    def category(self, code: str) -> Category:
        """The top category with this code; KeyError when unknown."""
        for category in self.categories:
            if category.code == code:
                return category
        raise KeyError(code)

    def category_of(self, subcategory_code: str) -> str:
        """The top-level code a subcategory belongs to."""
        return self.subcategory(subcategory_code).category

    def __contains__(self, code: object) -> bool:
        return code in self._index  # type: ignore[attr-defined]


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file (the repository's when path is None)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    return parse_taxonomy(data, source=str(path))


def loads_taxonomy(text: str) -> Taxonomy:
    """Validate a taxonomy given as TOML text (tests, admin uploads)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"taxonomy: not valid TOML: {exc}") from exc
    return parse_taxonomy(data)


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """The repository's taxonomy, parsed once per process (it never changes at run time)."""
    return load_taxonomy()


def parse_taxonomy(data: dict[str, Any], source: str = "taxonomy") -> Taxonomy:
    """Validate the parsed TOML document and build the dataclasses."""
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    settings = {k: v for k, v in data.items() if not isinstance(v, dict)}
    unknown = sorted(set(settings) - _FILE_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown top-level keys {unknown}")
    missing = [c for c in TOP_CODES if c not in tables]
    extra = sorted(set(tables) - set(TOP_CODES))
    if missing or extra:
        raise ValueError(
            f"{source}: top-level categories must be exactly {list(TOP_CODES)}; "
            f"missing {missing}, unexpected {extra}"
        )
    default_radius = _positive(settings.get("dedup_radius_m", 100), f"{source}: dedup_radius_m")
    default_window = _positive(
        settings.get("dedup_window_hours", 24), f"{source}: dedup_window_hours"
    )
    version = settings.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version != 1:
        raise ValueError(f"{source}: schema_version must be 1, got {version!r}")

    seen: set[str] = set()
    categories = []
    for top in TOP_CODES:
        table = tables[top]
        where = f"{source}: [{top}]"
        unknown = sorted(set(table) - _CATEGORY_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}")
        name_zh = _text(table.get("name_zh"), f"{where}.name_zh")
        name_en = _text(table.get("name_en"), f"{where}.name_en")
        raw_subs = table.get("subcategories")
        if not isinstance(raw_subs, list) or not raw_subs:
            raise ValueError(f"{where}: needs at least one [[{top}.subcategories]] entry")
        subs = []
        for i, raw in enumerate(raw_subs):
            sub = _subcategory(
                raw, top, f"{where}.subcategories[{i}]", default_radius, default_window
            )
            if sub.code in seen:
                raise ValueError(f"{where}: duplicate subcategory code {sub.code}")
            if sub.code in TOP_CODES:
                raise ValueError(f"{where}: subcategory code {sub.code} reuses a top code")
            seen.add(sub.code)
            subs.append(sub)
        categories.append(Category(top, name_zh, name_en, tuple(subs)))
    if FALLBACK_SUBCATEGORY not in seen:
        raise ValueError(f"{source}: the fallback subcategory {FALLBACK_SUBCATEGORY} is missing")
    return Taxonomy(tuple(categories), default_radius, default_window, version)


def _subcategory(
    raw: Any, top: str, where: str, default_radius: float, default_window: float
) -> Subcategory:
    """Validate one [[TOP.subcategories]] entry."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be a table")
    code = raw.get("code")
    if isinstance(code, str):
        where = f"{where} ({code})"
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}")
    absent = [k for k in _REQUIRED if k not in raw]
    if absent:
        raise ValueError(f"{where}: missing {absent}")
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise ValueError(f"{where}: code must be UPPER_SNAKE, got {code!r}")

    level = raw["handling_level"]
    if level not in HANDLING_LEVELS:
        raise ValueError(f"{where}: handling_level must be one of {HANDLING_LEVELS}, got {level!r}")
    board = raw.get("board")
    if board is not None and board not in BOARDS:
        raise ValueError(f"{where}: board must be one of {list(BOARDS)}, got {board!r}")
    if level == "board" and board is None:
        raise ValueError(f"{where}: handling_level 'board' needs a board")
    department = raw.get("department")
    if level == "department":
        if department not in DEPARTMENTS:
            raise ValueError(
                f"{where}: handling_level 'department' needs department in "
                f"{list(DEPARTMENTS)}, got {department!r}"
            )
    elif department is not None:
        raise ValueError(f"{where}: department is only allowed with handling_level 'department'")

    emergency = raw["emergency"]
    if not isinstance(emergency, bool):
        raise ValueError(f"{where}: emergency must be true or false")
    priority = raw["priority"]
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 4:
        raise ValueError(f"{where}: priority must be an integer 1..4, got {priority!r}")
    limits = {stage: _limit(raw[stage], f"{where}.{stage}") for stage in STAGES}
    if emergency:
        # Emergencies run on the wall clock: a landslide at 22:00 on a Sunday can't wait.
        slow = [s for s, lim in limits.items() if lim.unit != "hours"]
        if slow:
            raise ValueError(f"{where}: an emergency must count wall-clock hours; {slow} do not")
    gbt_ref = raw.get("gbt_ref")
    if gbt_ref is not None:
        gbt_ref = _text(gbt_ref, f"{where}.gbt_ref")
    return Subcategory(
        code=code,
        category=top,
        name_zh=_text(raw["name_zh"], f"{where}.name_zh"),
        name_en=_text(raw["name_en"], f"{where}.name_en"),
        filing_criteria=_text(raw["filing_criteria"], f"{where}.filing_criteria"),
        closing_criteria=_text(raw["closing_criteria"], f"{where}.closing_criteria"),
        handling_level=level,
        board=board,
        department=department,
        accept=limits["accept"],
        handle=limits["handle"],
        verify=limits["verify"],
        emergency=emergency,
        priority=priority,
        dedup_radius_m=_positive(
            raw.get("dedup_radius_m", default_radius), f"{where}.dedup_radius_m"
        ),
        dedup_window_hours=_positive(
            raw.get("dedup_window_hours", default_window), f"{where}.dedup_window_hours"
        ),
        gbt_ref=gbt_ref,
    )


def _limit(raw: Any, where: str) -> TimeLimit:
    """Validate a {amount, unit} inline table."""
    if not isinstance(raw, dict) or set(raw) != {"amount", "unit"}:
        raise ValueError(f'{where}: must be {{ amount = N, unit = "..." }}, got {raw!r}')
    if raw["unit"] not in UNITS:
        raise ValueError(f"{where}: unit must be one of {UNITS}, got {raw['unit']!r}")
    return TimeLimit(_positive(raw["amount"], f"{where}.amount"), raw["unit"])


def _positive(value: Any, where: str) -> float:
    """A strictly positive number (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{where}: must be a positive number, got {value!r}")
    return float(value)


def _text(value: Any, where: str) -> str:
    """A non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: must be a non-empty string")
    return value
