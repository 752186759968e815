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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.contacts.models import Contact, VisitorPage
from sodam.conversations.models import Conversation, ConversationEvent, Message, SenderType
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
    contact = await session.get(Contact, conversation.contact_id)
    texts = list(
        await session.scalars(
            select(Message.content)
            .where(
                Message.conversation_id == conversation.id,
                Message.sender_type == SenderType.contact,
            )
            .order_by(Message.seq)
            .limit(20)
        )
    )
    text = " ".join(texts)[:TEXT_FOR_RULES_CHARS]
    handoff = await session.scalar(
        select(ConversationEvent.data)
        .where(
            ConversationEvent.conversation_id == conversation.id, ConversationEvent.type == "bot.handed_off"
        )
        .order_by(ConversationEvent.id.desc())
        .limit(1)
    )
    page_url = await session.scalar(
        select(VisitorPage.url)
        .where(VisitorPage.contact_id == conversation.contact_id)
        .order_by(VisitorPage.id.desc())
        .limit(1)
    )
    known = set(
        await session.scalars(
            select(AgentSkill.skill).where(AgentSkill.workspace_id == conversation.workspace_id).distinct()
        )
    )
    keyword_rules = [r for r in rules if r.kind == RuleKind.keyword.value]

    def analyse() -> tuple[str | None, set[str], dict[int, list[str]]]:
        lang = conversation.language or (handoff or {}).get("language") or languages.detect(text)
        analysed = terms_batch([text, *(r.pattern for r in keyword_rules)]) if text else [[]]
        rule_terms = {r.id: terms for r, terms in zip(keyword_rules, analysed[1:], strict=False)}
        return lang, set(analysed[0]), rule_terms

    lang, text_terms, rule_terms = await asyncio.to_thread(analyse)
    attributes = (contact.custom_attributes or {}) if contact else {}
    tier = attributes.get("tier") or attributes.get("segment")
    settings = inbox.settings or {}
    return derive(
        language=lang.split("-")[0].lower() if lang else None,
        topic=(handoff or {}).get("intent") or (handoff or {}).get("topic"),
        page_url=page_url,
        text_terms=text_terms,
        tier=str(tier) if tier else None,
        rules=rules,
        rule_terms=rule_terms,
        default_team_id=conversation.team_id or settings.get("team_id"),
        known_skills=known,
    )
