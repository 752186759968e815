"""Automation rules, their runs and the workspace's settings; custom events; the dry run.

Services never commit: callers own the transaction. Every change to a rule bumps the
workspace's rules version, so every process rebuilds its in-memory index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.automations import clock, engine, templates
from sodam.automations.models import Event, Rule, Run, RunStep, Settings
from sodam.automations.rules import STATE_TRIGGERS, check_conditions, check_steps, check_trigger, compile_rule
from sodam.contacts import service as contacts
from sodam.contacts.models import Contact
from sodam.core.errors import Invalid, NotFound

RULE_FIELDS = (
    "name",
    "description",
    "trigger_type",
    "trigger_config",
    "conditions",
    "steps",
    "marketing",
    "business_hours",
)


async def get(session: AsyncSession, *, workspace_id: int, rule_id: int) -> Rule:
    """A rule of this workspace (404 otherwise)."""
    rule = await session.scalar(select(Rule).where(Rule.workspace_id == workspace_id, Rule.id == rule_id))
    if rule is None:
        raise NotFound("automation rule not found")
    return rule


async def list_(
    session: AsyncSession, *, workspace_id: int, after_id: int | None = None, limit: int = 100
) -> list[Rule]:
    """Rules by id."""
    stmt = select(Rule).where(Rule.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(Rule.id > after_id)
    return list(await session.scalars(stmt.order_by(Rule.id).limit(limit)))


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    name = (values.get("name") or "").strip()
    if not name or len(name) > 200:
        raise Invalid(
            "name: must be text of 1 to 200 characters",
            code="invalid_rule",
            details={"path": "name", "reason": "required"},
        )
    out = {
        "name": name,
        "description": (values.get("description") or "").strip()[:1000] or None,
        "trigger_type": values.get("trigger_type"),
        "trigger_config": check_trigger(values.get("trigger_type"), values.get("trigger_config")),
        "conditions": check_conditions(values.get("conditions")),
        "steps": check_steps(values.get("steps")),
        "marketing": bool(values.get("marketing", False)),
        "business_hours": bool(values.get("business_hours", False)),
    }
    return out


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    created_by: int | None = None,
    enabled: bool = False,
    template_key: str | None = None,
    **values: Any,
) -> Rule:
    """A new rule (422 invalid_rule with the path of the bad part)."""
    rule = Rule(
        workspace_id=workspace_id,
        created_by=created_by,
        enabled=enabled,
        template_key=template_key,
        **_validated(values),
    )
    session.add(rule)
    await session.flush()
    await engine.bump_version(session, workspace_id=workspace_id)
    return rule


async def update(session: AsyncSession, *, workspace_id: int, rule_id: int, **changes: Any) -> Rule:
    """Change a rule: the result is validated whole."""
    rule = await get(session, workspace_id=workspace_id, rule_id=rule_id)
    merged = {f: getattr(rule, f) for f in RULE_FIELDS}
    if (
        "trigger_type" in changes
        and "trigger_config" not in changes
        and changes["trigger_type"] != rule.trigger_type
    ):
        merged["trigger_config"] = {}
    merged.update({k: v for k, v in changes.items() if k in RULE_FIELDS})
    for key, value in _validated(merged).items():
        setattr(rule, key, value)
    if "enabled" in changes and changes["enabled"] is not None:
        rule.enabled = bool(changes["enabled"])
    rule.updated_at = func.now()
    await session.flush()
    await session.refresh(rule)
    await engine.bump_version(session, workspace_id=workspace_id)
    return rule


async def set_enabled(session: AsyncSession, *, workspace_id: int, rule_id: int, enabled: bool) -> Rule:
    rule = await get(session, workspace_id=workspace_id, rule_id=rule_id)
    rule.enabled = enabled
    await session.flush()
    await session.refresh(rule)
    await engine.bump_version(session, workspace_id=workspace_id)
    return rule


async def delete(session: AsyncSession, *, workspace_id: int, rule_id: int) -> None:
    rule = await get(session, workspace_id=workspace_id, rule_id=rule_id)
    await session.delete(rule)
    await session.flush()
    await engine.bump_version(session, workspace_id=workspace_id)


async def runs(
    session: AsyncSession, *, workspace_id: int, rule_id: int, before_id: int | None = None, limit: int = 50
) -> list[Run]:
    """A rule's runs, newest first."""
    await get(session, workspace_id=workspace_id, rule_id=rule_id)
    stmt = select(Run).where(Run.workspace_id == workspace_id, Run.rule_id == rule_id)
    if before_id is not None:
        stmt = stmt.where(Run.id < before_id)
    return list(await session.scalars(stmt.order_by(Run.id.desc()).limit(limit)))


async def run_steps(
    session: AsyncSession, *, workspace_id: int, run_ids: list[int]
) -> dict[int, list[RunStep]]:
    if not run_ids:
        return {}
    rows = await session.scalars(
        select(RunStep)
        .where(RunStep.workspace_id == workspace_id, RunStep.run_id.in_(run_ids))
        .order_by(RunStep.id)
    )
    out: dict[int, list[RunStep]] = {}
    for r in rows:
        out.setdefault(r.run_id, []).append(r)
    return out


