"""Typed custom attributes: the workspace's definitions and checking values against them.

Values stay in the JSONB `custom_attributes` of contacts and companies. A key with a
definition holds a value of its type (stored as JSON: text and list as a string, number as a
number, money as {"amount", "currency"}, date as "YYYY-MM-DD", boolean as true/false); a key
without one is kept as sent and shown as plain text (what was stored before definitions
existed keeps working). Services never commit: callers own the transaction.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts.models import ContactAttributeDefinition
from sodam.core.errors import Conflict, Invalid, NotFound

TYPES = ("text", "number", "money", "date", "list", "boolean")
TARGETS = ("contact", "company")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
# Keys the system writes itself (widget identity); a definition may not take them over.
RESERVED_KEYS = frozenset({"member_id", "unverified_member_id", "claimed_email", "claimed_phone"})
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
DATE_RE = re.compile(r"^(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})\s*(?:일|\.)?(?:[T ].*)?$")
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on", "예", "네", "참"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "off", "아니오", "아니요", "거짓"})
MAX_TEXT = 500
MAX_OPTIONS = 100
_CACHE = "contact_attribute_definitions"


class AttributeInvalid(Invalid):
    """A value that does not fit its attribute's type (422, the key named in details)."""

    code = "invalid_attribute"


def _bad(defn: ContactAttributeDefinition, reason: str, why: str) -> AttributeInvalid:
    """`why` names the reason for translated copy (a CSV import's bad-row report)."""
    return AttributeInvalid(
        f"attribute '{defn.key}' ({defn.type}): {reason}",
        details={"attribute": defn.key, "type": defn.type, "reason": reason, "why": why},
    )


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, str):
        cleaned = value.strip().replace(",", "")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
        return int(number) if number == number.to_integral_value() else float(number)
    return None


def coerce(defn: ContactAttributeDefinition, value: Any) -> Any:
    """The stored form of `value` for this definition (strings from forms and CSV files are
    read as the type), or AttributeInvalid. None (or "") clears the attribute."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = defn.type
    if kind == "text":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _bad(defn, "expected text", "text")
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            raise _bad(defn, f"longer than {MAX_TEXT} characters", "too_long")
        return text
    if kind == "number":
        number = _number(value)
        if number is None:
            raise _bad(defn, "expected a number", "number")
        return number
    if kind == "money":
        currency = defn.currency or "KRW"
        amount: Any = value
        if isinstance(value, dict):
            amount = value.get("amount")
            currency = str(value.get("currency") or currency).strip().upper()
        elif isinstance(value, str):
            # "12,000", "12000 KRW", "USD 10.5", "₩12,000"
            text = value.strip().replace("₩", "").replace("원", "")
            match = re.fullmatch(r"([A-Za-z]{3})?\s*([-+\d.,]+)\s*([A-Za-z]{3})?", text)
            if not match:
                raise _bad(defn, "expected an amount, e.g. 12000 or 12000 KRW", "money")
            amount = match.group(2)
            currency = (match.group(1) or match.group(3) or currency).upper()
        number = _number(amount)
        if number is None:
            raise _bad(defn, "expected an amount, e.g. 12000 or 12000 KRW", "money")
        if not CURRENCY_RE.match(currency):
            raise _bad(defn, "currency must be a three-letter code such as KRW", "currency")
        return {"amount": number, "currency": currency}
    if kind == "date":
        # 2024-03-01, 2024-3-1, 2024/3/1, 2024.03.01., 2024년 3월 1일, or an ISO timestamp.
        match = DATE_RE.match(value.strip()) if isinstance(value, str) else None
        if match:
            try:
                return date(*(int(g) for g in match.groups())).isoformat()
            except ValueError:
                pass
        raise _bad(defn, "expected a date as YYYY-MM-DD", "date")
    if kind == "list":
        text = (
            str(value).strip()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
            else None
        )
        if text is None or text not in (defn.options or []):
            raise _bad(defn, "expected one of: " + ", ".join(defn.options or []), "option")
        return text
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower() if isinstance(value, str | int) else ""
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise _bad(defn, "expected true or false", "boolean")
    raise _bad(defn, "unknown type", "type")


def check_values(
    definitions: dict[str, ContactAttributeDefinition], values: dict[str, Any]
) -> dict[str, Any]:
    """Every value of a defined key in its stored form; undefined keys as they came."""
    return {
        key: coerce(definitions[key], value) if key in definitions else value for key, value in values.items()
    }


def display(defn: ContactAttributeDefinition | None, value: Any) -> str:
    """A value as text for a page or a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and "amount" in value:
        amount = value.get("amount")
        shown = f"{amount:,}" if isinstance(amount, int | float) else str(amount)
        return f"{shown} {value.get('currency') or ''}".strip()
    return str(value)


