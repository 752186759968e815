"""Reading a report's query string (period in the workspace's time zone, filters, format) into
`Filters`, with the API's error shape on bad input; and a table as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sodam.analytics.queries import Filters
from sodam.core.errors import Invalid

DEFAULT_TZ = "Asia/Seoul"
DEFAULT_DAYS = 30
MAX_DAYS = 731
CHANNELS = ("web_widget", "email", "api", "phone")


def _date(value: str | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(
            f"{name} must be a date (YYYY-MM-DD)", code="invalid_date", details={"field": name}
        ) from None


def _id(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not str(value).isdigit() or len(str(value)) > 18:
        raise Invalid(f"{name} must be an id", code="invalid_filter", details={"field": name})
    return int(value)


def filters_from(query: Mapping[str, Any], *, workspace_id: int, today: date | None = None) -> Filters:
    """Filters from ?from=&to=&tz=&inbox_id=&channel=&team_id=&agent_id=&language=&segment_id=
    (the segment's customers are resolved by the caller: `with_segment`) (default: the
    last 30 days up to today in the time zone; Korea's unless another is given)."""
    tz = str(query.get("tz") or DEFAULT_TZ)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("tz must be an IANA time zone", code="invalid_tz", details={"field": "tz"}) from None
    today = today or datetime.now(zone).date()
    end = _date(query.get("to"), "to") or today
    start = _date(query.get("from"), "from") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid(
            "from must not be after to", code="invalid_period", details={"from": str(start), "to": str(end)}
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(
            f"a period is at most {MAX_DAYS} days", code="invalid_period", details={"max_days": MAX_DAYS}
        )
    channel = query.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise Invalid(
            "unknown channel", code="invalid_filter", details={"field": "channel", "allowed": list(CHANNELS)}
        )
    language = query.get("language") or None
    if language is not None and (len(language) > 8 or not str(language).replace("-", "").isalnum()):
        raise Invalid(
            "language must be a language code", code="invalid_filter", details={"field": "language"}
        )
    return Filters(
        workspace_id=workspace_id,
        start=start,
        end=end,
        tz=tz,
        inbox_id=_id(query.get("inbox_id"), "inbox_id"),
        channel=channel,
        team_id=_id(query.get("team_id"), "team_id"),
        agent_id=_id(query.get("agent_id"), "agent_id"),
        language=language,
        churn_days=_churn_days(query.get("churn_days")),
        segment_id=_id(query.get("segment_id"), "segment_id"),
    )


def _churn_days(value: str | None) -> int:
    if value in (None, ""):
        return 90
    if not str(value).isdigit() or not 1 <= int(value) <= 730:
        raise Invalid("churn_days must be 1..730", code="invalid_filter", details={"field": "churn_days"})
    return int(value)


def to_csv(table: dict[str, Any]) -> str:
    """The table as CSV (header row, then the rows; None as an empty cell). A cell that starts
    with = + - @ is prefixed with ' so a spreadsheet never runs it as a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table["columns"])
    for row in table["rows"]:
        writer.writerow(["" if v is None else _safe(v) for v in row])
    return out.getvalue()


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
