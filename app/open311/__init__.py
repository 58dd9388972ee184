"""Open311 GeoReport v2 at /open311/v2: the city's 311 clients read and post service requests.

Partners post with an API key an admin issued for one account; a posted request becomes an
event through events.service.report() with source "open311", under that account's scope.
The public reads only the categories catalogue.PUBLIC_CATEGORIES names, never who reported.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.extensions import api
    from app.open311 import models, views  # noqa: F401 - models register their tables

    # Settings with defaults here rather than in config.py: only this module reads them.
    app.config.setdefault("OPEN311_JURISDICTION", "chongqing")
    app.config.setdefault("OPEN311_CHANGESET", "2026-06-01T00:00:00+08:00")
    app.config.setdefault("OPEN311_CONTACT", "重庆市基层智治平台 12345 热线对接组")
    app.config.setdefault(
        "OPEN311_KEY_SERVICE", "向系统管理员申请 API 密钥（每个密钥绑定一个对接账号）"
    )
    app.config.setdefault("OPEN311_PUBLIC_CATEGORIES", None)
    api.register_blueprint(views.admin_bp)
    app.register_blueprint(views.georeport_bp)
