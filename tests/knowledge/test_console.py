"""The console's knowledge base editor: create, edit alternate questions, publish, categories,
content gaps; CSRF, roles and workspace isolation."""

from __future__ import annotations

import re

from sodam.accounts.models import Role
from sodam.db.session import session_scope
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import engagement, service
from tests.knowledge.helpers import seed_kb
from tests.test_console_helpers import console_client, csrf_of


async def test_editor_flow(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        r = await client.get("/console/kb")
        assert r.status_code == 200 and "지식 베이스" in r.text
        r = await client.post(
            "/console/kb/categories",
            data={
                "slug": "start",
                "name_ko": "시작하기",
                "name_en": "Getting started",
                "csrf_token": csrf_of(client),
            },
        )
        assert r.status_code == 303
        r = await client.post(
            "/console/kb/categories", data={"slug": "start", "name_ko": "x", "csrf_token": csrf_of(client)}
        )
        assert r.status_code == 400 and "같은 주소용 이름의 분류가 이미 있습니다" in r.text
        async with session_scope() as session:
            (cat,) = await kb_categories.list_categories(session, workspace_id=ws.workspace_id)
        r = await client.post(
            "/console/kb/new",
            data={
                "title": "시작하는 방법",
                "body": "**굵게** <script>alert(1)</script>",
                "locale": "ko",
                "category_id": str(cat.id),
                "questions": "처음 어떻게 해요?\n시작 방법",
                "csrf_token": csrf_of(client),
            },
        )
        assert r.status_code == 303
        article_id = int(re.search(r"/articles/(\d+)", r.headers["location"]).group(1))
        page = await client.get(r.headers["location"])
        assert "처음 어떻게 해요?" in page.text and "<strong>굵게</strong>" in page.text
        assert "<script>alert(1)</script>" not in page.text
        r = await client.post(
            f"/console/kb/articles/{article_id}/questions",
            data={"text": "시작이 어려워요", "csrf_token": csrf_of(client)},
        )
        assert r.status_code == 303
        r = await client.post(
            f"/console/kb/articles/{article_id}/publish", data={"csrf_token": csrf_of(client)}
        )
        assert r.status_code == 303
        async with session_scope() as session:
            article = await service.get_article(session, workspace_id=ws.workspace_id, article_id=article_id)
            assert article.status == "published" and article.author_id == ws.agent_id
            assert [q.text for q in article.alternate_questions] == [
                "처음 어떻게 해요?",
                "시작 방법",
                "시작이 어려워요",
            ]
            qid = article.alternate_questions[0].id
        r = await client.post(
            f"/console/kb/articles/{article_id}/questions/{qid}/delete", data={"csrf_token": csrf_of(client)}
        )
        assert r.status_code == 303
        r = await client.post(
            f"/console/kb/articles/{article_id}", data={"title": "", "csrf_token": csrf_of(client)}
        )
        assert r.status_code == 400 and "제목을 입력해 주세요" in r.text
        # no CSRF token: refused
        r = await client.post(f"/console/kb/articles/{article_id}/unpublish")
        assert r.status_code == 403
        listing = await client.get("/console/kb", params={"status": "published"})
        assert f'data-article-id="{article_id}"' in listing.text
        gaps = await client.get("/console/kb/gaps")
        assert gaps.status_code == 200 and "답을 찾지 못한 질문" in gaps.text
    finally:
        await client.aclose()


async def test_gaps_page_lists_zero_result_searches(live_server, make_workspace):
    ws = await make_workspace()
    await seed_kb(ws.workspace_id)
    async with session_scope() as session:
        for q in ("적립금 사용법", "적립금 사용법", "배송 기간"):
            result = await service.search(session, workspace_id=ws.workspace_id, query=q, locale="ko")
            await engagement.record_search(session, workspace_id=ws.workspace_id, result=result)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        r = await client.get("/console/kb/gaps")
        table = r.text.split('id="kb-gaps"', 1)[1].split("</table>", 1)[0]
        assert "적립금 사용법" in table and "배송 기간" not in table
    finally:
        await client.aclose()


async def test_agents_read_only_and_other_workspaces_404(live_server, make_workspace):
    ws = await make_workspace(role=Role.agent)
    other = await make_workspace()
    ids = await seed_kb(other.workspace_id)
    mine = await seed_kb(ws.workspace_id)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        assert (await client.get(f"/console/kb/articles/{ids['ko:shipping']}")).status_code == 404
        page = await client.get(f"/console/kb/articles/{mine['ko:shipping']}")
        assert page.status_code == 200 and 'id="kb-save"' not in page.text
        r = await client.post(
            f"/console/kb/articles/{mine['ko:shipping']}/unpublish", data={"csrf_token": csrf_of(client)}
        )
        assert r.status_code == 403
        assert (await client.get("/console/kb/gaps")).status_code == 403
    finally:
        await client.aclose()
