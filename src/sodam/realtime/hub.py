"""In-process fan-out to WebSocket subscribers, fed by the bus listener.

Each subscriber has a bounded queue drained by its own writer task, so one slow
socket never holds up the others: when its queue is full it is closed, and the
client reconnects and asks for what it missed (by sequence number).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from starlette.websockets import WebSocketDisconnect, WebSocketState

from sodam.core.errors import AppError

log = logging.getLogger(__name__)

# Turns one bus event into (topic, frame) pairs; the frames are sent as JSON.
Frames = list[tuple[str, dict[str, Any]]]
Resolver = Callable[[dict[str, Any], AbstractSet[str]], Awaitable[Frames]]
# The same without I/O: the frames, or None when they need a database read.
ResolverAtOnce = Callable[[dict[str, Any], AbstractSet[str]], Frames | None]
# Immediate events read from the database at once, at most (each holds a pooled connection).
MAX_READS = 4


class Subscriber:
    def __init__(self, max_queue: int = 1000):
        # Frames as dicts, or as JSON text when one frame goes to many sockets.
        self.queue: asyncio.Queue[dict[str, Any] | str | None] = asyncio.Queue(max_queue)
        self.topics: set[str] = set()
        self.overflowed = False

    def offer(self, frame: dict[str, Any] | str) -> None:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed = True
            self.close()

    def close(self) -> None:
        # The writer task sees None and ends the socket.
        while True:
            try:
                self.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                try:
                    self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    pass


class Hub:
    def __init__(self) -> None:
        self._topics: dict[str, set[Subscriber]] = defaultdict(set)
        self._resolver: Resolver | None = None
        self._event_handlers: list[Callable[[dict[str, Any]], Awaitable[None]]] = []
        self._immediate: frozenset[str] = frozenset()
        self._side: asyncio.Queue[dict[str, Any]] | None = None
        self._side_task: asyncio.Task | None = None
        self._at_once: ResolverAtOnce | None = None
        # Conversation -> the last of its immediate events being read; later ones wait for it.
        self._reading: dict[Any, asyncio.Task] = {}
        self._read_slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def on_event(self, handler: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Run `handler` in this process for every bus event (e.g. refresh a local cache)."""
        if handler not in self._event_handlers:
            self._event_handlers.append(handler)

    def set_resolver(
        self,
        resolver: Resolver,
        *,
        immediate: AbstractSet[str] = frozenset(),
        at_once: ResolverAtOnce | None = None,
    ) -> None:
        """`immediate` event types are resolved on the listener's own task, in order; the
        others (which may need a database read) on a side task, so a burst of them never
        holds up the messages behind it. `at_once` resolves an immediate event without I/O
        where it can (a message this process wrote); one that needs a read is read on a task
        of its own, and only its conversation's later events wait for it: a burst of messages
        written elsewhere (the bot's replies) never holds up the other conversations."""
        self._resolver = resolver
        self._immediate = frozenset(immediate)
        self._at_once = at_once

    def subscribe(self, subscriber: Subscriber, topics: Iterable[str]) -> None:
        for topic in topics:
            self._topics[topic].add(subscriber)
            subscriber.topics.add(topic)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        for topic in subscriber.topics:
            subs = self._topics.get(topic)
            if subs is not None:
                subs.discard(subscriber)
                if not subs:
                    del self._topics[topic]
        subscriber.topics.clear()

    @property
    def subscriber_count(self) -> int:
        return len({s for subs in self._topics.values() for s in subs})

    def active_topics(self) -> set[str]:
        return set(self._topics)

    def offer_topic(self, topic: str, frame: dict[str, Any]) -> None:
        """Offer one frame to this process's subscribers of a topic (a live nudge, e.g. the
        widget banner changed); nothing happens when nobody here listens."""
        for subscriber in list(self._topics.get(topic, ())):
            subscriber.offer(frame)

    async def dispatch(self, event: dict[str, Any]) -> None:
        for handler in self._event_handlers:
            try:
                await handler(event)
            except Exception:
                log.exception("bus event handler failed")
        if self._resolver is None or "conv" not in event:
            return
        if self._immediate and event.get("t") not in self._immediate:
            if self._side is None or self._side_task is None or self._side_task.done():
                self._side = asyncio.Queue()
                self._side_task = asyncio.create_task(self._resolve_side())
            self._side.put_nowait(event)
            return
        if self._at_once is None:
            await self._fan_out(event)
            return
        conv = event["conv"]
        earlier = self._reading.get(conv)
        if earlier is not None and earlier.get_loop() is not asyncio.get_running_loop():
            earlier = None  # left by an event loop that has ended (tests run several)
        if earlier is None:
            frames = self._at_once(event, self._topics.keys())
            if frames is not None:
                self._offer(frames)
                return
        task = asyncio.create_task(self._read_in_turn(earlier, event))
        self._reading[conv] = task
        task.add_done_callback(
            lambda done: self._reading.pop(conv) if self._reading.get(conv) is done else None
        )

    async def _read_in_turn(self, earlier: asyncio.Task | None, event: dict[str, Any]) -> None:
        """Resolve an immediate event after its conversation's earlier one, at most MAX_READS
        at once."""
        if earlier is not None:
            await asyncio.wait([earlier])
        loop = asyncio.get_running_loop()
        if self._read_slots is None or self._read_slots[0] is not loop:
            self._read_slots = (loop, asyncio.Semaphore(MAX_READS))
        try:
            async with self._read_slots[1]:
                await self._fan_out(event)
        except Exception:
            log.exception("resolving a bus event failed")

    async def _resolve_side(self) -> None:
        queue = self._side
        while True:
            event = await queue.get()
            try:
                await self._fan_out(event)
            except Exception:
                log.exception("resolving a bus event failed")

    async def _fan_out(self, event: dict[str, Any]) -> None:
        # A live view, not a copy: with thousands of sockets a copy per event adds up.
        self._offer(await self._resolver(event, self._topics.keys()))

    def _offer(self, frames: Frames) -> None:
        encoded: dict[int, str] = {}
        for topic, frame in frames:
            subscribers = self._topics.get(topic)
            if not subscribers:
                continue
            # Encoded once, however many sockets receive it.
            text = encoded.get(id(frame))
            if text is None:
                text = encoded[id(frame)] = json.dumps(frame, ensure_ascii=False)
            for subscriber in list(subscribers):
                subscriber.offer(text)

    async def resync_all(self) -> None:
        """After the bus reconnects, tell every client to fetch what it may have missed."""
        for subs in list(self._topics.values()):
            for subscriber in list(subs):
                subscriber.offer({"type": "resync"})


