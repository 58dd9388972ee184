"""Resident identity numbers (GB 11643): the check character, and what the number tells."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def check_char(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid(number: str) -> bool:
    """18 characters, a real birth date and a correct check character (catches most slips)."""
    if not _SHAPE.match(number) or check_char(number[:17]) != number[17]:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def birth_year(number: str) -> int:
    return int(number[6:10])


def gender(number: str) -> str:
    """The 17th digit is odd for men."""
    return "male" if int(number[16]) % 2 else "female"
