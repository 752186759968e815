"""The console's KakaoTalk parts: a conversation's session panel (open until when, or why it
is closed), the agent's "end consultation", and the 알림톡 form when the session is closed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from sodam.accounts.sessions import Console, console
from sodam.conversations import service as conversations
from sodam.conversations.models import Message, SenderType
from sodam.core.errors import AppError
from sodam.core.params import IdPath
from sodam.jobs.app import defer_in_tx
from sodam.kakao import alimtalk, outbound, rules, service

router = APIRouter(prefix="/console/kakao", include_in_schema=False)


async def _panel(ctx: Console, conversation_id: int, *, error: str | None = None, sent: bool = False):
    conversation = await conversations.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    await service.channel_of(ctx.session, workspace_id=ctx.workspace_id, inbox_id=conversation.inbox_id)
    row = await service.session_row(
        ctx.session,
        workspace_id=ctx.workspace_id,
        inbox_id=conversation.inbox_id,
        contact_id=conversation.contact_id,
    )
    templates = [
        {"code": t.code, "name": t.name, "body": t.body, "variables": rules.template_variables(t.body)}
        for t in await alimtalk.templates(
            ctx.session, workspace_id=ctx.workspace_id, inbox_id=conversation.inbox_id
        )
        if t.status == "approved"
    ]
    return ctx.render(
        "kakao/_panel.html",
        {
            "conversation": conversation,
            "state": service.state(row),
            "templates": templates,
            "error": error,
            "sent": sent,
        },
        status_code=422 if error else 200,
    )


@router.get("/conversations/{conversation_id}/deliveries")
async def deliveries(conversation_id: IdPath, ctx: Console = Depends(console)):
    """The KakaoTalk delivery state of a conversation's answers (console-kakao.js asks while
    one is being sent)."""
    conversation = await conversations.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    rows = await ctx.session.execute(
        select(Message.id, Message.payload["kakao"]["delivery"]).where(
            Message.workspace_id == ctx.workspace_id,
            Message.conversation_id == conversation.id,
            Message.sender_type.in_((SenderType.agent, SenderType.bot)),
            Message.payload["kakao"]["delivery"].is_not(None),
        )
    )
    return JSONResponse({"deliveries": {str(mid): d for mid, d in rows if d}})


@router.get("/conversations/{conversation_id}/panel")
async def panel(conversation_id: IdPath, ctx: Console = Depends(console)):
    return await _panel(ctx, conversation_id)


@router.post("/conversations/{conversation_id}/end")
async def end(conversation_id: IdPath, ctx: Console = Depends(console)):
    agent_id = ctx.agent.id
    try:
        async with ctx.session.begin_nested():  # a refusal undoes only this step
            channel, row = await service.end_by_agent(
                ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id, agent_id=agent_id
            )
    except AppError as exc:
        return await _panel(ctx, conversation_id, error=ctx.t(f"send.error.{exc.code}"))
    await defer_in_tx(
        ctx.session,
        "kakao.end_session",
        {"channel_id": channel.id, "user_key": row.user_key},
        queue=outbound.QUEUE,
    )
    await ctx.session.commit()
    response = await _panel(ctx, conversation_id)
    response.headers["HX-Trigger"] = "sodam:timeline"
    return response


@router.post("/conversations/{conversation_id}/alimtalk")
async def send_alimtalk(conversation_id: IdPath, request: Request, ctx: Console = Depends(console)):
    form = await request.form()
    code = str(form.get("template_code") or "")
    variables = {k[4:]: str(v) for k, v in form.items() if k.startswith("var_")}
    agent_id = ctx.agent.id
    try:
        async with ctx.session.begin_nested():  # a refusal undoes only this step
            await alimtalk.send(
                ctx.session,
                workspace_id=ctx.workspace_id,
                conversation_id=conversation_id,
                template_code=code,
                variables=variables,
                agent_id=agent_id,
                client_id=str(form.get("client_id") or "") or None,
            )
    except AppError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return await _panel(
            ctx,
            conversation_id,
            error=ctx.t(f"send.error.{exc.code}", missing=", ".join(details.get("missing") or [])),
        )
    await ctx.session.commit()
    response = await _panel(ctx, conversation_id, sent=True)
    response.headers["HX-Trigger"] = "sodam:timeline"
    return response
