"""Files sent with an escalation (a police order, a screenshot, a regulator's letter).

Why the bytes live in the case store (``escalation_blobs``, one row per SHA-256) rather
than as files in the data dir: the blob and the attachment row naming it commit in one
transaction, so an attachment is whole or absent — never a row without its bytes, nor bytes
half-written — on SQLite and PostgreSQL alike, and a backup of the store carries them.
Attachments are capped (:data:`MAX_SIZE`), which keeps that affordable.

* **Idempotent by content.** The same bytes sent again to the same escalation are the
  attachment already there (``created`` is False; nothing new stored or audited), whatever
  their name; the same bytes on another escalation share one blob.
* **Checked.** Filename and content type are validated (an ``InputError`` naming the
  field); reading re-hashes the bytes and refuses ones that no longer match.
* **Audited.** Adding and downloading are audit rows (the content can be sensitive);
  listing shows metadata only and is not.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import TYPE_CHECKING, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.clock import utc_now_aware
from custodes.errors import InputError, NotFoundError, StoreError
from custodes.store.schema import EscalationAttachment, EscalationBlob
from custodes.triage.clocks import aware
from custodes.triage.views import AttachmentView

if TYPE_CHECKING:
    from custodes.triage.intake import EscalationService

MAX_SIZE: Final = 10 * 1024 * 1024  # bytes
MAX_FILENAME: Final = 255
DEFAULT_TYPE: Final = "application/octet-stream"
# type/subtype (RFC 9110 tokens), optionally with parameters such as "; charset=utf-8".
_TCHARS: Final = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_CONTENT_TYPE: Final = re.compile(
    rf"{_TCHARS}/{_TCHARS}(\s*;\s*{_TCHARS}=({_TCHARS}|\"[^\"\\\r\n]*\"))*"
)


def check_filename(filename: str | None) -> str:
    """A plain file name: 1 to 255 characters, no folders, no control characters."""
    name = (filename or "").strip()
    if not name:
        raise InputError("an attachment needs a file name", field="filename")
    if len(name) > MAX_FILENAME:
        raise InputError(f"is longer than {MAX_FILENAME} characters", field="filename")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise InputError("must be a file name, not a path", field="filename")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise InputError("must not contain control characters", field="filename")
    return name


def check_content_type(value: str | None) -> str:
    """``type/subtype`` with optional parameters, lower-cased; absent means octet-stream."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_TYPE
    if len(text) > 128 or not _CONTENT_TYPE.fullmatch(text):
        raise InputError("must be a media type such as application/pdf", field="content_type")
    kind, _, params = text.partition(";")
    return kind.strip().lower() + (f";{params}" if params else "")


def add(
    service: EscalationService,
    principal: Principal,
    escalation_pk: int,
    content: bytes,
    *,
    filename: str | None,
    content_type: str | None = None,
) -> tuple[AttachmentView, bool]:
    """Attach ``content``; ``True`` when it is new to this escalation."""
    principal.require(Permission.escalation_manage)
    name = check_filename(filename)
    media = check_content_type(content_type)
    if not content:
        raise InputError("an attachment needs content (the body is empty)", field="body")
    if len(content) > MAX_SIZE:
        raise InputError(f"is larger than {MAX_SIZE} bytes", field="body")
    digest = hashlib.sha256(content).hexdigest()
    with service._write() as session:
        row = service._load(session, escalation_pk)
        same = session.scalars(
            select(EscalationAttachment).where(
                EscalationAttachment.escalation_pk == row.id,
                EscalationAttachment.sha256 == digest,
            )
        ).first()
        if same is not None:
            return _view(same), False
        stored = select(EscalationBlob.sha256).where(EscalationBlob.sha256 == digest)
        if session.scalar(stored) is None:  # (not session.get: that would load the bytes)
            session.add(EscalationBlob(sha256=digest, size=len(content), content=content))
        made = EscalationAttachment(
            escalation_pk=row.id,
            filename=name,
            sha256=digest,
            size=len(content),
            content_type=media,
            added_at=utc_now_aware(),
            added_by=principal.username,
        )
        session.add(made)
        session.flush()
        service._audit(
            session,
            principal,
            "escalation.attachment_add",
            row,
            {"attachment_id": made.id, "filename": name, "sha256": digest, "size": len(content)},
        )
        return _view(made), True


def list_for(
    service: EscalationService, principal: Principal, escalation_pk: int
) -> list[AttachmentView]:
    """The escalation's attachments, oldest first (metadata only)."""
    principal.require(Permission.escalation_read)
    with service.store.read() as session:
        row = service._load(session, escalation_pk)
        found = session.scalars(
            select(EscalationAttachment)
            .where(EscalationAttachment.escalation_pk == row.id)
            .order_by(EscalationAttachment.id)
        ).all()
        return [_view(a) for a in found]


def read(
    service: EscalationService, principal: Principal, escalation_pk: int, attachment_id: int
) -> tuple[AttachmentView, bytes]:
    """One attachment's bytes, checked against its SHA-256: an audited read."""
    principal.require(Permission.escalation_read)
    with service._write() as session:
        row = service._load(session, escalation_pk)
        found = _attachment(session, row.id, attachment_id)
        blob = session.get(EscalationBlob, found.sha256)
        if blob is None or hashlib.sha256(blob.content).hexdigest() != found.sha256:
            raise StoreError(
                f"attachment {attachment_id} of escalation {escalation_pk}: the stored bytes "
                "are missing or no longer match their SHA-256"
            )
        service._audit(
            session,
            principal,
            "escalation.attachment_read",
            row,
            {"attachment_id": found.id, "sha256": found.sha256},
        )
        return _view(found), bytes(blob.content)


def _attachment(session: Session, escalation_pk: int, attachment_id: int) -> EscalationAttachment:
    found = session.get(EscalationAttachment, attachment_id)
    if found is None or found.escalation_pk != escalation_pk:
        raise NotFoundError(f"no attachment {attachment_id} on escalation {escalation_pk}")
    return found


def _view(row: EscalationAttachment) -> AttachmentView:
    return AttachmentView(
        id=row.id,
        filename=row.filename,
        sha256=row.sha256,
        size=row.size,
        content_type=row.content_type,
        added_at=aware(row.added_at),
        added_by=row.added_by,
    )
