"""Where uploaded files live: a small interface so local disk can later become object storage.

Keys are content addresses, ``<sha256 hex>.<ext>`` (e.g. ``9f86…0a08.jpg``): the same bytes
always get the same key, so a retried upload stores nothing new and a key can never be made to
point at other content. Keys are opaque to callers and identical across backends; how a backend
lays them out (LocalStorage shards them into ``9f/86/<key>``) is its own business.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from app.core.errors import NotFound, ValidationFailed

# Content type → extension of the key. Deliberately short: a new kind of file is a decision.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "application/octet-stream": "bin",
}
CONTENT_TYPES = {ext: content_type for content_type, ext in EXTENSIONS.items()}

# The whole key, anchored: no separators, dots only before the extension, lowercase hex only.
_KEY = re.compile(r"[0-9a-f]{64}\.(?:" + "|".join(map(re.escape, CONTENT_TYPES)) + ")")


@runtime_checkable
class Storage(Protocol):
    """What the app needs from a file store; implemented by LocalStorage, later object storage."""

    def put(self, data: bytes, *, content_type: str) -> str:
        """Store the bytes (idempotently) and return their key."""
        ...

    def get(self, key: str) -> bytes:
        """The stored bytes; NotFound(code="file_not_found") when there are none."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the key is stored."""
        ...

    def delete(self, key: str) -> None:
        """Remove the key; deleting a missing key is not an error."""
        ...

    def path_for(self, key: str) -> Path | None:
        """A local file for send_file, or None when the backend keeps no files on this host."""
        ...


def key_for(data: bytes, content_type: str) -> str:
    """The content address of data, so callers can know a key without storing anything."""
    return f"{hashlib.sha256(data).hexdigest()}.{extension_for(content_type)}"


def extension_for(content_type: str) -> str:
    """The key extension for a MIME type; parameters such as charset are ignored."""
    base = content_type.split(";", 1)[0].strip().lower()
    try:
        return EXTENSIONS[base]
    except KeyError:
        # Content types come from our own code (photos.Photo.mime), never from the client.
        raise ValueError(f"no storage extension for content type {content_type!r}") from None


def content_type_for(key: str) -> str:
    """The MIME type to serve a key with, from its extension."""
    check_key(key)
    return CONTENT_TYPES[key.rsplit(".", 1)[1]]


def check_key(key: str) -> str:
    """Refuse anything that is not exactly a key we could have issued (path traversal included)."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValidationFailed("文件标识无效", code="invalid_file_key")
    return key


class LocalStorage:
    """Files under one directory, written atomically; safe for concurrent threads and processes."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def put(self, data: bytes, *, content_type: str) -> str:
        """Store the bytes and return their key; storing the same bytes again writes nothing."""
        key = key_for(data, content_type)
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            # Files only ever appear by rename, complete; the size check catches a disk that
            # lost data underneath us, and then the rewrite below repairs it.
            if path.stat().st_size == len(data):
                return key
        created = self._make_dirs(path.parent)
        # Temp file in the target directory so the rename stays on one filesystem; concurrent
        # writers of the same key each use their own temp file and the last rename wins with
        # identical bytes, so readers only ever see a complete file.
        # mkstemp's owner-only mode is kept on purpose: incident photos show people and homes,
        # and the app serves them itself (send_file), so no other user needs to read them.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        # Make the rename (and any new shard directory) survive a power cut.
        for directory in {path.parent, *(d.parent for d in created)}:
            _fsync_dir(directory)
        return key

    def get(self, key: str) -> bytes:
        """The stored bytes, or NotFound."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise _not_found(key) from None

    def exists(self, key: str) -> bool:
        """Whether the key is stored."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the key; a missing key is fine (deletes are retried like puts)."""
        # Empty shard directories stay: removing them would race with a put creating a file there.
        self._path(key).unlink(missing_ok=True)

    def path_for(self, key: str) -> Path | None:
        """The file holding the key, for send_file; NotFound when it is not stored."""
        path = self._path(key)
        if not path.is_file():
            raise _not_found(key)
        return path

    def _path(self, key: str) -> Path:
        # Two levels of 256 directories keep any one directory small at millions of photos.
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def _make_dirs(self, directory: Path) -> list[Path]:
        """mkdir -p that reports which directories it created, so their parents get fsynced."""
        created = []
        for path in reversed([directory, *directory.parents]):
            if path.is_dir():
                continue
            try:
                path.mkdir()
            except FileExistsError:  # another writer was faster; fine if it is a directory
                if not path.is_dir():
                    raise
            else:
                created.append(path)
        return created


def _not_found(key: str) -> NotFound:
    return NotFound("文件不存在或已被删除", code="file_not_found", key=key)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. platforms that cannot open directories; durability is best effort
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
