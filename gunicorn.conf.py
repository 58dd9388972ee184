"""gunicorn settings read automatically from the working directory (`gunicorn wsgi:app`)."""

import threading

worker_class = "gthread"


def post_worker_init(worker):
    """Build the point → grid index as the worker boots, not in the first report's request."""
    app = worker.wsgi

    def warm() -> None:
        with app.app_context():
            from app.geo.service import locator

            try:
                locator().snapshot()
            except Exception:  # noqa: BLE001 - no geodata yet: the first lookup will say so
                app.logger.warning("grid index not warmed", exc_info=True)

    threading.Thread(target=warm, name="warm-grid-index", daemon=True).start()
