"""What a job worker process hears on the event bus.

A worker keeps things in memory that other processes change: the knowledge base's search
index (the bot searches it) and the copies of messages it just wrote. The web processes learn
of such changes through their bus listener; a worker without one answered from an article an
agent had since edited, unpublished or deleted. So every worker listens too, with only the
handlers that concern it (no sockets here: nothing is fanned out).
"""

from __future__ import annotations

import logging
from typing import Any

from sodam.realtime.bus import PostgresListener

log = logging.getLogger(__name__)


async def _dispatch(event: dict[str, Any]) -> None:
    from sodam.conversations import privacy as conversation_privacy
    from sodam.knowledge import index as knowledge_index

    for handler in (knowledge_index.on_bus_event, conversation_privacy.forget_cached):
        try:
            await handler(event)
        except Exception:
            log.exception("bus event handler failed")


async def _missed_events() -> None:
    # Events may have been lost while the listener was reconnecting: reload every index.
    from sodam.knowledge import index as knowledge_index

    knowledge_index.registry.mark_everything()


async def start_listener(database_url: str) -> PostgresListener:
    listener = PostgresListener(database_url, _dispatch, _missed_events)
    await listener.start()
    return listener