async def definitions(
    session: AsyncSession, *, workspace_id: int, applies_to: str = "contact"
) -> dict[str, ContactAttributeDefinition]:
    """The workspace's definitions for contacts (or companies), by key, in display order
    (read once per session: an import checks thousands of rows against them)."""
    cache = session.info.setdefault(_CACHE, {})
    if (workspace_id, applies_to) in cache:
        return cache[(workspace_id, applies_to)]
    rows = await session.scalars(
        select(ContactAttributeDefinition)
        .where(
            ContactAttributeDefinition.workspace_id == workspace_id,
            ContactAttributeDefinition.applies_to == applies_to,
        )
        .order_by(ContactAttributeDefinition.position, ContactAttributeDefinition.id)
    )
    cache[(workspace_id, applies_to)] = found = {d.key: d for d in rows}
    return found


async def validate(
    session: AsyncSession, *, workspace_id: int, values: dict[str, Any] | None, applies_to: str = "contact"
) -> dict[str, Any]:
    """Values checked against the workspace's definitions (422 naming the first bad key)."""
    if not values:
        return {}
    return check_values(await definitions(session, workspace_id=workspace_id, applies_to=applies_to), values)


def list_all(session: AsyncSession, *, workspace_id: int):
    return session.scalars(
        select(ContactAttributeDefinition)
        .where(ContactAttributeDefinition.workspace_id == workspace_id)
        .order_by(
            ContactAttributeDefinition.applies_to,
            ContactAttributeDefinition.position,
            ContactAttributeDefinition.id,
        )
    )


async def get(session: AsyncSession, *, workspace_id: int, definition_id: int) -> ContactAttributeDefinition:
    row = await session.scalar(
        select(ContactAttributeDefinition).where(
            ContactAttributeDefinition.workspace_id == workspace_id,
            ContactAttributeDefinition.id == definition_id,
        )
    )
    if row is None:
        raise NotFound("attribute definition not found")
    return row


def _check_shape(*, key: str, type_: str, options: list[str], currency: str, applies_to: str) -> None:
    if applies_to not in TARGETS:
        raise Invalid("applies_to must be contact or company", code="invalid_applies_to")
    if not KEY_RE.match(key) or key in RESERVED_KEYS:
        raise Invalid(
            "key must be lowercase letters, digits and _ (starting with a letter), at most 60",
            code="invalid_key",
            details={"key": key},
        )
    if type_ not in TYPES:
        raise Invalid("type must be one of " + ", ".join(TYPES), code="invalid_type")
    if type_ == "list" and not options:
        raise Invalid("a list attribute needs its allowed options", code="invalid_options")
    if len(options) > MAX_OPTIONS or any(not o or len(o) > 200 for o in options):
        raise Invalid("options: at most 100, each 1-200 characters", code="invalid_options")
    if not CURRENCY_RE.match(currency):
        raise Invalid("currency must be a three-letter code such as KRW", code="invalid_currency")


def _clean_options(options: list[str] | None) -> list[str]:
    seen: list[str] = []
    for option in options or []:
        option = str(option).strip()
        if option and option not in seen:
            seen.append(option)
    return seen


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    key: str,
    label: str,
    type: str,  # noqa: A002 (the API's word)
    options: list[str] | None = None,
    currency: str = "KRW",
    applies_to: str = "contact",
    position: int | None = None,
) -> ContactAttributeDefinition:
    """Define a typed attribute (409 when the key is taken)."""
    key = key.strip()
    options = _clean_options(options)
    currency = (currency or "KRW").strip().upper()
    _check_shape(key=key, type_=type, options=options, currency=currency, applies_to=applies_to)
    existing = await definitions(session, workspace_id=workspace_id, applies_to=applies_to)
    if key in existing:
        raise Conflict(
            f"attribute '{key}' is already defined", code="attribute_exists", details={"id": existing[key].id}
        )
    row = ContactAttributeDefinition(
        workspace_id=workspace_id,
        applies_to=applies_to,
        key=key,
        label=(label or key).strip()[:200] or key,
        type=type,
        options=options if type == "list" else [],
        currency=currency,
        position=len(existing) if position is None else position,
    )
    session.add(row)
    session.info.pop(_CACHE, None)
    await session.flush()
    return row


async def update(
    session: AsyncSession, *, workspace_id: int, definition_id: int, **fields: Any
) -> ContactAttributeDefinition:
    """Change a definition's label, options, currency or position (the key and type stay:
    stored values were checked against them)."""
    row = await get(session, workspace_id=workspace_id, definition_id=definition_id)
    if fields.get("label") is not None:
        row.label = fields["label"].strip()[:200] or row.key
    if fields.get("options") is not None:
        options = _clean_options(fields["options"])
        _check_shape(
            key=row.key, type_=row.type, options=options, currency=row.currency, applies_to=row.applies_to
        )
        row.options = options if row.type == "list" else []
    if fields.get("currency") is not None:
        currency = fields["currency"].strip().upper()
        _check_shape(
            key=row.key, type_=row.type, options=row.options, currency=currency, applies_to=row.applies_to
        )
        row.currency = currency
    if fields.get("position") is not None:
        row.position = int(fields["position"])
    session.info.pop(_CACHE, None)
    await session.flush()
    return row


async def delete(session: AsyncSession, *, workspace_id: int, definition_id: int) -> None:
    """Remove a definition; stored values stay (shown as plain text from now on)."""
    row = await get(session, workspace_id=workspace_id, definition_id=definition_id)
    await session.delete(row)
    session.info.pop(_CACHE, None)
    await session.flush()
