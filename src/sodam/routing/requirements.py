"""What a waiting conversation needs: skills, a team and a queue rank, and why.

Sources, in order: the language (the conversation's, else detected from the customer's
words), the topic the bot found at the handoff, page-URL rules (the customer's current
page), keyword rules (Korean morphemes of what the customer wrote) and the contact's tier.
A skill nobody in the workspace has is dropped at once (noted), so a rule can never strand
a customer in the queue.
"""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.contacts.models import Contact
from sodam.conversations.models import Conversation
from sodam.nlp import language as languages
from sodam.routing.models import AgentSkill, RoutingRule, RuleKind
from sodam.search.terms import terms_batch

VIP_RANK = 10
AT_RISK_RANK = 20
VIP_TIERS = frozenset({"vip", "VIP", "premium", "enterprise"})
TEXT_FOR_RULES_CHARS = 2000


@dataclass
class Requirement:
    skills: dict[str, int] = field(default_factory=dict)  # skill -> minimum level
    team_id: int | None = None
    vip: bool = False
    sources: dict[str, str] = field(default_factory=dict)  # skill -> where it came from
    dropped: list[str] = field(default_factory=list)  # required, but nobody has it

    def as_route(self) -> dict[str, Any]:
        return {
            "skills": self.skills,
            "team_id": self.team_id,
            "vip": self.vip,
            "sources": self.sources,
            "dropped": self.dropped,
        }


def page_matches(pattern: str, url: str) -> bool:
    """A rule's page pattern: with a *, a glob over the whole URL (or over the path when the
    pattern starts with "/"); without one, a plain substring of the URL."""
    pattern, url = pattern.strip().lower(), url.lower()
    if not pattern:
        return False
    if "*" in pattern:
        target = urlsplit(url).path if pattern.startswith("/") else url
        return fnmatch.fnmatchcase(target, pattern)
    return pattern in url


def keyword_matches(pattern_terms: list[str], text_terms: set[str]) -> bool:
    """Every morpheme of the rule's word appears among the customer's ("환불" meets "환불했어요")."""
    return bool(pattern_terms) and all(term in text_terms for term in pattern_terms)


def derive(
    *,
    language: str | None,
    topic: str | None,
    page_url: str | None,
    text_terms: set[str],
    tier: str | None,
    rules: list[RoutingRule],
    rule_terms: dict[int, list[str]],
    default_team_id: int | None,
    known_skills: set[str],
) -> Requirement:
    """The requirement from its sources (pure: the tests drive each source on its own)."""
    need = Requirement(team_id=default_team_id)

    def require(skill: str, source: str) -> None:
        if skill in need.skills:
            return
        if skill not in known_skills:
            need.dropped.append(skill)
            return
        need.skills[skill] = 1
        need.sources[skill] = source

    if language:
        require(f"lang:{language}", "language")
    if topic:
        require(f"topic:{topic}", "bot")
    for rule in sorted(rules, key=lambda r: (r.position, r.id)):
        if rule.kind == RuleKind.page.value:
            hit = bool(page_url) and page_matches(rule.pattern, page_url or "")
        else:
            hit = keyword_matches(rule_terms.get(rule.id, []), text_terms)
        if not hit:
            continue
        if rule.skill:
            require(rule.skill, f"{rule.kind}:{rule.pattern}")
        if rule.team_id is not None and need.team_id in (None, default_team_id):
            need.team_id = rule.team_id  # the first matching rule with a team decides
    if tier and tier in VIP_TIERS:
        need.vip = True
        require("vip", "tier")
    return need


async def for_conversation(
    session: AsyncSession, conversation: Conversation, inbox: Inbox, rules: list[RoutingRule]
) -> Requirement:
    """Gather the sources from the database and derive the requirement (analysis in a thread)."""
    return (await for_conversations(session, [(conversation, inbox)], rules))[0]


