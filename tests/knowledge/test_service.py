"""Knowledge services: CRUD, workspace isolation, matching of Korean variants, votes, search log."""

from __future__ import annotations

import pytest

from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.db.session import session_scope
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import engagement, service
from sodam.knowledge.markdown import render
from tests.knowledge.helpers import seed_kb


async def search(ws_id: int, query: str, locale: str | None = None):
    async with session_scope() as session:
        return await service.search(session, workspace_id=ws_id, query=query, locale=locale)


async def test_crud_and_isolation(make_workspace):
    a, b = await make_workspace(), await make_workspace()
    async with session_scope() as session:
        cat = await kb_categories.create_category(
            session,
            workspace_id=a.workspace_id,
            slug="start",
            names={"ko": "시작하기", "en": "Getting started"},
        )
        with pytest.raises(Conflict):
            await kb_categories.create_category(
                session, workspace_id=a.workspace_id, slug="start", names={"ko": "x"}
            )
        article = await service.create_article(
            session,
            workspace_id=a.workspace_id,
            title="시작 안내",
            body="본문",
            category_id=cat.id,
            alternate_questions=["처음 시작", "처음 시작", " "],
            author_id=a.agent_id,
        )
        assert [q.text for q in article.alternate_questions] == ["처음 시작"]
        assert article.status == "draft"
    async with session_scope() as session:
        with pytest.raises(NotFound):
            await service.get_article(session, workspace_id=b.workspace_id, article_id=article.id)
        with pytest.raises(NotFound):
            await kb_categories.get_category(session, workspace_id=b.workspace_id, category_id=cat.id)
        with pytest.raises(NotFound):
            # another workspace's category cannot be attached either
            await service.create_article(session, workspace_id=b.workspace_id, title="x", category_id=cat.id)
        with pytest.raises(Invalid):
            await service.create_article(session, workspace_id=a.workspace_id, title="x", locale="fr")
        updated = await service.update_article(
            session,
            workspace_id=a.workspace_id,
            article_id=article.id,
            title="시작하기 안내",
            status="published",
            alternate_questions=["처음 시작", "어떻게 시작하나요"],
        )
        assert updated.published_at is not None
        assert [q.text for q in updated.alternate_questions] == ["처음 시작", "어떻게 시작하나요"]
        q = await service.add_alternate_question(
            session, workspace_id=a.workspace_id, article_id=article.id, text="시작 방법"
        )
        await service.remove_alternate_question(
            session, workspace_id=a.workspace_id, article_id=article.id, question_id=q.id
        )
        assert len(updated.alternate_questions) == 2
    async with session_scope() as session:
        assert await service.list_articles(session, workspace_id=b.workspace_id) == []
        listed = await service.list_articles(session, workspace_id=a.workspace_id, status="published")
        assert [x.id for x in listed] == [article.id]
        await service.delete_article(session, workspace_id=a.workspace_id, article_id=article.id)
    async with session_scope() as session:
        with pytest.raises(NotFound):
            await service.get_article(session, workspace_id=a.workspace_id, article_id=article.id)


def test_markdown_is_sanitised():
    html = render(
        "# 안내\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    # raw HTML is shown as text, never passed through
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert "<h1>안내</h1>" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("배송기간 얼마나 걸려요?", "ko:shipping"),
        ("배송 기간이 얼마나 걸리나요", "ko:shipping"),
        ("배송기간얼마나걸려요", "ko:shipping"),
        ("환불해주세여", "ko:refunds"),
        ("환불 해주세요 ㅠㅠ", "ko:refunds"),
        ("비밀번호 까먹었어요", "ko:account"),
        ("how long is delivery", "en:shipping"),
        ("I want a refund", "en:refunds"),
    ],
)
async def test_search_matches_spacing_and_typo_variants(make_workspace, query, expected):
    ws = await make_workspace()
    ids = await seed_kb(ws.workspace_id)
    result = await search(ws.workspace_id, query)
    assert result.hits, query
    assert result.hits[0].article_id == ids[expected], (query, result.hits)


