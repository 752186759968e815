"""The hub's immediate events (new messages): one that needs a database read (written by
another process, e.g. the bot's reply from the job worker) is read on a task of its own; the
other conversations' messages go out meanwhile, and its own conversation's later messages
wait for it, so each conversation's messages still arrive in order."""

from __future__ import annotations

import asyncio
import json

from sodam.realtime.hub import Hub, Subscriber


def _event(conv: int, message_id: int) -> dict:
    return {"t": "message.created", "ws": 1, "inbox": 1, "contact": conv, "conv": conv, "id": message_id}


async def test_a_message_read_from_the_database_holds_up_only_its_own_conversation():
    read_gate = asyncio.Event()
    written_here = {2, 3, 4}  # ids this process wrote: resolved at once

    def at_once(event, topics):
        if event["id"] in written_here:
            return [("ws:1", {"id": event["id"]})]
        return None

    async def resolve(event, topics):
        frames = at_once(event, topics)
        if frames is not None:
            return frames
        await read_gate.wait()  # a slow read
        return [("ws:1", {"id": event["id"]})]

    hub, subscriber = Hub(), Subscriber()
    hub.set_resolver(resolve, immediate={"message.created"}, at_once=at_once)
    hub.subscribe(subscriber, ["ws:1"])

    await hub.dispatch(_event(conv=10, message_id=1))  # conversation 10: the bot's reply, read
    await hub.dispatch(_event(conv=20, message_id=2))  # conversation 20: written here
    await hub.dispatch(_event(conv=10, message_id=3))  # conversation 10 again: after message 1
    await hub.dispatch(_event(conv=20, message_id=4))
    await asyncio.sleep(0.05)
    assert _ids(subscriber) == [2, 4]  # the read holds up nothing of conversation 20

    read_gate.set()
    await asyncio.sleep(0.05)
    assert _ids(subscriber) == [1, 3]  # conversation 10 in order once read
    assert not hub._reading  # nothing left waiting


async def test_a_failed_read_does_not_stop_its_conversations_later_messages():
    def at_once(event, topics):
        return [("ws:1", {"id": event["id"]})] if event["id"] != 1 else None

    async def resolve(event, topics):
        if event["id"] == 1:
            raise RuntimeError("the database went away")
        return at_once(event, topics)

    hub, subscriber = Hub(), Subscriber()
    hub.set_resolver(resolve, immediate={"message.created"}, at_once=at_once)
    hub.subscribe(subscriber, ["ws:1"])
    await hub.dispatch(_event(conv=10, message_id=1))
    await hub.dispatch(_event(conv=10, message_id=2))
    await asyncio.sleep(0.05)
    assert _ids(subscriber) == [2]


def _ids(subscriber: Subscriber) -> list[int]:
    out = []
    while not subscriber.queue.empty():
        frame = subscriber.queue.get_nowait()
        out.append((json.loads(frame) if isinstance(frame, str) else frame)["id"])
    return out
