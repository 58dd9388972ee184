"""The corpus: deterministic from its seeds, varied, and split honestly by group."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter

from app.classify.corpus import (
    CORPUS_PATH,
    corpus_split,
    is_test_group,
    load_corpus,
    split_corpus,
)


def _make_corpus():
    path = CORPUS_PATH.parent / "make_corpus.py"
    spec = importlib.util.spec_from_file_location("make_corpus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_corpus_is_exactly_what_the_generator_makes():
    make = _make_corpus()
    assert make.render(make.build(make.parse_seeds())) == CORPUS_PATH.read_text(encoding="utf-8")


def test_lines_are_well_formed_unique_and_a_few_thousand():
    examples = load_corpus()
    assert len(examples) >= 3000 and CORPUS_PATH.stat().st_size < 3_000_000
    texts = [e.text for e in examples]
    assert len(set(texts)) == len(texts)
    for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"text", "subcategory", "group"}
        assert row["group"].startswith(row["subcategory"] + ".")


def test_the_corpus_is_varied():
    texts = [e.text for e in load_corpus()]
    lengths = sorted(len(t) for t in texts)
    assert lengths[0] <= 4 and lengths[-1] >= 60
    assert len({t[:6] for t in texts}) > len(texts) // 2  # not one template per class
    joined = "\n".join(texts)
    for marker in ("莫得", "啥子", "咋个", "娃儿", "梯坎", "堵起了", "拉圾", "井概", "摊摊"):
        assert marker in joined, marker
    unpunctuated = sum(1 for t in texts if len(t) > 15 and not any(p in t for p in "，。,.！!"))
    assert unpunctuated > 100


def test_the_split_is_by_group_disjoint_and_about_a_fifth():
    examples = load_corpus()
    train, test = split_corpus(examples)
    assert len(train) + len(test) == len(examples)
    train_groups = {e.group for e in train}
    test_groups = {e.group for e in test}
    assert train_groups and test_groups and not train_groups & test_groups
    assert all(is_test_group(g) for g in test_groups)
    assert 0.15 < len(test_groups) / (len(train_groups) + len(test_groups)) < 0.25
    assert {e.text for e in train}.isdisjoint({e.text for e in test})
    # Every subcategory is learnable and most are tested.
    codes = {e.subcategory for e in examples}
    assert {e.subcategory for e in train} == codes
    assert len({e.subcategory for e in test}) >= 0.9 * len(codes)
    assert corpus_split("train") == train and corpus_split("test") == test
    assert corpus_split("all") == examples


def test_seed_variants_share_their_group():
    groups = Counter(e.group for e in load_corpus())
    seeded = [g for g in groups if ".s" in g]
    assert seeded and min(groups[g] for g in seeded) >= 3
    assert all(groups[g] == 1 for g in groups if ".a" in g)
