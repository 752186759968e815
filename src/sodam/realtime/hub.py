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

log = logging.getLogger(__name__)

# Turns one bus event into (topic, frame) pairs; the frames are sent as JSON.
Resolver = Callable[[dict[str, Any], AbstractSet[str]], Awaitable[list[tuple[str, dict[str, Any]]]]]


class Subscriber:
    def __init__(self, max_queue: int = 1000):
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(max_queue)
        self.topics: set[str] = set()
        self.overflowed = False

    def offer(self, frame: dict[str, Any]) -> None:
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

    def on_event(self, handler: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Run `handler` in this process for every bus event (e.g. refresh a local cache)."""
        self._event_handlers.append(handler)

    def set_resolver(self, resolver: Resolver) -> None:
        self._resolver = resolver

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

    async def dispatch(self, event: dict[str, Any]) -> None:
        for handler in self._event_handlers:
            try:
                await handler(event)
            except Exception:
                log.exception("bus event handler failed")
        if self._resolver is None or "conv" not in event:
            return
        # A live view, not a copy: with thousands of sockets a copy per event adds up.
        frames = await self._resolver(event, self._topics.keys())
        for topic, frame in frames:
            for subscriber in list(self._topics.get(topic, ())):
                subscriber.offer(frame)

    async def resync_all(self) -> None:
        """After the bus reconnects, tell every client to fetch what it may have missed."""
        for subs in list(self._topics.values()):
            for subscriber in list(subs):
                subscriber.offer({"type": "resync"})


hub = Hub()


async def drain_to_socket(websocket, subscriber: Subscriber) -> None:
    """The writer task of one socket: send its queued frames; close it on the None sentinel
    (code 4008 when it fell too far behind, so the client reconnects and resyncs)."""
    try:
        while True:
            frame = await subscriber.queue.get()
            if frame is None:
                await websocket.close(code=4008 if subscriber.overflowed else 1000)
                return
            await websocket.send_text(json.dumps(frame, ensure_ascii=False))
    except Exception:  # noqa: S110 - the socket is gone; the reader loop ends it
        pass
