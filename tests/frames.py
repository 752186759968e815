"""Reading server frames from a socket: a socket message is one frame (a JSON object) or,
when the server sent several together, an array of them."""

from __future__ import annotations

import json
import weakref
from typing import Any

_pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def next_frame(ws) -> dict[str, Any]:
    """The next frame, in order, whether it arrived alone or in an array."""
    queue = _pending.setdefault(ws, [])
    if not queue:
        data = json.loads(await ws.recv())
        queue.extend(data if isinstance(data, list) else [data])
    return queue.pop(0)


async def widget_socket_url(server, inbox_token: str, visitor_token: str, **params) -> str:
    """The widget socket's URL with a fresh one-use ticket (the visitor token stays in a header)."""
    import httpx

    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.post(
            f"/widget/v1/{inbox_token}/socket-ticket", headers={"X-Sodam-Visitor": visitor_token}
        )
    assert r.status_code == 200, r.text
    query = "".join(f"&{key}={value}" for key, value in params.items())
    return f"{server.ws_url}/widget/v1/{inbox_token}/ws?ticket={r.json()['ticket']}{query}"


def bearer(api_token: str) -> dict[str, Any]:
    """websockets.connect(...) keyword arguments that authenticate an agent socket by header."""
    return {"additional_headers": {"Authorization": f"Bearer {api_token}"}}


async def refusal_code(url: str, **connect_kwargs) -> int | None:
    """Open a socket the server should refuse; the close code it sent (after its error frame)."""
    import websockets

    async with websockets.connect(url, **connect_kwargs) as sock:
        frame = await next_frame(sock)
        assert frame["type"] == "error", frame
        await sock.wait_closed()
    return sock.close_code
