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
