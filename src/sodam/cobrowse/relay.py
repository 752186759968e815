"""The co-browsing relay: the customer's page events from their widget socket to the agents'
mirror sockets, through the bus, never stored.

- In: the widget socket's `cobrowse.*` frames (channels.widget_socket.visitor_frame_handlers). Only
  the socket that accepted a session may send its events; each batch is size-limited
  (MAX_BATCH_CHARS) and rate-limited per socket (bytes and frames, token buckets).
- Across processes: a batch is deflated, base64-encoded and cut into NOTIFY-sized chunks
  published in one statement (one transaction: delivered together, in order). Each process
  reassembles only the batches someone on it watches (`cobrowse:<id>` topic).
- Out: the mirror socket gets {"type": "events", "data": <base64 deflate of the JSON list>};
  the console inflates it with DecompressionStream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import zlib
from collections import OrderedDict
from typing import Any

from sodam.channels.widget_socket import VisitorSocket, visitor_frame_handlers, visitor_socket_closers
from sodam.cobrowse import service
from sodam.conversations.realtime import visitor_topic, workspace_topic
from sodam.core.errors import AppError
from sodam.db.session import raw_pool, session_scope
from sodam.realtime import bus
from sodam.realtime.hub import hub

log = logging.getLogger(__name__)

MAX_BATCH_CHARS = 2_000_000  # one frame of events (a big page's first snapshot fits)
MAX_EVENTS_PER_BATCH = 5_000
BYTES_PER_S = 400_000  # sustained, per socket
BYTES_BURST = 4_000_000
FRAMES_PER_S = 10.0
FRAMES_BURST = 30.0
POINTERS_PER_S = 5.0
POINTERS_BURST = 10.0
CHUNK_CHARS = 7_000  # base64 per NOTIFY (the payload limit is 8,000 bytes)
COMPRESS_IN_THREAD_OVER = 64_000
_PARTIAL_MAX = 64
_ENDED_MAX = 10_000
STATE_KEY = "cobrowse"


def stream_topic(session_id: int) -> str:
    return f"cobrowse:{session_id}"


class Bucket:
    """A token bucket: `take(n)` is False when n would overdraw it."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self, n: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if n > self.tokens:
            return False
        self.tokens -= n
        return True

    def wait_s(self, n: float = 1.0) -> float:
        return max(0.0, (min(n, self.burst) - self.tokens) / self.rate)


class Held:
    """The session a widget socket accepted, with its limits."""

    def __init__(self, session_id: int, workspace_id: int):
        self.session_id = session_id
        self.workspace_id = workspace_id
        self.seq = 0
        self.bytes = Bucket(BYTES_PER_S, BYTES_BURST)
        self.frames = Bucket(FRAMES_PER_S, FRAMES_BURST)


# Sessions this process heard end (bus): their late events are dropped at once.
_ended: OrderedDict[int, None] = OrderedDict()
# (session, batch seq) -> chunks received so far
_partial: OrderedDict[tuple[int, int], list[str]] = OrderedDict()


def _error(session_id: Any, code: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "type": "cobrowse.error",
        "session_id": session_id,
        "error": {"code": code, "message": message, "details": details or None},
    }


def _session_id(frame: dict[str, Any]) -> int | None:
    value = frame.get("session_id")
    return value if type(value) is int and 0 < value < 2**62 else None


async def on_visitor_frame(sock: VisitorSocket, frame: dict[str, Any]) -> None:
    """A widget socket's cobrowse.* frame: accept, decline, stop, events."""
    kind = frame.get("type")
    sid = _session_id(frame)
    if sid is None:
        sock.offer(_error(None, "invalid", "cobrowse frames need a session_id"))
        return
    if kind == "cobrowse.events":
        await _events(sock, sid, frame)
    elif kind in ("cobrowse.accept", "cobrowse.decline"):
        await _answer(sock, sid, accept=kind == "cobrowse.accept")
    elif kind == "cobrowse.stop":
        await _stop(sock, sid, reason=str(frame.get("reason") or "stopped")[:40])
    else:
        sock.offer(_error(sid, "unknown_frame", "unknown cobrowse frame type"))


