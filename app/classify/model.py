"""Report text → subcategory: char n-gram TF-IDF + linear SVM, softmax-calibrated, fast to query."""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np

from app.classify.corpus import Example, Split, corpus_split
from app.classify.taxonomy import FALLBACK_SUBCATEGORY, Taxonomy, default_taxonomy

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# Training uses scikit-learn; prediction does not: the fitted vocabulary, idf weights and class
# weights are kept as plain dicts and arrays and one report is scored with a handful of numpy
# operations (tens of microseconds), so there is no per-call vectorizer overhead, and a web worker
# that loads a saved model never imports scikit-learn.
#
# Why these choices (measured on the held-out split, see bench/bench_classify.py):
# - char 1–2 grams beat 1–3, 2–4 and 1–4 grams: reports are short and the test seeds' exact
#   phrasings are unseen, so short n-grams generalise and longer ones mostly memorise;
# - LinearSVC matches multinomial logistic regression on accuracy at a tenth of the training
#   time, and a softmax over its scores with one temperature fitted on out-of-fold scores (group
#   k-fold, so variants of one seed never calibrate each other) is better calibrated than LR's
#   own probabilities, which come out far too flat on this data;
# - the taxonomy's own words (names and filing criteria) are added as training lines (+2 points
#   top-1), and each line is weighted 1/sqrt(size of its group), so a seed with ten variants does
#   not outvote ten independent reports and a staff correction counts as a whole report.

FORMAT = "wangge-classifier/1"
# Bump when normalize() or char_ngrams() change: old saved models then get a new version.
FEATURES_VERSION = 1
MAX_CHARS = 2000  # longer texts are cut: bounds prediction time, the gist comes first anyway
TOP_K = 3
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)

DEFAULT_PARAMS: dict[str, Any] = {
    "ngram_min": 1,
    "ngram_max": 2,
    "C": 1.0,
    "group_weight_power": 0.5,
    "calibration_folds": 3,
    "taxonomy_text": True,
}

_PUNCT = re.compile(r"[，。！？、；：,.!?;:【】\[\]（）()<>《》\"'“”‘’…~～·\-—_/\\|#*@&%+=]+")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Fold width and case, collapse digits and punctuation: they vary without changing meaning."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    text = _DIGITS.sub("0", text)
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def char_ngrams(text: str, ngram_min: int = 1, ngram_max: int = 2) -> list[str]:
    """Character n-grams of the normalized text (the analyzer for training and prediction)."""
    text = normalize(text)
    grams = []
    for n in range(ngram_min, ngram_max + 1):
        grams.extend(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


@dataclass(frozen=True, slots=True)
class Prediction:
    """The top subcategory, its top-level category, its probability, and the top 3 (incl. it)."""

    subcategory: str
    category: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]


