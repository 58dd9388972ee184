"""Deterministic city-wide allocation of grid counts to villages (largest remainder, exact ints)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TOTAL_GRIDS = 65_000
MIN_PER_VILLAGE = 1
MAX_PER_VILLAGE = 999  # grid codes append a 3-digit sequence to the village code

# The nine districts of the main urban area (主城中心城区), where grid density is highest.
CORE_DISTRICTS = frozenset(
    {
        "500103000000",  # 渝中区
        "500104000000",  # 大渡口区
        "500105000000",  # 江北区
        "500106000000",  # 沙坪坝区
        "500107000000",  # 九龙坡区
        "500108000000",  # 南岸区
        "500109000000",  # 北碚区
        "500112000000",  # 渝北区
        "500113000000",  # 巴南区
    }
)

# Integer weights keep the arithmetic exact: an urban community (社区) gets 3x the grids of a
# rural village (村), and everything in the core districts 1.5x more.
KIND_WEIGHT = {"社区": 3, "村": 1}
CORE_NUM, CORE_DEN = 3, 2


def village_weight(kind: str, district_code: str) -> int:
    """Integer allocation weight of one village (scaled by CORE_DEN to stay integral)."""
    base = KIND_WEIGHT[kind]
    return base * (CORE_NUM if district_code in CORE_DISTRICTS else CORE_DEN)


def allocate(villages: Iterable[tuple[str, str, str]], total: int = TOTAL_GRIDS) -> dict[str, int]:
    """Return {village code: grid count} for (code, kind, district code) rows, summing to total.

    Largest-remainder (Hamilton) apportionment with exact integer arithmetic; ties go to the
    smaller code, so the result does not depend on input order.
    """
    rows = sorted(villages)
    if not rows:
        return {}
    if not MIN_PER_VILLAGE * len(rows) <= total <= MAX_PER_VILLAGE * len(rows):
        raise ValueError(f"cannot give {len(rows)} villages {total} grids within the limits")
    weights = [village_weight(kind, district) for _, kind, district in rows]
    wsum = sum(weights)
    counts = []
    remainders = []
    for w in weights:
        q, r = divmod(total * w, wsum)
        counts.append(min(max(q, MIN_PER_VILLAGE), MAX_PER_VILLAGE))
        remainders.append(r if MIN_PER_VILLAGE <= q < MAX_PER_VILLAGE else -1)
    left = total - sum(counts)
    # Hand out (or take back) the remaining grids by remainder, largest first when adding.
    order = sorted(range(len(rows)), key=lambda i: (-remainders[i], rows[i][0]))
    if left < 0:
        order = sorted(range(len(rows)), key=lambda i: (remainders[i], rows[i][0]))
    step = 1 if left > 0 else -1
    while left != 0:
        changed = False
        for i in order:
            if left == 0:
                break
            c = counts[i] + step
            if MIN_PER_VILLAGE <= c <= MAX_PER_VILLAGE:
                counts[i] = c
                left -= step
                changed = True
        if not changed:  # pragma: no cover - excluded by the bounds check above
            raise ValueError("allocation did not converge")
    return {code: n for (code, _, _), n in zip(rows, counts, strict=True)}


def subtree_totals(parent_of: Mapping[str, str], counts: Mapping[str, int]) -> dict[str, int]:
    """Sum village grid counts up the hierarchy: {code: grids in its subtree} for every ancestor."""
    totals: dict[str, int] = dict(counts)
    for code, n in counts.items():
        p = parent_of.get(code)
        while p is not None:
            totals[p] = totals.get(p, 0) + n
            p = parent_of.get(p)
    return totals
