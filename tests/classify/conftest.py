"""One classifier trained on the corpus's training split, shared by the whole session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def trained():
    """Trained once (about two seconds): every model test reads it, none mutates it."""
    from app.classify.model import train_from_repo

    return train_from_repo(split="train")
