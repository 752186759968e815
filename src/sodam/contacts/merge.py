"""Merging two contacts into one, and undoing it within UNDO_HOURS.

Everything that points at the loser moves to the winner in one transaction: every row whose
foreign key references contacts.id (identities, conversations, survey recipients and answers,
visited pages, attachments — read from the catalog, so a later domain's table moves too) and
the loser's own messages in those conversations (messages.sender_id). The winner keeps its
fields unless a field's winner is chosen as the loser; attributes are the union, the winner's
value kept on a conflict unless chosen otherwise. The loser's row is deleted and kept whole in
`contact_merges` with the ids of every row moved, so an undo puts back exactly what moved.
Services never commit: callers own the transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts import phones
from sodam.contacts.models import Contact, ContactMerge
from sodam.core.errors import AppError, Conflict, Invalid, NotFound

UNDO_HOURS = 24
FIELDS = ("name", "email", "phone", "language", "company_id")
SIDES = ("winner", "loser")

# Every (table, column) whose foreign key points at contacts.id, with whether it has an id.
REFERENCES_SQL = text(
    """
    SELECT cl.relname AS table_name, att.attname AS column_name
      FROM pg_constraint con
      JOIN pg_class cl ON cl.oid = con.conrelid
      JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
     WHERE con.contype = 'f' AND con.confrelid = 'contacts'::regclass AND cl.relname <> 'contacts'
       AND EXISTS (SELECT 1 FROM pg_attribute i WHERE i.attrelid = con.conrelid AND i.attname = 'id'
                    AND NOT i.attisdropped)
     ORDER BY 1, 2
    """
)
MESSAGES_KEY = "messages.sender_id"


class MergeExpired(AppError):
    status_code = 410
    code = "merge_expired"


async def _references(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(REFERENCES_SQL)
    return [(r.table_name, r.column_name) for r in rows]


def conflicts(winner: Contact, loser: Contact) -> dict[str, Any]:
    """The fields and attribute keys on which the two differ and both have a value (what a
    person chooses a winner for); {"fields": [...], "attributes": [...]}."""
    fields = [
        f
        for f in (*FIELDS, "company")
        if f != "company_id"
        and getattr(winner, f) not in (None, "")
        and getattr(loser, f) not in (None, "")
        and str(getattr(winner, f)).lower() != str(getattr(loser, f)).lower()
    ]
    wa, la = winner.custom_attributes or {}, loser.custom_attributes or {}
    keys = sorted(k for k in set(wa) & set(la) if wa[k] is not None and la[k] is not None and wa[k] != la[k])
    return {"fields": fields, "attributes": keys}


def merged_values(winner: Contact, loser: Contact, choices: dict[str, Any] | None) -> dict[str, Any]:
    """The winner's fields after the merge: its own, else the loser's; a field (or attribute,
    under choices["attributes"]) chosen "loser" takes the loser's value when it has one."""
    choices = choices or {}
    out: dict[str, Any] = {}
    for field in FIELDS:
        key = "company" if field == "company_id" else field
        side = choices.get(key, "winner")
        if side not in SIDES:
            raise Invalid(f"choice for {key} must be winner or loser", code="invalid_choice")
        mine, theirs = getattr(winner, field), getattr(loser, field)
        if side == "loser" and theirs not in (None, ""):
            out[field] = theirs
        else:
            out[field] = mine if mine not in (None, "") else theirs
    out["company"] = loser.company if out["company_id"] == loser.company_id else winner.company
    if out["company_id"] is None:
        out["company"] = None
    wa, la = dict(winner.custom_attributes or {}), dict(loser.custom_attributes or {})
    attrs = {**la, **{k: v for k, v in wa.items() if v is not None or k not in la}}
    for key, side in (choices.get("attributes") or {}).items():
        if side not in SIDES:
            raise Invalid(f"choice for attribute {key} must be winner or loser", code="invalid_choice")
        if side == "loser" and la.get(key) is not None:
            attrs[key] = la[key]
    out["custom_attributes"] = attrs
    out["phone_normalized"] = phones.normalise(out["phone"])
    return out


