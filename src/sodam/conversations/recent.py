"""The messages this process just stored, in their wire shape (MessageOut), kept for the
fan-out: the realtime layer sends them without reading its own messages back."""

from __future__ import annotations

from typing import Any


def message_out_row(row: dict[str, Any]) -> dict[str, Any]:
    """The wire shape (MessageOut) of a messages row returned as JSON by the database."""
    return {
        "id": row["id"],
        "conversation_id": row["conversation_id"],
        "seq": row["seq"],
        "direction": row["direction"],
        "kind": row["kind"],
        "sender_type": row["sender_type"],
        "sender_id": row["sender_id"],
        "sender_name": None,
        "content": row["content"],
        "client_id": row["client_id"],
        "payload": row["payload"],
        "sentiment_score": row.get("sentiment_score"),
        "sentiment_label": row.get("sentiment_label"),
        "created_at": _iso(row["created_at"]),
    }


def _iso(value: str) -> str:
    # PostgreSQL's JSON timestamps ("...+00:00") in the same form pydantic writes ("...Z").
    return value[:-6] + "Z" if value.endswith("+00:00") else value


_RECENT_MAX = 5_000
_recent: dict[int, dict[str, Any]] = {}


def remember(out: dict[str, Any]) -> None:
    _recent[out["id"]] = out
    if len(_recent) > _RECENT_MAX:
        del _recent[next(iter(_recent))]


def forget_conversations(conversation_ids: set[int]) -> int:
    """Drop cached messages of these conversations (erased or past retention); returns how many."""
    stale = [mid for mid, out in list(_recent.items()) if out["conversation_id"] in conversation_ids]
    for mid in stale:
        _recent.pop(mid, None)
    return len(stale)


def take_recent_message(message_id: int) -> dict[str, Any] | None:
    """The wire dict of a message this process just created (once), or None: then read it."""
    return _recent.pop(message_id, None)
