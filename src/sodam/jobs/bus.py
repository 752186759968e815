"""What a job worker process hears on the event bus.

A worker keeps things in memory that other processes change: the knowledge base's search
index (the bot searches it) and the copies of messages it just wrote. The web processes learn
of such changes through their bus listener; a worker without one answered from an article an
agent had since edited, unpublished or deleted. So every worker listens too, through the same
hub, with only the handlers that concern it (no resolver: nothing is fanned out to sockets).
"""

from __future__ import annotations

from sodam.realtime.bus import PostgresListener
from sodam.realtime.hub import hub


async def start_listener(database_url: str) -> PostgresListener:
    from sodam.conversations import privacy as conversation_privacy
    from sodam.knowledge import index as knowledge_index

    knowledge_index.install()
    hub.on_event(conversation_privacy.forget_cached)
    listener = PostgresListener(database_url, hub.dispatch, knowledge_index.on_bus_reconnect)
    await listener.start()
    return listener
