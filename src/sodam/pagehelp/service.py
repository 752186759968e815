"""Page rules: saved (checked), handed to the widget, and what the widget reports counted.

Services never commit: callers own the transaction.

"Needed no agent" (self-served): a visitor the rule was shown to who, within SELF_SERVE_WINDOW
after each showing, neither waited in the human queue (a handoff, or a conversation opened in
an inbox without the bot) nor got a public reply from an agent. Until that window has passed
for their latest showing a visitor is `pending`. An anonymous visitor who never opened the chat
needed no agent (we know who they are only through the widget's random visitor key; when they
start a chat, the key is linked to their contact).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import service as inboxes
from sodam.channels.models import Inbox
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.knowledge import service as knowledge
from sodam.knowledge.models import KbArticle
from sodam.pagehelp import patterns
from sodam.pagehelp.models import PageRule, PageRuleEvent

SELF_SERVE_WINDOW = timedelta(hours=24)
MAX_RULES_PER_INBOX = 50
MAX_ARTICLES = 5
SUGGESTED = 3
EVENT_KINDS = ("shown", "clicked_article", "opened_chat")
VISITOR_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
RULES_TTL_S = 10.0
FIELDS = (
    "name",
    "inbox_id",
    "enabled",
    "match_type",
    "pattern",
    "seconds",
    "exit_intent",
    "display",
    "message",
    "article_mode",
    "article_ids",
    "search_query",
    "cap_hours",
)

# (inbox id, language) -> (expires at, the rules as the widget gets them). Per process and short:
# every process rebuilds it from the database; a change made here clears it at once.
_widget_cache: dict[tuple[int, str], tuple[float, list[dict[str, Any]]]] = {}


def _now() -> datetime:
    return datetime.now(UTC)


async def get(session: AsyncSession, *, workspace_id: int, rule_id: int) -> PageRule:
    """A page rule of this workspace (404 otherwise)."""
    rule = await session.scalar(
        select(PageRule).where(PageRule.workspace_id == workspace_id, PageRule.id == rule_id)
    )
    if rule is None:
        raise NotFound("page rule not found")
    return rule


async def list_(
    session: AsyncSession, *, workspace_id: int, after_id: int | None = None, limit: int = 100
) -> list[PageRule]:
    """The workspace's page rules by id."""
    stmt = select(PageRule).where(PageRule.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(PageRule.id > after_id)
    return list(await session.scalars(stmt.order_by(PageRule.id).limit(limit)))


async def _checked(session: AsyncSession, workspace_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """The fields as stored, every one checked (422 with `details.field`)."""
    out = dict(values)
    out["name"] = (out["name"] or "").strip()[:200]
    if not out["name"]:
        raise Invalid("name is required", code="invalid_name", details={"field": "name"})
    out["pattern"] = patterns.check(out["match_type"], out["pattern"])
    message = out.get("message") or {}
    out["message"] = {
        lang: str(message.get(lang) or "").strip()[:1000] for lang in ("ko", "en") if message.get(lang)
    }
    if out["inbox_id"] is not None:
        try:
            inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=int(out["inbox_id"]))
        except NotFound:
            raise Invalid(
                "inbox_id is not an inbox of this workspace",
                code="invalid_inbox",
                details={"field": "inbox_id"},
            ) from None
        if inbox.channel_type.value != "web_widget":
            raise Invalid(
                "page rules belong to web widget inboxes", code="invalid_inbox", details={"field": "inbox_id"}
            )
    ids = list(dict.fromkeys(int(i) for i in out.get("article_ids") or []))
    if len(ids) > MAX_ARTICLES:
        raise Invalid(
            f"at most {MAX_ARTICLES} articles", code="too_many_articles", details={"field": "article_ids"}
        )
    if ids:
        found = set(
            await session.scalars(
                select(KbArticle.id).where(KbArticle.workspace_id == workspace_id, KbArticle.id.in_(ids))
            )
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise Invalid(
                "unknown article ids",
                code="unknown_article",
                details={"field": "article_ids", "ids": missing},
            )
    out["article_ids"] = ids if out["article_mode"] == "pick" else []
    if out["article_mode"] == "pick" and not ids:
        raise Invalid(
            "pick at least one article (or choose another article mode)",
            code="invalid_articles",
            details={"field": "article_ids"},
        )
    out["search_query"] = (out.get("search_query") or "").strip()[:200] or None
    if not out["message"] and out["article_mode"] == "none":
        raise Invalid(
            "a rule needs a message or suggested articles", code="empty_rule", details={"field": "message"}
        )
    return out


async def _flush(session: AsyncSession, change) -> None:
    try:
        async with session.begin_nested():
            change()
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "a page rule with this name exists", code="page_rule_name_taken", details={"field": "name"}
        ) from None
    _widget_cache.clear()


def defaults() -> dict[str, Any]:
    return {
        "inbox_id": None,
        "enabled": True,
        "match_type": "glob",
        "seconds": 0,
        "exit_intent": False,
        "display": "bubble",
        "message": {},
        "article_mode": "none",
        "article_ids": [],
        "search_query": None,
        "cap_hours": 24,
    }


async def create(
    session: AsyncSession, *, workspace_id: int, created_by: int | None = None, **fields: Any
) -> PageRule:
    """A new page rule (checked: 422 invalid_pattern, invalid_inbox, unknown_article, …)."""
    values = await _checked(session, workspace_id, {**defaults(), **fields})
    rule = PageRule(workspace_id=workspace_id, created_by=created_by, **{k: values[k] for k in FIELDS})
    await _flush(session, lambda: session.add(rule))
    return rule


async def update_(session: AsyncSession, *, workspace_id: int, rule_id: int, **changes: Any) -> PageRule:
    """Change some fields; the whole rule is checked again."""
    rule = await get(session, workspace_id=workspace_id, rule_id=rule_id)
    current = {k: getattr(rule, k) for k in FIELDS}
    values = await _checked(session, workspace_id, {**current, **changes})

    def apply() -> None:
        for key in FIELDS:
            setattr(rule, key, values[key])

    await _flush(session, apply)
    return rule


async def delete(session: AsyncSession, *, workspace_id: int, rule_id: int) -> None:
    """Delete a rule and its events."""
    rule = await get(session, workspace_id=workspace_id, rule_id=rule_id)
    await session.delete(rule)
    await session.flush()
    _widget_cache.clear()


def widget_shape(rule: PageRule, lang: str) -> dict[str, Any]:
    """What the widget needs to decide (no article content: that comes when it fires)."""
    message = rule.message or {}
    return {
        "id": rule.id,
        "match": rule.match_type,
        "pattern": rule.pattern,
        "seconds": rule.seconds,
        "exit_intent": rule.exit_intent,
        "display": rule.display,
        "cap_hours": rule.cap_hours,
        "message": message.get(lang) or message.get("ko") or message.get("en") or "",
        "articles": rule.article_mode != "none",
    }


async def widget_rules(session: AsyncSession, *, inbox: Inbox, lang: str) -> list[dict[str, Any]]:
    """The enabled rules of this widget inbox (its own and the workspace-wide ones), cached briefly."""
    key = (inbox.id, lang)
    hit = _widget_cache.get(key)
    now = time.monotonic()
    if hit and hit[0] > now:
        return hit[1]
    rows = await session.scalars(
        select(PageRule)
        .where(
            PageRule.workspace_id == inbox.workspace_id,
            PageRule.enabled.is_(True),
            (PageRule.inbox_id.is_(None)) | (PageRule.inbox_id == inbox.id),
        )
        .order_by(PageRule.id)
        .limit(MAX_RULES_PER_INBOX)
    )
    shaped = [widget_shape(r, lang) for r in rows]
    _widget_cache[key] = (now + RULES_TTL_S, shaped)
    return shaped


async def rule_for_inbox(session: AsyncSession, *, inbox: Inbox, rule_id: int) -> PageRule:
    """A rule this widget inbox may report on (404 for any other, including other workspaces')."""
    rule = await session.scalar(
        select(PageRule).where(
            PageRule.workspace_id == inbox.workspace_id,
            PageRule.id == rule_id,
            (PageRule.inbox_id.is_(None)) | (PageRule.inbox_id == inbox.id),
        )
    )
    if rule is None:
        raise NotFound("page rule not found", code="page_rule_not_found")
    return rule


def check_visitor_key(value: str) -> str:
    if not isinstance(value, str) or not VISITOR_KEY.match(value):
        raise Invalid(
            "visitor_key must be 8-64 letters, digits, - or _",
            code="invalid_visitor_key",
            details={"field": "visitor_key"},
        )
    return value


async def record(
    session: AsyncSession,
    *,
    inbox: Inbox,
    rule: PageRule,
    visitor_key: str,
    contact_id: int | None,
    kind: str,
    article_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Store what the widget reports. For `shown`, the server's side of the frequency cap:
    False (nothing stored) when this visitor — by key, or as the same contact on another device —
    was shown the rule within its cap_hours."""
    now = now or _now()
    visitor_key = check_visitor_key(visitor_key)
    if kind not in EVENT_KINDS:
        raise Invalid("kind must be shown, clicked_article or opened_chat", code="invalid_kind")
    if kind == "shown":
        # Two tabs firing at once: one wins.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"pagehelp:{rule.id}:{visitor_key}"}
        )
        since = now - timedelta(hours=rule.cap_hours)
        who = PageRuleEvent.visitor_key == visitor_key
        if contact_id is not None:
            who = who | (PageRuleEvent.contact_id == contact_id)
        seen = await session.scalar(
            select(PageRuleEvent.id)
            .where(
                PageRuleEvent.workspace_id == rule.workspace_id,
                PageRuleEvent.rule_id == rule.id,
                PageRuleEvent.kind == "shown",
                PageRuleEvent.created_at > since,
                who,
            )
            .limit(1)
        )
        if seen is not None:
            return False
    if contact_id is not None:
        # The visitor now has a chat session: their earlier anonymous reports are theirs.
        await session.execute(
            update(PageRuleEvent)
            .where(
                PageRuleEvent.workspace_id == rule.workspace_id,
                PageRuleEvent.visitor_key == visitor_key,
                PageRuleEvent.contact_id.is_(None),
            )
            .values(contact_id=contact_id)
        )
    session.add(
        PageRuleEvent(
            workspace_id=rule.workspace_id,
            rule_id=rule.id,
            inbox_id=inbox.id,
            visitor_key=visitor_key,
            contact_id=contact_id,
            kind=kind,
            article_id=article_id,
            created_at=now,
        )
    )
    await session.flush()
    return True


async def suggested_articles(
    session: AsyncSession, *, rule: PageRule, lang: str, page_title: str | None
) -> list[dict[str, Any]]:
    """[{id, title}] of the published articles to offer: the picked ones in their order, or the
    knowledge base's top matches for the rule's query (else the page's title)."""
    if rule.article_mode == "pick" and rule.article_ids:
        rows = {
            a.id: a
            for a in await session.scalars(
                select(KbArticle).where(
                    KbArticle.workspace_id == rule.workspace_id,
                    KbArticle.id.in_(rule.article_ids),
                    KbArticle.status == "published",
                )
            )
        }
        return [{"id": i, "title": rows[i].title} for i in rule.article_ids if i in rows]
    if rule.article_mode == "auto":
        query = rule.search_query or (page_title or "").strip()[:200]
        if not query:
            return []
        result = await knowledge.search(
            session, workspace_id=rule.workspace_id, query=query, locale=lang, limit=SUGGESTED
        )
        return [{"id": h.article_id, "title": h.title} for h in result.hits]
    return []


_STATS = text(
    """
    WITH shown AS (
        SELECT e.rule_id, e.visitor_key, e.created_at AS at,
               coalesce(e.contact_id, (SELECT l.contact_id FROM page_rule_events l
                                        WHERE l.workspace_id = e.workspace_id
                                          AND l.visitor_key = e.visitor_key
                                          AND l.contact_id IS NOT NULL
                                        LIMIT 1)) AS contact_id
          FROM page_rule_events e
         WHERE e.workspace_id = :ws AND e.kind = 'shown' AND e.created_at > :since
           AND (CAST(:rule_ids AS bigint[]) IS NULL OR e.rule_id = ANY(CAST(:rule_ids AS bigint[])))
    ), judged AS (
        SELECT s.rule_id, s.visitor_key, s.at,
               s.contact_id IS NOT NULL AND EXISTS (
                   SELECT 1 FROM conversations c
                    WHERE c.workspace_id = :ws AND c.contact_id = s.contact_id
                      AND ((c.queued_at >= s.at AND c.queued_at < s.at + :window)
                           OR EXISTS (SELECT 1 FROM messages m
                                       WHERE m.conversation_id = c.id AND m.sender_type = 'agent'
                                         AND m.kind = 'text'
                                         AND m.created_at >= s.at AND m.created_at < s.at + :window))
               ) AS needed
          FROM shown s
    ), visitors AS (
        SELECT rule_id, visitor_key, count(*) AS shown, bool_or(needed) AS needed, max(at) AS last_at
          FROM judged GROUP BY rule_id, visitor_key
    ), acted AS (
        SELECT rule_id,
               count(DISTINCT visitor_key) FILTER (WHERE kind = 'clicked_article') AS clicked,
               count(DISTINCT visitor_key) FILTER (WHERE kind = 'opened_chat') AS opened
          FROM page_rule_events
         WHERE workspace_id = :ws AND kind <> 'shown' AND created_at > :since
           AND (CAST(:rule_ids AS bigint[]) IS NULL OR rule_id = ANY(CAST(:rule_ids AS bigint[])))
         GROUP BY rule_id
    )
    SELECT v.rule_id,
           sum(v.shown) AS shown,
           count(*) AS reached,
           count(*) FILTER (WHERE v.needed) AS needed_agent,
           count(*) FILTER (WHERE NOT v.needed AND v.last_at <= :now - :window) AS self_served,
           count(*) FILTER (WHERE NOT v.needed AND v.last_at > :now - :window) AS pending,
           coalesce(max(a.clicked), 0) AS clicked, coalesce(max(a.opened), 0) AS opened
      FROM visitors v LEFT JOIN acted a ON a.rule_id = v.rule_id
     GROUP BY v.rule_id
    """
)


def _empty(rule_id: int, days: int) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "days": days,
        "shown": 0,
        "reached": 0,
        "clicked_article": 0,
        "opened_chat": 0,
        "needed_agent": 0,
        "self_served": 0,
        "pending": 0,
        "self_served_rate": None,
    }


async def stats(
    session: AsyncSession,
    *,
    workspace_id: int,
    rule_ids: list[int] | None = None,
    days: int = 30,
    now: datetime | None = None,
) -> dict[int, dict[str, Any]]:
    """Reach and self-service per rule over the last `days` (see the module's note)."""
    now = now or _now()
    rows = await session.execute(
        _STATS,
        {
            "ws": workspace_id,
            "since": now - timedelta(days=days),
            "now": now,
            "window": SELF_SERVE_WINDOW,
            "rule_ids": rule_ids,
        },
    )
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        item = _empty(r.rule_id, days)
        settled = int(r.self_served) + int(r.needed_agent)
        item.update(
            shown=int(r.shown),
            reached=int(r.reached),
            clicked_article=int(r.clicked),
            opened_chat=int(r.opened),
            needed_agent=int(r.needed_agent),
            self_served=int(r.self_served),
            pending=int(r.pending),
            self_served_rate=round(int(r.self_served) / settled, 4) if settled else None,
        )
        out[r.rule_id] = item
    for rule_id in rule_ids or []:
        out.setdefault(rule_id, _empty(rule_id, days))
    return out
