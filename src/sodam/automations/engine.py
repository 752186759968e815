"""The engine: outbox events → runs (drain), contacts' state → runs (sweep), runs → steps
(`execution`). Every time-dependent decision reads `clock.now()`.

Once per trigger: a run's (rule, trigger key) is unique, and runs are inserted with ON
CONFLICT DO NOTHING, so two workers draining or sweeping at once create one run. Events are
taken with SKIP LOCKED (no two workers evaluate the same event); a run is executed under its
row lock (SKIP LOCKED again), one run per transaction, so its step, the step's effect and its
progress commit together — a worker dying mid-step leaves the run as it was, to be taken again.

Rules are matched from an in-memory index per workspace (by event type, conditions compiled
once), rebuilt when `automation_settings.version` moves (every rule change bumps it).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, exists, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.automations import clock
from sodam.automations.models import Rule, Run, Settings
from sodam.automations.rules import (
    STATE_TRIGGERS,
    CompiledRule,
    EvalContext,
    RuleIndex,
    build_index,
)
from sodam.contacts.models import Contact
from sodam.conversations.models import Conversation
from sodam.core.errors import NotFound
from sodam.hours import calendar
from sodam.segments import service as segments

log = logging.getLogger(__name__)

DRAIN_BATCH = 500
SWEEP_LIMIT = 10_000
KST = "Asia/Seoul"

# -- settings and the rule index -----------------------------------------------------------
_index: dict[int, RuleIndex] = {}


async def settings_for(session: AsyncSession, *, workspace_id: int) -> Settings:
    """The workspace's automation settings (the defaults stored on first use)."""
    found = await session.get(Settings, workspace_id)
    if found is None:
        await session.execute(
            pg_insert(Settings)
            .values(workspace_id=workspace_id)
            .on_conflict_do_nothing(index_elements=["workspace_id"])
        )
        found = await session.get(Settings, workspace_id)
    return found


async def bump_version(session: AsyncSession, *, workspace_id: int) -> None:
    """Every process rebuilds this workspace's rule index at its next look."""
    await session.execute(
        text(
            "INSERT INTO automation_settings (workspace_id, version) VALUES (:ws, 1)"
            " ON CONFLICT (workspace_id) DO UPDATE SET version = automation_settings.version + 1"
        ),
        {"ws": workspace_id},
    )


async def rule_index(session: AsyncSession, *, workspace_id: int) -> RuleIndex:
    """The workspace's enabled rules, compiled; rebuilt only when a rule changed."""
    version = await session.scalar(
        text("SELECT version FROM automation_settings WHERE workspace_id = :ws"), {"ws": workspace_id}
    )
    version = int(version or 0)
    cached = _index.get(workspace_id)
    if cached is not None and cached.version == version:
        return cached
    rules = list(
        await session.scalars(
            select(Rule).where(Rule.workspace_id == workspace_id, Rule.enabled.is_(True)).order_by(Rule.id)
        )
    )
    built = build_index(rules, version)
    _index[workspace_id] = built
    return built


def forget_cache() -> None:
    _index.clear()


# -- loading what rules look at ------------------------------------------------------------
def contact_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "language": row.language,
        "attributes": row.custom_attributes or {},
        "company": row.company,
    }


async def _contacts(
    session: AsyncSession, ws: int, ids: set[int]
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """(contact views, company views) by contact id, in one statement."""
    if not ids:
        return {}, {}
    rows = await session.execute(
        text(
            "SELECT c.id, c.name, c.language, c.custom_attributes, c.company,"
            " co.name AS co_name, co.plan AS co_plan, co.custom_attributes AS co_attrs, co.id AS co_id"
            " FROM contacts c LEFT JOIN companies co ON co.id = c.company_id"
            " WHERE c.workspace_id = :ws AND c.id = ANY(:ids)"
        ),
        {"ws": ws, "ids": list(ids)},
    )
    people, companies = {}, {}
    for r in rows:
        people[r.id] = contact_view(r)
        if r.co_id is not None:
            companies[r.id] = {"name": r.co_name, "plan": r.co_plan, "attributes": r.co_attrs or {}}
    return people, companies


async def _conversations(session: AsyncSession, ws: int, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT v.id, v.inbox_id, v.priority::text AS priority, v.tags, i.channel_type::text AS channel"
            " FROM conversations v JOIN inboxes i ON i.id = v.inbox_id"
            " WHERE v.workspace_id = :ws AND v.id = ANY(:ids)"
        ),
        {"ws": ws, "ids": list(ids)},
    )
    return {
        r.id: {
            "inbox_id": r.inbox_id,
            "priority": r.priority,
            "tags": list(r.tags or []),
            "channel": r.channel,
        }
        for r in rows
    }


