"""Every condition kind on the hand-built fixture (tests/segments/fixture.py) with known
members — including the contact with no surveys, no conversations and no attributes — and
all/any nesting. Counted by the one compiled statement, checked against the member list."""

from __future__ import annotations

import pytest

from sodam.db.session import session_scope
from sodam.segments import service
from tests.segments.fixture import build


async def members(ws, filter: dict) -> set[int]:
    async with session_scope() as s:
        rows = await service.contacts(s, workspace_id=ws.workspace_id, filter=filter, limit=100)
        total = await service.count(s, workspace_id=ws.workspace_id, filter=filter)
    ids = {c.id for c in rows}
    assert total == len(ids)
    return ids


def one(field: str, op: str, value=None, **kw) -> dict:
    cond = {"field": field, "op": op, **kw}
    if value is not None:
        cond["value"] = value
    return {"all": [cond]}


@pytest.fixture
async def people(make_workspace):
    ws = await make_workspace()
    return ws, await build(ws)


async def test_attribute_conditions(people):
    ws, p = people
    cases = [
        (one("attribute", "eq", "pro", key="plan"), {p.kim}),
        (one("attribute", "ne", "pro", key="plan"), {p.lee, p.empty, p.park}),
        (one("attribute", "eq", 12, key="seats"), {p.kim}),  # "12" as text is not the number 12
        (one("attribute", "eq", True, key="vip"), {p.park}),
        (one("attribute", "contains", "bag", key="interests"), set()),  # list items match whole
        (one("attribute", "contains", "bags", key="interests"), {p.kim}),
        (one("attribute", "contains", "ol", key="tier"), {p.lee}),  # Gold, case-insensitive text
        (one("attribute", "gt", 3, key="seats"), {p.kim}),
        (one("attribute", "gte", 3, key="seats"), {p.kim, p.lee}),
        (one("attribute", "lt", 12, key="seats"), {p.lee}),
        (one("attribute", "lte", 12.5, key="seats"), {p.kim, p.lee}),
        (one("attribute", "before", "2026-06-01", key="renewal"), {p.lee}),
        (one("attribute", "after", "2026-06-01", key="renewal"), {p.kim}),
        (one("attribute", "set", key="seats"), {p.kim, p.lee, p.park}),
        (one("attribute", "not_set", key="seats"), {p.empty}),
        (one("attribute", "set", key="tier"), {p.kim, p.lee}),  # null is not set
        (one("attribute", "not_set", key="tier"), {p.empty, p.park}),
    ]
    for filter, expected in cases:
        assert await members(ws, filter) == expected, filter


async def test_company_language_and_tier(people):
    ws, p = people
    cases = [
        (one("company", "eq", "acme corp"), {p.lee}),
        (one("company", "ne", "Acme Corp"), {p.kim, p.empty, p.park}),
        (one("company", "contains", "소담"), {p.kim}),
        (one("company", "set"), {p.kim, p.lee}),  # "" is not a company
        (one("company", "not_set"), {p.empty, p.park}),
        (one("language", "in", ["ko"]), {p.kim, p.park}),
        (one("language", "not_in", ["ko"]), {p.lee, p.empty}),
        (one("language", "not_set"), {p.empty}),
        (one("tier", "eq", "VIP"), {p.kim}),
        (one("tier", "in", ["VIP", "Gold"]), {p.kim, p.lee}),
        (one("tier", "not_in", ["VIP"]), {p.lee, p.empty, p.park}),
        (one("tier", "ne", "VIP"), {p.lee, p.empty, p.park}),
        (one("tier", "not_set"), {p.empty, p.park}),
    ]
    for filter, expected in cases:
        assert await members(ws, filter) == expected, filter


async def test_activity_channel_and_tags(people):
    ws, p = people
    cases = [
        (one("last_seen", "within_days", 1), {p.kim, p.park}),  # Park by the page opened
        (one("last_seen", "within_days", 90), {p.kim, p.lee, p.park}),
        (one("last_seen", "not_within_days", 30), {p.lee, p.empty}),  # never seen counts
        (one("last_seen", "before", "2099-01-01"), {p.kim, p.lee, p.park}),  # but not for "before"
        (
            one(
                "last_seen",
                "before",
                (__import__("datetime").date.today() - __import__("datetime").timedelta(days=30)).isoformat(),
            ),
            {p.lee},
        ),
        (one("last_seen", "after", "2000-01-01"), {p.kim, p.lee, p.park}),
        (one("conversations", "gte", 2, days=30), {p.kim}),
        (one("conversations", "gte", 1, days=3), {p.kim}),
        (one("conversations", "gte", 1, days=90), {p.kim, p.lee}),
        (one("conversations", "lte", 0, days=30), {p.lee, p.empty, p.park}),
        (one("conversations", "lte", 1, days=30), {p.lee, p.empty, p.park}),
        (one("conversations", "eq", 0, days=90), {p.empty, p.park}),
        (one("conversations", "eq", 1, days=90), {p.lee}),
        (one("conversations", "gte", 0, days=7), {p.kim, p.lee, p.empty, p.park}),
        (one("open_conversation", "is", True), {p.kim}),
        (one("open_conversation", "is", False), {p.lee, p.empty, p.park}),
        (one("channel", "in", ["email"]), {p.lee}),
        (one("channel", "in", ["web_widget", "email"]), {p.kim, p.lee}),
        (one("channel", "not_in", ["email"]), {p.kim, p.empty, p.park}),
        (one("tag", "in", ["refund", "x"]), {p.kim}),
        (one("tag", "not_in", ["vip"]), {p.kim, p.empty, p.park}),
    ]
    for filter, expected in cases:
        assert await members(ws, filter) == expected, filter


