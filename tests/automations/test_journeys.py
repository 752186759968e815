"""The five seed journeys end to end with the controllable clock (waits included)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from sodam.automations import engine, service
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Status
from sodam.db.session import session_scope
from sodam.surveys import service as surveys
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


async def _contact(ws, name: str, **kw) -> int:
    async with session_scope() as s:
        return (await contacts.create(s, workspace_id=ws.workspace_id, name=name, **kw)).id


async def _conversation(ws, contact_id: int, *, resolved: bool = False) -> int:
    async with session_scope() as s:
        conv = await conversations.create(
            s, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact_id
        )
        if resolved:
            await conversations.set_status(
                s,
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                status=Status.resolved,
                actor_id=None,
            )
        return conv.id


async def _answer(ws, survey_id: int, contact_id: int, conversation_id: int, score: int) -> None:
    async with session_scope() as s:
        survey = await surveys.get(s, workspace_id=ws.workspace_id, survey_id=survey_id)
        recipient, _ = await surveys.invite(
            s, survey=survey, contact_id=contact_id, conversation_id=conversation_id
        )
        await surveys.submit(s, recipient=recipient, survey=survey, answers={"score": score})


async def test_inactive_follow_up_after_30_days_once(make_workspace, frozen):  # noqa: F811
    ws = await make_workspace()
    (rule,) = await _template(ws, "inactive")
    quiet = await _contact(ws, "박조용", language="ko")
    await process(ws.workspace_id)
    assert await runs_of(ws.workspace_id) == []  # everyone was active just now
    frozen.shift(timedelta(days=31))
    busy = await _contact(ws, "최바쁨", language="ko")
    busy_conv = await _conversation(ws, busy)
    async with session_scope() as s:  # busy wrote a day ago (on the shifted clock)
        await s.execute(
            text("UPDATE conversations SET last_message_at = :at WHERE id = :c"),
            {"at": frozen.now() - timedelta(days=1), "c": busy_conv},
        )
    async with session_scope() as s:
        preview = await service.dry_run(s, workspace_id=ws.workspace_id, rule_id=rule.id)
    assert preview["contact_ids"] == [quiet] and busy not in preview["contact_ids"]
    async with session_scope() as s:
        assert await engine.sweep(s, workspace_id=ws.workspace_id) == 1
        assert await engine.sweep(s, workspace_id=ws.workspace_id) == 0  # once per inactivity
    await process(ws.workspace_id)
    (nudge,) = await bot_messages(ws.workspace_id, quiet)
    assert nudge.startswith("조용님, 오랜만입니다.")


async def test_loyalty_offer_and_apology_under_4(make_workspace, frozen):  # noqa: F811
    ws = await make_workspace()
    await _template(ws, "loyalty")
    async with session_scope() as s:
        csat = (await surveys.create(s, workspace_id=ws.workspace_id, name="만족도", kind="csat")).id
    loyal = await _contact(ws, "한단골", language="ko")
    convs = [await _conversation(ws, loyal, resolved=True) for _ in range(3)]
    unhappy = await _contact(ws, "Sam Park", language="en")
    sad_conv = await _conversation(ws, unhappy, resolved=True)
    await _answer(ws, csat, loyal, convs[-1], 5)
    await _answer(ws, csat, unhappy, sad_conv, 2)
    await process(ws.workspace_id)
    (offer,) = await bot_messages(ws.workspace_id, loyal)
    assert offer.startswith("단골님, 늘 저희를 믿고 찾아 주셔서")
    (sorry,) = await bot_messages(ws.workspace_id, unhappy)
    assert sorry.startswith("We are sorry we let you down this time, Sam.")
    async with session_scope() as s:
        tags = (
            await s.execute(text("SELECT tags FROM conversations WHERE id = :c"), {"c": sad_conv})
        ).scalar()
    assert "apology-offer" in tags
    # A 5 from a first-time customer is thanked by nobody (fewer than 3 resolved conversations).
    newbie = await _contact(ws, "신규", language="ko")
    await _answer(ws, csat, newbie, await _conversation(ws, newbie, resolved=True), 5)
    await process(ws.workspace_id)
    assert await bot_messages(ws.workspace_id, newbie) == []


async def test_multi_ticket_escalation_on_the_third_conversation_in_7_days(make_workspace, frozen):  # noqa: F811
    ws = await make_workspace()
    await _template(ws, "multi_ticket")
    who = await _contact(ws, "이반복", language="ko")
    first, second = await _conversation(ws, who), await _conversation(ws, who)
    await process(ws.workspace_id)
    assert await runs_of(ws.workspace_id) == []
    third = await _conversation(ws, who)
    fourth = await _conversation(ws, who)
    await process(ws.workspace_id)
    (run,) = await runs_of(ws.workspace_id)
    assert run.conversation_id == third and run.status == "done"
    async with session_scope() as s:
        priority = (
            await s.execute(text("SELECT priority::text FROM conversations WHERE id = :c"), {"c": third})
        ).scalar()
        notices = (
            (
                await s.execute(
                    text(
                        "SELECT details FROM agent_notices WHERE workspace_id = :ws AND kind = 'automation_escalation'"
                    ),
                    {"ws": ws.workspace_id},
                )
            )
            .scalars()
            .all()
        )
    assert priority == "high"
    assert notices and notices[0]["contact_id"] == who and "세 번째 문의" in notices[0]["note"]
    assert {first, second, fourth}.isdisjoint({run.conversation_id})


async def test_unused_feature_nudge_after_14_days(make_workspace, frozen):  # noqa: F811
    ws = await make_workspace()
    (rule,) = await _template(ws, "unused_feature")
    idle = await _contact(ws, "정미사용", language="ko")
    user = await _contact(ws, "Kim Uses", language="en", custom_attributes={"feature_used": True})
    frozen.shift(timedelta(days=14, minutes=1))
    async with session_scope() as s:
        preview = await service.dry_run(s, workspace_id=ws.workspace_id, rule_id=rule.id)
    assert preview["contact_ids"] == [idle]
    from sodam.automations import runner

    assert await runner.sweep(workspace_id=ws.workspace_id) == 1
    await process(ws.workspace_id)
    (nudge,) = await bot_messages(ws.workspace_id, idle)
    assert "자동화 기능" in nudge and await bot_messages(ws.workspace_id, user) == []