# Each source for every conversation of a dispatch in one statement (not ~6 round trips per
# conversation): a dispatch meeting 50 new customers read for seconds on a busy machine.
_TEXTS_SQL = text(
    "SELECT c.id, m.content FROM unnest(CAST(:ids AS bigint[])) AS c(id)"
    " CROSS JOIN LATERAL (SELECT content, seq FROM messages WHERE conversation_id = c.id"
    " AND sender_type = 'contact' ORDER BY seq LIMIT 20) m ORDER BY c.id, m.seq"
)
_HANDOFFS_SQL = text(
    "SELECT c.id, e.data FROM unnest(CAST(:ids AS bigint[])) AS c(id)"
    " CROSS JOIN LATERAL (SELECT data FROM conversation_events WHERE conversation_id = c.id"
    " AND type = 'bot.handed_off' ORDER BY id DESC LIMIT 1) e"
)
_PAGES_SQL = text(
    "SELECT c.id, p.url FROM unnest(CAST(:ids AS bigint[])) AS c(id)"
    " CROSS JOIN LATERAL (SELECT url FROM visitor_pages WHERE contact_id = c.id ORDER BY id DESC LIMIT 1) p"
)


async def for_conversations(
    session: AsyncSession, items: list[tuple[Conversation, Inbox]], rules: list[RoutingRule]
) -> list[Requirement]:
    """`for_conversation` for many at once: the sources in one statement each, the analysis
    of every text in one thread call."""
    if not items:
        return []
    ids = [c.id for c, _ in items]
    contact_ids = sorted({c.contact_id for c, _ in items if c.contact_id is not None})
    attributes = {
        contact_id: attrs or {}
        for contact_id, attrs in await session.execute(
            select(Contact.id, Contact.custom_attributes).where(Contact.id.in_(contact_ids))
        )
    }
    texts: dict[int, list[str]] = {}
    for conversation_id, content in await session.execute(_TEXTS_SQL, {"ids": ids}):
        texts.setdefault(conversation_id, []).append(content)
    handoffs = dict((await session.execute(_HANDOFFS_SQL, {"ids": ids})).all())
    pages = dict((await session.execute(_PAGES_SQL, {"ids": contact_ids})).all())
    known = set(
        await session.scalars(
            select(AgentSkill.skill).where(AgentSkill.workspace_id == items[0][0].workspace_id).distinct()
        )
    )
    keyword_rules = [r for r in rules if r.kind == RuleKind.keyword.value]
    joined = [" ".join(t or "" for t in texts.get(c.id, []))[:TEXT_FOR_RULES_CHARS] for c, _ in items]

    def analyse() -> tuple[list[str | None], list[set[str]], dict[int, list[str]]]:
        langs = [
            c.language or (handoffs.get(c.id) or {}).get("language") or languages.detect(t)
            for (c, _), t in zip(items, joined, strict=True)
        ]
        with_text = [t for t in joined if t]
        analysed = terms_batch([*with_text, *(r.pattern for r in keyword_rules)])
        by_text = iter(analysed[: len(with_text)])
        terms = [set(next(by_text)) if t else set() for t in joined]
        rule_terms = {
            r.id: found for r, found in zip(keyword_rules, analysed[len(with_text) :], strict=False)
        }
        return langs, terms, rule_terms

    langs, text_terms, rule_terms = await asyncio.to_thread(analyse)
    out = []
    for (conversation, inbox), lang, terms in zip(items, langs, text_terms, strict=True):
        handoff = handoffs.get(conversation.id) or {}
        attrs = attributes.get(conversation.contact_id) or {}
        tier = attrs.get("tier") or attrs.get("segment")
        settings = inbox.settings or {}
        out.append(
            derive(
                language=lang.split("-")[0].lower() if lang else None,
                topic=handoff.get("intent") or handoff.get("topic"),
                page_url=pages.get(conversation.contact_id),
                text_terms=terms,
                tier=str(tier) if tier else None,
                rules=rules,
                rule_terms=rule_terms,
                default_team_id=conversation.team_id or settings.get("team_id"),
                known_skills=known,
            )
        )
    return out
