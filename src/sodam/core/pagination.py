"""Cursor pagination for the REST API: {"data": [...], "next_cursor": "..." | null}.

Cursors are opaque to clients (base64url of a small JSON object naming the list
it belongs to and the position after the last row served), so the ordering
behind a list can change without breaking anyone. Keyset, not offset: a page
costs the same at row 10 as at row 10 million, and rows inserted meanwhile do
not shift later pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from sodam.core.errors import AppError
from sodam.core.params import MAX_ID

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class InvalidCursor(AppError):
    status_code = 400
    code = "invalid_cursor"


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `?cursor=` for the next one (null: the end)."""

    data: list[T]
    next_cursor: str | None = Field(description="Opaque; null when this is the last page.")


def encode_cursor(kind: str, position: dict[str, Any]) -> str:
    raw = json.dumps({"k": kind, **position}, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, kind: str, keys: dict[str, type]) -> dict[str, Any]:
    """The position in a cursor made by encode_cursor(kind, ...); 400 invalid_cursor otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        payload = None
    if not isinstance(payload, dict) or payload.get("k") != kind:
        raise InvalidCursor("the cursor is not valid for this list", details={"cursor": cursor[:200]})
    out: dict[str, Any] = {}
    for key, typ in keys.items():
        value = payload.get(key)
        if typ is int and (type(value) is not int or not 0 <= value <= MAX_ID):
            raise InvalidCursor("the cursor is not valid for this list", details={"cursor": cursor[:200]})
        if typ is str and not isinstance(value, str):
            raise InvalidCursor("the cursor is not valid for this list", details={"cursor": cursor[:200]})
        out[key] = value
    return out


@dataclass(frozen=True)
class PageParams:
    cursor: str | None
    limit: int


def page_params(
    cursor: str | None = Query(
        default=None, max_length=1000, description="`next_cursor` of the previous page; omit for the first."
    ),
    limit: int = Query(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page (1-100)."),
) -> PageParams:
    return PageParams(cursor=cursor or None, limit=limit)


PageQuery = Annotated[PageParams, Depends(page_params)]


def page_of(rows: list, limit: int, position) -> tuple[list, str | None]:
    """Split the `limit + 1` rows a query fetched into the page and the cursor after it.

    `position(last_row)` returns the cursor for the row the page ends with.
    """
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, position(rows[-1])
    return rows, None
