"""Bounds for the numbers clients send (ids, sequence numbers): anything outside what the
database can hold is a 404 or 422 with the error body, never a database error (500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from sodam.core.errors import Invalid

# Largest PostgreSQL bigint (every id) and integer (per-conversation sequence numbers).
MAX_ID = 2**63 - 1
MAX_SEQ = 2**31 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
SeqQuery = Annotated[int, Query(ge=0, le=MAX_SEQ)]


def bounded_int(raw: str | None, *, name: str, default: int | None, low: int, high: int) -> int | None:
    """Parse a query value by hand (sockets, where a failed FastAPI validation is only a 403)."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(
            f"{name} must be an integer", code="validation_error", details={"field": name}
        ) from None
    if not low <= value <= high:
        raise Invalid(
            f"{name} must be between {low} and {high}",
            code="validation_error",
            details={"field": name, "min": low, "max": high},
        )
    return value
