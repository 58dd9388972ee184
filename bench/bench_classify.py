"""Benchmark the report classifier: held-out accuracy, training time, single-prediction latency.

Usage (from the repository root):

    .venv/bin/python bench/bench_classify.py [--predictions 2000] [--compare] [--json]

Trains on the corpus's training split (app/classify/data/corpus.jsonl, split by seed group so no
test line is a variant of a training seed) and evaluates on the held-out split: top-1, top-3 and
top-level-category accuracy. Latency is one Classifier.predict() call on one report text, median
and p99 over --predictions calls cycling through the held-out texts, against two floors measured
in the same run on the same texts: a plain dict lookup (the cost of calling anything at all) and
scikit-learn's TfidfVectorizer.transform of one text with the same vocabulary (what a naive
pipeline pays before it even scores). --compare also trains the brief's starting point (char 1–3
TF-IDF + multinomial LogisticRegression) on the same split and reports its accuracy and time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.classify.corpus import corpus_split  # noqa: E402
from app.classify.model import (  # noqa: E402
    DEFAULT_PARAMS,
    _training_set,
    _vectorizer,
    evaluate,
    repo_training_set,
    train_from_repo,
)
from app.classify.taxonomy import default_taxonomy  # noqa: E402

LATENCY_LIMIT_MS = 5.0


def latency_us(call, texts: list[str], count: int) -> tuple[float, float]:
    """Median and p99 of single calls, in microseconds."""
    samples = np.empty(count)
    for i in range(count):
        text = texts[i % len(texts)]
        started = time.perf_counter_ns()
        call(text)
        samples[i] = time.perf_counter_ns() - started
    samples /= 1000.0
    return float(np.median(samples)), float(np.percentile(samples, 99))


def baseline_lr(train_rows, test_rows) -> dict:
    """The brief's starting point, for comparison: char 1–3 TF-IDF + LogisticRegression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from app.classify.model import normalize

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 3), sublinear_tf=True, preprocessor=normalize
    )
    matrix = vectorizer.fit_transform([e.text for e in train_rows])
    model = LogisticRegression(C=10, max_iter=3000)
    model.fit(matrix, [e.subcategory for e in train_rows])
    seconds = time.perf_counter() - started
    probs = model.predict_proba(vectorizer.transform([e.text for e in test_rows]))
    order = np.argsort(-probs, axis=1)[:, :3]
    truth = np.array([e.subcategory for e in test_rows])
    ranked = model.classes_[order]
    return {
        "top1": round(float((ranked[:, 0] == truth).mean()), 4),
        "top3": round(float((ranked == truth[:, None]).any(axis=1).mean()), 4),
        "train_s": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=2000)
    parser.add_argument("--compare", action="store_true", help="also train the LR baseline")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)

    train_rows = corpus_split("train")
    test_rows = corpus_split("test")
    started = time.perf_counter()
    classifier = train_from_repo(split="train")
    train_s = time.perf_counter() - started
    scores = evaluate(classifier, test_rows)

    texts = [e.text for e in test_rows]
    vectorizer = _vectorizer(DEFAULT_PARAMS)
    vectorizer.fit(
        [e.text for e in _training_set(repo_training_set(), default_taxonomy(), DEFAULT_PARAMS)]
    )
    lookup = {t: i for i, t in enumerate(texts)}
    classifier.predict(texts[0])  # first call pays for lazy numpy/joblib imports elsewhere
    predict_med, predict_p99 = latency_us(classifier.predict, texts, args.predictions)
    dict_med, dict_p99 = latency_us(lookup.get, texts, args.predictions)
    tfidf_med, tfidf_p99 = latency_us(lambda t: vectorizer.transform([t]), texts, args.predictions)

    results = {
        "version": classifier.version,
        "subcategories": len(classifier.classes),
        "train_lines": len(train_rows),
        "test_lines": len(test_rows),
        "test_groups": len({e.group for e in test_rows}),
        "top1": round(scores["top1"], 4),
        "top3": round(scores["top3"], 4),
        "category_top1": round(scores["category_top1"], 4),
        "per_category_top1": {k: round(v["top1"], 3) for k, v in scores["per_category"].items()},
        "by_threshold": [
            {k: round(v, 3) for k, v in row.items()} for row in scores["by_threshold"]
        ],
        "train_s": round(train_s, 2),
        "predict_median_us": round(predict_med, 1),
        "predict_p99_us": round(predict_p99, 1),
        "floor_dict_lookup_median_us": round(dict_med, 2),
        "floor_sklearn_transform_median_us": round(tfidf_med, 1),
        "floor_sklearn_transform_p99_us": round(tfidf_p99, 1),
        "latency_limit_ms": LATENCY_LIMIT_MS,
        "within_limit": predict_p99 < LATENCY_LIMIT_MS * 1000,
    }
    if args.compare:
        results["baseline_lr_char13"] = baseline_lr(train_rows, test_rows)

    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return 0
    print(f"\nClassifier {results['version']} ({results['subcategories']} subcategories)")
    print(
        f"  corpus            {len(train_rows)} training lines, {len(test_rows)} held-out lines "
        f"in {results['test_groups']} groups"
    )
    print(f"  held-out top-1    {results['top1']:.3f}")
    print(f"  held-out top-3    {results['top3']:.3f}")
    print(f"  category top-1    {results['category_top1']:.3f}")
    print(f"  training time     {results['train_s']:.2f} s (incl. 3-fold calibration)")
    print(
        f"  predict latency   median {predict_med:.1f} us, p99 {predict_p99:.1f} us "
        f"(limit {LATENCY_LIMIT_MS:.0f} ms: {'ok' if results['within_limit'] else 'OVER'})"
    )
    print(f"  floor: dict get   median {dict_med:.2f} us, p99 {dict_p99:.2f} us")
    print(
        f"  floor: sklearn    TfidfVectorizer.transform of one text: median {tfidf_med:.1f} us, "
        f"p99 {tfidf_p99:.1f} us"
    )
    print(
        "  per category top-1: "
        + ", ".join(f"{k} {v:.2f}" for k, v in results["per_category_top1"].items())
    )
    print(
        "  at confidence >= t (share of reports, top-1 among them): "
        + ", ".join(
            f"{row['threshold']:.2f}: {row['coverage']:.0%} {row['top1']:.3f}"
            for row in results["by_threshold"]
        )
    )
    if args.compare:
        b = results["baseline_lr_char13"]
        print(
            f"  baseline (char 1-3 TF-IDF + LogisticRegression): top-1 {b['top1']:.3f}, "
            f"top-3 {b['top3']:.3f}, training {b['train_s']:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
