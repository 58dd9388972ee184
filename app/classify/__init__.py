"""Classification: report text → subcategory, trained from the repository's corpus and from
staff corrections."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.classify import cli, models  # noqa: F401 - models register their tables

    app.cli.add_command(cli.classify_cli)