async def _answer(sock: VisitorSocket, sid: int, *, accept: bool) -> None:
    if accept and STATE_KEY in sock.state:
        sock.offer(_error(sid, "cobrowse_busy", "this page already shares a session"))
        return
    try:
        async with session_scope() as session:
            row = await service.answer(
                session, inbox_id=sock.inbox.id, contact_id=sock.contact_id, session_id=sid, accept=accept
            )
            settings = await service.get_settings(session, workspace_id=row.workspace_id)
            selectors = list(settings.mask_selectors or [])
            await session.commit()
    except AppError as exc:
        sock.offer({"type": "cobrowse.error", "session_id": sid, **exc.body()})
        return
    if accept:
        sock.state[STATE_KEY] = Held(row.id, row.workspace_id)
        sock.offer({"type": "cobrowse.ready", "session_id": row.id, "mask_selectors": selectors})


async def _stop(sock: VisitorSocket, sid: int, *, reason: str) -> None:
    held: Held | None = sock.state.get(STATE_KEY)
    if held is not None and held.session_id == sid:
        sock.state.pop(STATE_KEY, None)
    try:
        async with session_scope() as session:
            row = await service.for_visitor(
                session, inbox_id=sock.inbox.id, contact_id=sock.contact_id, session_id=sid
            )
            await service.end(session, row=row, by="contact", reason=reason)
            await session.commit()
    except AppError as exc:
        sock.offer({"type": "cobrowse.error", "session_id": sid, **exc.body()})


async def on_visitor_close(sock: VisitorSocket) -> None:
    """The page closed or navigated away: its session ends (consent is per page view)."""
    held: Held | None = sock.state.pop(STATE_KEY, None)
    if held is None or held.session_id in _ended:
        return
    async with session_scope() as session:
        row = await service.get(session, workspace_id=held.workspace_id, session_id=held.session_id)
        await service.end(session, row=row, by="contact", reason="page_closed")
        await session.commit()


async def _events(sock: VisitorSocket, sid: int, frame: dict[str, Any]) -> None:
    held: Held | None = sock.state.get(STATE_KEY)
    if held is None or held.session_id != sid:
        # Not the socket that accepted this session (another tab, another visitor): refused.
        sock.offer(_error(sid, "cobrowse_not_active", "this socket does not share that session"))
        return
    if sid in _ended:
        sock.state.pop(STATE_KEY, None)
        sock.offer(_error(sid, "cobrowse_not_active", "the session has ended"))
        return
    events = frame.get("events")
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS_PER_BATCH:
        sock.offer(_error(sid, "invalid", f"events must be a list of 1 to {MAX_EVENTS_PER_BATCH} objects"))
        return
    if not all(isinstance(e, dict) and type(e.get("type")) is int for e in events):
        sock.offer(_error(sid, "invalid", "every event needs an integer type"))
        return
    text = json.dumps(events, separators=(",", ":"), ensure_ascii=False)
    if len(text) > MAX_BATCH_CHARS:
        # The mirror cannot be whole without this batch: the session ends, saying why.
        sock.state.pop(STATE_KEY, None)
        sock.offer(
            _error(sid, "cobrowse_batch_too_large", "the page is too large to share", limit=MAX_BATCH_CHARS)
        )
        async with session_scope() as session:
            row = await service.get(session, workspace_id=held.workspace_id, session_id=sid)
            await service.end(session, row=row, by="system", reason="too_large")
            await session.commit()
        return
    if not held.frames.take() or not held.bytes.take(len(text)):
        retry = max(held.frames.wait_s(), held.bytes.wait_s(len(text)))
        sock.offer(_error(sid, "rate_limited", "too many page events", retry_after=round(retry, 2)))
        return
    held.seq += 1
    await publish_batch(held.workspace_id, sid, held.seq, text)


def _pack(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode(), 6)).decode("ascii")


