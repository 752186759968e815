"""The five seed journeys end to end with the controllable clock (waits included)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from sodam.automations import service
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Status
from sodam.db.session import session_scope
from tests.automations.helpers import bot_messages, frozen, process, runs_of, steps_of  # noqa: F401


async def _template(ws, key: str):
    async with session_scope() as s:
        return await service.instantiate(s, workspace_id=ws.workspace_id, key=key, created_by=ws.agent_id)


async def test_welcome_series_waits_three_days_then_sends_tips(make_workspace, frozen):  # noqa: F811
    ws = await make_workspace()
    await _template(ws, "welcome")
    async with session_scope() as s:
        kim = (await contacts.create(s, workspace_id=ws.workspace_id, name="김민지", language="ko")).id
        lee = (await contacts.create(s, workspace_id=ws.workspace_id, name="Jane Lee", language="en")).id
    await process(ws.workspace_id)
    assert await bot_messages(ws.workspace_id, kim) == [
        "민지님, 반갑습니다! 가입해 주셔서 감사합니다. 궁금하신 점은 언제든 이 창에서 편하게 물어봐 주세요."
    ]
    assert (await bot_messages(ws.workspace_id, lee))[0].startswith("Welcome aboard, Jane!")
    frozen.shift(timedelta(days=2, hours=23))
    await process(ws.workspace_id)
    assert len(await bot_messages(ws.workspace_id, kim)) == 1
    frozen.shift(timedelta(hours=1, minutes=1))
    await process(ws.workspace_id)
    tips = await bot_messages(ws.workspace_id, kim)
    assert len(tips) == 2 and tips[1].startswith("민지님, 잘 쓰고 계신가요?")
    runs = await runs_of(ws.workspace_id)
    assert {r.status for r in runs} == {"done"} and len(runs) == 2
    outcomes = [(st.action, st.outcome) for st in await steps_of(ws.workspace_id) if st.contact_id == kim]
    assert outcomes == [("message", "done"), ("wait", "waiting"), ("message", "done")]