async def counts(session: AsyncSession, *, workspace_id: int) -> dict[int, dict[str, Any]]:
    """Per rule: runs by status and the last run's time (the console list)."""
    rows = await session.execute(
        select(Run.rule_id, Run.status, func.count(), func.max(Run.created_at))
        .where(Run.workspace_id == workspace_id)
        .group_by(Run.rule_id, Run.status)
    )
    out: dict[int, dict[str, Any]] = {}
    for rule_id, status, n, last in rows:
        entry = out.setdefault(
            rule_id, {"total": 0, "waiting": 0, "done": 0, "failed": 0, "cancelled": 0, "last_at": None}
        )
        entry[status] = entry.get(status, 0) + n
        entry["total"] += n
        if last is not None and (entry["last_at"] is None or last > entry["last_at"]):
            entry["last_at"] = last
    return out


async def get_settings(session: AsyncSession, *, workspace_id: int) -> Settings:
    return await engine.settings_for(session, workspace_id=workspace_id)


async def save_settings(
    session: AsyncSession,
    *,
    workspace_id: int,
    daily_cap: int | None = None,
    quiet_start: int | None = None,
    quiet_end: int | None = None,
    timezone: str | None = None,
) -> Settings:
    settings = await engine.settings_for(session, workspace_id=workspace_id)
    if daily_cap is not None:
        settings.daily_cap = daily_cap
    if quiet_start is not None:
        settings.quiet_start = quiet_start
    if quiet_end is not None:
        settings.quiet_end = quiet_end
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid("unknown time zone", code="invalid_timezone") from None
        settings.timezone = timezone
    await session.flush()
    return settings


# -- the dry run -----------------------------------------------------------------------------
async def dry_run(
    session: AsyncSession, *, workspace_id: int, rule_id: int, limit: int = 1000
) -> dict[str, Any]:
    """Which contacts the rule would reach right now — the very function the sweep uses to
    create runs (state-based triggers only: an event trigger reaches whoever the event brings)."""
    rule = await get(session, workspace_id=workspace_id, rule_id=rule_id)
    if rule.trigger_type not in STATE_TRIGGERS:
        raise Invalid(
            "a dry run needs a state-based trigger (" + ", ".join(STATE_TRIGGERS) + ")",
            code="dry_run_unsupported",
            details={"trigger_type": rule.trigger_type},
        )
    now = clock.now()
    targets = await engine.state_targets(session, compile_rule(rule), now=now)
    ids = [c for c, _ in targets]
    people = await contacts.get_many(session, workspace_id=workspace_id, ids=ids[:limit]) if ids else {}
    return {
        "rule_id": rule.id,
        "at": now,
        "count": len(ids),
        "contact_ids": ids,
        "contacts": [
            {"id": c, "name": people[c].name, "email": people[c].email} for c in ids[:limit] if c in people
        ],
    }


# -- custom events ---------------------------------------------------------------------------
async def find_contact(
    session: AsyncSession,
    *,
    workspace_id: int,
    contact_id: int | None,
    external_id: str | None,
    email: str | None,
) -> Contact:
    """The contact an event is about: by id, by the company's member id, or by e-mail (404 otherwise)."""
    if contact_id is not None:
        return await contacts.get(session, workspace_id=workspace_id, contact_id=contact_id)
    if external_id:
        identity = await contacts.by_identity(
            session, workspace_id=workspace_id, channel_type=contacts.MEMBER_CHANNEL, external_id=external_id
        )
        if identity is None:
            raise NotFound("contact not found")
        return await contacts.get(session, workspace_id=workspace_id, contact_id=identity.contact_id)
    if email:
        found = await session.scalar(
            select(Contact)
            .where(Contact.workspace_id == workspace_id, func.lower(Contact.email) == email.strip().lower())
            .order_by(Contact.id)
            .limit(1)
        )
        if found is None:
            raise NotFound("contact not found")
        return found
    raise Invalid(
        "name the contact: contact.id, contact.external_id or contact.email", code="contact_required"
    )


async def record_event(
    session: AsyncSession,
    *,
    workspace_id: int,
    contact_id: int,
    name: str,
    properties: dict[str, Any],
    key: str | None,
) -> tuple[Event, bool]:
    """Store a custom event once per idempotency key; returns (event, created)."""
    stmt = pg_insert(Event).values(
        workspace_id=workspace_id,
        type="custom",
        name=name,
        contact_id=contact_id,
        data=properties,
        key=key,
    )
    if key:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["workspace_id", "key"], index_where=Event.key.isnot(None)
        )
    new_id = await session.scalar(stmt.returning(Event.id))
    if new_id is None:
        existing = await session.scalar(
            select(Event).where(Event.workspace_id == workspace_id, Event.key == key)
        )
        if existing.name != name or existing.contact_id != contact_id or existing.data != properties:
            from sodam.core.errors import Conflict

            raise Conflict("this Idempotency-Key was used for another event", code="idempotency_key_reused")
        return existing, False
    return await session.get(Event, new_id), True


# -- templates -------------------------------------------------------------------------------
async def instantiate(
    session: AsyncSession, *, workspace_id: int, key: str, created_by: int | None, enabled: bool = True
) -> list[Rule]:
    """The rules of a seed journey, created (and enabled: one click) for this workspace."""
    template = templates.get(key)
    return [
        await create(
            session,
            workspace_id=workspace_id,
            created_by=created_by,
            enabled=enabled,
            template_key=key,
            **rule,
        )
        for rule in template["rules"]
    ]
