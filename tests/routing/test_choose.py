"""The routing decision on its own (no database): skills, capacity, teams, overflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sodam.routing.choice import AgentSlot, choose, stages
from sodam.routing.requirements import derive, keyword_matches, page_matches

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def slot(agent_id, *, skills=None, teams=(), load=0, cap=3, idle_since=None):
    return AgentSlot(
        agent_id,
        {"default": cap},
        skills=dict(skills or {}),
        teams=set(teams),
        load={"web_widget": load} if load else {},
        last_assigned_at=idle_since,
    )


def pick(agents, need=None, *, waited=0.0, overflow=300.0, skipped=(), methods=None, channel="web_widget"):
    agent, stage = choose(
        agents,
        channel=channel,
        need=need or {},
        skipped=set(skipped),
        waited_s=waited,
        overflow_s=overflow,
        team_methods=methods or {},
    )
    return (agent.agent_id if agent else None), (stage.name if stage else None)


def test_least_busy_then_longest_idle():
    agents = [
        slot(1, load=2),
        slot(2, load=1, idle_since=T0),
        slot(3, load=1, idle_since=T0 - timedelta(hours=1)),
    ]
    assert pick(agents) == (3, "exact")


def test_capacity_per_channel_is_respected():
    full = AgentSlot(1, {"default": 2, "email": 5}, load={"web_widget": 2})
    assert pick([full]) == (None, None)
    assert pick([full], channel="email") == (1, "exact")
    assert pick([AgentSlot(2, {"default": 0})]) == (None, None)


def test_required_skills_and_levels():
    ko = slot(1, skills={"lang:ko": 5})
    en = slot(2, skills={"lang:en": 3, "topic:refund": 2})
    assert pick([ko, en], {"skills": {"lang:en": 1}}) == (2, "exact")
    assert pick([ko, en], {"skills": {"lang:ko": 1, "topic:refund": 1}}) == (None, None)
    assert pick([ko, en], {"skills": {"topic:refund": 3}}) == (None, None)  # level 2 < 3


def test_overflow_widens_to_language_then_team_fallback_then_anyone():
    team_ko = slot(1, skills={"lang:ko": 3}, teams={10})
    other_ko = slot(2, skills={"lang:ko": 3}, teams={20})
    need = {"skills": {"lang:ko": 1, "topic:billing": 1}, "team_id": 10}
    assert pick([team_ko, other_ko], need, waited=10) == (None, None)
    assert pick([team_ko, other_ko], need, waited=301) == (1, "overflow")
    assert pick([other_ko], need, waited=301) == (2, "team_fallback")
    assert pick([slot(3, skills={"lang:en": 3})], need, waited=301) == (None, None)
    assert pick([slot(3, skills={"lang:en": 3})], need, waited=601) == (3, "anyone")


def test_skipped_agents_are_not_offered_the_conversation_again():
    assert pick([slot(1), slot(2, load=2)], skipped={1}) == (2, "exact")


def test_a_skipped_agent_is_the_last_resort_after_the_anyone_wait():
    """The first hour: the only agent closed the console before answering; the conversation
    went back to the queue with them skipped, and stayed unassigned for good while every newer
    conversation was assigned to them at once (the bot had told it "number 4 in the queue")."""
    assert pick([slot(1)], skipped={1}, waited=10) == (None, None)
    assert pick([slot(1)], skipped={1}, waited=601) == (1, "anyone")
    assert pick([slot(1), slot(2, load=2)], skipped={1}, waited=601) == (2, "exact")
    assert pick([slot(1, cap=1, load=1)], skipped={1}, waited=601) == (None, None)


def test_round_robin_team_takes_the_longest_idle_even_if_busier():
    a = slot(1, teams={10}, load=2, idle_since=T0 - timedelta(hours=2))
    b = slot(2, teams={10}, load=0, idle_since=T0)
    need = {"team_id": 10}
    assert pick([a, b], need, methods={10: "round_robin"}) == (1, "exact")
    assert pick([a, b], need, methods={10: "least_busy"}) == (2, "exact")


def test_stages_are_unique():
    assert [s.name for s in stages({"skills": {}}, 10_000, 300)] == ["exact"]


class Rule:
    def __init__(self, id, kind, pattern, skill=None, team_id=None, position=0):
        self.id, self.kind, self.pattern, self.skill, self.team_id, self.position = (
            id,
            kind,
            pattern,
            skill,
            team_id,
            position,
        )


def test_each_skill_source():
    known = {"lang:ko", "topic:refund", "product:pro", "billing", "vip"}
    rules = [
        Rule(1, "page", "/pricing*", skill="product:pro"),
        Rule(2, "keyword", "결제", skill="billing", team_id=7),
    ]
    need = derive(
        language="ko",
        topic="refund",
        page_url="https://shop.example/pricing/pro",
        text_terms={"결제", "안", "되"},
        tier="vip",
        rules=rules,
        rule_terms={2: ["결제"]},
        default_team_id=None,
        known_skills=known,
    )
    assert need.skills == {"lang:ko": 1, "topic:refund": 1, "product:pro": 1, "billing": 1, "vip": 1}
    assert need.team_id == 7 and need.vip
    assert need.sources["billing"] == "keyword:결제" and need.sources["topic:refund"] == "bot"


def test_a_skill_nobody_has_is_dropped_not_required():
    need = derive(
        language="ja",
        topic=None,
        page_url=None,
        text_terms=set(),
        tier=None,
        rules=[],
        rule_terms={},
        default_team_id=3,
        known_skills={"lang:ko"},
    )
    assert need.skills == {} and need.dropped == ["lang:ja"] and need.team_id == 3


def test_page_and_keyword_matching():
    assert page_matches("/checkout", "https://a.example/checkout?step=2")
    assert page_matches("https://a.example/help/*", "https://a.example/help/refund")
    assert not page_matches("https://a.example/help/*", "https://a.example/pricing")
    assert keyword_matches(["환불"], {"환불", "하", "싶"})
    assert not keyword_matches(["환불", "계좌"], {"환불"})
    assert not keyword_matches([], {"환불"})


def test_a_team_outside_its_hours_takes_nothing_until_team_fallback():
    member = slot(1, teams={10})
    other = slot(2, teams={20})
    need = {"team_id": 10}
    closed = frozenset({10})
    agent, stage = choose(
        [member, other],
        channel="web_widget",
        need=need,
        skipped=set(),
        waited_s=0,
        overflow_s=300,
        team_methods={},
        closed_teams=closed,
    )
    assert agent is None
    agent, stage = choose(
        [member, other],
        channel="web_widget",
        need=need,
        skipped=set(),
        waited_s=301,
        overflow_s=300,
        team_methods={},
        closed_teams=closed,
    )
    assert stage.name == "team_fallback" and agent.agent_id in (1, 2)
