"""Demo workspace: Korean and English content so a fresh install has something to show."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.channels import service as inboxes
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import MessageKind, SenderType, Status
from sodam.knowledge import demo as knowledge_demo
from sodam.replies import demo as replies_demo
from sodam.routing import service as routing
from sodam.sla import service as sla
from sodam.surveys import demo as surveys_demo

DEMO_SLUG = "demo"
DEMO_ADMIN_EMAIL = "admin@sodam.local"
DEMO_ADMIN_PASSWORD = "sodam-demo-1234"  # noqa: S105 - printed on purpose; change it after first login


@dataclass
class DemoInfo:
    created: bool
    workspace_id: int
    inbox_token: str
    admin_email: str = DEMO_ADMIN_EMAIL
    admin_password: str = DEMO_ADMIN_PASSWORD


async def seed(session: AsyncSession, *, allowed_origins: list[str] | None = None) -> DemoInfo:
    """Create the demo workspace once; later calls return what exists."""
    existing = await accounts.get_workspace_by_slug(session, slug=DEMO_SLUG)
    if existing is not None:
        inbox_list = await inboxes.list_(session, workspace_id=existing.id)
        return DemoInfo(False, existing.id, inbox_list[0].public_token if inbox_list else "")
    # The reactions (the bot's reply, sentiment) register when their task modules load: load
    # them first, so the demo customers' messages get them as a real customer's would.
    from sodam.jobs.app import load_task_modules

    load_task_modules()
    ws = await accounts.create_workspace(session, name="소담 데모 (Sodam Demo)", slug=DEMO_SLUG)
    admin = await accounts.create_agent(
        session,
        workspace_id=ws.id,
        email=DEMO_ADMIN_EMAIL,
        name="김관리 (Admin)",
        password=DEMO_ADMIN_PASSWORD,
        role=Role.admin,
        locale="ko",
    )
    minji = await accounts.create_agent(
        session,
        workspace_id=ws.id,
        email="minji@sodam.local",
        name="이민지",
        password=DEMO_ADMIN_PASSWORD,
        role=Role.agent,
        locale="ko",
    )
    alex = await accounts.create_agent(
        session,
        workspace_id=ws.id,
        email="alex@sodam.local",
        name="Alex Kim",
        password=DEMO_ADMIN_PASSWORD,
        role=Role.supervisor,
        locale="en",
    )
    billing = await accounts.create_team(
        session, workspace_id=ws.id, name="결제/환불 Billing", agent_ids=[minji.id, admin.id]
    )
    await accounts.create_team(session, workspace_id=ws.id, name="기술 지원 Tech", agent_ids=[alex.id])
    inbox = await inboxes.create(
        session,
        workspace_id=ws.id,
        name="웹사이트 채팅",
        allowed_origins=allowed_origins or [],
        settings={
            "company_name": "소담 쇼핑",
            "greeting_ko": "안녕하세요, 소담 쇼핑입니다! 무엇을 도와드릴까요?",
            "greeting_en": "Hi, this is Sodam Shop! How can we help?",
            # The bot answers first from the demo knowledge base and hands off to a person.
            "bot_enabled": True,
            # First-reply target: the list shows green / amber / red badges.
            "sla_first_reply_s": 15 * 60,
        },
    )
    # One SLA policy in business hours (VIP customers and urgent conversations first).
    await sla.seed_default(session, workspace_id=ws.id)
    # Routing: who speaks what and knows which topics; "환불" in a message asks for billing.
    for agent, skills in (
        (admin, {"lang:ko": 5, "lang:en": 3, "vip": 4}),
        (minji, {"lang:ko": 5, "topic:refund": 4}),
        (alex, {"lang:en": 5, "lang:ko": 3}),
    ):
        await routing.update_agent_routing(
            session, workspace_id=ws.id, agent_id=agent.id, capacity={"default": 4}, skills=skills
        )
    await routing.create_rule(
        session, workspace_id=ws.id, kind="keyword", pattern="환불", skill=None, team_id=billing.id
    )
    samples = [
        (
            "박서연",
            "seoyeon@example.kr",
            "ko",
            "(주)하늘상사",
            ["배송기간 얼마나 걸려요?", "주문번호는 20261124-0031 입니다."],
            "안녕하세요, 고객님. 보통 2~3일 안에 도착합니다. 확인 후 다시 안내드리겠습니다.",
        ),
        ("최준호", "junho@example.kr", "ko", None, ["환불해주세여 ㅠㅠ 사이즈가 안 맞아요"], None),
        (
            "Emily Clark",
            "emily@example.com",
            "en",
            "Acme Inc.",
            ["Hi, can I change my shipping address?"],
            "Sure! Please share the new address and your order number.",
        ),
    ]
    emily_id = None
    for i, (name, email, lang, company, lines, reply) in enumerate(samples):
        contact = await contacts.get_or_create_by_identity(
            session,
            workspace_id=ws.id,
            channel_type="web_widget",
            external_id=f"demo-{i}",
            name=name,
            email=email,
            language=lang,
            company=company,
        )
        if i == 0:  # a VIP customer: the SLA policy's tighter targets apply
            contact.custom_attributes = {**(contact.custom_attributes or {}), "tier": "vip"}
        conv = await conversations.create(
            session, workspace_id=ws.id, inbox_id=inbox.id, contact_id=contact.id, language=lang
        )
        for line in lines:
            await conversations.create_message(
                session, conversation=conv, content=line, sender_type=SenderType.contact, sender_id=contact.id
            )
        if reply:
            await conversations.assign(
                session, workspace_id=ws.id, conversation_id=conv.id, assignee_id=minji.id, actor_id=admin.id
            )
            await conversations.create_message(
                session, conversation=conv, content=reply, sender_type=SenderType.agent, sender_id=minji.id
            )
        if i == 0:
            await conversations.create_message(
                session,
                conversation=conv,
                content="VIP 고객입니다. 빠르게 처리해 주세요.",
                sender_type=SenderType.agent,
                sender_id=admin.id,
                kind=MessageKind.note,
            )
        if i == 0:  # the screen pop's tier and account value (attributes until typed ones exist)
            await contacts.update(
                session,
                workspace_id=ws.id,
                contact_id=contact.id,
                custom_attributes={"tier": "VIP", "account_value": 2_480_000},
            )
        if i == 2:
            emily_id = contact.id
            await conversations.set_status(
                session, workspace_id=ws.id, conversation_id=conv.id, status=Status.pending, actor_id=alex.id
            )
    await knowledge_demo.seed(session, workspace_id=ws.id, author_id=admin.id)
    await replies_demo.seed(
        session,
        workspace_id=ws.id,
        admin_id=admin.id,
        agent_id=minji.id,
        agent_role="agent",
        team_id=billing.id,
    )
    await surveys_demo.seed(session, workspace_id=ws.id, inbox_id=inbox.id, nps_contact_id=emily_id)
    return DemoInfo(True, ws.id, inbox.public_token)
