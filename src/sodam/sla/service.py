"""SLA policies: list, create, update, delete, and which targets apply to a conversation.

Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import service as inboxes
from sodam.conversations.models import Priority
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.sla.models import SlaPolicy

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
KINDS = ("first_response", "next_response", "resolution")
PRIORITIES = tuple(p.value for p in Priority)
DEFAULT_TIER = "standard"
# The demo's (and a new workspace's suggested) policy, in business hours.
DEFAULT_TARGETS: list[dict[str, Any]] = [
    {
        "tier": "vip",
        "priority": "*",
        "first_response_s": 15 * 60,
        "next_response_s": 30 * 60,
        "resolution_s": 8 * 3600,
    },
    {
        "tier": "*",
        "priority": "urgent",
        "first_response_s": 30 * 60,
        "next_response_s": 60 * 60,
        "resolution_s": 8 * 3600,
    },
    {
        "tier": "*",
        "priority": "high",
        "first_response_s": 60 * 60,
        "next_response_s": 2 * 3600,
        "resolution_s": 16 * 3600,
    },
    {
        "tier": "*",
        "priority": "*",
        "first_response_s": 4 * 3600,
        "next_response_s": 8 * 3600,
        "resolution_s": 40 * 3600,
    },
]


def clean_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as stored: tier lower-cased, priority one of the five or "*", each (tier,
    priority) once, targets as whole seconds or None."""
    seen: set[tuple[str, str]] = set()
    out = []
    for row in rows:
        tier = _CONTROL.sub("", str(row.get("tier") or "*")).strip().lower()[:40] or "*"
        priority = str(row.get("priority") or "*").strip().lower()
        if priority not in PRIORITIES and priority != "*":
            raise Invalid(f"unknown priority {priority!r}", code="invalid_priority")
        if (tier, priority) in seen:
            raise Invalid(f"two rows for tier {tier!r} and priority {priority!r}", code="duplicate_target")
        seen.add((tier, priority))
        cleaned = {"tier": tier, "priority": priority}
        for kind in KINDS:
            value = row.get(f"{kind}_s")
            cleaned[f"{kind}_s"] = int(value) if value not in (None, "") else None
        out.append(cleaned)
    return out


def targets_for(policy: SlaPolicy, *, tier: str | None, priority: str) -> dict[str, int | None]:
    """The most specific row for this tier and priority (exact tier beats exact priority,
    both beat "*"); every kind None when no row matches."""
    tier = (tier or DEFAULT_TIER).strip().lower()
    best, best_score = None, -1
    for row in policy.targets or []:
        if row.get("tier") not in (tier, "*") or row.get("priority") not in (priority, "*"):
            continue
        score = 2 * (row["tier"] == tier) + (row["priority"] == priority)
        if score > best_score:
            best, best_score = row, score
    return {kind: (best or {}).get(f"{kind}_s") for kind in KINDS}


async def list_(session: AsyncSession, *, workspace_id: int) -> list[SlaPolicy]:
    """The workspace's policies, the default first."""
    rows = await session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.workspace_id == workspace_id)
        .order_by(SlaPolicy.is_default.desc(), SlaPolicy.name, SlaPolicy.id)
    )
    return list(rows)


async def get(session: AsyncSession, *, workspace_id: int, policy_id: int) -> SlaPolicy:
    """One policy of this workspace."""
    policy = await session.scalar(
        select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id, SlaPolicy.id == policy_id)
    )
    if policy is None:
        raise NotFound("SLA policy not found")
    return policy


