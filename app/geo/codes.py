"""Pure helpers on national statistical codes: levels and ancestry read off the digits."""

from __future__ import annotations

CITY_CODE = "500000000000"

LEVEL_NAMES_ZH = {
    "city": "市",
    "district": "区县",
    "township": "镇街",
    "village": "村社",
    "grid": "网格",
}


def is_code(code: str) -> bool:
    """A 12- or 15-digit ASCII code (str.isdigit alone admits "²" and other Unicode digits)."""
    return len(code) in (12, 15) and code.isascii() and code.isdigit()


def level_of(code: str) -> str:
    """city | district | township | village | grid, from the code's shape."""
    if not is_code(code):
        raise ValueError(f"not a 12- or 15-digit area code: {code!r}")
    if len(code) == 15:
        return "grid"
    if code[9:12] != "000":
        return "village"
    if code[6:9] != "000":
        return "township"
    if code[4:6] != "00":
        return "district"
    return "city"


def ancestry(code: str) -> dict[str, int | None]:
    """The ancestry columns of a node (the node itself included).

    12-digit codes are province(2) city(2) district(2) township(3) village(3); grids add 3.
    """
    return {
        "district_id": int(code[:6] + "000000") if code[4:6] != "00" else None,
        "township_id": int(code[:9] + "000") if code[6:9] != "000" else None,
        "village_id": int(code[:12]) if code[9:12] != "000" else None,
        "grid_id": int(code) if len(code) == 15 else None,
    }


def city_of(code: str) -> int:
    """The city node above any code. Chongqing is a province-level city: its node is the
    province code (50…), while digits 3-4 only split districts (01) from counties (02)."""
    return int(code[:2] + "0" * 10)
