""" "一表通" smart reports: a form defined once, filled by lower levels with what the system
knows prefilled, rolled up the hierarchy and exported to Excel. Definitions: docs/forms.md.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the models and the API."""
    from app.extensions import api
    from app.forms import models, views  # noqa: F401 - models register their tables

    api.register_blueprint(views.bp)
