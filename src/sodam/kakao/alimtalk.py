"""알림톡 (AlimTalk): template messages a channel may send outside a 상담톡 session.

Templates belong to an inbox and carry `#{변수}` placeholders; their approval state
(registered → inspecting → approved / rejected) is the dealer's and synced from it. A send
takes an approved template and a value for every placeholder; it is stored as the agent's
message in the conversation (payload.alimtalk) and delivered by the same job as any answer.
Never commits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.config import get_settings
from sodam.conversations import service as conversations
from sodam.conversations.message_path import create_message
from sodam.conversations.models import Message, MessageKind, SenderType
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.kakao import dealer, rules, service
from sodam.kakao.models import KakaoChannel, KakaoTemplate

STATUSES = ("registered", "inspecting", "approved", "rejected")


def _buttons(raw: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    out = []
    for b in (raw or [])[: rules.MAX_BUTTONS]:
        name, url = str(b.get("name") or "").strip(), str(b.get("url") or b.get("url_mobile") or "").strip()
        if not name or not url.startswith(("https://", "http://")):
            raise Invalid("a button needs a name and an http(s) url", code="invalid_button")
        out.append({"name": name[:14], "url": url[:500]})
    return out


async def create_template(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    code: str,
    name: str,
    body: str,
    buttons: list[dict[str, Any]] | None = None,
) -> KakaoTemplate:
    """Register a template as submitted to the dealer (state `registered` until synced)."""
    await service.channel_of(session, workspace_id=workspace_id, inbox_id=inbox_id)
    if not body.strip() or len(body) > 1000:
        raise Invalid("a template body is 1-1,000 characters", code="invalid_template_body")
    if await session.scalar(
        select(KakaoTemplate.id).where(KakaoTemplate.inbox_id == inbox_id, KakaoTemplate.code == code)
    ):
        raise Conflict("this inbox already has a template with this code", code="template_exists")
    template = KakaoTemplate(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        code=code,
        name=name or code,
        body=body,
        buttons=_buttons(buttons),
        status="registered",
    )
    session.add(template)
    await session.flush()
    return template


async def templates(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> list[KakaoTemplate]:
    return list(
        await session.scalars(
            select(KakaoTemplate)
            .where(KakaoTemplate.workspace_id == workspace_id, KakaoTemplate.inbox_id == inbox_id)
            .order_by(KakaoTemplate.code)
        )
    )


async def apply_sync(
    session: AsyncSession, *, channel: KakaoChannel, found: list[dealer.DealerTemplate]
) -> int:
    """Bring the inbox's templates to the dealer's state (new ones added); returns how many changed."""
    mine = {
        t.code: t
        for t in await templates(session, workspace_id=channel.workspace_id, inbox_id=channel.inbox_id)
    }
    changed = 0
    at = datetime.now(UTC)
    for d in found:
        status = d.status if d.status in STATUSES else "registered"
        t = mine.get(d.code)
        if t is None:
            t = KakaoTemplate(
                workspace_id=channel.workspace_id,
                inbox_id=channel.inbox_id,
                code=d.code,
                name=d.name,
                body=d.body,
                buttons=[
                    {"name": b.get("name"), "url": b.get("url") or b.get("url_mobile")} for b in d.buttons
                ],
            )
            session.add(t)
        if t.status != status or t.reject_reason != d.reject_reason or t.id is None:
            changed += 1
        t.status, t.reject_reason, t.synced_at = status, d.reject_reason, at
        if d.body:
            t.body = d.body
    await session.flush()
    return changed


async def send(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    template_code: str,
    variables: dict[str, str],
    agent_id: int | None,
    client_id: str | None = None,
) -> tuple[Message, bool]:
    """Store an 알림톡 from an approved template, every `#{변수}` filled (a job sends it)."""
    conversation = await conversations.get(
        session, workspace_id=workspace_id, conversation_id=conversation_id
    )
    channel = await service.channel_of(session, workspace_id=workspace_id, inbox_id=conversation.inbox_id)
    template = await session.scalar(
        select(KakaoTemplate).where(
            KakaoTemplate.workspace_id == workspace_id,
            KakaoTemplate.inbox_id == channel.inbox_id,
            KakaoTemplate.code == template_code,
        )
    )
    if template is None:
        raise NotFound("no such 알림톡 template in this inbox", code="template_not_found")
    if template.status != "approved":
        raise Conflict(
            f"template {template.code} is {template.status}, not approved: only approved templates are sent",
            code="template_not_approved",
            details={"status": template.status},
        )
    filled, missing = rules.fill_template(template.body, {k: str(v) for k, v in (variables or {}).items()})
    if missing:
        raise Invalid(
            "every #{variable} of the template needs a value: " + ", ".join(missing),
            code="template_variables_missing",
            details={"missing": missing},
        )
    return await create_message(
        session,
        conversation=conversation,
        content=filled,
        sender_type=SenderType.agent,
        sender_id=agent_id,
        kind=MessageKind.text,
        client_id=client_id,
        max_chars=get_settings().max_message_chars,
        payload={
            "alimtalk": {"template_code": template.code, "variables": variables},
            "buttons": template.buttons,
        },
        hints={"channel_type": "api", "adapter": "kakao"},
    )
