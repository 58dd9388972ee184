"""Photo uploads: cleaned by app.core.photos, stored by app.core.storage, owned by uploaders."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from flask import Response, current_app, send_file
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.auth import Principal
from app.core.errors import NotFound
from app.core.photos import process_photo
from app.core.storage import LocalStorage, Storage
from app.events.models import Attachment
from app.extensions import db


def storage() -> Storage:
    """The configured storage (local files under instance/uploads by default)."""
    ext = current_app.extensions
    if "wangge_storage" not in ext:
        ext["wangge_storage"] = LocalStorage(Path(current_app.config["UPLOAD_DIR"]))
    return ext["wangge_storage"]


def send(attachment: Attachment) -> Response:
    """The cleaned photo file as a response: from disk when the storage has a path (cached a
    day, revalidated), else its bytes."""
    store = storage()
    path = store.path_for(attachment.storage_key)
    if path is not None:
        return send_file(path, mimetype=attachment.mime, max_age=86400, conditional=True)
    return send_file(BytesIO(store.get(attachment.storage_key)), mimetype=attachment.mime)


def upload(*, principal: Principal, data: bytes) -> tuple[Attachment, bool]:
    """Clean and store a photo; the same upload retried returns the first attachment."""
    photo = process_photo(data, max_bytes=current_app.config["PHOTO_MAX_BYTES"])
    existing = _mine(principal, photo.original_sha256)
    if existing is not None:
        return existing, False
    key = storage().put(photo.content, content_type=photo.mime)
    attachment = Attachment(
        uploader_id=principal.user_id,
        storage_key=key,
        mime=photo.mime,
        size=photo.size,
        width=photo.width,
        height=photo.height,
        sha256=photo.sha256,
        original_sha256=photo.original_sha256,
        taken_at=photo.taken_at,
        gps_lat=photo.gps[0] if photo.gps else None,
        gps_lon=photo.gps[1] if photo.gps else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(attachment)
            db.session.flush()
    except IntegrityError:
        return _mine(principal, photo.original_sha256), False
    return attachment, True


def _mine(principal: Principal, original_sha256: str) -> Attachment | None:
    return db.session.scalar(
        select(Attachment).where(
            Attachment.uploader_id == principal.user_id,
            Attachment.original_sha256 == original_sha256,
        )
    )


def get_attachment(*, attachment_id: int) -> Attachment:
    """An attachment the caller may see (their own, or on an event they can see)."""
    attachment = db.session.scalar(select(Attachment).where(Attachment.id == attachment_id))
    if attachment is None:
        raise NotFound("找不到该附件", code="attachment_not_found")
    return attachment


def of_event(*, event_id: int) -> list[Attachment]:
    """The photos linked to an event (report, handling, verification), oldest first."""
    stmt = select(Attachment).where(Attachment.event_id == event_id).order_by(Attachment.id)
    return list(db.session.scalars(stmt))
