"""The labelled report corpus (data/corpus.jsonl) and its honest train/test split by group."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# A group is one hand-written seed report and all the variants generated from it (or one
# standalone report), so splitting by group keeps every variant of a test seed out of training.
CORPUS_PATH = Path(__file__).resolve().parent / "data" / "corpus.jsonl"
TEST_SHARE = 0.2
Split = Literal["train", "test", "all"]


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled report; group ties variants of one seed together."""

    text: str
    subcategory: str
    group: str


def load_corpus(path: str | Path | None = None) -> list[Example]:
    """Every line of the corpus file, in file order."""
    path = Path(path) if path is not None else CORPUS_PATH
    examples = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                examples.append(Example(row["text"], row["subcategory"], row["group"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: bad corpus line: {exc}") from exc
    return examples


def is_test_group(group: str) -> bool:
    """Deterministic 20% of groups by hash: stable across runs, machines and corpus edits."""
    digest = hashlib.sha256(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < TEST_SHARE * 2**64


def split_corpus(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(train, test), split by group so no test line is a variant of a training seed."""
    train, test = [], []
    for example in examples:
        (test if is_test_group(example.group) else train).append(example)
    return train, test


def corpus_split(split: Split = "train", path: str | Path | None = None) -> list[Example]:
    """The training split, the held-out test split, or all lines (for the production model)."""
    examples = load_corpus(path)
    if split == "all":
        return examples
    train, test = split_corpus(examples)
    if split == "train":
        return train
    if split == "test":
        return test
    raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
