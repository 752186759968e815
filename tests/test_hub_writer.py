"""The socket writer: frames queued while it was busy go out together, in order, as one
JSON array; a lone frame goes out as an object; the sentinel closes the socket."""

from __future__ import annotations

import asyncio
import json

import pytest

from sodam.realtime.hub import COALESCE_MAX_FRAMES, Subscriber, drain_to_socket, next_text


class RecordingSocket:
    """Stands in for Starlette's WebSocket: the writer only calls send_text and close."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int = 1000) -> None:
        self.closed_with = code


async def test_queued_frames_go_out_as_one_array_in_order():
    socket, subscriber = RecordingSocket(), Subscriber()
    for n in range(5):
        subscriber.offer({"type": "message", "n": n} if n % 2 else json.dumps({"type": "message", "n": n}))
    writer = asyncio.create_task(drain_to_socket(socket, subscriber))
    await asyncio.sleep(0.01)
    assert [json.loads(text) for text in socket.sent] == [[{"type": "message", "n": n} for n in range(5)]]

    subscriber.offer({"type": "pong"})
    await asyncio.sleep(0.01)
    assert json.loads(socket.sent[-1]) == {"type": "pong"}

    subscriber.close()
    await asyncio.wait_for(writer, 1)
    assert socket.closed_with == 1000


async def test_a_long_backlog_is_split_and_an_overflow_closes_with_4008():
    socket, subscriber = RecordingSocket(), Subscriber(max_queue=COALESCE_MAX_FRAMES * 3)
    for n in range(COALESCE_MAX_FRAMES * 2 + 1):
        subscriber.offer({"n": n})
    writer = asyncio.create_task(drain_to_socket(socket, subscriber))
    await asyncio.sleep(0.01)
    batches = [json.loads(text) for text in socket.sent]
    flat = [f for batch in batches for f in (batch if isinstance(batch, list) else [batch])]
    assert [f["n"] for f in flat] == list(range(COALESCE_MAX_FRAMES * 2 + 1))
    assert max(len(b) for b in batches if isinstance(b, list)) == COALESCE_MAX_FRAMES

    for n in range(COALESCE_MAX_FRAMES * 3 + 1):  # more than the queue holds: the client is too slow
        subscriber.offer({"n": n})
    await asyncio.wait_for(writer, 1)
    assert subscriber.overflowed and socket.closed_with == 4008


# Starlette's TestClient on httpx is deprecated (for httpx2, not installed here); it still drives
# a real Starlette socket.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
# Starlette 1.10 raises it as its own warning class: matched by its message.
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_the_reader_ends_quietly_once_the_writer_has_closed_the_socket():
    """Real Starlette sockets: after our writer closed the socket (a failed send, or 4008),
    the reader gets None, not Starlette's "not connected" RuntimeError logged as a 500."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    read: list[str | None] = []

    async def endpoint(websocket):
        await websocket.accept()
        read.append(await next_text(websocket))
        subscriber = Subscriber()
        writer = asyncio.create_task(drain_to_socket(websocket, subscriber))
        subscriber.close()
        await writer
        read.append(await next_text(websocket))

    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    with TestClient(app) as client, client.websocket_connect("/ws") as socket:
        socket.send_text("ping")
        with pytest.raises(WebSocketDisconnect):
            socket.receive_text()
    assert read == ["ping", None]
