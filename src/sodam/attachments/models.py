"""Attachments: files and images sent in conversations (and agents' avatars)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class Attachment(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One uploaded file. `public_id` names it in URLs (random, not a credential: every
    read still needs the conversation's credentials). Linked to its message when the
    message that references it is stored; until then only its uploader may read it."""

    __tablename__ = "attachments"
    __audit__ = "attachment"
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    purpose: Mapped[str] = mapped_column(String(12), default="message")  # message | avatar
    inbox_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    uploader_type: Mapped[str] = mapped_column(String(10))  # contact | agent
    uploader_id: Mapped[int | None] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes, never the client's
    kind: Mapped[str] = mapped_column(String(10))  # image | file
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    store: Mapped[str] = mapped_column(String(12))
    storage_key: Mapped[str] = mapped_column(String(200))

    def wire(self) -> dict:
        """What a message's payload carries about it (and what the upload returns)."""
        return {
            "id": self.public_id,
            "name": self.filename,
            "content_type": self.content_type,
            "kind": self.kind,
            "size": self.size,
        }


class AttachmentBlob(Base):
    """The bytes, when SODAM_ATTACHMENT_STORE=postgres."""

    __tablename__ = "attachment_blobs"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
