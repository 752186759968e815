"""A small fixture knowledge base (Korean and English) shared by the knowledge tests."""

from __future__ import annotations

from sodam.db.session import session_scope
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import service

ARTICLES = [
    (
        "shipping",
        "ko",
        "배송 기간이 얼마나 걸리나요?",
        "주문 후 보통 **2~3 영업일** 안에 받아보실 수 있습니다. 도서산간 지역은 하루이틀 더 걸릴 수 있습니다.",
        ["배송 언제 와요?", "택배 도착 예정일"],
    ),
    (
        "refunds",
        "ko",
        "환불은 어떻게 신청하나요?",
        "마이페이지 > 주문 내역에서 **환불 신청**을 눌러 주세요. 영업일 기준 3일 안에 처리됩니다.",
        ["환불해주세요", "돈 돌려받고 싶어요"],
    ),
    (
        "account",
        "ko",
        "비밀번호를 잊어버렸어요",
        "로그인 화면의 '비밀번호 찾기'에서 이메일로 재설정 링크를 받으실 수 있습니다.",
        ["비번 재설정", "로그인이 안 돼요"],
    ),
    (
        "shipping",
        "en",
        "How long does shipping take?",
        "Orders usually arrive within **2-3 business days**.",
        ["when will my order arrive", "delivery time"],
    ),
    (
        "refunds",
        "en",
        "How do I get a refund?",
        "Open *My orders* and press **Request refund**. Refunds are processed in 3 business days.",
        ["refund please", "money back"],
    ),
]


async def seed_kb(workspace_id: int, author_id: int | None = None) -> dict[str, int]:
    """Three categories and five published articles; returns {"ko:shipping": id, ...}."""
    ids: dict[str, int] = {}
    async with session_scope() as session:
        cats = {}
        for slug, ko, en in [
            ("shipping", "배송", "Shipping"),
            ("refunds", "환불/교환", "Refunds and exchanges"),
            ("account", "계정", "Account"),
        ]:
            cats[slug] = await kb_categories.create_category(
                session, workspace_id=workspace_id, slug=slug, names={"ko": ko, "en": en}
            )
        for cat, locale, title, body, questions in ARTICLES:
            article = await service.create_article(
                session,
                workspace_id=workspace_id,
                title=title,
                body=body,
                locale=locale,
                category_id=cats[cat].id,
                status="published",
                alternate_questions=questions,
                author_id=author_id,
            )
            ids[f"{locale}:{cat}"] = article.id
    return ids


async def add_shipping_article(workspace_id: int, *questions: str) -> int:
    """One published Korean article on delivery times, with these alternate questions; its id."""
    async with session_scope() as session:
        article = await service.create_article(
            session,
            workspace_id=workspace_id,
            title="배송 기간 안내",
            locale="ko",
            status="published",
            body="주문 후 평균 2~3일(영업일 기준) 안에 도착합니다.",
            alternate_questions=list(questions),
        )
        return article.id