async def publish_batch(workspace_id: int, session_id: int, seq: int, text: str) -> None:
    """Deflate, cut into NOTIFY-sized chunks and publish them in one statement."""
    packed = await asyncio.to_thread(_pack, text) if len(text) > COMPRESS_IN_THREAD_OVER else _pack(text)
    pieces = [packed[i : i + CHUNK_CHARS] for i in range(0, len(packed), CHUNK_CHARS)] or [""]
    payloads = [
        json.dumps(
            {
                "t": "cb.d",
                "ws": workspace_id,
                "sid": session_id,
                "q": seq,
                "i": i,
                "n": len(pieces),
                "d": piece,
            },
            separators=(",", ":"),
        )
        for i, piece in enumerate(pieces)
    ]
    pool = await raw_pool()
    async with pool.connection() as conn:
        await conn.execute(
            "SELECT pg_notify(%s, p) FROM unnest(%s::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n",
            (bus.CHANNEL, payloads),
        )


async def publish_pointer(*, row, x: float, y: float) -> None:
    """The agent points at (x, y) of the customer's page (CSS pixels of the document)."""
    await bus.publish_now(
        {
            "t": "cb.p",
            "ws": row.workspace_id,
            "inbox": row.inbox_id,
            "contact": row.contact_id,
            "sid": row.id,
            "x": x,
            "y": y,
        }
    )


async def ask_snapshot(*, row) -> None:
    """A mirror opened: the customer's widget takes a full snapshot for it."""
    await bus.publish_now(
        {
            "t": "cb.snap",
            "ws": row.workspace_id,
            "inbox": row.inbox_id,
            "contact": row.contact_id,
            "sid": row.id,
        }
    )


def _remember_ended(session_id: int) -> None:
    _ended[session_id] = None
    while len(_ended) > _ENDED_MAX:
        _ended.popitem(last=False)


async def on_bus_event(event: dict[str, Any]) -> None:
    """hub.on_event: turn this domain's bus events into socket frames on this process."""
    kind = event.get("t")
    if kind == "cb.d":
        _on_chunk(event)
    elif kind == "cb.state":
        _on_state(event)
    elif kind == "cb.p":
        hub.offer_topic(
            visitor_topic(event["inbox"], event["contact"]),
            {"type": "cobrowse.pointer", "session_id": event["sid"], "x": event["x"], "y": event["y"]},
        )
    elif kind == "cb.snap":
        hub.offer_topic(
            visitor_topic(event["inbox"], event["contact"]),
            {"type": "cobrowse.snapshot", "session_id": event["sid"]},
        )


def _on_state(event: dict[str, Any]) -> None:
    sid, state = event["sid"], event["state"]
    if state in ("ended", "declined", "expired"):
        _remember_ended(sid)
    frame = {
        "type": "cobrowse",
        "session_id": sid,
        "conversation_id": event["c"],
        "state": state,
        "ended_by": event.get("by"),
    }
    hub.offer_topic(visitor_topic(event["inbox"], event["contact"]), frame)
    hub.offer_topic(workspace_topic(event["ws"]), frame)
    hub.offer_topic(stream_topic(sid), {**frame, "type": "state"})


def _on_chunk(event: dict[str, Any]) -> None:
    sid = event["sid"]
    topic = stream_topic(sid)
    if topic not in hub.active_topics():
        return  # nobody here watches this session
    key = (sid, event["q"])
    parts = _partial.get(key)
    if parts is None:
        if event["i"] != 0:
            return  # joined mid-batch: wait for the next one
        parts = _partial[key] = []
        while len(_partial) > _PARTIAL_MAX:
            _partial.popitem(last=False)
    if event["i"] != len(parts):
        _partial.pop(key, None)
        return
    parts.append(event["d"])
    if len(parts) == event["n"]:
        del _partial[key]
        hub.offer_topic(
            topic, {"type": "events", "session_id": sid, "seq": event["q"], "data": "".join(parts)}
        )


def install() -> None:
    """Register the widget socket's handlers and the bus handler (idempotent)."""
    visitor_frame_handlers["cobrowse"] = on_visitor_frame
    if on_visitor_close not in visitor_socket_closers:
        visitor_socket_closers.append(on_visitor_close)
    hub.on_event(on_bus_event)
