"""The search index: one row per message with its terms (a tsvector without positions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, func
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from sodam.db.base import Base


class MessageSearch(Base):
    """Written by the indexer after commit (never on the message path); a trigger drops the
    row when the message's text changes (redaction), so erased words are not findable."""

    __tablename__ = "message_search"
    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(BigInteger)
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    terms: Mapped[str] = mapped_column(TSVECTOR)


class SearchIndexState(Base):
    """The indexer's high-water mark (one row)."""

    __tablename__ = "search_index_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_message_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
