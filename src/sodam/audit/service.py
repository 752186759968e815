"""Writing and reading the audit log. Services never commit: callers own the transaction.

Changes are recorded once, here, by a SQLAlchemy flush hook: a model opts in with
`__audit__ = "<target type>"` and every insert, update or delete of it made while an
actor is known (an API token or a console session, see audit/context.py) writes one
entry in the same transaction — field names only, never the values, except the
fields a model lists in `__audit_values__` (roles, statuses: nothing personal).
Reads of personal data, exports and erasures are recorded with `record()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from sodam.audit import context
from sodam.audit.models import AuditEntry

_PENDING = "sodam_audit_pending"
# Bookkeeping every table has; a change to these alone is not worth an entry.
_ALWAYS_IGNORED = frozenset({"id", "workspace_id", "created_at", "updated_at"})
_HIDDEN_NAMES = {"password_hash": "password", "token_hash": "token"}


def _spec(obj: Any) -> str | None:
    return getattr(type(obj), "__audit__", None)


def _ignored(obj: Any) -> frozenset[str]:
    return _ALWAYS_IGNORED | frozenset(getattr(type(obj), "__audit_ignore__", ()))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "value"):  # enums
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _changes(obj: Any) -> dict[str, Any] | None:
    """{"fields": [...], "values": {field: {"from", "to"}}} of a dirty object, or None."""
    state = inspect(obj)
    shown_values = frozenset(getattr(type(obj), "__audit_values__", ()))
    fields: list[str] = []
    values: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in _ignored(obj):
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if isinstance(old, dict) or isinstance(new, dict):
            # JSON settings/attributes: name the keys that changed, not their contents.
            old, new = old or {}, new or {}
            keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            fields.extend(f"{key}.{k}" for k in keys)
            continue
        if old == new:
            continue
        fields.append(_HIDDEN_NAMES.get(key, key))
        if key in shown_values:
            values[key] = {"from": _jsonable(old), "to": _jsonable(new)}
    if not fields:
        return None
    return {"fields": fields, **({"values": values} if values else {})}


def _created_fields(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    fields = [
        _HIDDEN_NAMES.get(attr.key, attr.key)
        for attr in state.mapper.column_attrs
        # Only what the object holds: a server default not yet read back would cost a query.
        if attr.key not in _ignored(obj) and state.dict.get(attr.key) not in (None, "", [], {})
    ]
    return {"fields": fields}


def _verb(obj: Any, default: str, details: dict[str, Any] | None = None) -> str:
    """A model may rename a verb ("created" -> "member_added") or name a change by its
    field (ApiToken's revoked_at -> "token.revoked")."""
    verbs: dict[str, str] = getattr(type(obj), "__audit_verbs__", {})
    if default in verbs:
        return verbs[default]
    for field in (details or {}).get("fields", ()):
        if field in verbs:
            return verbs[field]
    return default


@event.listens_for(Session, "before_flush")
def _collect_changes(session: Session, _flush_context, _instances) -> None:
    if context.actor() is None:
        return  # visitors, the bot and jobs are not agents or tokens
    # Fresh for every flush: a flush that failed (and was rolled back) leaves nothing behind.
    pending = session.info[_PENDING] = []
    for obj in session.new:
        if _spec(obj):
            pending.append(("created", obj, None))
    for obj in session.dirty:
        if _spec(obj) and session.is_modified(obj, include_collections=False):
            details = _changes(obj)
            if details is not None:
                pending.append((_verb(obj, "updated", details), obj, details))
    for obj in session.deleted:
        if _spec(obj):
            pending.append(("deleted", obj, None))


@event.listens_for(Session, "after_flush")
def _write_changes(session: Session, _flush_context) -> None:
    pending = session.info.pop(_PENDING, None)
    scope = context.current()
    if not pending or scope is None or scope.actor is None:
        return
    rows = []
    for verb, obj, details in pending:
        target_type = _spec(obj)
        id_attr = getattr(type(obj), "__audit_target_id__", "id")
        if verb == "created":
            details = _created_fields(obj)
        if verb in ("created", "deleted"):
            verb = _verb(obj, verb)
        extra = getattr(obj, "__audit_details__", None)
        if callable(extra):
            details = {**(details or {}), **extra()}
        # A workspace row is its own workspace (__audit_workspace_attr__ = "id").
        workspace_id = getattr(obj, getattr(type(obj), "__audit_workspace_attr__", "workspace_id"))
        rows.append(
            _row(scope, workspace_id, f"{target_type}.{verb}", target_type, getattr(obj, id_attr), details)
        )
    session.connection().execute(insert(AuditEntry.__table__), rows)


def _row(
    scope: context.AuditScope,
    workspace_id: int,
    action: str,
    target_type: str,
    target_id: int | None,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    actor = scope.actor
    assert actor is not None
    return {
        "workspace_id": workspace_id,
        "actor_type": actor.actor_type,
        "agent_id": actor.agent_id,
        "token_id": actor.token_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "ip": scope.ip,
        "user_agent": scope.user_agent,
        "details": details or {},
    }


async def record(
    session: AsyncSession,
    *,
    action: str,
    target_type: str,
    target_id: int | None = None,
    workspace_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry | None:
    """Append one entry for the current actor (reads, exports, erasures); None without an actor."""
    scope = context.current()
    if scope is None or scope.actor is None:
        return None
    entry = AuditEntry(
        **_row(scope, workspace_id or scope.actor.workspace_id, action, target_type, target_id, details)
    )
    session.add(entry)
    return entry


async def list_page(
    session: AsyncSession,
    *,
    workspace_id: int,
    before_id: int | None = None,
    limit: int = 50,
    actor_type: str | None = None,
    agent_id: int | None = None,
    token_id: int | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntry]:
    """Entries of a workspace, newest first, filtered; `action` ending in "." matches a prefix."""
    stmt = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    if actor_type is not None:
        stmt = stmt.where(AuditEntry.actor_type == actor_type)
    if agent_id is not None:
        stmt = stmt.where(AuditEntry.agent_id == agent_id)
    if token_id is not None:
        stmt = stmt.where(AuditEntry.token_id == token_id)
    if action:
        if action.endswith("."):
            escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(AuditEntry.action.like(escaped + "%", escape="\\"))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if since is not None:
        stmt = stmt.where(AuditEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.created_at < until)
    return list(await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))


async def iterate(session: AsyncSession, *, batch: int = 1000, **filters: Any) -> AsyncIterator[AuditEntry]:
    """Every matching entry, newest first, read in keyset batches (for exports)."""
    before = None
    while True:
        rows = await list_page(session, before_id=before, limit=batch, **filters)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        before = rows[-1].id