class Hours:
    """Business hours by inbox (the workspace's first inbox for a contact without a conversation)."""

    def __init__(self, rows: list[Any]):
        self._by_inbox = {r.id: r.hours for r in rows}
        self._default = rows[0].hours if rows else None

    def config(self, inbox_id: int | None) -> dict[str, Any] | None:
        if inbox_id is not None and inbox_id in self._by_inbox:
            return self._by_inbox[inbox_id]
        return self._default


async def hours_of(session: AsyncSession, ws: int) -> Hours:
    rows = await session.execute(
        text(
            "SELECT id, settings->'business_hours' AS hours FROM inboxes WHERE workspace_id = :ws ORDER BY id"
        ),
        {"ws": ws},
    )
    return Hours(list(rows))


def _context(
    *,
    event: dict[str, Any],
    contact: dict[str, Any],
    company: dict[str, Any] | None,
    conversation: dict[str, Any] | None,
    now: datetime,
    tz: ZoneInfo,
    hours: Hours,
) -> EvalContext:
    inbox_id = conversation.get("inbox_id") if conversation else None
    return EvalContext(
        event=event,
        contact=contact,
        company=company,
        conversation=conversation,
        now=now,
        tz=tz,
        business_open=lambda: calendar.is_open(hours.config(inbox_id), now),
    )


async def passes_db_checks(session: AsyncSession, rule: CompiledRule, contact_id: int, now: datetime) -> bool:
    """The conditions that need the database, asked for one contact (after the cheap ones)."""
    for cond in rule.db_checks:
        if cond["field"] == "segment":
            try:
                segment = await segments.get(
                    session, workspace_id=rule.workspace_id, segment_id=int(cond["value"])
                )
            except NotFound:
                return False
            inside = await session.scalar(
                select(
                    exists(
                        segments.ids_query(
                            workspace_id=rule.workspace_id, filter=segment.filter, now=now
                        ).where(Contact.id == contact_id)
                    )
                )
            )
            if bool(inside) != (cond["op"] == "in"):
                return False
        elif cond["field"] == "contact.resolved_conversations":
            n = await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.workspace_id == rule.workspace_id,
                    Conversation.contact_id == contact_id,
                    Conversation.status == "resolved",
                )
            )
            ok = n >= cond["value"] if cond["op"] == "gte" else n <= cond["value"]
            if not ok:
                return False
    return True


async def _nth_conversation(session: AsyncSession, rule: CompiledRule, event: Any) -> bool:
    """The conversation is the contact's Nth started within M days (as of its creation)."""
    if event.conversation_id is None or event.contact_id is None:
        return False
    since = event.occurred_at - timedelta(days=int(rule.trigger_config["days"]))
    n = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.workspace_id == rule.workspace_id,
            Conversation.contact_id == event.contact_id,
            Conversation.created_at > since,
            Conversation.id <= event.conversation_id,
        )
    )
    return n == int(rule.trigger_config["count"])


# -- runs ------------------------------------------------------------------------------------
def run_row(
    rule: CompiledRule,
    *,
    contact_id: int,
    key: str,
    now: datetime,
    conversation_id: int | None = None,
    event: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "workspace_id": rule.workspace_id,
        "rule_id": rule.id,
        "contact_id": contact_id,
        "conversation_id": conversation_id,
        "trigger_key": key,
        "trigger_type": rule.trigger_type,
        "context": {"rule_name": rule.name, **(event or {})},
        "status": "waiting",
        "step": 0,
        "next_at": now,
    }


