"""Demo knowledge base: three categories (배송, 환불/교환, 계정) and Korean and English articles
with the alternate questions customers really type, so the help center and the bot have
something to answer on a fresh install."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.knowledge import categories as kb_categories
from sodam.knowledge import service

CATEGORIES = [
    ("shipping", "배송", "Shipping"),
    ("refunds", "환불/교환", "Refunds and exchanges"),
    ("account", "계정", "Account"),
]

ARTICLES = [
    (
        "shipping",
        "ko",
        "배송 기간이 얼마나 걸리나요?",
        "주문하신 상품은 결제 완료 후 **영업일 기준 2~3일** 안에 받아보실 수 있습니다.\n\n"
        "- 제주·도서산간 지역은 1~2일 더 걸릴 수 있습니다.\n"
        "- 배송 현황은 [주문 내역](https://example.com/orders)에서 확인하실 수 있습니다.",
        ["배송기간 얼마나 걸려요?", "언제 도착해요?", "택배 언제 와요", "배송 조회는 어디서 하나요?"],
    ),
    (
        "shipping",
        "ko",
        "배송지 주소를 바꾸고 싶어요",
        "상품이 **출고되기 전**이라면 마이페이지 > 주문 내역 > 배송지 변경에서 직접 바꾸실 수 있습니다.\n\n"
        "이미 출고된 경우에는 채팅으로 주문번호를 알려 주시면 택배사에 요청해 드리겠습니다.",
        ["주소 변경", "배송지 변경 가능한가요?", "주소를 잘못 적었어요"],
    ),
    (
        "refunds",
        "ko",
        "환불은 어떻게 신청하나요?",
        "마이페이지 > 주문 내역에서 **환불 신청**을 눌러 주세요.\n\n"
        "1. 상품을 받으신 날부터 7일 안에 신청하실 수 있습니다.\n"
        "2. 환불은 회수 확인 후 영업일 기준 3일 안에 결제 수단으로 돌려드립니다.",
        ["환불해주세요", "환불해주세여", "돈 돌려받고 싶어요", "반품하고 싶어요"],
    ),
    (
        "refunds",
        "ko",
        "교환은 어떻게 하나요?",
        "사이즈나 색상 교환은 상품을 받으신 날부터 7일 안에 **교환 신청**으로 접수해 주세요. "
        "왕복 배송비는 단순 변심일 때만 고객님께서 부담하십니다.",
        ["사이즈 교환", "다른 색으로 바꿀 수 있나요?", "사이즈가 안 맞아요"],
    ),
    (
        "account",
        "ko",
        "비밀번호를 잊어버렸어요",
        "로그인 화면의 **비밀번호 찾기**를 누르시면 가입하신 이메일로 재설정 링크를 보내드립니다. "
        "메일이 오지 않으면 스팸함도 확인해 주세요.",
        ["비번 재설정", "로그인이 안 돼요", "비밀번호 변경"],
    ),
    (
        "account",
        "ko",
        "회원 탈퇴는 어떻게 하나요?",
        "마이페이지 > 계정 설정 > **회원 탈퇴**에서 진행하실 수 있습니다. 탈퇴하시면 적립금과 쿠폰은 복구되지 않습니다.",
        ["탈퇴하고 싶어요", "계정 삭제"],
    ),
    (
        "shipping",
        "en",
        "How long does shipping take?",
        "Orders usually arrive within **2-3 business days** after payment. "
        "Remote areas may take one or two days more.",
        ["when will my order arrive", "delivery time", "where is my package"],
    ),
    (
        "refunds",
        "en",
        "How do I get a refund?",
        "Open *My orders* and press **Request refund** within 7 days of delivery. "
        "Refunds reach your payment method within 3 business days after we receive the item.",
        ["refund please", "I want my money back", "return an item"],
    ),
    (
        "shipping",
        "en",
        "Can I change my delivery address?",
        "Before your order **ships**, change it yourself in *My orders* > **Change address**.\n\n"
        "Once it has shipped, send us your order number in the chat and we will ask the courier.",
        ["change address", "I typed the wrong address", "deliver to another address"],
    ),
    (
        "refunds",
        "en",
        "How do I exchange an item?",
        "Request an **exchange** for another size or colour within 7 days of delivery. "
        "Return shipping is yours to pay only when you simply changed your mind.",
        ["exchange for another size", "can I swap the colour", "it doesn't fit"],
    ),
    (
        "account",
        "en",
        "I forgot my password",
        "Press **Forgot password** on the sign-in page and we will e-mail you a reset link.",
        ["reset password", "can't log in", "change my password"],
    ),
    (
        "account",
        "en",
        "How do I delete my account?",
        "Go to *My page* > *Account settings* > **Delete account**. Points and coupons cannot be "
        "restored once the account is deleted.",
        ["close my account", "delete my data"],
    ),
]


async def seed(session: AsyncSession, *, workspace_id: int, author_id: int | None = None) -> int:
    """Create the demo categories and published articles (once); returns how many articles exist."""
    existing = await kb_categories.list_categories(session, workspace_id=workspace_id)
    if existing:
        return len(await service.list_articles(session, workspace_id=workspace_id))
    categories = {}
    for slug, ko, en in CATEGORIES:
        categories[slug] = await kb_categories.create_category(
            session, workspace_id=workspace_id, slug=slug, names={"ko": ko, "en": en}
        )
    for slug, locale, title, body, questions in ARTICLES:
        await service.create_article(
            session,
            workspace_id=workspace_id,
            title=title,
            body=body,
            locale=locale,
            category_id=categories[slug].id,
            status="published",
            alternate_questions=questions,
            author_id=author_id,
        )
    return len(ARTICLES)