class Classifier:
    """A trained model; immutable, thread-safe, and cheap to call per report."""

    def __init__(self, state: dict[str, Any]) -> None:
        if state.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model (format={state.get('format')!r})")
        self._state = state
        self.version: str = state["version"]
        self.params: dict[str, Any] = dict(state["params"])
        self.classes: tuple[str, ...] = tuple(state["classes"])
        self.categories: dict[str, str] = dict(state["categories"])
        self.sklearn_version: str = state["sklearn_version"]
        self.trained_on: int = state["trained_on"]
        self.temperature: float = state["temperature"]
        self._vocab: dict[str, int] = state["vocabulary"]
        self._idf: np.ndarray = state["idf"]
        # Features × classes, so one report's few features gather a small contiguous block.
        self._weights: np.ndarray = np.ascontiguousarray(state["coef"].T)
        self._intercept: np.ndarray = state["intercept"]
        self._ngrams = partial(
            char_ngrams, ngram_min=self.params["ngram_min"], ngram_max=self.params["ngram_max"]
        )
        fallback = FALLBACK_SUBCATEGORY
        self._fallback = Prediction(
            fallback, self.categories.get(fallback, "OTHER"), 0.0, ((fallback, 0.0),)
        )

    # -- prediction ------------------------------------------------------------------------

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, l2-normalised sublinear tf-idf weights), as TfidfVectorizer would."""
        counts = Counter(g for g in self._ngrams(text or "") if g in self._vocab)
        if not counts:
            return np.empty(0, dtype=np.intp), np.empty(0)
        index = np.fromiter((self._vocab[g] for g in counts), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        weights = (1.0 + np.log(tf)) * self._idf[index]
        return index, weights / np.sqrt(weights @ weights)

    def probabilities(self, text: str) -> np.ndarray | None:
        """Calibrated probability per class (order of self.classes); None without known text."""
        index, weights = self.features(text)
        if index.size == 0:
            return None
        scores = weights @ self._weights[index] + self._intercept
        z = scores / self.temperature
        z = np.exp(z - z.max())
        return z / z.sum()

    def predict(self, text: str) -> Prediction:
        """The best subcategory; empty or unrecognisable text gets OTHER_MISC at confidence 0."""
        probs = self.probabilities(text if isinstance(text, str) else "")
        if probs is None:
            return self._fallback
        k = min(TOP_K, probs.size)
        top = np.argpartition(-probs, k - 1)[:k]
        top = top[np.argsort(-probs[top], kind="stable")]
        alternatives = tuple((self.classes[i], float(probs[i])) for i in top)
        best, confidence = alternatives[0]
        return Prediction(best, self.categories[best], confidence, alternatives)

    # -- persistence -----------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the model (a plain dict of arrays, not pickled classes) with joblib."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self._state, path, compress=3)

    @classmethod
    def load(cls, path: str | Path) -> Classifier:
        """Read a model written by save()."""
        state = joblib.load(Path(path))
        if not isinstance(state, dict):
            raise ValueError(f"{path}: not a saved classifier")
        return cls(state)

    def __repr__(self) -> str:
        return f"<Classifier {self.version} classes={len(self.classes)} n={self.trained_on}>"


# -- training ------------------------------------------------------------------------------


def taxonomy_examples(taxonomy: Taxonomy) -> list[Example]:
    """Training lines from the taxonomy itself: names, filing criteria and their phrases."""
    out = []
    for sub in taxonomy.subcategories:
        group = f"taxonomy:{sub.code}"
        # The criteria's tail ("…的，予以立案。") is the same for every class: keep the head.
        head = re.sub(r"(，?(予以|立即)[^，。]*立案.*|的，.*)$", "", sub.filing_criteria)
        lines = [sub.name_zh, head]
        lines += [p for p in re.split(r"[、，；]|或", head) if len(p) >= 2]
        out.extend(Example(line, sub.code, group) for line in dict.fromkeys(lines))
    return out


def _as_examples(items: Iterable[Any], prefix: str) -> list[Example]:
    """Accept Example objects, (text, code, group) or (text, code) pairs (each its own group)."""
    out = []
    for i, item in enumerate(items):
        if isinstance(item, Example):
            out.append(item)
            continue
        text, code, *rest = item
        out.append(Example(str(text), str(code), str(rest[0]) if rest else f"{prefix}:{i}"))
    return out


def _training_set(
    examples: Iterable[Any], taxonomy: Taxonomy, params: dict[str, Any]
) -> list[Example]:
    """The examples checked against the taxonomy, plus the taxonomy's own lines."""
    rows = [e for e in _as_examples(examples, "line") if e.text.strip()]
    unknown = sorted({e.subcategory for e in rows} - set(taxonomy.codes))
    if unknown:
        raise ValueError(f"unknown subcategory codes in training data: {unknown}")
    if params["taxonomy_text"]:
        rows += taxonomy_examples(taxonomy)
    if len({e.subcategory for e in rows}) < 2:
        raise ValueError("training needs examples of at least two subcategories")
    return rows


