""" "一表通" smart reports: a form defined once, filled by lower levels with what the system
knows prefilled, rolled up the hierarchy and exported to Excel.

(Being built: this package registers nothing yet.)
"""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
