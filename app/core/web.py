"""Small app-wide endpoints: the health check, and the web app in pwa/ with its service worker."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from pathlib import Path

from flask import Flask, Response, abort, current_app, jsonify, request, send_from_directory
from sqlalchemy import text
from werkzeug.security import safe_join

import config
from app.core.auth import public
from app.extensions import db

PWA = config.ROOT / "pwa"
# The folders of pwa/ served as they are; nothing else in pwa/ is served.
FOLDERS = ("css", "icons", "js", "vendor")
MANIFEST = "manifest.webmanifest"
# Spelled out rather than left to the platform's MIME table: browsers refuse ES modules and
# service workers served as anything but JavaScript.
TYPES = {
    ".css": "text/css",
    ".html": "text/html",
    ".js": "text/javascript",
    ".json": "application/json",
    ".mjs": "text/javascript",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
}
# Our own files of these types go gzipped to browsers that take it (vendor files have .gz copies
# built by scripts/build_pwa): a phone on a weak signal loads the shell in half the bytes.
COMPRESSIBLE = frozenset({".css", ".html", ".js", ".json", ".mjs", ".svg", ".webmanifest"})
# Vendor files change only with a new npm version; the service worker revalidates them on every
# update, so a browser's HTTP cache may keep them for a week.
VENDOR_MAX_AGE = 7 * 24 * 3600


def init_app(app: Flask) -> None:
    """Register the health endpoint and the web app's routes."""

    @app.get("/healthz")
    @public
    def healthz():
        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok", database=db.engine.dialect.name)

    # The app routes by URL hash, so "/" is the only page; the service worker serves it offline.
    app.add_url_rule("/", "pwa_index", lambda: pwa_file("index.html"))
    app.add_url_rule("/manifest.webmanifest", "pwa_manifest", lambda: pwa_file(MANIFEST))
    app.add_url_rule("/sw.js", "pwa_service_worker", service_worker)
    app.add_url_rule(
        f"/<any({', '.join(FOLDERS)}):folder>/<path:name>",
        "pwa_file",
        lambda folder, name: pwa_file(f"{folder}/{name}"),
    )
    app.after_request(_vary_api_on_token)


def pwa_file(name: str) -> Response:
    """One file of pwa/: vendor files long-cached (gzipped when a .gz was built), the rest
    revalidated on every use so a deploy is seen at once (and gzipped here if text)."""
    suffix = Path(name).suffix
    mimetype = TYPES.get(suffix, "application/octet-stream")
    vendor = name.startswith("vendor/")
    if not vendor and suffix in COMPRESSIBLE and request.accept_encodings["gzip"] > 0:
        return _gzipped_file(name, mimetype)
    packed = vendor and request.accept_encodings["gzip"] > 0 and (PWA / f"{name}.gz").is_file()
    response = send_from_directory(
        PWA,
        f"{name}.gz" if packed else name,
        mimetype=mimetype,
        max_age=VENDOR_MAX_AGE if vendor else None,  # None: "no-cache", revalidate by ETag
    )
    if packed:
        response.content_encoding = "gzip"
    if vendor or suffix in COMPRESSIBLE:
        response.vary.add("Accept-Encoding")
    return response


def _gzipped_file(name: str, mimetype: str) -> Response:
    """One of our own text files, gzipped (compressed once per version of the file), with the
    same revalidation as the plain file."""
    found = safe_join(str(PWA), name)
    path = Path(found) if found else None
    if path is None or not path.is_file():
        abort(404)
    stat = path.stat()
    body, tag = _gzip(path, stat.st_size, stat.st_mtime_ns)
    response = current_app.response_class(body, mimetype=mimetype)
    response.content_encoding = "gzip"
    response.vary.add("Accept-Encoding")
    response.cache_control.no_cache = True
    response.set_etag(tag)
    return response.make_conditional(request)


@functools.lru_cache(maxsize=256)
def _gzip(path: Path, size: int, mtime_ns: int) -> tuple[bytes, str]:
    """A file's gzipped bytes and their ETag; size and mtime key the cache to the version."""
    raw = path.read_bytes()
    return gzip.compress(raw, 9, mtime=0), hashlib.sha256(raw).hexdigest()[:16] + "-gz"


def service_worker() -> Response:
    """pwa/sw.js with the list of files to cache prepended; any change to the shell changes these
    bytes, which is how browsers learn to install the new version."""
    body, version = _service_worker(_shell_stamp())
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.cache_control.no_cache = True
    response.set_etag(version)
    return response.make_conditional(request)


def _shell_stamp() -> tuple:
    """Name, size and mtime of every file of the shell: cheap, and changes when any file does."""
    files = [PWA / "sw.js", PWA / "index.html", PWA / MANIFEST]
    for folder in FOLDERS:
        files += sorted(p for p in (PWA / folder).rglob("*") if p.is_file())
    return tuple((p, p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.is_file())


@functools.lru_cache(maxsize=2)
def _service_worker(stamp: tuple) -> tuple[str, str]:
    vendor = json.loads((PWA / "vendor" / "manifest.json").read_text(encoding="utf-8"))
    lazy_packages = {name for name, pkg in vendor["packages"].items() if not pkg["precache"]}
    precache, lazy, digest = [], [], hashlib.sha256()
    for path, _size, _mtime in stamp:
        name = path.relative_to(PWA).as_posix()
        digest.update(name.encode() + hashlib.sha256(path.read_bytes()).digest())
        if name == "sw.js" or name.endswith((".gz", "/LICENSE")) or name == "vendor/manifest.json":
            continue
        url = "/" if name == "index.html" else f"/{name}"
        is_lazy = name.startswith("vendor/") and name.split("/")[1] in lazy_packages
        (lazy if is_lazy else precache).append(url)
    version = digest.hexdigest()[:16]
    shell = {"version": version, "precache": precache, "lazy": lazy}
    source = (PWA / "sw.js").read_text(encoding="utf-8")
    return f"self.WANGGE_SHELL = {json.dumps(shell)};\n{source}", version


def _vary_api_on_token(response: Response) -> Response:
    """API answers depend on who asks: caches (the service worker's too) must key on the token."""
    if request.path.startswith("/api/"):
        response.vary.add("Authorization")
    return response
