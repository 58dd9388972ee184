"""The classifier as the app uses it: trained from the repository's corpus plus staff
corrections, saved under instance/models, and the same version in every process (they check
the database's record of the version in force). No downloads, ever."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.core.db import utcnow
from app.core.scope import unscoped
from app.extensions import db

_lock = threading.Lock()
CHECK_SECONDS = 30.0


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


def _corrections(upto: int) -> list[tuple[str, str]]:
    """Staff corrections up to an id, limited to subcategories the taxonomy still has."""
    from app.categories.models import Subcategory
    from app.classify.models import ClassificationCorrection as C

    rows = db.session.execute(
        select(C.text, C.corrected)
        .join(Subcategory, Subcategory.code == C.corrected)
        .where(C.id <= upto, Subcategory.active.is_(True))
        .order_by(C.id)
    )
    return [(text, code) for text, code in rows]


def _wanted() -> tuple[str, list[tuple[str, str]]]:
    """(version, corrections) of the model every process should serve."""
    from app.classify.model import repo_version
    from app.classify.models import ClassifierState

    state = db.session.get(ClassifierState, 1)
    corrections = _corrections(state.corrections_upto if state else 0)
    # Recomputed from the repository: a deploy with a new corpus makes the recorded one stale.
    return repo_version(corrections, split="all"), corrections


def model():
    """The classifier this process serves, reloaded or retrained when the version in force moves."""
    # scikit-learn is imported only to train; serving a saved model does not need it.
    from app.classify.model import Classifier, train_from_repo

    ext = current_app.extensions
    cached = ext.get("wangge_classifier")
    if cached and time.monotonic() - cached[1] < CHECK_SECONDS:
        return cached[0]
    # The database is read before taking the lock, never under it: on SQLite a read holds the
    # write lock, and a thread waiting for it while holding _lock would stall every report.
    with unscoped():
        version, corrections = _wanted()
    with _lock:
        cached = ext.get("wangge_classifier")
        if cached and time.monotonic() - cached[1] < CHECK_SECONDS:
            return cached[0]
        classifier = cached[0] if cached and cached[0].version == version else None
        path = _model_path()
        if classifier is None and path.exists():
            loaded = Classifier.load(path)
            classifier = loaded if loaded.version == version else None
        if classifier is None:
            classifier = train_from_repo(corrections, split="all")
            path.parent.mkdir(parents=True, exist_ok=True)
            classifier.save(path)
        ext["wangge_classifier"] = (classifier, time.monotonic())
        return classifier


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


def record_correction(*, event, corrected: str, user_id: int | None) -> None:
    """Keep a dispatcher's correction for the next retrain."""
    from app.classify.models import ClassificationCorrection

    db.session.add(
        ClassificationCorrection(
            event_id=event.id,
            text=event.description,
            predicted=(event.classification or {}).get("subcategory"),
            corrected=corrected,
            model_version=event.classifier_version,
            user_id=user_id,
        )
    )


def retrain() -> dict:
    """Fold every correction so far into a new model and make it the version in force."""
    from app.classify.model import train_from_repo
    from app.classify.models import ClassificationCorrection, ClassifierState

    with unscoped():
        upto = db.session.scalar(select(func.max(ClassificationCorrection.id))) or 0
        corrections = _corrections(upto)
        classifier = train_from_repo(corrections, split="all")
        path = _model_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        classifier.save(tmp)
        tmp.replace(path)  # other processes never read a half-written file
        state = db.session.get(ClassifierState, 1) or ClassifierState(id=1)
        state.version, state.corrections_upto, state.trained_at = classifier.version, upto, utcnow()
        db.session.add(state)
        db.session.commit()
    current_app.extensions["wangge_classifier"] = (classifier, time.monotonic())
    return {"version": classifier.version, "corrections": len(corrections)}
