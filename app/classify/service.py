"""The classifier as the app uses it: one model per process, trained from the repository's
corpus (plus staff corrections) and cached under instance/models; no downloads, ever."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

_lock = threading.Lock()


@dataclass(frozen=True)
class Result:
    subcategory: str
    category: str
    confidence: float
    alternatives: list[tuple[str, float]]
    version: str

    @property
    def ranked(self) -> list[tuple[str, float]]:
        return self.alternatives

    def as_dict(self) -> dict:
        return {
            "subcategory": self.subcategory,
            "category": self.category,
            "confidence": round(self.confidence, 4),
            "alternatives": [
                {"subcategory": code, "probability": round(p, 4)} for code, p in self.alternatives
            ],
            "model_version": self.version,
        }


def _model_path() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "models" / "classifier.joblib"


def model():
    """The process's classifier: the saved one, else trained from the repository and saved."""
    # Imported here: scikit-learn costs about a second to import, and most CLI commands and
    # worker jobs never classify anything.
    from app.classify.model import Classifier, repo_version, train_from_repo

    ext = current_app.extensions
    if "wangge_classifier" not in ext:
        with _lock:
            if "wangge_classifier" not in ext:
                path = _model_path()
                classifier = Classifier.load(path) if path.exists() else None
                # A saved model trained on an older corpus or taxonomy is retrained, not served.
                if classifier is None or classifier.version != repo_version(split="all"):
                    classifier = train_from_repo(split="all")
                    path.parent.mkdir(parents=True, exist_ok=True)
                    classifier.save(path)
                ext["wangge_classifier"] = classifier
    return ext["wangge_classifier"]


def use(classifier) -> None:
    """Swap in a newly trained model (after a retrain) for this process."""
    current_app.extensions["wangge_classifier"] = classifier


def predict(text: str) -> Result:
    """Subcategory, category, confidence and the top 3 alternatives for a report's text."""
    classifier = model()
    p = classifier.predict(text)
    return Result(
        subcategory=p.subcategory,
        category=p.category,
        confidence=float(p.confidence),
        alternatives=[(code, float(prob)) for code, prob in p.alternatives],
        version=classifier.version,
    )
