"""The send path: a campaign's recipients are listed once from its segment (one INSERT …
SELECT of the segment's compiled query), then sent in batches by one durable job.

Each batch is ONE transaction: claim up to N queued recipients (FOR UPDATE SKIP LOCKED),
open a conversation for each (고객 응답 대기), store every message through the message path
(sodam_post_message over unnest: one statement), queue the API inbox's callback deliveries
(one INSERT), and mark the recipients sent. A worker killed mid-batch rolls the whole batch
back; the job is put back in the queue and the next run claims the same recipients again —
so a contact is never sent a campaign twice (and the message's client_id is unique per inbox
besides). E-mail and KakaoTalk deliver after commit through their own durable jobs.

Throttle: a batch of min(rate, 1,000) every batch/rate seconds."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.campaigns import service, tracking
from sodam.campaigns.models import Campaign, CampaignRecipient
from sodam.conversations.message_path import PREVIEW_CHARS
from sodam.core.errors import AppError
from sodam.db.session import session_scope
from sodam.jobs import reactions
from sodam.segments import service as segments

log = logging.getLogger(__name__)

MAX_BATCH = 1000
SLICE_S = 30.0  # a run gives its worker slot back after this long (the next run continues)
FALLBACK_NAME = {"ko": "고객", "en": "there"}


def _now() -> datetime:
    return datetime.now(UTC)


def personalise(body: str, name: str | None, language: str) -> str:
    first = ((name or "").strip().split(" ")[0]) or FALLBACK_NAME[language]
    return body.replace("{name}", first)


def pick_language(c: Campaign, contact_language: str | None) -> str:
    wants_en = (contact_language or "").lower().startswith("en")
    if c.channel == "alimtalk":
        return "en" if wants_en else "ko"
    return "en" if wants_en and (c.body_en or "").strip() else "ko"


async def materialize(session: AsyncSession, c: Campaign) -> int:
    """Every contact of the segment now becomes a recipient (once: unique per campaign)."""
    segment = await segments.get(session, workspace_id=c.workspace_id, segment_id=c.segment_id)
    ids = segments.ids_query(workspace_id=c.workspace_id, filter=segment.filter).subquery()
    banner = c.channel == "widget_banner"
    stmt = pg_insert(CampaignRecipient).from_select(
        ["workspace_id", "campaign_id", "contact_id", "status", "sent_at"],
        select(
            literal(c.workspace_id),
            literal(c.id),
            ids.c.id,
            literal("sent" if banner else "queued"),
            literal(_now() if banner else None),
        ),
    )
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    await session.execute(stmt.on_conflict_do_nothing(constraint="uq_campaign_recipients_campaign_contact"))
    c.total = int(
        await session.scalar(
            select(text("count(*)"))
            .select_from(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == c.id)
        )
    )
    c.materialized = True
    return c.total


_CLAIM = text(
    """
    SELECT r.id, r.contact_id, ct.language, ct.name, ct.email
      FROM campaign_recipients r JOIN contacts ct ON ct.id = r.contact_id
     WHERE r.campaign_id = :cid AND r.status = 'queued'
     ORDER BY r.id LIMIT :n
       FOR UPDATE OF r SKIP LOCKED
    """
)

_IDENTITIES = text(
    """
    SELECT DISTINCT ON (contact_id) contact_id, external_id FROM contact_identities
     WHERE workspace_id = :ws AND contact_id = ANY(CAST(:ids AS bigint[])) AND external_id LIKE :prefix
     ORDER BY contact_id, id
    """
)

_CONVERSATIONS = text(
    """
    WITH made AS (
        INSERT INTO conversations (workspace_id, inbox_id, contact_id, status, priority, tags, language,
                                   last_seq, subject, created_at, updated_at)
        SELECT :ws, :inbox, r.c, 'pending', 'none', '{}', r.l, 0, NULLIF(r.s, ''), now(), now()
          FROM unnest(CAST(:contacts AS bigint[]), CAST(:langs AS text[]), CAST(:subjects AS text[])) AS r(c, l, s)
        RETURNING id, contact_id, workspace_id
    ), logged AS (
        INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data, created_at)
        SELECT workspace_id, id, 'conversation.created', 'agent', CAST(:actor AS bigint),
               jsonb_build_object('inbox_id', CAST(:inbox AS bigint), 'contact_id', contact_id,
                                  'campaign_id', CAST(:cid AS bigint)), now()
          FROM made
    )
    SELECT id, contact_id FROM made
    """
)

_MESSAGES = text(
    """
    SELECT r.rid, sodam_post_message(:ws, :inbox, r.contact_id, r.conv_id, CAST('agent' AS sender_type),
                                     CAST(:actor AS bigint), CAST('text' AS message_kind), r.content, r.client_id,
                                     CAST(r.payload AS jsonb), r.lang, CAST(:jobs AS jsonb), :preview) AS out
      FROM unnest(CAST(:rids AS bigint[]), CAST(:contacts AS bigint[]), CAST(:convs AS bigint[]),
                  CAST(:contents AS text[]), CAST(:client_ids AS text[]), CAST(:payloads AS text[]),
                  CAST(:langs AS text[])) AS r(rid, contact_id, conv_id, content, client_id, payload, lang)
     ORDER BY r.conv_id
    """
)

_MARK_SENT = text(
    """
    UPDATE campaign_recipients r SET status = 'sent', sent_at = now(), language = u.lang,
           conversation_id = u.conv, message_id = u.msg
      FROM unnest(CAST(:rids AS bigint[]), CAST(:convs AS bigint[]), CAST(:msgs AS bigint[]),
                  CAST(:langs AS text[])) AS u(rid, conv, msg, lang)
     WHERE r.id = u.rid
    """
)

_MARK_SKIPPED = text(
    "UPDATE campaign_recipients SET status = 'skipped', reason = :reason"
    " WHERE id = ANY(CAST(:rids AS bigint[]))"
)


def _iso(value: str | None) -> str | None:
    return value.replace("+00:00", "Z") if isinstance(value, str) else value


async def send_batch(session: AsyncSession, c: Campaign, n: int) -> int:
    """Claim and send up to n recipients in the caller's transaction; returns how many were claimed."""
    rows = (await session.execute(_CLAIM, {"cid": c.id, "n": n})).mappings().all()
    if not rows:
        return 0
    ids = [r["contact_id"] for r in rows]
    identities: dict[int, str] = {}
    if c.channel in ("widget_message", "api", "alimtalk"):
        found = await session.execute(
            _IDENTITIES, {"ws": c.workspace_id, "ids": ids, "prefix": f"{c.inbox_id}:%"}
        )
        identities = {cid: ext for cid, ext in found.all()}
    reachable, skipped = [], []
    for r in rows:
        ok = bool(r["email"]) if c.channel == "email" else r["contact_id"] in identities
        (reachable if ok else skipped).append(r)
    if skipped:
        await session.execute(_MARK_SKIPPED, {"rids": [r["id"] for r in skipped], "reason": "unreachable"})
    if not reachable:
        return len(rows)
    langs = [pick_language(c, r["language"]) for r in reachable]
    subjects = [
        ((c.subject_en if lang == "en" and c.subject_en else c.subject_ko) or "")
        if c.channel == "email"
        else ""
        for lang in langs
    ]
    made = await session.execute(
        _CONVERSATIONS,
        {
            "ws": c.workspace_id,
            "inbox": c.inbox_id,
            "cid": c.id,
            "actor": c.created_by,
            "contacts": [r["contact_id"] for r in reachable],
            "langs": langs,
            "subjects": subjects,
        },
    )
    conv_of = {contact: conv for conv, contact in made.all()}
    if c.channel == "alimtalk":
        msg_ids = await _alimtalk(session, c, reachable, langs, conv_of)
    else:
        msg_ids = await _messages(session, c, reachable, langs, subjects, conv_of, identities)
    await session.execute(
        _MARK_SENT,
        {
            "rids": [r["id"] for r in reachable],
            "convs": [conv_of[r["contact_id"]] for r in reachable],
            "msgs": [msg_ids.get(r["id"]) for r in reachable],
            "langs": langs,
        },
    )
    return len(rows)


