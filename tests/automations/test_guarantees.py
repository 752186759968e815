"""Once per trigger with two workers at once, quiet hours, the per-contact daily cap, and the
dry run deciding exactly what the real run does."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sodam.automations import clock, engine, runner, service
from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from sodam.segments import service as segments
from tests.automations.helpers import bot_messages, frozen, kst, process, runs_of, steps_of  # noqa: F401

HELLO = {
    "type": "message",
    "text": {"ko": "안녕하세요, {{contact.first_name}}님!", "en": "Hello {{contact.first_name}}!"},
}


async def _rule(ws, **kw):
    values = {
        "name": "테스트 규칙",
        "trigger_type": "contact.created",
        "trigger_config": {},
        "conditions": [],
        "steps": [HELLO],
        **kw,
    }
    async with session_scope() as s:
        return await service.create(s, workspace_id=ws.workspace_id, enabled=True, **values)


async def _contacts(ws, n: int, prefix: str = "고객") -> list[int]:
    async with session_scope() as s:
        return [
            (await contacts.create(s, workspace_id=ws.workspace_id, name=f"{prefix}{i}", language="ko")).id
            for i in range(n)
        ]


async def test_two_workers_at_once_run_each_trigger_once(make_workspace, frozen):  # noqa: F811
    ws = await make_workspace()
    await _rule(ws, steps=[HELLO, {"type": "wait", "hours": 1}, {"type": "tag", "tag": "welcomed"}])
    people = await _contacts(ws, 30)

    async def worker():
        # What each worker process does every second: drain, sweep, run what is due.
        await runner.drain_all(workspace_id=ws.workspace_id)
        await runner.sweep(workspace_id=ws.workspace_id)
        await runner.run_due(workspace_id=ws.workspace_id)

    await asyncio.gather(worker(), worker(), worker())
    frozen.shift(timedelta(hours=1, seconds=1))
    await asyncio.gather(worker(), worker())
    runs = await runs_of(ws.workspace_id)
    assert len(runs) == 30 and {r.status for r in runs} == {"done"}
    for who in people:
        assert len(await bot_messages(ws.workspace_id, who)) == 1
    steps = await steps_of(ws.workspace_id)
    assert len(steps) == 30 * 3  # message, wait, tag: each once
    # The events were re-drained by nobody, and a second pass creates nothing.
    async with session_scope() as s:
        assert (await engine.drain(s, workspace_id=ws.workspace_id)).events == 0


async def test_two_sweeps_at_once_create_one_run_per_contact(make_workspace, frozen):  # noqa: F811
    ws = await make_workspace()
    async with session_scope() as s:
        seg = await segments.create(
            s,
            workspace_id=ws.workspace_id,
            name="한국어",
            filter={"all": [{"field": "language", "op": "in", "value": ["ko"]}]},
        )
    rule = await _rule(ws, trigger_type="segment.member", trigger_config={"segment_id": seg.id})
    await _contacts(ws, 12)
    async with session_scope() as s:
        preview = await service.dry_run(s, workspace_id=ws.workspace_id, rule_id=rule.id)
    results = await asyncio.gather(*(runner.sweep(workspace_id=ws.workspace_id) for _ in range(3)))
    assert sum(results) == 12
    runs = await runs_of(ws.workspace_id)
    assert sorted(r.contact_id for r in runs) == preview["contact_ids"]  # dry run == real run
    async with session_scope() as s:
        assert (await service.dry_run(s, workspace_id=ws.workspace_id, rule_id=rule.id))["count"] == 0


async def test_marketing_is_held_through_quiet_hours(make_workspace):
    ws = await make_workspace()
    clock.set(kst(2, 21, 30))  # 21:30 KST
    engine.forget_cache()
    try:
        await _rule(ws, marketing=True)
        transactional = await _rule(ws, name="거래 알림", marketing=False)
        (who,) = await _contacts(ws, 1)
        await process(ws.workspace_id)
        # Only the non-marketing rule spoke; the marketing one is held until 08:00.
        assert len(await bot_messages(ws.workspace_id, who)) == 1
        held = [st for st in await steps_of(ws.workspace_id) if st.outcome == "held"]
        assert len(held) == 1 and held[0].detail["reason"] == "quiet_hours"
        assert held[0].detail["until"] == kst(3, 8).astimezone(engine.ZoneInfo("Asia/Seoul")).isoformat()
        clock.set(kst(3, 7, 59))
        await process(ws.workspace_id)
        assert len(await bot_messages(ws.workspace_id, who)) == 1
        clock.set(kst(3, 8, 0))
        await process(ws.workspace_id)
        assert len(await bot_messages(ws.workspace_id, who)) == 2
        assert transactional.marketing is False
    finally:
        clock.reset()


async def test_daily_cap_skips_and_records(make_workspace, frozen):  # noqa: F811
    ws = await make_workspace()
    async with session_scope() as s:
        await service.save_settings(s, workspace_id=ws.workspace_id, daily_cap=2)
    for i in range(3):
        await _rule(ws, name=f"규칙 {i}")
    (who,) = await _contacts(ws, 1)
    await process(ws.workspace_id)
    assert len(await bot_messages(ws.workspace_id, who)) == 2
    outcomes = sorted(st.outcome for st in await steps_of(ws.workspace_id))
    assert outcomes == ["done", "done", "skipped_cap"]
    capped = next(st for st in await steps_of(ws.workspace_id) if st.outcome == "skipped_cap")
    assert capped.detail == {"cap": 2, "sent": 2}
    # The next day (KST) the count starts again.
    frozen.shift(timedelta(days=1))
    await _rule(ws, name="다음 날", trigger_type="contact.attribute_changed", trigger_config={})
    async with session_scope() as s:
        await contacts.update(
            s, workspace_id=ws.workspace_id, contact_id=who, custom_attributes={"plan": "pro"}
        )
    await process(ws.workspace_id)
    assert len(await bot_messages(ws.workspace_id, who)) == 3
