"""Staff correct categories at triage; the corrections train the next model."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.classify import service as classify
from app.classify.models import ClassificationCorrection


def test_a_dispatcher_corrects_the_category_and_it_is_kept(report, auth, session):
    event = report(text="这个事情需要处理一下", subcategory="OTHER_MISC").json
    fixed = auth.post(
        "demo_dispatcher",
        f"/api/v1/events/{event['id']}/category",
        json={"subcategory": "SANITATION_ILLEGAL_ADS", "reason": "实为小广告"},
    )
    assert fixed.status_code == 200, fixed.json
    assert fixed.json["category"] == "SANITATION" and fixed.json["category_source"] == "staff"
    correction = session.scalar(
        select(ClassificationCorrection).where(ClassificationCorrection.event_id == event["id"])
    )
    assert correction.corrected == "SANITATION_ILLEGAL_ADS"
    assert correction.model_version == event["classification"]["model_version"]
    steps = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/timeline").json["items"]
    assert steps[-1]["action"] == "recategorize"
    assert steps[-1]["data"] == {"from": "OTHER_MISC", "to": "SANITATION_ILLEGAL_ADS"}


def test_only_the_command_centre_corrects(report, auth):
    event = report(text="这个事情需要处理一下").json
    refused = auth.post(
        "demo_worker",
        f"/api/v1/events/{event['id']}/category",
        json={"subcategory": "SANITATION_ILLEGAL_ADS"},
    )
    assert refused.status_code == 403
    unknown = auth.post(
        "demo_dispatcher", f"/api/v1/events/{event['id']}/category", json={"subcategory": "NOPE"}
    )
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "unknown_subcategory"


@pytest.fixture
def restore_model(app):
    """Put the original model back afterwards (the retrained one knows this test's data)."""
    import time

    original = classify.model()
    yield
    original.save(classify._model_path())
    app.extensions["wangge_classifier"] = (original, time.monotonic())


def test_retraining_folds_corrections_in_and_changes_the_version(report, auth, restore_model):
    text = "巷子口那个绿色铁皮箱子天天有人往上面涂涂画画"
    before = classify.predict(text)
    for i in range(6):
        event = report(text=f"{text}{'！' * i}", subcategory="OTHER_MISC").json
        auth.post(
            "demo_dispatcher",
            f"/api/v1/events/{event['id']}/category",
            json={"subcategory": "SANITATION_ILLEGAL_ADS"},
        )
    result = classify.retrain()
    assert result["corrections"] >= 6
    after = classify.predict(text)
    assert after.version != before.version
    assert after.version == result["version"]
    # New reports record the model that classified them.
    fresh = report(text="又有人在电线杆上贴小广告").json
    assert fresh["classification"]["model_version"] == result["version"]
