"""`flask classify retrain|evaluate`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.classify import service


@click.group("classify")
def classify_cli() -> None:
    """The report classifier."""


@classify_cli.command("retrain")
@with_appcontext
def retrain_command() -> None:
    """Train on the corpus plus every staff correction and put the model in force."""
    result = service.retrain()
    click.echo(f"model {result['version']} trained with {result['corrections']} correction(s)")


@classify_cli.command("evaluate")
def evaluate_command() -> None:
    """Held-out accuracy of a model trained on the training split only."""
    from app.classify.corpus import load_corpus, split_corpus
    from app.classify.model import evaluate, train_from_repo

    classifier = train_from_repo(split="train")
    held_out = split_corpus(load_corpus())[1]
    scores = evaluate(classifier, held_out)
    click.echo(f"held-out top-1 {scores['top1']:.3f}, top-3 {scores['top3']:.3f}")
