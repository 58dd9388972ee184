"""Dispatch: rules as data choose the handling unit; least open work chooses the person."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.dispatch import models  # noqa: F401 - registers the table
