"""LocalStorage: content-addressed keys, atomic idempotent writes, and no way out of the root."""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from app.core import storage as storage_module
from app.core.errors import NotFound, ValidationFailed
from app.core.storage import LocalStorage, Storage, check_key, content_type_for, key_for

DATA = b"\xff\xd8\xff not really a photo, storage does not care"
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def store(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "uploads")


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_local_storage_satisfies_the_protocol(store):
    assert isinstance(store, Storage)


def test_round_trip(store):
    key = store.put(DATA, content_type="image/jpeg")

    assert key == f"{DIGEST}.jpg"
    assert store.exists(key)
    assert store.get(key) == DATA
    path = store.path_for(key)
    assert path == store.root / DIGEST[:2] / DIGEST[2:4] / key
    assert path.read_bytes() == DATA
    assert content_type_for(key) == "image/jpeg"


def test_key_is_known_without_storing(store):
    assert key_for(DATA, "image/png") == f"{DIGEST}.png"
    assert key_for(DATA, "IMAGE/PNG; charset=binary") == f"{DIGEST}.png"
    assert not store.exists(key_for(DATA, "image/png"))


def test_unknown_content_type_is_a_programming_error(store):
    with pytest.raises(ValueError):
        store.put(DATA, content_type="text/html")


def test_put_is_idempotent(store, monkeypatch):
    first = store.put(DATA, content_type="image/jpeg")
    path = store.path_for(first)
    mtime = path.stat().st_mtime_ns

    # A second put of the same bytes must not write at all.
    def no_temp_files(*args, **kwargs):
        raise AssertionError("rewrote an existing file")

    monkeypatch.setattr(storage_module.tempfile, "mkstemp", no_temp_files)
    assert store.put(DATA, content_type="image/jpeg") == first
    assert path.stat().st_mtime_ns == mtime
    assert stored_files(store.root) == [path]


def test_same_bytes_with_another_type_is_another_key(store):
    jpg = store.put(DATA, content_type="image/jpeg")
    png = store.put(DATA, content_type="image/png")

    assert jpg != png and jpg[:64] == png[:64]
    assert store.get(png) == DATA


def test_damaged_file_is_repaired_by_the_next_put(store):
    key = store.put(DATA, content_type="image/jpeg")
    store.path_for(key).write_bytes(DATA[:5])

    assert store.put(DATA, content_type="image/jpeg") == key
    assert store.get(key) == DATA


def test_files_are_private_and_no_temp_files_remain(store):
    key = store.put(DATA, content_type="image/jpeg")

    assert stored_files(store.root) == [store.path_for(key)]
    assert store.path_for(key).stat().st_mode & 0o777 == 0o600


def test_failed_write_leaves_nothing_behind(store, monkeypatch):
    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(storage_module.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put(DATA, content_type="image/jpeg")

    assert stored_files(store.root) == []
    assert not store.exists(key_for(DATA, "image/jpeg"))


def test_missing_key_is_not_found(store):
    key = key_for(b"never stored", "image/jpeg")

    assert not store.exists(key)
    for call in (store.get, store.path_for):
        with pytest.raises(NotFound) as caught:
            call(key)
        assert caught.value.code == "file_not_found"
        assert caught.value.status == 404


def test_delete_removes_and_tolerates_missing(store):
    key = store.put(DATA, content_type="image/jpeg")

    store.delete(key)
    store.delete(key)

    assert not store.exists(key)
    with pytest.raises(NotFound):
        store.get(key)
    # Putting it again after a delete works (shard directories were left in place).
    assert store.put(DATA, content_type="image/jpeg") == key
    assert store.get(key) == DATA


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        f"../{DIGEST}.jpg",
        f"/{DIGEST}.jpg",
        f"/etc/{DIGEST}.jpg",
        f"{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}.jpg",  # the on-disk layout is not a key
        f"{DIGEST}.jpg/..",
        f"{DIGEST}.jpg\n",
        f"{DIGEST}.jpg\0",
        f"{DIGEST}\\..\\x.jpg",
        f"{DIGEST.upper()}.jpg",
        f"{DIGEST}.JPG",
        f"{DIGEST}.exe",
        f"{DIGEST}..jpg",
        f"{DIGEST[:-1]}.jpg",
        f"{DIGEST}0.jpg",
        f"{DIGEST}",
        ".tmp-abc.part",
        "",
        None,
        42,
    ],
)
def test_keys_that_are_not_ours_are_refused_everywhere(store, key):
    store.put(DATA, content_type="image/jpeg")

    for call in (store.get, store.exists, store.delete, store.path_for, check_key):
        with pytest.raises(ValidationFailed) as caught:
            call(key)
        assert caught.value.code == "invalid_file_key"


def test_traversal_cannot_reach_outside_files(tmp_path):
    secret = tmp_path / f"{DIGEST}.jpg"
    secret.write_bytes(b"outside the root")
    store = LocalStorage(tmp_path / "uploads" / "deep")

    with pytest.raises(ValidationFailed):
        store.get(f"../../{DIGEST}.jpg")
    with pytest.raises(NotFound):
        store.get(f"{DIGEST}.jpg")


def test_concurrent_puts_of_identical_content(store):
    payload = os.urandom(256 * 1024)
    threads = 16
    barrier = threading.Barrier(threads)

    def put(_):
        barrier.wait()  # start together so the writes really overlap
        return store.put(payload, content_type="image/png")

    with ThreadPoolExecutor(threads) as pool:
        keys = set(pool.map(put, range(threads)))

    assert keys == {f"{hashlib.sha256(payload).hexdigest()}.png"}
    (key,) = keys
    assert store.get(key) == payload
    assert stored_files(store.root) == [store.path_for(key)]


def test_concurrent_puts_of_different_content_share_shard_directories(store):
    # Keys from the same first byte race to create the same directories.
    payloads = []
    n = 0
    while len(payloads) < 12:
        candidate = f"photo {n}".encode()
        if hashlib.sha256(candidate).hexdigest().startswith("a"):
            payloads.append(candidate)
        n += 1
    barrier = threading.Barrier(len(payloads))

    def put(payload):
        barrier.wait()
        return store.put(payload, content_type="image/jpeg")

    with ThreadPoolExecutor(len(payloads)) as pool:
        keys = list(pool.map(put, payloads))

    assert [store.get(key) for key in keys] == payloads
    assert len(stored_files(store.root)) == len(payloads)


def test_concurrent_reader_never_sees_a_partial_file(store):
    payload = os.urandom(2 * 1024 * 1024)
    key = key_for(payload, "image/jpeg")
    stop = threading.Event()
    seen = []

    def read():
        while not stop.is_set():
            with contextlib.suppress(NotFound):
                seen.append(len(store.get(key)))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(5):
            store.put(payload, content_type="image/jpeg")
            store.delete(key)
    finally:
        stop.set()
        reader.join()

    assert set(seen) <= {len(payload)}


def test_concurrent_puts_from_processes(store):
    payload = os.urandom(512 * 1024)
    context = multiprocessing.get_context("spawn")  # no fork of a threaded test runner
    with ProcessPoolExecutor(4, mp_context=context) as pool:
        futures = [pool.submit(store.put, payload, content_type="image/webp") for _ in range(8)]
        keys = {future.result() for future in futures}

    (key,) = keys
    assert store.get(key) == payload
    assert stored_files(store.root) == [store.path_for(key)]
