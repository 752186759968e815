"""The phone line under load: `sodam bench phone [--calls N] [--concurrency C]`.

A private database, one phone line (always open, the example menu of docs/phone.md), then N
calls driven through the real app in-process (httpx's ASGI transport: no socket, the signed
form POSTs a provider sends): incoming → key 1 (submenu) → key 0 (a person: a conversation in
the human queue) → the status callback; C calls at once. Then the callback slots of a line
with 500 booked callbacks, asked 200 times (what the widget's form and the IVR ask).

Prints the figures; the last line is one JSON object: calls, steps, steps_per_s, step_p50_ms,
step_p99_ms, conversations (must equal calls), slots_p50_ms, slots_p99_ms.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.common import console, percentile, private_database, server_version

TOKEN = "bench-auth-token-" + secrets.token_hex(4)


def _sign(url: str, params: dict[str, str]) -> str:
    import base64
    import hashlib
    import hmac

    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


async def _setup(url: str):
    from sodam.accounts import service as accounts
    from sodam.accounts.models import Role
    from sodam.channels import service as inboxes
    from sodam.channels.models import ChannelType
    from sodam.db.session import session_scope
    from sodam.hours.calendar import ALWAYS_OPEN
    from sodam.voice import service as voice

    tree = {
        "root": "main",
        "nodes": {
            "main": {
                "prompt": {"ko": "주문은 1번", "en": "Orders 1"},
                "options": {"1": {"action": "menu", "node": "orders"}},
            },
            "orders": {
                "prompt": {"ko": "배송은 1번", "en": "Tracking 1"},
                "options": {"1": {"action": "voicemail"}},
            },
        },
    }
    async with session_scope() as session:
        ws = await accounts.create_workspace(session, name="Bench 전화", slug="bench-phone")
        for i in range(20):
            await accounts.create_agent(
                session,
                workspace_id=ws.id,
                email=f"a{i}@bench.test",
                name=f"상담원 {i}",
                password="bench-" + secrets.token_hex(8),
                role=Role.agent,
            )
        inbox = await inboxes.create(
            session,
            workspace_id=ws.id,
            name="대표번호",
            channel_type=ChannelType.phone,
            settings={"auto_assign": False, "auto_reply": False, "business_hours": ALWAYS_OPEN},
        )
        await voice.line_of(session, inbox=inbox)
        await voice.save_line(
            session, workspace_id=ws.id, inbox_id=inbox.id, changes={"ivr": tree, "auth_token": TOKEN}
        )
        await session.commit()
        return ws.id, inbox.id, inbox.public_token


async def _calls(
    client: httpx.AsyncClient, token: str, calls: int, concurrency: int
) -> tuple[list[float], float]:
    base = f"http://bench/voice/v1/{token}"
    steps: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def post(url: str, params: dict[str, str]) -> str:
        started = time.perf_counter()
        r = await client.post(url, data=params, headers={"X-Twilio-Signature": _sign(url, params)})
        steps.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
        return r.text

    def action(xml: str) -> str:
        start = xml.index('action="') + len('action="')
        return xml[start : xml.index('"', start)].replace("&amp;", "&")

    async def one(i: int) -> None:
        async with gate:
            p = {
                "CallSid": f"CA{i:032d}",
                "From": f"+8210{i:08d}",
                "To": "+8215881234",
                "CallStatus": "in-progress",
            }
            xml = await post(f"{base}/incoming", p)
            xml = await post(action(xml), {**p, "Digits": "1"})
            await post(action(xml), {**p, "Digits": "0"})
            await post(f"{base}/status", {**p, "CallStatus": "completed", "CallDuration": "40"})

    started = time.perf_counter()
    await asyncio.gather(*[one(i) for i in range(calls)])
    return steps, time.perf_counter() - started


async def _slots(inbox_id: int, ws_id: int, rounds: int = 200) -> list[float]:
    from sodam.contacts import service as contacts
    from sodam.db.session import session_scope
    from sodam.voice import service as voice
    from sodam.voice import slots
    from sodam.voice.models import Callback

    now = datetime.now(UTC)
    async with session_scope() as session:
        inbox, line = await voice.get_line(session, workspace_id=ws_id, inbox_id=inbox_id)
        contact = await contacts.create(session, workspace_id=ws_id, name="예약 고객")
        starts = slots.slot_starts(inbox.settings["business_hours"], now, 7)
        for i in range(500):
            session.add(
                Callback(
                    workspace_id=ws_id,
                    inbox_id=inbox_id,
                    contact_id=contact.id,
                    phone="+821000000000",
                    slot_at=starts[i % len(starts)],
                    status="scheduled",
                    source="api",
                    history=[],
                )
            )
        await session.commit()
    times = []
    for _ in range(rounds):
        async with session_scope() as session:
            inbox, line = await voice.get_line(session, workspace_id=ws_id, inbox_id=inbox_id)
            started = time.perf_counter()
            await slots.offered(
                session, line=line, config=inbox.settings["business_hours"], now=now + timedelta(seconds=1)
            )
            times.append((time.perf_counter() - started) * 1000)
    return times


async def _run(url: str, calls: int, concurrency: int) -> dict:
    from sqlalchemy import func, select

    from sodam.app import create_app
    from sodam.conversations.models import Conversation
    from sodam.db.migrate import upgrade
    from sodam.db.session import dispose_engine, init_engine, session_scope

    await asyncio.to_thread(upgrade, url)
    init_engine(url, pool_size=concurrency + 2)
    try:
        ws_id, inbox_id, token = await _setup(url)
        app = create_app()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60
        ) as client:
            steps, elapsed = await _calls(client, token, calls, concurrency)
        async with session_scope() as session:
            made = await session.scalar(
                select(func.count()).select_from(Conversation).where(Conversation.inbox_id == inbox_id)
            )
        slot_times = await _slots(inbox_id, ws_id)
    finally:
        await dispose_engine()
    return {
        "calls": calls,
        "steps": len(steps),
        "steps_per_s": round(len(steps) / elapsed, 1),
        "step_p50_ms": round(statistics.median(steps), 1),
        "step_p99_ms": round(percentile(steps, 0.99), 1),
        "conversations": made,
        "slots_p50_ms": round(statistics.median(slot_times), 2),
        "slots_p99_ms": round(percentile(slot_times, 0.99), 2),
    }


def main(calls: int = 500, concurrency: int = 16) -> None:
    with private_database() as db:
        console.print(
            f"PostgreSQL {server_version(db.url)} ({db.kind}); {calls} calls, {concurrency} at once"
        )
        result = asyncio.run(_run(db.url, calls, concurrency))
    for key, value in result.items():
        console.print(f"{key:>15}  {value}")
    print(json.dumps(result))
