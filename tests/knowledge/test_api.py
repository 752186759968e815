"""REST API /api/v1/kb: CRUD, the error body, workspace isolation, pagination, search,
and the search index staying consistent across two server processes."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.knowledge.helpers import seed_kb


def api(server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url + "/api/v1/kb", headers={"Authorization": f"Bearer {token}"}, timeout=20
    )


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code, body


async def test_crud_pagination_and_isolation(live_server, make_workspace):
    a, b = await make_workspace(), await make_workspace()
    async with api(live_server, a.api_token) as kb, api(live_server, b.api_token) as other:
        r = await kb.post(
            "/categories", json={"slug": "start", "names": {"ko": "시작하기", "en": "Getting started"}}
        )
        assert r.status_code == 201, r.text
        cat = r.json()
        assert_error(
            await kb.post("/categories", json={"slug": "start", "names": {"ko": "x"}}), 409, "category_exists"
        )
        r = await kb.post(
            "/articles",
            json={
                "title": "시작 안내",
                "body": "# 안녕하세요\n\n<script>alert(1)</script>",
                "category_id": cat["id"],
                "alternate_questions": ["어떻게 시작하나요?"],
            },
        )
        assert r.status_code == 201, r.text
        art = r.json()
        assert art["status"] == "draft" and art["author_id"] == a.agent_id
        assert "<script>" not in art["body_html"] and "<h1>안녕하세요</h1>" in art["body_html"]
        assert [q["text"] for q in art["alternate_questions"]] == ["어떻게 시작하나요?"]

        r = await kb.patch(f"/articles/{art['id']}", json={"status": "published", "title": "시작하기"})
        assert r.status_code == 200 and r.json()["published_at"]
        r = await kb.post(f"/articles/{art['id']}/alternate-questions", json={"text": "처음 써봐요"})
        assert r.status_code == 201
        qid = r.json()["id"]
        assert (await kb.delete(f"/articles/{art['id']}/alternate-questions/{qid}")).status_code == 204
        assert_error(await kb.post("/articles", json={"title": ""}), 422, "validation_error")
        assert_error(await kb.post("/articles", json={"title": "x", "locale": "fr"}), 422)

        # another workspace: every id answers 404, and its lists are empty
        assert_error(await other.get(f"/articles/{art['id']}"), 404, "not_found")
        assert_error(await other.patch(f"/articles/{art['id']}", json={"title": "x"}), 404)
        assert_error(await other.delete(f"/articles/{art['id']}"), 404)
        assert_error(await other.get(f"/categories/{cat['id']}"), 404, "not_found")
        assert_error(await other.post("/articles", json={"title": "x", "category_id": cat["id"]}), 404)
        assert_error(
            await other.post(f"/articles/{art['id']}/alternate-questions", json={"text": "침입"}), 404
        )
        assert (await other.get("/articles")).json()["data"] == []
        assert (await other.get("/search", params={"q": "시작하기"})).json()["data"] == []

        # cursor pagination
        for i in range(4):
            await kb.post("/articles", json={"title": f"문서 {i}"})
        seen, cursor = [], None
        while True:
            r = await kb.get("/articles", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
            page = r.json()
            seen += [x["id"] for x in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 5 == len(set(seen)) and seen == sorted(seen, reverse=True)
        assert_error(await kb.get("/articles", params={"cursor": "garbage"}), 400, "invalid_cursor")

        assert (await kb.delete(f"/categories/{cat['id']}")).status_code == 204
        assert (await kb.get(f"/articles/{art['id']}")).json()["category_id"] is None
        assert (await kb.delete(f"/articles/{art['id']}")).status_code == 204
        assert_error(await kb.get(f"/articles/{art['id']}"), 404)


async def test_search_endpoint(live_server, make_workspace):
    ws = await make_workspace()
    ids = await seed_kb(ws.workspace_id)
    async with api(live_server, ws.api_token) as kb:
        r = await kb.get("/search", params={"q": "배송기간 얼마나 걸려요?"})
        body = r.json()
        assert r.status_code == 200 and body["locale"] == "ko"
        assert body["data"][0]["article_id"] == ids["ko:shipping"]
        assert body["decision"] == "answer"
        r = await kb.get("/search", params={"q": "refund please"})
        assert r.json()["data"][0]["article_id"] == ids["en:refunds"]
        r = await kb.get("/search", params={"q": "오늘 날씨 어때요"})
        assert r.json()["data"] == [] and r.json()["decision"] == "handoff"


async def _wait_for(kb: httpx.AsyncClient, query: str, predicate, within: float = 3.0) -> float:
    start = time.monotonic()
    while True:
        data = (await kb.get("/search", params={"q": query})).json()["data"]
        if predicate(data):
            return time.monotonic() - start
        assert time.monotonic() - start < within, data
        await asyncio.sleep(0.05)


async def test_index_is_refreshed_in_every_process(live_server, server_factory, make_workspace):
    """A change written through one process is searchable in another within a second."""
    second = server_factory()
    ws = await make_workspace()
    ids = await seed_kb(ws.workspace_id)
    async with api(live_server, ws.api_token) as one, api(second, ws.api_token) as two:
        # both processes build their index now
        for kb in (one, two):
            assert (await kb.get("/search", params={"q": "배송 기간"})).json()["data"]
        r = await one.post(
            "/articles",
            json={
                "title": "포인트는 어떻게 적립되나요?",
                "body": "결제 금액의 1%가 적립됩니다.",
                "status": "published",
                "alternate_questions": ["적립금 언제 들어와요"],
            },
        )
        new_id = r.json()["id"]
        elapsed = await _wait_for(two, "적립금 언제 들어와요?", lambda d: d and d[0]["article_id"] == new_id)
        assert elapsed < 1.0
        # unpublishing in process two removes it from process one
        await two.patch(f"/articles/{new_id}", json={"status": "draft"})
        await _wait_for(
            one, "적립금 언제 들어와요?", lambda d: all(x["article_id"] != new_id for x in d), 1.0
        )
        # an edited alternate question moves the match
        await one.patch(f"/articles/{ids['ko:account']}", json={"alternate_questions": ["회원 탈퇴 방법"]})
        await _wait_for(
            two, "회원탈퇴 하고싶어요", lambda d: d and d[0]["article_id"] == ids["ko:account"], 1.0
        )