hub = Hub()


# Several queued frames go out as one socket message (a JSON array) up to these limits:
# under load that is one write instead of dozens. Clients accept an object or an array.
COALESCE_MAX_FRAMES = 64
COALESCE_MAX_CHARS = 128 * 1024


async def drain_to_socket(websocket, subscriber: Subscriber) -> None:
    """The writer task of one socket: send its queued frames; close it on the None sentinel
    (code 4008 when it fell too far behind, so the client reconnects and resyncs)."""
    queue = subscriber.queue
    try:
        closing = False
        while not closing:
            frame = await queue.get()
            if frame is None:
                break
            texts = [frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False)]
            size = len(texts[0])
            while not queue.empty() and len(texts) < COALESCE_MAX_FRAMES and size < COALESCE_MAX_CHARS:
                frame = queue.get_nowait()
                if frame is None:
                    closing = True
                    break
                texts.append(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))
                size += len(texts[-1])
            await websocket.send_text(texts[0] if len(texts) == 1 else "[" + ",".join(texts) + "]")
        await websocket.close(code=4008 if subscriber.overflowed else 1000)
    except Exception:  # noqa: S110 - the socket is gone; the reader loop ends it
        pass


async def next_text(websocket) -> str | None:
    """The client's next text frame, or None once the socket is gone: the client left, or our
    writer closed it (a failed send, or 4008 when it fell behind). Starlette raises a
    RuntimeError (WebSocketDisconnected) for the second, which is no error of the reader's."""
    try:
        return await websocket.receive_text()
    except WebSocketDisconnect:
        return None
    except RuntimeError:
        if websocket.application_state == WebSocketState.CONNECTED:
            raise
        return None


async def refuse_socket(websocket, code: int, error: AppError, *, accepted: bool = False) -> None:
    """Close with an application code (4xxx) after one error frame saying why: a socket
    refused before accept() would only be an HTTP 403 the client cannot tell apart."""
    if not accepted:
        await websocket.accept()
    await websocket.send_text(json.dumps({"type": "error", **error.body()}))
    await websocket.close(code=code, reason=error.code)
