"""GeoReport v2 bodies in the spec's two formats; XML element names follow the spec's examples
(<services><service>, <service_requests><request>, <errors><error>)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

from flask import Response, json

# Times read in Chongqing's offset, as the spec's examples carry their own (-08:00).
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
# A list's element name inside its parent, where the spec nests lists.
ITEM_NAMES = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(CHINA).isoformat(timespec="seconds")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _xml_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        name = ITEM_NAMES.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, name), child)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, item: str | None, body) -> bytes:
    """A list under <root><item>…</item></root>, or one object as <root>…</root>."""
    element = ET.Element(root)
    if item is None:
        _fill(element, body)
    else:
        for row in body:
            _fill(ET.SubElement(element, item), row)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def respond(fmt: str, body, *, root: str, item: str | None, status: int = 200) -> Response:
    body = _plain(body)
    if fmt == "xml":
        return Response(to_xml(root, item, body), status, mimetype="text/xml")
    data = json.dumps(body, ensure_ascii=False)
    return Response(data, status, mimetype="application/json")


def errors(fmt: str, status: int, description: str) -> Response:
    """The spec's error body: a list of {code, description}, code being the HTTP status."""
    return respond(
        fmt,
        [{"code": status, "description": description}],
        root="errors",
        item="error",
        status=status,
    )
