"""Presence from the console's live socket: online when a console opens, offline once the last
console tab is gone (anywhere), away after inactivity and back on activity."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import websockets
from sqlalchemy import update

from sodam.db.session import session_scope
from sodam.routing import presence
from sodam.routing.models import AgentState, Availability
from tests.test_console_helpers import console_client


async def _availability(agent_id: int) -> Availability:
    async with session_scope() as session:
        state = await session.get(AgentState, agent_id, populate_existing=True)
        return state.availability if state else Availability.offline


async def _until(agent_id: int, wanted: Availability, seconds: float = 10) -> Availability:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        got = await _availability(agent_id)
        if got == wanted or asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(0.1)


async def test_the_console_brings_an_agent_online_and_the_last_tab_closing_offline(
    live_server, make_workspace
):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    url = live_server.ws_url + "/api/v1/realtime"
    assert await _availability(ws.agent_id) == Availability.offline
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": live_server.url}
    ) as one:
        assert await _until(ws.agent_id, Availability.online) == Availability.online
        async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": live_server.url}):
            pass  # a second tab closes: the first is still open
        async with session_scope() as session:
            assert not await presence.check_presence(
                session, workspace_id=ws.workspace_id, agent_id=ws.agent_id
            )
        assert await _availability(ws.agent_id) == Availability.online

        # Idle for longer than the away time: away; any activity: online again.
        async with session_scope() as session:
            await session.execute(
                update(AgentState)
                .where(AgentState.agent_id == ws.agent_id)
                .values(last_activity_at=datetime.now(UTC) - timedelta(hours=1))
            )
            await presence.sweep(session)
            await session.commit()
        assert await _availability(ws.agent_id) == Availability.away
        await one.send(json.dumps({"type": "activity"}))
        assert await _until(ws.agent_id, Availability.online) == Availability.online
    await client.aclose()
    # The grace period's job would do this 20 s later; the check itself:
    for _ in range(50):
        async with session_scope() as session:
            went = await presence.check_presence(session, workspace_id=ws.workspace_id, agent_id=ws.agent_id)
            await session.commit()
        if went or await _availability(ws.agent_id) == Availability.offline:
            break
        await asyncio.sleep(0.1)
    assert await _availability(ws.agent_id) == Availability.offline