async def test_search_skips_drafts_other_workspaces_and_off_topic(make_workspace):
    a, b = await make_workspace(), await make_workspace()
    ids = await seed_kb(a.workspace_id)
    assert (await search(b.workspace_id, "배송 기간")).hits == []
    off = await search(a.workspace_id, "오늘 날씨 어때요")
    assert off.hits == [] and off.decision == "handoff"
    async with session_scope() as session:
        await service.set_status(
            session, workspace_id=a.workspace_id, article_id=ids["ko:shipping"], status="draft"
        )
    assert all(h.article_id != ids["ko:shipping"] for h in (await search(a.workspace_id, "배송 기간")).hits)
    async with session_scope() as session:
        await service.update_article(
            session,
            workspace_id=a.workspace_id,
            article_id=ids["ko:account"],
            alternate_questions=["배송지 주소 변경"],
        )
    hits = (await search(a.workspace_id, "배송지 주소를 바꾸고 싶어요")).hits
    assert hits and hits[0].article_id == ids["ko:account"]


async def test_votes_count_once_per_visitor(make_workspace):
    ws = await make_workspace()
    ids = await seed_kb(ws.workspace_id)
    article_id = ids["ko:refunds"]
    async with session_scope() as session:
        assert await engagement.vote(
            session, workspace_id=ws.workspace_id, article_id=article_id, visitor="v1", helpful=True
        )
        assert not await engagement.vote(
            session, workspace_id=ws.workspace_id, article_id=article_id, visitor="v1", helpful=True
        )
        assert await engagement.vote(
            session, workspace_id=ws.workspace_id, article_id=article_id, visitor="v2", helpful=True
        )
        # v1 changes its mind: the vote moves, it is not added
        assert await engagement.vote(
            session, workspace_id=ws.workspace_id, article_id=article_id, visitor="v1", helpful=False
        )
    async with session_scope() as session:
        article = await service.get_article(session, workspace_id=ws.workspace_id, article_id=article_id)
        await session.refresh(article)
        assert (article.helpful_count, article.not_helpful_count) == (1, 1)


async def test_search_log_most_searched_and_content_gaps(make_workspace):
    ws = await make_workspace()
    ids = await seed_kb(ws.workspace_id)
    async with session_scope() as session:
        for q in ["배송 기간", "배송 기간", "배송 기간?", "포인트 적립", "포인트 적립", "환불해주세요"]:
            result = await service.search(session, workspace_id=ws.workspace_id, query=q, locale="ko")
            logged = await engagement.record_search(session, workspace_id=ws.workspace_id, result=result)
        await engagement.record_click(
            session, workspace_id=ws.workspace_id, search_id=logged.id, article_id=ids["ko:refunds"]
        )
        for visitor in ("a", "b"):
            await engagement.vote(
                session,
                workspace_id=ws.workspace_id,
                article_id=ids["ko:refunds"],
                visitor=visitor,
                helpful=False,
            )
    async with session_scope() as session:
        top = await engagement.most_searched(session, workspace_id=ws.workspace_id, locale="ko")
        assert top[0].searches == 3 and top[0].query.startswith("배송 기간")
        assert "포인트 적립" not in [t.query for t in top]
        gaps = await engagement.content_gaps(session, workspace_id=ws.workspace_id)
        by_query = {g.query: g for g in gaps}
        assert by_query["포인트 적립"].zero_results == 2
        assert by_query["환불해주세요"].not_helpful == 2 and by_query["환불해주세요"].clicks == 1
        assert not any(q.startswith("배송") for q in by_query)


async def test_demo_knowledge_base_answers_typical_questions(make_workspace):
    from sodam.knowledge import demo

    ws = await make_workspace()
    async with session_scope() as session:
        assert await demo.seed(session, workspace_id=ws.workspace_id) == len(demo.ARTICLES)
    async with session_scope() as session:
        assert await demo.seed(session, workspace_id=ws.workspace_id) == len(demo.ARTICLES)  # once only
    for query, title in [
        ("배송기간 얼마나 걸려요?", "배송 기간이 얼마나 걸리나요?"),
        ("환불해주세여", "환불은 어떻게 신청하나요?"),
        ("사이즈가 안맞아서 교환하고 싶어요", "교환은 어떻게 하나요?"),
        ("where is my package", "How long does shipping take?"),
    ]:
        result = await search(ws.workspace_id, query)
        assert result.hits and result.hits[0].title == title, (query, result.hits[:2])