async def _messages(session, c: Campaign, reachable, langs, subjects, conv_of, identities) -> dict[int, int]:
    base = tracking.base_url()
    hints: dict[str, Any] = {
        "widget_message": {"channel_type": "web_widget"},
        "email": {"channel_type": "email"},
    }.get(c.channel, {})
    # The API inbox's callbacks are queued below for the whole batch (one INSERT), not one job each.
    jobs = reactions.jobs_for("message.created", {"sender_type": "agent", "kind": "text", **hints})
    tokens: dict[int, str] = {}
    if c.survey_id is not None:
        from sodam.surveys import sends as survey_sends

        tokens = await survey_sends.invite_contacts(
            session,
            workspace_id=c.workspace_id,
            survey_id=c.survey_id,
            languages={r["contact_id"]: lang for r, lang in zip(reachable, langs, strict=True)},
            channel="campaign",
        )
    contents, payloads = [], []
    for r, lang, subject in zip(reachable, langs, subjects, strict=True):
        body = c.body_en if lang == "en" else c.body_ko
        content = tracking.rewrite(personalise(body, r["name"], lang), c.links, r["id"], base)
        token = tokens.get(r["contact_id"])
        content = content.replace(service.SURVEY_LINK, f"{base}/s/{token}" if token else "")
        contents.append(content)
        mark: dict[str, Any] = {"id": c.id, "recipient": r["id"]}
        if c.channel == "email":
            mark |= {"subject": subject, "pixel": tracking.pixel_url(r["id"], base)}
        payloads.append(json.dumps({"campaign": mark}))
    out = await session.execute(
        _MESSAGES,
        {
            "ws": c.workspace_id,
            "inbox": c.inbox_id,
            "actor": c.created_by,
            "jobs": json.dumps(jobs),
            "preview": PREVIEW_CHARS,
            "rids": [r["id"] for r in reachable],
            "contacts": [r["contact_id"] for r in reachable],
            "convs": [conv_of[r["contact_id"]] for r in reachable],
            "contents": contents,
            "client_ids": [f"campaign-{c.id}-{r['contact_id']}" for r in reachable],
            "payloads": payloads,
            "langs": langs,
        },
    )
    results = out.all()
    msg_ids = {rid: int(res["message"]["id"]) for rid, res in results}
    if c.channel == "api":
        await _callbacks(session, c, results, {r["id"]: r["contact_id"] for r in reachable}, identities)
    return msg_ids


