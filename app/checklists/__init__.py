"""Checklist dispatch 清单派发: checklists sent to grids, answered on the phone, rolled up
the hierarchy.

(Being built: this package registers nothing yet.)
"""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
