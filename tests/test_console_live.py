"""The agents' live socket authenticated by the console's session cookie."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import websockets

from sodam.accounts import service as accounts
from sodam.db.session import session_scope
from tests.frames import next_frame, refusal_code
from tests.test_console_helpers import console_client, csrf_of, post


async def recv_until(ws, predicate, wait_s=5.0):
    async with asyncio.timeout(wait_s):
        while True:
            frame = await next_frame(ws)
            if predicate(frame):
                return frame


def cookie_header(client: httpx.AsyncClient) -> dict:
    return {"Cookie": f"sodam_session={client.cookies.get('sodam_session')}"}


async def test_session_cookie_opens_the_live_socket_and_gets_widget_messages(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    url = f"{live_server.ws_url}/api/v1/realtime"
    async with websockets.connect(
        url, additional_headers=cookie_header(client), origin=live_server.url
    ) as sock:
        hello = await recv_until(sock, lambda f: f["type"] == "hello")
        assert hello == {"type": "hello", "workspace_id": ws.workspace_id, "agent_id": ws.agent_id}
        async with httpx.AsyncClient(base_url=live_server.url) as widget:
            token = (await widget.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})).json()[
                "visitor_token"
            ]
            sent = await widget.post(
                f"/widget/v1/{ws.inbox_token}/messages",
                json={"content": "<b>주문</b> 취소할게요", "client_id": str(uuid.uuid4())},
                headers={"X-Sodam-Visitor": token},
            )
            assert sent.status_code == 201
        frame = await recv_until(sock, lambda f: f["type"] == "message")
        assert frame["message"]["content"] == "<b>주문</b> 취소할게요"
        conv_id = frame["conversation_id"]
        # A console action reaches the socket as a conversation frame.
        assert (
            await post(client, f"/console/conversations/{conv_id}/status", {"status": "pending"})
        ).status_code == 200
        update = await recv_until(
            sock, lambda f: f["type"] == "conversation" and f["event"] == "conversation.updated"
        )
        assert update["conversation"]["status"] == "pending"
    await client.aclose()


async def test_socket_refuses_bad_stale_and_cross_site_cookies(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    url = f"{live_server.ws_url}/api/v1/realtime"
    assert await refusal_code(url, additional_headers={"Cookie": "sodam_session=forged"}) == 4401
    # Cross-site WebSocket hijacking: the browser would attach the cookie, the Origin gives it away.
    hijack = await refusal_code(url, additional_headers=cookie_header(client), origin="https://evil.example")
    assert hijack == 4401
    headers = cookie_header(client)
    r = await client.post("/console/logout-everywhere", data={"csrf_token": csrf_of(client)})
    assert r.status_code == 303
    assert await refusal_code(url, additional_headers=headers, origin=live_server.url) == 4401
    await client.aclose()


async def test_socket_refuses_a_deactivated_agent(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    async with session_scope() as session:
        agent = await accounts.get_agent(session, workspace_id=ws.workspace_id, agent_id=ws.agent_id)
        agent.is_active = False
    code = await refusal_code(
        f"{live_server.ws_url}/api/v1/realtime", additional_headers=cookie_header(client)
    )
    assert code == 4401
    await client.aclose()