async def _lock_pair(session: AsyncSession, *, workspace_id: int, ids: list[int]) -> dict[int, Contact]:
    rows = await session.scalars(
        select(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.id.in_(ids))
        .order_by(Contact.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {c.id: c for c in rows}


def _fields_of(contact: Contact) -> dict[str, Any]:
    return {f: getattr(contact, f) for f in (*FIELDS, "company", "phone_normalized", "custom_attributes")}


async def merge(
    session: AsyncSession,
    *,
    workspace_id: int,
    winner_id: int,
    loser_id: int,
    choices: dict[str, Any] | None = None,
    agent_id: int | None = None,
    now: datetime | None = None,
) -> ContactMerge:
    """Make the loser part of the winner (see the module's notes); returns the record to undo."""
    if winner_id == loser_id:
        raise Invalid("a contact cannot be merged with itself", code="same_contact")
    pair = await _lock_pair(session, workspace_id=workspace_id, ids=[winner_id, loser_id])
    if winner_id not in pair or loser_id not in pair:
        raise NotFound(
            "contact not found", details={"contact_id": loser_id if winner_id in pair else winner_id}
        )
    winner, loser = pair[winner_id], pair[loser_id]
    after = merged_values(winner, loser, choices)
    before = _fields_of(winner)
    snapshot = await session.scalar(
        text("SELECT to_jsonb(c) FROM contacts c WHERE c.id = :id"), {"id": loser.id}
    )
    moved: dict[str, list[int]] = {}
    for table, column in await _references(session):
        ids = await session.scalars(
            text(f'UPDATE "{table}" SET "{column}" = :w WHERE "{column}" = :l RETURNING id'),
            {"w": winner.id, "l": loser.id},
        )
        ids = list(ids)
        if ids:
            moved[f"{table}.{column}"] = ids
    conversations = moved.get("conversations.contact_id", [])
    if conversations:
        ids = await session.scalars(
            text(
                "UPDATE messages SET sender_id = :w WHERE conversation_id = ANY(:c)"
                " AND sender_type = 'contact' AND sender_id = :l RETURNING id"
            ),
            {"w": winner.id, "l": loser.id, "c": conversations},
        )
        ids = list(ids)
        if ids:
            moved[MESSAGES_KEY] = ids
    # The loser goes first: its e-mail and phone are free for the winner to take.
    await session.execute(text("DELETE FROM contacts WHERE id = :id"), {"id": loser.id})
    session.expunge(loser)
    for field, value in after.items():
        setattr(winner, field, value)
    now = now or datetime.now(UTC)
    record = ContactMerge(
        workspace_id=workspace_id,
        winner_id=winner.id,
        loser_id=loser_id,
        loser=snapshot,
        winner_before=_jsonable(before),
        winner_after=_jsonable(after),
        moved=moved,
        agent_id=agent_id,
        expires_at=now + timedelta(hours=UNDO_HOURS),
    )
    session.add(record)
    await session.flush()
    return record


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(values, default=str))


async def get(session: AsyncSession, *, workspace_id: int, merge_id: int, lock: bool = False) -> ContactMerge:
    stmt = select(ContactMerge).where(ContactMerge.workspace_id == workspace_id, ContactMerge.id == merge_id)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise NotFound("merge not found")
    return row


async def latest_for(
    session: AsyncSession, *, workspace_id: int, winner_id: int, now: datetime | None = None
):
    """The newest merge into this contact that can still be undone."""
    now = now or datetime.now(UTC)
    return await session.scalar(
        select(ContactMerge)
        .where(
            ContactMerge.workspace_id == workspace_id,
            ContactMerge.winner_id == winner_id,
            ContactMerge.undone_at.is_(None),
            ContactMerge.expires_at > now,
        )
        .order_by(ContactMerge.id.desc())
        .limit(1)
    )


async def undo(
    session: AsyncSession, *, workspace_id: int, merge_id: int, now: datetime | None = None
) -> ContactMerge:
    """Put the loser back with everything that moved (410 merge_expired after UNDO_HOURS;
    409 when already undone, or when its e-mail or phone has meanwhile gone to another
    contact). Winner fields changed since the merge keep their new values."""
    record = await get(session, workspace_id=workspace_id, merge_id=merge_id, lock=True)
    now = now or datetime.now(UTC)
    if record.undone_at is not None:
        raise Conflict("this merge was already undone", code="merge_undone")
    if now >= record.expires_at:
        raise MergeExpired(
            f"a merge can be undone for {UNDO_HOURS} hours only",
            details={"expired_at": record.expires_at.isoformat()},
        )
    pair = await _lock_pair(session, workspace_id=workspace_id, ids=[record.winner_id])
    winner = pair.get(record.winner_id)
    if winner is None:
        raise Conflict("the merged contact no longer exists", code="winner_gone")
    current = _jsonable(_fields_of(winner))
    for field, before in record.winner_before.items():
        if field == "custom_attributes":
            attrs = dict(winner.custom_attributes or {})
            after = record.winner_after.get(field) or {}
            for key in set(after) | set(before or {}):
                if attrs.get(key) == after.get(key):
                    if key in (before or {}):
                        attrs[key] = before[key]
                    else:
                        attrs.pop(key, None)
            winner.custom_attributes = attrs
        elif current.get(field) == record.winner_after.get(field):
            setattr(winner, field, before)
    await session.flush()
    try:
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO contacts SELECT * FROM jsonb_populate_record(NULL::contacts, CAST(:row AS jsonb))"
                ),
                {"row": json.dumps(record.loser)},
            )
    except IntegrityError as exc:
        raise Conflict(
            "the contact's e-mail or phone now belongs to another contact", code="contact_exists"
        ) from exc
    references = await _references(session)
    for key, ids in record.moved.items():
        table, column = key.split(".")
        if key == MESSAGES_KEY:
            await session.execute(
                text("UPDATE messages SET sender_id = :l WHERE id = ANY(:ids) AND sender_id = :w"),
                {"l": record.loser_id, "w": record.winner_id, "ids": ids},
            )
            continue
        if (table, column) not in references:
            continue  # a table since dropped
        await session.execute(
            text(f'UPDATE "{table}" SET "{column}" = :l WHERE id = ANY(:ids) AND "{column}" = :w'),
            {"l": record.loser_id, "w": record.winner_id, "ids": ids},
        )
    record.undone_at = now
    await session.flush()
    return record