async def _callbacks(
    session, c: Campaign, results, contact_of: dict[int, int], identities: dict[int, str]
) -> None:
    """The API inbox's callback deliveries of the batch: the same event (and id) as the
    per-reply job would queue, so a repeat is dropped by the deliveries' unique key."""
    from sodam.webhooks import service as webhooks
    from sodam.webhooks.models import Subscription

    sub_id = await session.scalar(
        select(Subscription.id).where(
            Subscription.workspace_id == c.workspace_id,
            Subscription.inbox_id == c.inbox_id,
            Subscription.status == "active",
        )
    )
    if sub_id is None:
        return
    rows = []
    for rid, res in results:
        m, conv = res["message"], res.get("conversation") or {}
        contact_id = contact_of[rid]
        source = identities.get(contact_id, "")
        data = {
            "conversation": {
                "id": m["conversation_id"],
                "inbox_id": c.inbox_id,
                "contact_id": contact_id,
                "status": conv.get("status", "pending"),
                "priority": conv.get("priority", "none"),
                "assignee_id": conv.get("assignee_id"),
                "team_id": conv.get("team_id"),
                "created_at": _iso(conv.get("created_at")),
            },
            "message": {
                "id": m["id"],
                "conversation_id": m["conversation_id"],
                "seq": m["seq"],
                "sender_type": m["sender_type"],
                "sender_id": m["sender_id"],
                "content": m["content"],
                "attachments": [],
                "created_at": _iso(m["created_at"]),
            },
            "contact": {"id": contact_id, "source_id": source.split(":", 1)[1] if ":" in source else None},
            "campaign": {"id": c.id},
        }
        rows += webhooks.delivery_rows(
            workspace_id=c.workspace_id,
            subscription_ids=[sub_id],
            event_key=f"msg{m['id']}",
            type="message.created",
            data=data,
            occurred_at=datetime.fromisoformat(m["created_at"]),
        )
    if await webhooks.insert_deliveries(session, rows):
        await session.execute(text("SELECT pg_notify('sodam_webhooks', '')"))


