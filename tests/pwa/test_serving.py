"""Flask serves the web app: the shell at /, types browsers insist on, an installable manifest,
a service worker whose bytes change whenever the shell does, vendor code gzipped and cached."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from app.core import web

PWA = Path(web.PWA)


def _get(client, url: str, **kwargs):
    """GET and read the whole body (closing the file it streamed from)."""
    return client.get(url, buffered=True, **kwargs)


def _shell(response) -> dict:
    """The file list the server prepends to sw.js."""
    first = response.get_data(as_text=True).split("\n", 1)[0]
    assert first.startswith("self.WANGGE_SHELL = ") and first.endswith(";")
    return json.loads(first.removeprefix("self.WANGGE_SHELL = ").removesuffix(";"))


def test_the_shell_is_served_at_the_root_and_revalidated(client):
    response = _get(client, "/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and 'name="viewport"' in page
    assert "<title>网格</title>" in page
    assert response.cache_control.no_cache
    again = _get(client, "/", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_files_have_the_types_browsers_insist_on(client):
    # A module or a service worker served as anything but JavaScript is refused.
    for path in sorted(PWA.rglob("*.js")) + sorted(PWA.rglob("*.mjs")):
        url = "/sw.js" if path == PWA / "sw.js" else "/" + path.relative_to(PWA).as_posix()
        assert _get(client, url).mimetype == "text/javascript", url
    assert _get(client, "/manifest.webmanifest").mimetype == "application/manifest+json"
    assert _get(client, "/vendor/leaflet/leaflet.css").mimetype == "text/css"


def test_the_manifest_makes_the_app_installable(client):
    manifest = _get(client, "/manifest.webmanifest").get_json(force=True)
    assert "网格" in manifest["name"] and manifest["lang"] == "zh-CN"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/",
        "/",
        "standalone",
    )
    purposes = set()
    for icon in manifest["icons"]:
        response = _get(client, icon["src"])
        assert response.status_code == 200 and response.mimetype == icon["type"]
        size = Image.open(io.BytesIO(response.data)).size
        assert f"{size[0]}x{size[1]}" == icon["sizes"]
        purposes.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes


def test_the_service_worker_lists_the_shell_and_may_control_the_whole_site(client):
    response = _get(client, "/sw.js")
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.cache_control.no_cache
    shell = _shell(response)
    precache, lazy = set(shell["precache"]), set(shell["lazy"])
    app_code = {"/" + p.relative_to(PWA).as_posix() for p in (PWA / "js").rglob("*.js")}
    assert {
        "/",
        "/manifest.webmanifest",
        "/vendor/leaflet/leaflet-src.esm.js",
    } | app_code <= precache
    # The console's map library is cached on first use, not in every phone's first download.
    assert "/vendor/maplibre-gl/maplibre-gl.mjs" in lazy and not lazy & precache
    assert not [u for u in precache | lazy if u.endswith((".gz", "LICENSE", "manifest.json"))]
    for url in precache | lazy:
        assert _get(client, url).status_code == 200, url
    assert (
        _get(client, "/sw.js", headers={"If-None-Match": response.headers["ETag"]}).status_code
        == 304
    )


def test_changing_any_file_of_the_shell_changes_the_service_worker(client, tmp_path, monkeypatch):
    copy = tmp_path / "pwa"
    shutil.copytree(PWA, copy)
    monkeypatch.setattr(web, "PWA", copy)
    before = _get(client, "/sw.js")
    with (copy / "index.html").open("a", encoding="utf-8") as page:
        page.write("<!-- a new release -->\n")
    after = _get(client, "/sw.js", headers={"If-None-Match": before.headers["ETag"]})
    # A new version: the browser sees different bytes and installs it.
    assert after.status_code == 200
    assert _shell(after)["version"] != _shell(before)["version"]


def test_vendor_code_is_sent_gzipped_and_cached(client):
    url = "/vendor/leaflet/leaflet-src.esm.js"
    original = (PWA / "vendor/leaflet/leaflet-src.esm.js").read_bytes()
    packed = _get(client, url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert len(packed.data) < len(original) / 3
    assert gzip.decompress(packed.data) == original
    assert packed.mimetype == "text/javascript"
    assert "Accept-Encoding" in packed.vary
    assert packed.cache_control.max_age >= 24 * 3600
    plain = _get(client, url)
    assert "Content-Encoding" not in plain.headers and plain.data == original


@pytest.mark.parametrize("url", ["/", "/js/phone/app.js", "/css/app.css", "/manifest.webmanifest"])
def test_our_own_text_files_are_sent_gzipped_to_browsers_that_take_it(client, url):
    original = _get(client, url).data
    packed = _get(client, url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == original
    assert len(packed.data) < len(original) * (0.7 if len(original) > 5_000 else 1)
    assert "Accept-Encoding" in packed.vary and packed.cache_control.no_cache
    # Revalidated like the plain file: a deploy is seen at once, an unchanged file costs a 304.
    again = _get(
        client,
        url,
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]},
    )
    assert again.status_code == 304 and again.data == b""


def test_a_changed_file_is_sent_changed_gzipped(client, tmp_path, monkeypatch):
    shutil.copytree(PWA, tmp_path / "pwa")
    monkeypatch.setattr(web, "PWA", tmp_path / "pwa")
    url, headers = "/js/phone/app.js", {"Accept-Encoding": "gzip"}
    before = _get(client, url, headers=headers)
    with (tmp_path / "pwa/js/phone/app.js").open("a", encoding="utf-8") as script:
        script.write("// a new release\n")
    after = _get(client, url, headers={**headers, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert gzip.decompress(after.data).endswith(b"// a new release\n")


@pytest.mark.parametrize(
    "url",
    [
        "/pwa/index.html",
        "/package.json",
        "/vendor/../../config.py",
        "/js/../../app/__init__.py",
        "/js/no-such-file.js",
        "/index.html.gz",
    ],
)
def test_nothing_else_is_served(client, url):
    assert _get(client, url).status_code == 404


def test_api_answers_vary_on_the_token(client):
    # The service worker's offline copy of an answer must never go to another user.
    assert "Authorization" in _get(client, "/api/v1/auth/me").vary