async def policy_for(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> SlaPolicy | None:
    """The policy naming this inbox, else the workspace's default, else None."""
    default = None
    for policy in await list_(session, workspace_id=workspace_id):
        if inbox_id in (policy.inbox_ids or []):
            return policy
        if policy.is_default and default is None:
            default = policy
    return default


async def _check_inboxes(session: AsyncSession, *, workspace_id: int, inbox_ids: list[int]) -> list[int]:
    known = {i.id for i in await inboxes.list_(session, workspace_id=workspace_id)}
    unknown = [i for i in inbox_ids if i not in known]
    if unknown:
        raise NotFound("inbox not found", details={"field": "inbox_ids", "inbox_ids": unknown})
    return sorted(set(inbox_ids))


async def _only_default(session: AsyncSession, *, workspace_id: int, keep_id: int | None) -> None:
    stmt = update(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id, SlaPolicy.is_default.is_(True))
    if keep_id is not None:
        stmt = stmt.where(SlaPolicy.id != keep_id)
    await session.execute(stmt.values(is_default=False))


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    is_default: bool = False,
    business_hours: bool = True,
    inbox_ids: list[int] | None = None,
    targets: list[dict[str, Any]] | None = None,
) -> SlaPolicy:
    """Add a policy (a new default replaces the old one)."""
    if is_default:
        await _only_default(session, workspace_id=workspace_id, keep_id=None)
    policy = SlaPolicy(
        workspace_id=workspace_id,
        name=name.strip()[:200],
        is_default=is_default,
        business_hours=business_hours,
        inbox_ids=await _check_inboxes(session, workspace_id=workspace_id, inbox_ids=inbox_ids or []),
        targets=clean_targets(targets or []),
    )
    await _flush_named(session, policy)
    session.add(policy)
    await session.flush()
    return policy


async def update_(
    session: AsyncSession, *, workspace_id: int, policy_id: int, changes: dict[str, Any]
) -> SlaPolicy:
    """Change a policy's fields (only those given)."""
    policy = await get(session, workspace_id=workspace_id, policy_id=policy_id)
    if changes.get("is_default"):
        await _only_default(session, workspace_id=workspace_id, keep_id=policy.id)
    inbox_ids = None
    if changes.get("inbox_ids") is not None:  # read before any change is pending (no autoflush)
        inbox_ids = await _check_inboxes(session, workspace_id=workspace_id, inbox_ids=changes["inbox_ids"])
    if changes.get("name") is not None:
        policy.name = changes["name"].strip()[:200]
    for key in ("is_default", "business_hours"):
        if changes.get(key) is not None:
            setattr(policy, key, bool(changes[key]))
    if inbox_ids is not None:
        policy.inbox_ids = inbox_ids
    if changes.get("targets") is not None:
        policy.targets = clean_targets(changes["targets"])
    policy.updated_at = datetime.now(UTC)
    await _flush_named(session, policy)
    return policy


async def delete(session: AsyncSession, *, workspace_id: int, policy_id: int) -> None:
    """Remove a policy (its conversations keep their due times until recomputed)."""
    policy = await get(session, workspace_id=workspace_id, policy_id=policy_id)
    await session.delete(policy)
    await session.flush()


async def _flush_named(session: AsyncSession, policy: SlaPolicy) -> None:
    """Flush, refusing a name another policy of the workspace has (checked first, without
    flushing the pending change; the unique index is the net under a race)."""
    with session.no_autoflush:
        clash = await session.scalar(
            select(SlaPolicy.id).where(
                SlaPolicy.workspace_id == policy.workspace_id,
                SlaPolicy.name == policy.name,
                SlaPolicy.id != policy.id if policy.id is not None else True,
            )
        )
    if clash:
        raise Conflict(
            "a policy with this name exists", code="sla_policy_name_taken", details={"name": policy.name}
        )
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "a policy with this name exists", code="sla_policy_name_taken", details={"name": policy.name}
        ) from exc


async def seed_default(session: AsyncSession, *, workspace_id: int) -> SlaPolicy:
    """The demo's default policy (business hours), unless the workspace has one."""
    for policy in await list_(session, workspace_id=workspace_id):
        if policy.is_default:
            return policy
    return await create(
        session, workspace_id=workspace_id, name="기본 SLA", is_default=True, targets=DEFAULT_TARGETS
    )
