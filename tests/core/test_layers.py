"""Dependencies point one way (STYLE.md): a lower module never imports a higher one; it sends
a blinker signal and the higher module subscribes. This test reads every import to keep it so."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# Lowest first; a module may import its own layer and those below it.
LAYERS = [
    {"core"},
    {"geo"},
    {"accounts"},
    {"realtime"},  # the outbox and Socket.IO: transport, knows no domain
    {"categories", "classify", "keys"},
    {"events"},
    {"dispatch", "sla"},
    {"supervision", "whistle", "console"},
    # The top: monitoring reports events and raises console alarms; the roster reads alarms
    # and events for its handovers; evaluation and Open311 read (and report) events; a failed
    # checklist item reports an event; patrols read the geography; 一表通 prefills from events.
    {"sensors", "duty", "evaluation", "open311", "checklists", "patrols", "forms"},
]
RANK = {module: rank for rank, layer in enumerate(LAYERS) for module in layer}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "app" and len(parts) > 1 and parts[1] in RANK:
                found.add(parts[1])
    return found


def test_every_module_has_a_layer():
    packages = {p.name for p in APP.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANK), "place new modules in LAYERS"


def test_no_module_imports_a_higher_one():
    wrong = []
    for module, rank in RANK.items():
        for path in sorted((APP / module).rglob("*.py")):
            for other in _imports(path):
                if RANK[other] > rank:
                    wrong.append(f"{path.relative_to(APP.parent)} imports app.{other}")
    assert not wrong, "\n".join(wrong)
