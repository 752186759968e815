"""Page rules over the REST API: CRUD, strict validation (bad patterns, catastrophic regexes,
foreign inboxes and articles: 422), the rules in the widget's config, the shown / cap / article
answer of the widget's reports, and the reach / self-served figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from sodam.pagehelp import patterns
from sodam.pagehelp import service as pagehelp
from tests.pagehelp.fixture import articles, visitor, widget
from tests.test_api_helpers import assert_error, client, walk

RULE = {
    "name": "반품 페이지",
    "match_type": "glob",
    "pattern": "/orders/*/return",
    "seconds": 5,
    "display": "open",
    "message": {
        "ko": "반품이 처음이신가요? 아래 안내를 확인해 보세요.",
        "en": "First return? This may help.",
    },
    "article_mode": "pick",
}


async def test_crud(live_server, make_workspace):
    ws = await make_workspace()
    returns, shipping, draft = await articles(ws)
    async with client(live_server, ws.api_token) as api:
        r = await api.post("/page-rules", json={**RULE, "article_ids": [returns, shipping]})
        assert r.status_code == 201, r.text
        rule = r.json()
        assert rule["article_ids"] == [returns, shipping] and rule["cap_hours"] == 24
        assert rule["created_by"] == ws.agent_id and rule["inbox_id"] is None and rule["enabled"] is True
        assert_error(
            await api.post("/page-rules", json={**RULE, "article_ids": [returns]}),
            409,
            "page_rule_name_taken",
        )
        r = await api.patch(f"/page-rules/{rule['id']}", json={"pattern": "/returns*", "cap_hours": 48})
        assert r.status_code == 200, r.text
        assert r.json()["pattern"] == "/returns*" and r.json()["cap_hours"] == 48
        assert r.json()["article_ids"] == [returns, shipping]  # untouched fields stay
        r = await api.patch(
            f"/page-rules/{rule['id']}", json={"article_mode": "auto", "search_query": "반품"}
        )
        assert r.json()["article_ids"] == [] and r.json()["search_query"] == "반품"
        assert [x["id"] for x in await walk(api, "/page-rules", 1)] == [rule["id"]]
        assert (await api.get(f"/page-rules/{rule['id']}")).json()["name"] == "반품 페이지"
        assert (await api.delete(f"/page-rules/{rule['id']}")).status_code == 204
        assert_error(await api.get(f"/page-rules/{rule['id']}"), 404, "not_found")


BAD_REGEXES = [
    "(a+)+$",
    "(a|aa)*",
    "(.*x){9}",
    "(?=admin)",
    "(\\d)\\1",
    "[",
    "a{1000}",
    ".*a.*b.*c.*d",
    "(?i)x",
]


@pytest.mark.parametrize("pattern", BAD_REGEXES)
def test_catastrophic_and_unportable_regexes_are_refused(pattern):
    with pytest.raises(Exception) as info:
        patterns.check("regex", pattern)
    assert info.value.code == "invalid_pattern"


def test_matching():
    assert patterns.matches("glob", "/orders/*/return", "https://shop.test/orders/12/return?x=1#top")
    assert not patterns.matches("glob", "/orders/*/return", "https://shop.test/orders/12/return/done")
    assert patterns.matches("glob", "/pricing?plan=*", "https://shop.test/pricing?plan=pro")
    assert not patterns.matches("glob", "/pricing?plan=*", "https://shop.test/pricing")
    assert patterns.matches("regex", r"^/search\?q=", "https://shop.test/search?q=x")
    assert patterns.matches("prefix", "/pricing", "https://shop.test/pricing/pro")
    assert not patterns.matches("prefix", "/pricing", "https://shop.test/en/pricing")
    assert patterns.matches("contains", "checkout", "https://shop.test/cart/checkout")
    assert patterns.matches("regex", r"^/orders/[0-9]+/return$", "https://shop.test/orders/7/return")
    assert patterns.matches("glob", "https://shop.test/*", "https://shop.test/a")
    assert not patterns.matches("glob", "https://other.test/*", "https://shop.test/a")


async def test_validation(live_server, make_workspace):
    ws = await make_workspace()
    other = await make_workspace()
    theirs = (await articles(other))[0]
    async with client(live_server, ws.api_token) as api:
        for pattern in ("(a+)+$", "(?=admin)", "[", "x" * 201):
            e = assert_error(
                await api.post(
                    "/page-rules",
                    json={**RULE, "match_type": "regex", "pattern": pattern, "article_mode": "none"},
                ),
                422,
                "invalid_pattern",
            )
            assert e["details"]["field"] == "pattern" and e["details"]["reason"]
        assert_error(
            await api.post("/page-rules", json={**RULE, "pattern": "   ", "article_mode": "none"}),
            422,
            "invalid_pattern",
        )
        assert_error(await api.post("/page-rules", json={**RULE, "match_type": "fuzzy"}), 422)
        assert_error(await api.post("/page-rules", json={**RULE, "seconds": 3601}), 422)
        assert_error(await api.post("/page-rules", json={**RULE, "cap_hours": 0}), 422)
        assert_error(await api.post("/page-rules", json={**RULE, "article_ids": []}), 422, "invalid_articles")
        assert_error(
            await api.post("/page-rules", json={**RULE, "message": {}, "article_mode": "none"}),
            422,
            "empty_rule",
        )
        e = assert_error(
            await api.post("/page-rules", json={**RULE, "article_ids": [theirs]}), 422, "unknown_article"
        )
        assert e["details"]["ids"] == [theirs]
        assert_error(
            await api.post("/page-rules", json={**RULE, "article_mode": "none", "inbox_id": other.inbox_id}),
            422,
            "invalid_inbox",
        )
        assert_error(await api.post("/page-rules", json={**RULE, "surprise": 1}), 422)
        assert (await api.get("/page-rules")).json()["data"] == []


async def test_widget_config_carries_the_inbox_rules(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        mine = (
            await api.post("/page-rules", json={**RULE, "article_mode": "none", "inbox_id": ws.inbox_id})
        ).json()
        everywhere = (
            await api.post(
                "/page-rules",
                json={
                    **RULE,
                    "name": "요금제",
                    "pattern": "/pricing*",
                    "exit_intent": True,
                    "article_mode": "auto",
                },
            )
        ).json()
        off = (
            await api.post(
                "/page-rules", json={**RULE, "name": "꺼짐", "enabled": False, "article_mode": "none"}
            )
        ).json()
    async with widget(live_server, ws) as w:
        config = (await w.get("/config", params={"locale": "en"})).json()
        rules = {r["id"]: r for r in config["page_rules"]}
        assert set(rules) == {mine["id"], everywhere["id"]} and off["id"] not in rules
        assert rules[mine["id"]] == {
            "id": mine["id"],
            "match": "glob",
            "pattern": "/orders/*/return",
            "seconds": 5,
            "exit_intent": False,
            "display": "open",
            "cap_hours": 24,
            "message": "First return? This may help.",
            "articles": False,
        }
        assert rules[everywhere["id"]]["exit_intent"] is True and rules[everywhere["id"]]["articles"] is True
        ko = (await w.get("/config", params={"locale": "ko"})).json()
        assert {r["message"] for r in ko["page_rules"]} == {RULE["message"]["ko"]}
        assert ko["strings"]["ask"] == "진행 상황"


async def test_shown_cap_articles_and_stats(live_server, make_workspace):
    ws = await make_workspace()
    returns, shipping, draft = await articles(ws)
    async with client(live_server, ws.api_token) as api:
        rule = (
            await api.post("/page-rules", json={**RULE, "article_ids": [shipping, draft, returns]})
        ).json()
        auto = (
            await api.post(
                "/page-rules",
                json={**RULE, "name": "자동", "article_mode": "auto", "search_query": "반품 신청"},
            )
        ).json()
    token, contact_id = await visitor(live_server, ws)
    async with widget(live_server, ws) as w:
        url = f"/page-rules/{rule['id']}/events"
        r = await w.post(url, json={"visitor_key": "anon-key-0001", "kind": "shown", "locale": "ko"})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["show"] is True
        # Picked order, published only (the draft is left out), links into the help center.
        assert [a["id"] for a in answer["articles"]] == [shipping, returns]
        assert answer["articles"][0]["url"].endswith(f"/help/{ws.slug}/articles/{shipping}?lang=ko")
        # The cap holds on the server: the same key again is not shown.
        again = (await w.post(url, json={"visitor_key": "anon-key-0001", "kind": "shown"})).json()
        assert again == {"show": False, "articles": []}
        # A known visitor (their token): shown, and linked to their contact.
        mine = await w.post(
            url, json={"visitor_key": "known-key-002", "kind": "shown"}, headers={"X-Sodam-Visitor": token}
        )
        assert mine.json()["show"] is True
        # The same contact on another device (new key) is capped too.
        other_device = await w.post(
            url, json={"visitor_key": "known-key-003", "kind": "shown"}, headers={"X-Sodam-Visitor": token}
        )
        assert other_device.json()["show"] is False
        r = await w.post(
            url, json={"visitor_key": "anon-key-0001", "kind": "clicked_article", "article_id": returns}
        )
        assert r.json() == {"recorded": True}
        # Top matches for the page: the knowledge base's own search.
        found = (
            await w.post(
                f"/page-rules/{auto['id']}/events", json={"visitor_key": "anon-key-0001", "kind": "shown"}
            )
        ).json()
        assert found["show"] is True and found["articles"][0]["id"] == returns
        # Bad reports.
        assert_error(await w.post(url, json={"visitor_key": "x", "kind": "shown"}), 422)
        assert_error(await w.post(url, json={"visitor_key": "anon-key-0001", "kind": "purchased"}), 422)
        assert_error(
            await w.post(
                "/page-rules/999999999/events", json={"visitor_key": "anon-key-0001", "kind": "shown"}
            ),
            404,
        )
    # The known visitor then talks to an agent: they needed one.
    async with widget(live_server, ws) as w:
        r = await w.post(
            "/messages",
            json={"client_id": "c-1", "content": "반품이 안 돼요"},
            headers={"X-Sodam-Visitor": token},
        )
        assert r.status_code == 201, r.text
        conversation_id = r.json()["conversation_id"]
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=conversation_id)
        await conversations.create_message(
            session,
            conversation=conv,
            content="확인해 드리겠습니다",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        await session.commit()
    async with client(live_server, ws.api_token) as api:
        s = (await api.get(f"/page-rules/{rule['id']}/stats")).json()
        assert s == {
            "rule_id": rule["id"],
            "days": 30,
            "shown": 2,
            "reached": 2,
            "clicked_article": 1,
            "opened_chat": 0,
            "needed_agent": 1,
            "self_served": 0,
            "pending": 1,
            "self_served_rate": 0.0,
        }
        listed = {x["rule_id"]: x for x in (await api.get("/page-rules/stats")).json()}
        assert listed[rule["id"]] == s and listed[auto["id"]]["reached"] == 1
    # A day later the anonymous visitor's window has closed without an agent: self-served.
    async with session_scope() as session:
        later = await pagehelp.stats(
            session,
            workspace_id=ws.workspace_id,
            rule_ids=[rule["id"]],
            now=datetime.now(UTC) + timedelta(hours=25),
        )
    assert later[rule["id"]]["self_served"] == 1 and later[rule["id"]]["needed_agent"] == 1
    assert later[rule["id"]]["pending"] == 0 and later[rule["id"]]["self_served_rate"] == 0.5
    # An agent's reply after the window does not count against the showing.
    async with session_scope() as session:
        await session.execute(
            text(
                "UPDATE page_rule_events SET created_at = created_at - interval '3 days' WHERE rule_id = :r"
            ),
            {"r": rule["id"]},
        )
        await session.commit()
        moved = await pagehelp.stats(session, workspace_id=ws.workspace_id, rule_ids=[rule["id"]])
    assert moved[rule["id"]]["self_served"] == 2 and moved[rule["id"]]["needed_agent"] == 0
