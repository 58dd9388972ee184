"""The committed pwa/vendor/ is what scripts/build_pwa makes from package-lock.json: every npm
dependency vendored at its locked version, every file intact, nothing stray. Needs no npm and no
network; rebuild with `scripts/build_pwa` when this fails."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "pwa" / "vendor"
REBUILD = "pwa/vendor/ is out of date: run scripts/build_pwa and commit pwa/vendor/"


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return _json(VENDOR / "manifest.json")


def test_every_dependency_is_vendored_at_its_locked_version(manifest):
    declared = _json(ROOT / "package.json")["dependencies"]
    locked = _json(ROOT / "package-lock.json")["packages"]
    assert locked[""]["dependencies"] == declared, "package-lock.json is stale: run npm install"
    assert set(manifest["packages"]) == set(declared), REBUILD
    for name, record in manifest["packages"].items():
        lock = locked[f"node_modules/{name}"]
        # Exact pins: a range in package.json would let a fresh lock drift.
        assert declared[name] == lock["version"], f"pin {name} to an exact version"
        assert (record["version"], record["integrity"]) == (lock["version"], lock["integrity"]), (
            f"{name}: vendored {record['version']}, locked {lock['version']}. {REBUILD}"
        )


def test_the_build_script_made_this_output(manifest):
    assert manifest["build_script_sha256"] == _sha256(ROOT / "scripts" / "build_pwa"), REBUILD


def test_vendored_files_are_intact_and_nothing_else_is_there(manifest):
    expected = {"manifest.json"}
    for record in manifest["packages"].values():
        for name, entry in record["files"].items():
            path = VENDOR / name
            assert path.is_file(), f"{name} is missing. {REBUILD}"
            assert (path.stat().st_size, _sha256(path)) == (entry["bytes"], entry["sha256"]), (
                f"{name} was changed by hand. {REBUILD}"
            )
            expected.add(name)
            if "gzip" in entry:
                packed = path.with_name(path.name + ".gz")
                assert _sha256(packed) == entry["gzip"]["sha256"], REBUILD
                # The server sends the .gz to browsers that accept gzip: same content.
                assert gzip.decompress(packed.read_bytes()) == path.read_bytes(), REBUILD
                expected.add(name + ".gz")
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert present == expected, f"stray or missing files {present ^ expected}. {REBUILD}"


def test_vendored_files_match_node_modules_when_installed(manifest):
    """Byte for byte against the installed packages, where `npm ci` has been run."""
    checked = 0
    for name, record in manifest["packages"].items():
        package = ROOT / "node_modules" / name
        if not (package / "package.json").exists():
            continue
        if _json(package / "package.json")["version"] != record["version"]:
            continue
        for target, entry in record["files"].items():
            assert _sha256(package / entry["from"]) == entry["sha256"], f"{target}: {REBUILD}"
            checked += 1
    if not checked:
        pytest.skip("node_modules is not installed at the locked versions (npm ci)")


def test_node_modules_is_never_committed():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "node_modules/" in ignored