async def insert_runs(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert runs; one already there for its (rule, trigger key) is left alone. Returns new ids."""
    if not rows:
        return []
    result = await session.execute(
        pg_insert(Run)
        .values(rows)
        .on_conflict_do_nothing(constraint="uq_automation_runs_rule_key")
        .returning(Run.id)
    )
    return [r[0] for r in result]


@dataclass
class Drained:
    events: int
    runs: int


async def drain(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    workspace_id: int | None = None,
    limit: int = DRAIN_BATCH,
) -> Drained:
    """Evaluate up to `limit` pending outbox events against the enabled rules and create their
    runs, in the caller's transaction (which marks the events processed)."""
    now = now or clock.now()
    where = "processed_at IS NULL" + (" AND workspace_id = :ws" if workspace_id is not None else "")
    events = list(
        await session.execute(
            text(
                "SELECT id, workspace_id, type, name, contact_id, conversation_id, data, occurred_at"
                f" FROM automation_events WHERE {where} ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
            ),
            {"ws": workspace_id, "n": limit},
        )
    )
    if not events:
        return Drained(0, 0)
    by_ws: dict[int, list[Any]] = defaultdict(list)
    for e in events:
        by_ws[e.workspace_id].append(e)
    rows: list[dict[str, Any]] = []
    for ws, batch in by_ws.items():
        index = await rule_index(session, workspace_id=ws)
        wanted = [
            (e, rules) for e in batch if e.contact_id is not None and (rules := index.for_event(e.type))
        ]
        if not wanted:
            continue
        settings = await settings_for(session, workspace_id=ws)
        tz = ZoneInfo(settings.timezone or KST)
        people, companies = await _contacts(session, ws, {e.contact_id for e, _ in wanted})
        convs = await _conversations(session, ws, {e.conversation_id for e, _ in wanted if e.conversation_id})
        hours = await hours_of(session, ws)
        for e, rules in wanted:
            contact = people.get(e.contact_id)
            if contact is None:  # erased or merged away since
                continue
            event = {"type": e.type, "name": e.name, "data": e.data or {}}
            ctx = _context(
                event=event,
                contact=contact,
                company=companies.get(e.contact_id),
                conversation=convs.get(e.conversation_id) if e.conversation_id else None,
                now=now,
                tz=tz,
                hours=hours,
            )
            for rule in rules:
                if not rule.matches(ctx):
                    continue
                if rule.trigger_type == "conversation.nth" and not await _nth_conversation(session, rule, e):
                    continue
                if rule.db_checks and not await passes_db_checks(session, rule, e.contact_id, now):
                    continue
                rows.append(
                    run_row(
                        rule,
                        contact_id=e.contact_id,
                        key=f"ev:{e.id}",
                        now=now,
                        conversation_id=e.conversation_id if e.conversation_id in convs else None,
                        event={"event": e.type, "event_id": e.id, "name": e.name, "data": e.data or {}},
                    )
                )
    created = await insert_runs(session, rows)
    await session.execute(
        text("UPDATE automation_events SET processed_at = :now WHERE id = ANY(:ids)"),
        {"now": now, "ids": [e.id for e in events]},
    )
    return Drained(len(events), len(created))


# -- state-based triggers: the sweep and the dry run share one path ------------------------
_STATE_SQL = {
    "contact.inactive": """
        SELECT c.id, 'inactive:' || c.id || ':' || to_char(a.last_active AT TIME ZONE 'UTC', 'YYYYMMDD') AS key
          FROM contacts c
         CROSS JOIN LATERAL (SELECT greatest(
                c.created_at,
                (SELECT max(coalesce(v.last_message_at, v.created_at)) FROM conversations v
                  WHERE v.workspace_id = c.workspace_id AND v.contact_id = c.id),
                (SELECT max(p.created_at) FROM visitor_pages p
                  WHERE p.workspace_id = c.workspace_id AND p.contact_id = c.id)) AS last_active) a
         WHERE c.workspace_id = :ws AND a.last_active < :cutoff""",
    # Contacts who reached N days since they were created within the last week (so turning a
    # rule on does not reach every old contact).
    "contact.age": """
        SELECT c.id, 'age:' || c.id AS key FROM contacts c
         WHERE c.workspace_id = :ws AND c.created_at <= :cutoff AND c.created_at > :cutoff - interval '7 days'""",
}


async def state_targets(
    session: AsyncSession, rule: CompiledRule, *, now: datetime, limit: int = SWEEP_LIMIT
) -> list[tuple[int, str]]:
    """(contact id, trigger key) of the contacts this state-based rule reaches right now (not
    reached before for the same key), in contact id order: the dry run shows exactly these, and
    the sweep creates exactly their runs."""
    ws = rule.workspace_id
    cfg = rule.trigger_config
    if rule.trigger_type == "segment.member":
        try:
            segment = await segments.get(session, workspace_id=ws, segment_id=int(cfg["segment_id"]))
        except NotFound:
            return []
        ids = segments.ids_query(workspace_id=ws, filter=segment.filter, now=now).subquery()
        key = literal("segment:") + cast(ids.c.id, String)
        stmt = (
            select(ids.c.id, key.label("key"))
            .where(~exists().where(Run.rule_id == rule.id, Run.trigger_key == key))
            .order_by(ids.c.id)
            .limit(limit)
        )
        candidates = [(r[0], r[1]) for r in await session.execute(stmt)]
    else:
        cutoff = now - timedelta(days=int(cfg["days"]))
        sql = (
            f"SELECT t.id, t.key FROM ({_STATE_SQL[rule.trigger_type]}) t"
            " WHERE NOT EXISTS (SELECT 1 FROM automation_runs r WHERE r.rule_id = :rule AND r.trigger_key = t.key)"
            " ORDER BY t.id LIMIT :n"
        )
        params = {"ws": ws, "cutoff": cutoff, "rule": rule.id, "n": limit}
        candidates = [(r.id, r.key) for r in await session.execute(text(sql), params)]
    if not candidates:
        return []
    settings = await settings_for(session, workspace_id=ws)
    tz = ZoneInfo(settings.timezone or KST)
    people, companies = await _contacts(session, ws, {c for c, _ in candidates})
    hours = await hours_of(session, ws)
    event = {"type": rule.trigger_type, "name": None, "data": {}}
    out = []
    for contact_id, key in candidates:
        contact = people.get(contact_id)
        if contact is None:
            continue
        ctx = _context(
            event=event,
            contact=contact,
            company=companies.get(contact_id),
            conversation=None,
            now=now,
            tz=tz,
            hours=hours,
        )
        if not rule.matches(ctx):
            continue
        if rule.db_checks and not await passes_db_checks(session, rule, contact_id, now):
            continue
        out.append((contact_id, key))
    return out


async def sweep(
    session: AsyncSession, *, now: datetime | None = None, workspace_id: int | None = None
) -> int:
    """Create the runs of every enabled state-based rule (in the caller's transaction); returns how many."""
    now = now or clock.now()
    stmt = (
        select(Rule.workspace_id)
        .where(Rule.enabled.is_(True), Rule.trigger_type.in_(STATE_TRIGGERS))
        .distinct()
    )
    if workspace_id is not None:
        stmt = stmt.where(Rule.workspace_id == workspace_id)
    created = 0
    for ws in list(await session.scalars(stmt)):
        index = await rule_index(session, workspace_id=ws)
        for rule in index.state:
            targets = await state_targets(session, rule, now=now)
            rows = [
                run_row(rule, contact_id=c, key=k, now=now, event={"event": rule.trigger_type})
                for c, k in targets
            ]
            created += len(await insert_runs(session, rows))
    return created