def _version(rows: Sequence[Example], params: dict[str, Any], seed: int) -> str:
    """Short content hash: training lines and labels in order, parameters, library versions."""
    import sklearn

    h = hashlib.sha256()
    h.update(
        json.dumps(
            {
                "format": FORMAT,
                "features": FEATURES_VERSION,
                "params": params,
                "seed": seed,
                "sklearn": sklearn.__version__,
            },
            sort_keys=True,
        ).encode()
    )
    for row in rows:
        h.update(f"{row.subcategory}\x1f{row.text}\x1e".encode())
    return h.hexdigest()[:12]


def _vectorizer(params: dict[str, Any]) -> TfidfVectorizer:
    """The TF-IDF fitter whose vocabulary and idf the fast path reuses."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = partial(char_ngrams, ngram_min=params["ngram_min"], ngram_max=params["ngram_max"])
    return TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, dtype=np.float64)


def _weights(rows: Sequence[Example], power: float) -> np.ndarray:
    """1/size(group)^power, normalised to mean 1."""
    sizes = Counter(e.group for e in rows)
    w = np.array([sizes[e.group] ** -power for e in rows])
    return w / w.mean()


def _fit(rows: Sequence[Example], params: dict[str, Any], seed: int):
    """One vectorizer + LinearSVC fit; returns both."""
    from sklearn.svm import LinearSVC

    vectorizer = _vectorizer(params)
    matrix = vectorizer.fit_transform([e.text for e in rows])
    svm = LinearSVC(C=params["C"], random_state=seed)
    svm.fit(
        matrix,
        [e.subcategory for e in rows],
        sample_weight=_weights(rows, params["group_weight_power"]),
    )
    return vectorizer, svm


def _temperature(
    rows: Sequence[Example], classes: Sequence[str], params: dict[str, Any], seed: int
) -> float:
    """Softmax temperature minimising out-of-fold log loss (folds by group)."""
    from scipy.optimize import minimize_scalar
    from sklearn.model_selection import GroupKFold

    groups = [e.group for e in rows]
    folds = min(params["calibration_folds"], len(set(groups)))
    if folds < 2:
        return 0.1
    column = {c: j for j, c in enumerate(classes)}
    scores = np.full((len(rows), len(classes)), -1e3)
    for train_idx, test_idx in GroupKFold(n_splits=folds).split(rows, groups=groups):
        part = [rows[i] for i in train_idx]
        if len({e.subcategory for e in part}) < 2:
            continue
        vectorizer, svm = _fit(part, params, seed)
        fold_scores = svm.decision_function(vectorizer.transform([rows[i].text for i in test_idx]))
        if fold_scores.ndim == 1:  # two classes: one column of scores for classes_[1]
            fold_scores = np.column_stack([-fold_scores, fold_scores])
        cols = [column[c] for c in svm.classes_]
        scores[np.ix_(test_idx, cols)] = fold_scores
    truth = np.array([column[e.subcategory] for e in rows])

    def loss(log_t: float) -> float:
        z = scores / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z[np.arange(len(truth)), truth] - np.log(np.exp(z).sum(axis=1))
        return float(-log_p.mean())

    result = minimize_scalar(loss, bounds=(math.log(0.005), math.log(5.0)), method="bounded")
    return float(math.exp(result.x))


def train(
    examples: Iterable[Any],
    *,
    seed: int = 0,
    taxonomy: Taxonomy | None = None,
    params: dict[str, Any] | None = None,
) -> Classifier:
    """Train on (text, subcategory) pairs or corpus Examples (whose groups drive weighting)."""
    import sklearn

    taxonomy = taxonomy or default_taxonomy()
    params = {**DEFAULT_PARAMS, **(params or {})}
    rows = _training_set(examples, taxonomy, params)
    vectorizer, svm = _fit(rows, params, seed)
    classes = [str(c) for c in svm.classes_]
    coef, intercept = svm.coef_, svm.intercept_
    if coef.shape[0] == 1:  # binary LinearSVC: expand to one score column per class
        coef = np.vstack([-coef[0], coef[0]])
        intercept = np.array([-intercept[0], intercept[0]])
    vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
    state = {
        "format": FORMAT,
        "version": _version(rows, params, seed),
        "params": params,
        "seed": seed,
        "classes": classes,
        "categories": {c: taxonomy.category_of(c) for c in classes},
        "sklearn_version": sklearn.__version__,
        "trained_on": len(rows),
        "temperature": _temperature(rows, classes, params, seed),
        "vocabulary": vocabulary,
        "idf": vectorizer.idf_.astype(np.float64),
        "coef": np.asarray(coef, dtype=np.float64),
        "intercept": np.asarray(intercept, dtype=np.float64),
    }
    return Classifier(state)


def repo_training_set(
    corrections: Iterable[tuple[str, str]] = (), *, split: Split = "train"
) -> list[Example]:
    """The repository corpus (training split or all lines) followed by staff corrections."""
    if split not in ("train", "all"):
        raise ValueError(f"train on split 'train' or 'all', not {split!r}")
    rows = corpus_split(split)
    rows += _as_examples(corrections, "correction")
    return rows


def train_from_repo(
    corrections: Iterable[tuple[str, str]] = (), *, split: Split = "train", seed: int = 0
) -> Classifier:
    """Train on the repo corpus (split="train" to evaluate, "all" for production) + corrections."""
    return train(repo_training_set(corrections, split=split), seed=seed)


def repo_version(
    corrections: Iterable[tuple[str, str]] = (), *, split: Split = "train", seed: int = 0
) -> str:
    """The version train_from_repo would produce, without training (to spot a stale saved model)."""
    taxonomy = default_taxonomy()
    params = dict(DEFAULT_PARAMS)
    rows = _training_set(repo_training_set(corrections, split=split), taxonomy, params)
    return _version(rows, params, seed)


# -- evaluation ----------------------------------------------------------------------------


def evaluate(classifier: Classifier, examples: Iterable[Any]) -> dict[str, Any]:
    """Top-1/top-3 accuracy, per top-level category, and accuracy above confidence thresholds."""
    taxonomy = default_taxonomy()
    rows = _as_examples(examples, "eval")
    per: dict[str, dict[str, float]] = {}
    top1 = top3 = same_category = 0
    confident: list[tuple[float, bool]] = []
    for row in rows:
        prediction = classifier.predict(row.text)
        codes = [code for code, _ in prediction.alternatives]
        hit1 = prediction.subcategory == row.subcategory
        hit3 = row.subcategory in codes
        true_category = taxonomy.category_of(row.subcategory)
        hit_category = prediction.category == true_category
        confident.append((prediction.confidence, hit1))
        top1 += hit1
        top3 += hit3
        same_category += hit_category
        bucket = per.setdefault(true_category, {"n": 0, "top1": 0, "top3": 0, "category": 0})
        bucket["n"] += 1
        bucket["top1"] += hit1
        bucket["top3"] += hit3
        bucket["category"] += hit_category
    n = len(rows)
    # Share of reports at or above each confidence, and how often those are right: what an
    # auto-dispatch threshold (config AUTO_DISPATCH_CONFIDENCE) trades off.
    by_threshold = []
    for threshold in THRESHOLDS:
        above = [hit for conf, hit in confident if conf >= threshold]
        by_threshold.append(
            {
                "threshold": threshold,
                "coverage": len(above) / n if n else 0.0,
                "top1": sum(above) / len(above) if above else 0.0,
            }
        )
    for bucket in per.values():
        for key in ("top1", "top3", "category"):
            bucket[key] = bucket[key] / bucket["n"]
    return {
        "n": n,
        "top1": top1 / n if n else 0.0,
        "top3": top3 / n if n else 0.0,
        "category_top1": same_category / n if n else 0.0,
        "per_category": {code: per[code] for code in taxonomy.category_codes if code in per},
        "by_threshold": by_threshold,
    }
