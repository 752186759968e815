"""Canned replies of the demo workspace: Korean and English, personal, team and shared."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.replies import service
from sodam.replies.models import ReplyScope

SHARED = (
    (
        "인사",
        "첫인사",
        "{{contact.first_name}}님, 안녕하세요. 소담 쇼핑 상담원 {{agent.name}}입니다. 무엇을 도와드릴까요?",
    ),
    (
        "배송",
        "배송 지연 안내",
        "{{contact.first_name}}님, 기다리게 해 드려 죄송합니다. 주문하신 상품은 현재 배송 중이며, "
        "보통 1~2일 안에 도착합니다.\n배송이 지연되면 문자로 바로 알려 드리겠습니다.",
    ),
    (
        "배송지",
        "배송지 변경 방법",
        "배송지는 상품이 출고되기 전까지 [마이페이지 > 주문 내역]에서 바꾸실 수 있습니다. "
        "이미 출고되었다면 주문번호를 알려 주세요.",
    ),
    (
        "마무리",
        "상담 마무리",
        "더 궁금하신 점이 있으시면 언제든 말씀해 주세요. 오늘도 좋은 하루 보내세요, {{contact.first_name}}님!",
    ),
    (
        "hello",
        "Greeting",
        "Hi {{contact.first_name}}, this is {{agent.name}} from Sodam Shop. How can I help?",
    ),
    (
        "address",
        "Changing the shipping address",
        "You can change the shipping address under My page > Orders until the parcel leaves our "
        "warehouse. If it has already shipped, please send me your order number.",
    ),
)
BILLING_TEAM = (
    (
        "환불",
        "환불 안내",
        "{{contact.name}}님, 환불 접수되었습니다. 카드 결제는 카드사 사정에 따라 3~5영업일 안에 "
        "취소됩니다. 처리되면 {{contact.email}}(으)로 안내 메일을 보내 드리겠습니다.",
    ),
    (
        "refund",
        "Refund confirmation",
        "Hi {{contact.first_name}}, your refund is on its way. Card refunds take 3-5 business days "
        "to appear; we'll e-mail {{contact.email}} when it's done.",
    ),
)
PERSONAL = (("확인", "확인 중", "확인해 보고 바로 다시 말씀드리겠습니다. 잠시만 기다려 주세요."),)


async def seed(
    session: AsyncSession, *, workspace_id: int, admin_id: int, agent_id: int, agent_role: str, team_id: int
) -> None:
    """Create the demo replies (shared and team ones by the admin, a personal one for the agent)."""
    admin = await service.viewer(session, workspace_id=workspace_id, agent_id=admin_id, role="admin")
    agent = await service.viewer(session, workspace_id=workspace_id, agent_id=agent_id, role=agent_role)
    for shortcut, title, body in SHARED:
        await service.create(
            session,
            workspace_id=workspace_id,
            viewer=admin,
            shortcut=shortcut,
            title=title,
            body=body,
            scope=ReplyScope.workspace,
        )
    for shortcut, title, body in BILLING_TEAM:
        await service.create(
            session,
            workspace_id=workspace_id,
            viewer=admin,
            shortcut=shortcut,
            title=title,
            body=body,
            scope=ReplyScope.team,
            team_id=team_id,
        )
    for shortcut, title, body in PERSONAL:
        await service.create(
            session, workspace_id=workspace_id, viewer=agent, shortcut=shortcut, title=title, body=body
        )
