"""Patrols 巡查: GPS tracks recorded on the phone, and how much of each grid was covered per day.

(Being built: this package registers nothing yet.)
"""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
