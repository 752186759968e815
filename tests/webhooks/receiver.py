"""A real HTTP server on loopback for webhook tests: records every request, answers with the
scripted statuses (then 200), and processes each event id once (as receivers should)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)  # answered in order, then `then`
    then: int = 200
    requests: list[Received] = field(default_factory=list)
    processed: dict[str, int] = field(default_factory=dict)  # event id -> the request that did it
    duplicates: int = 0  # successful requests for an id already processed (answered, ignored)
    server: asyncio.base_events.Server | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(headers, body))
                status = self.statuses.pop(0) if self.statuses else self.then
                if 200 <= status < 300:
                    event_id = json.loads(body).get("id")
                    if event_id in self.processed:  # dedupe by the idempotency key
                        self.duplicates += 1
                    else:
                        self.processed[event_id] = len(self.requests)
                reply = b'{"ok":true}' if status < 300 else b'{"error":"boom"}'
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(reply)}\r\n\r\n".encode()
                    + reply
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.requests if r.json.get("type") == event_type]

    async def wait_for(self, predicate, within_s: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + within_s
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; received {[r.json.get('type') for r in self.requests]}")
            await asyncio.sleep(0.05)