async def test_survey_scores_and_sentiment(people):
    ws, p = people
    cases = [
        (one("csat", "lte", 2), {p.lee}),  # Kim's last CSAT is 5 (an earlier 2 does not count)
        (one("csat", "gte", 4), {p.kim}),
        (one("csat", "eq", 1), {p.lee}),
        (one("csat", "set"), {p.kim, p.lee}),
        (one("csat", "not_set"), {p.empty, p.park}),
        (one("nps", "lte", 6), {p.kim}),
        (one("ces", "set"), set()),
        (one("sentiment", "is", "negative"), {p.kim}),  # the open conversation, not the older 0.9
        (one("sentiment", "is", "positive"), {p.lee}),
        (one("sentiment", "is", "neutral"), set()),
        (one("sentiment", "lte", -0.7), {p.kim}),
        (one("sentiment", "gte", -0.69), {p.lee}),
        (one("sentiment", "not_set"), {p.empty, p.park}),
    ]
    for filter, expected in cases:
        assert await members(ws, filter) == expected, filter


async def test_sentiment_follows_the_screen_pop(people):
    """One definition: the segment's score is the screen pop's, and a new score moves both."""
    from sqlalchemy import text

    from sodam.crm import screen_pop

    ws, p = people
    async with session_scope() as s:
        pop = await screen_pop.summary(s, workspace_id=ws.workspace_id, contact_id=p.kim)
    assert pop["sentiment"]["score"] == -0.7 and pop["sentiment"]["label"] == "negative"
    async with session_scope() as s:  # the sentiment job re-scores Kim's latest messages
        await s.execute(
            text(
                "UPDATE messages SET sentiment_score = 0.4 WHERE workspace_id = :ws AND sender_id = :kim"
                " AND sentiment_score < 0"
            ),
            {"ws": ws.workspace_id, "kim": p.kim},
        )
        await s.commit()
    async with session_scope() as s:
        pop = await screen_pop.summary(s, workspace_id=ws.workspace_id, contact_id=p.kim)
    assert pop["sentiment"]["score"] == 0.4 and pop["sentiment"]["label"] == "positive"
    assert await members(ws, one("sentiment", "is", "positive")) == {p.kim, p.lee}
    assert await members(ws, one("sentiment", "is", "negative")) == set()


async def test_all_any_nesting(people):
    ws, p = people
    ko_or_gold = {
        "any": [
            {"field": "language", "op": "in", "value": ["ko"]},
            {"field": "tier", "op": "eq", "value": "Gold"},
        ]
    }
    assert await members(ws, ko_or_gold) == {p.kim, p.lee, p.park}
    nested = {
        "all": [
            ko_or_gold,
            {
                "any": [
                    {"field": "csat", "op": "set"},
                    {"field": "last_seen", "op": "within_days", "value": 1},
                ]
            },
            {"field": "sentiment", "op": "is", "value": "negative"},
        ]
    }
    assert await members(ws, nested) == {p.kim}
    deeper = {
        "any": [
            {"all": [{"field": "tier", "op": "not_set"}, {"any": [{"field": "company", "op": "not_set"}]}]}
        ]
    }
    assert await members(ws, deeper) == {p.empty, p.park}
    assert await members(ws, {"all": []}) == p.everyone
    assert await members(ws, {"any": []}) == set()


async def test_sentiment_follows_moved_and_deleted_conversations(people):
    """A conversation moved to another contact (a merge) takes its sentiment along; deleting the
    latest scored conversation falls back to the one before; a contact without any has none."""
    from sqlalchemy import text

    ws, p = people
    async with session_scope() as s:
        latest = await s.scalar(
            text("SELECT conversation_id FROM contact_sentiments WHERE contact_id = :kim"), {"kim": p.kim}
        )
        await s.execute(
            text("UPDATE conversations SET contact_id = :park WHERE id = :c"), {"park": p.park, "c": latest}
        )
        await s.commit()
    assert await members(ws, one("sentiment", "is", "negative")) == {p.park}
    assert await members(ws, one("sentiment", "is", "positive")) == {p.kim, p.lee}  # Kim's older 0.9
    async with session_scope() as s:
        await s.execute(text("DELETE FROM conversations WHERE contact_id = :kim"), {"kim": p.kim})
        await s.commit()
    assert await members(ws, one("sentiment", "set")) == {p.park, p.lee}
    async with session_scope() as s:
        rows = await s.scalar(
            text("SELECT count(*) FROM contact_sentiments WHERE workspace_id = :ws"), {"ws": ws.workspace_id}
        )
    assert rows == 2