async def _alimtalk(session, c: Campaign, reachable, langs, conv_of) -> dict[int, int]:
    """알림톡: each from the approved template (checked by kakao.alimtalk), a job delivers it."""
    from sodam.kakao import alimtalk

    out = {}
    for r, lang in zip(reachable, langs, strict=True):
        variables = {k: personalise(v, r["name"], lang) for k, v in (c.template_variables or {}).items()}
        message, _created = await alimtalk.send(
            session,
            workspace_id=c.workspace_id,
            conversation_id=conv_of[r["contact_id"]],
            template_code=c.template_code or "",
            variables=variables,
            agent_id=c.created_by,
            client_id=f"campaign-{c.id}-{r['contact_id']}",
        )
        out[r["id"]] = message.id
    return out


async def _finish(session: AsyncSession, c: Campaign, status: str = "done") -> None:
    c.status = status
    c.finished_at = _now()
    if c.channel == "widget_banner":
        from sodam.campaigns import live

        await live.publish_banner_changed(session, workspace_id=c.workspace_id, inbox_ids=[c.inbox_id])


async def step(campaign_id: int) -> tuple[str, int, int]:
    """One transaction of the run: (state, claimed, batch size)."""
    async with session_scope() as session:
        c = await session.scalar(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
        if c is None:
            return "gone", 0, 0
        if c.status == "scheduled" and c.scheduled_at is not None and c.scheduled_at <= _now():
            c.status = "running"
            c.started_at = c.started_at or _now()
        if c.status != "running":
            await session.commit()
            return c.status, 0, 0
        try:
            if not c.materialized:
                await materialize(session, c)
                if c.channel == "widget_banner":
                    await _finish(session, c)
                await session.commit()
                return c.status, 0, 0
            n = min(c.rate_per_s, MAX_BATCH)
            claimed = await send_batch(session, c, n)
        except AppError as exc:  # the segment, inbox or template went away: stop, say why
            await session.rollback()
            c = await session.scalar(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
            log.warning("campaign %s stopped: %s", campaign_id, exc)
            c.status = "paused"
            await session.commit()
            return "paused", 0, 0
        if claimed == 0:
            await _finish(session, c)
        await session.commit()
        return ("done" if claimed == 0 else "running"), claimed, n


async def run(campaign_id: int, *, budget_s: float = SLICE_S, rate_of=None) -> str:
    """Send batches at the campaign's rate for up to budget_s; then hand over to a new run."""
    deadline = time.monotonic() + budget_s
    while True:
        started = time.monotonic()
        state, claimed, n = await step(campaign_id)
        if state != "running":
            return state
        if claimed == 0:
            continue  # recipients were just listed
        async with session_scope() as session:
            rate = await session.scalar(select(Campaign.rate_per_s).where(Campaign.id == campaign_id)) or 1
        wait = n / rate - (time.monotonic() - started)
        if time.monotonic() + max(wait, 0) >= deadline:
            async with session_scope() as session:
                c = await session.get(Campaign, campaign_id)
                if c is not None and c.status == "running":
                    await service._defer_run(session, c)
                await session.commit()
            return "continued"
        if wait > 0:
            await asyncio.sleep(wait)
