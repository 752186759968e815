"""The clients of `sodam bench faults`: they behave like the real widget and a real API
integration, so that what they see after a fault is what a customer or an agent would see.

- WidgetClient: one visitor. Opens its socket with a one-use ticket on one of the servers;
  on any failure it reconnects with backoff (to the other server, or the same one after
  its restart), resumes with `conversation_id` + `after_seq` (the last seq it saw without a
  gap), and resends every unacknowledged message with the same client_id. A message is
  acknowledged only by its `ack` frame.
- BotClient: a visitor of the bot inbox talking turn by turn: "안녕하세요", wait for the
  bot's greeting, again. Every question must get exactly one answer.
- AgentClient: an agent socket (Authorization header). On every (re)connect and on a
  `resync` frame it catches up over HTTP with `GET .../messages?after_seq=`.
- ApiReplier: posts agent replies with a client_id; a failed POST is retried with the
  same client_id until it gets its 201/200.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from dataclasses import dataclass, field

import httpx
import websockets

from bench.common import WS_COMPRESSION, frames

# Any of these means "the server or the network is not there right now": back off, retry.
TRANSIENT = (OSError, TimeoutError, httpx.HTTPError, websockets.WebSocketException, ValueError, KeyError)
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 2.0


@dataclass
class Ledger:
    """Everything the clients did and saw, for the checks at the end."""

    # client_id -> sending widget's index, for every customer message ever sent
    sent: dict[str, int] = field(default_factory=dict)
    # client_id -> message id from its ack (customer messages) or its 201/200 (agent replies)
    acked: dict[str, int] = field(default_factory=dict)
    api_sent: set[str] = field(default_factory=set)
    api_acked: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0
    error_frames: dict[str, int] = field(default_factory=dict)
    http_errors: dict[str, int] = field(default_factory=dict)

    def note_error(self, kind: dict[str, int], key: str) -> None:
        kind[key] = kind.get(key, 0) + 1


class Endpoints:
    """The servers' base URLs by index (a restarted server keeps its port)."""

    def __init__(self, urls: list[str]):
        self.urls = urls
        self.http = [httpx.AsyncClient(base_url=u, timeout=10) for u in urls]

    def ws_url(self, index: int) -> str:
        return "ws" + self.urls[index][len("http") :]

    async def aclose(self) -> None:
        for client in self.http:
            await client.aclose()


class Reconnecting:
    """The connect / read / back off / reconnect loop every socket client shares."""

    def __init__(self, endpoints: Endpoints, ledger: Ledger, server_index: int):
        self.endpoints = endpoints
        self.ledger = ledger
        self.server_index = server_index % len(endpoints.urls)
        self.ws = None
        self.ready = asyncio.Event()
        self.stopping = False
        # perf_counter times of every ack / delivery: recovery is read from these
        self.progress_times: list[float] = []

    async def run(self) -> None:
        backoff = BACKOFF_FIRST_S
        while not self.stopping:
            try:
                await self.connect()
                backoff = BACKOFF_FIRST_S
                await self.read()
            except asyncio.CancelledError:
                raise
            except TRANSIENT:
                pass
            finally:
                self.ready.clear()
                ws, self.ws = self.ws, None
                if ws is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(ws.close(), 1)
            if self.stopping:
                return
            self.ledger.reconnects += 1
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            self.server_index = (self.server_index + 1) % len(self.endpoints.urls)

    async def stop(self) -> None:
        self.stopping = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)

    async def connect(self) -> None:
        raise NotImplementedError

    async def read(self) -> None:
        async for raw in self.ws:
            for frame in frames(raw):
                await self.on_frame(frame)

    async def on_frame(self, frame: dict) -> None:
        raise NotImplementedError

    @property
    def http(self) -> httpx.AsyncClient:
        return self.endpoints.http[self.server_index]


class WidgetClient(Reconnecting):
    def __init__(self, index: int, inbox_token: str, endpoints: Endpoints, ledger: Ledger):
        super().__init__(endpoints, ledger, index)
        self.index = index
        self.inbox_token = inbox_token
        self.visitor: str | None = None
        self.conversation_id: int | None = None
        self.seen: set[int] = set()  # seqs of this conversation received (hello, live, ack)
        self.outbox: dict[str, str] = {}  # client_id -> content, unacknowledged, in order
        self.messages: dict[int, dict] = {}  # seq -> message, for the bot client

    @property
    def last_seq(self) -> int:
        """The last seq seen with nothing missing before it: what a reconnect resumes after."""
        seq = 0
        while seq + 1 in self.seen:
            seq += 1
        return seq

    async def connect(self) -> None:
        base = f"/widget/v1/{self.inbox_token}"
        if self.visitor is None:
            r = await self.http.post(f"{base}/session", json={"locale": "ko"})
            self._check(r)
            self.visitor = r.json()["visitor_token"]
        r = await self.http.post(f"{base}/socket-ticket", headers={"X-Sodam-Visitor": self.visitor})
        self._check(r)
        query = f"ticket={r.json()['ticket']}&after_seq={self.last_seq}"
        if self.conversation_id is not None:
            query += f"&conversation_id={self.conversation_id}"
        self.ws = await websockets.connect(
            f"{self.endpoints.ws_url(self.server_index)}{base}/ws?{query}",
            compression=WS_COMPRESSION,
            ping_interval=None,
            max_queue=None,
            open_timeout=5,
        )
        hello = frames(await asyncio.wait_for(self.ws.recv(), 5))
        if hello[0].get("type") != "hello":
            raise ValueError(f"expected hello, got {hello[0]}")
        for frame in hello:
            await self.on_frame(frame)
        self.ready.set()
        for client_id, content in list(self.outbox.items()):  # resend, same client_id
            await self._transmit(client_id, content)

    def _check(self, r: httpx.Response) -> None:
        if r.status_code >= 400:
            self.ledger.note_error(
                self.ledger.http_errors, f"{r.status_code} {r.url.path.rsplit('/', 1)[-1]}"
            )
            raise httpx.HTTPStatusError("refused", request=r.request, response=r)

    async def on_frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "hello":
            if frame.get("conversation_id") is not None:
                self.conversation_id = frame["conversation_id"]
            for message in frame.get("messages") or []:
                self._saw(message)
        elif kind == "message":
            self._saw(frame["message"])
        elif kind == "ack":
            message = frame["message"]
            client_id = frame["client_id"]
            self.outbox.pop(client_id, None)
            if client_id not in self.ledger.acked:
                self.progress_times.append(time.perf_counter())
            self.ledger.acked[client_id] = message["id"]
            self._saw(message)
        elif kind == "error":
            self.ledger.note_error(self.ledger.error_frames, (frame.get("error") or {}).get("code", "?"))
        elif kind == "resync":
            asyncio.create_task(self._fetch_missed())

    def _saw(self, message: dict) -> None:
        if self.conversation_id is None:
            self.conversation_id = message["conversation_id"]
        if message["conversation_id"] == self.conversation_id:
            self.seen.add(message["seq"])
            self.messages[message["seq"]] = message

    async def _fetch_missed(self) -> None:
        """What the widget does on `resync`: GET the messages after the last seq it saw."""
        with contextlib.suppress(*TRANSIENT):
            r = await self.http.get(
                f"/widget/v1/{self.inbox_token}/messages",
                headers={"X-Sodam-Visitor": self.visitor or ""},
                params={"conversation_id": self.conversation_id or 1, "after_seq": self.last_seq},
            )
            if r.status_code == 200:
                for message in r.json()["messages"]:
                    self._saw(message)

    async def send(self, content: str) -> str:
        client_id = uuid.uuid4().hex
        self.outbox[client_id] = content
        self.ledger.sent[client_id] = self.index
        if self.ready.is_set():
            await self._transmit(client_id, content)
        return client_id

    async def _transmit(self, client_id: str, content: str) -> None:
        payload = json.dumps(
            {"type": "message", "client_id": client_id, "content": content}, ensure_ascii=False
        )
        with contextlib.suppress(websockets.ConnectionClosed):
            if self.ws is not None:
                await self.ws.send(payload)


class BotClient(WidgetClient):
    """Greets the bot, waits for its one answer, greets again."""

    GREETING = "안녕하세요"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.turns = 0
        self.answered = asyncio.Event()

    def _saw(self, message: dict) -> None:
        super()._saw(message)
        if message.get("sender_type") == "bot":
            self.answered.set()

    async def converse(self, stop: asyncio.Event, pause_s: float) -> None:
        while not stop.is_set():
            self.answered.clear()
            await self.send(self.GREETING)
            self.turns += 1
            stopped = asyncio.create_task(stop.wait())
            answered = asyncio.create_task(self.answered.wait())
            await asyncio.wait([stopped, answered], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            answered.cancel()
            await asyncio.sleep(pause_s)


class AgentClient(Reconnecting):
    def __init__(self, index: int, api_token: str, endpoints: Endpoints, ledger: Ledger):
        super().__init__(endpoints, ledger, index)
        self.headers = {"Authorization": f"Bearer {api_token}"}
        self.delivered: set[int] = set()  # message ids received (live or caught up)
        self.seqs: dict[int, set[int]] = {}  # conversation id -> seqs received
        self.catch_ups = 0

    async def connect(self) -> None:
        self.ws = await websockets.connect(
            f"{self.endpoints.ws_url(self.server_index)}/api/v1/realtime",
            additional_headers=self.headers,
            compression=WS_COMPRESSION,
            ping_interval=None,
            max_queue=None,
            open_timeout=5,
        )
        hello = frames(await asyncio.wait_for(self.ws.recv(), 5))
        if hello[0].get("type") != "hello":
            raise ValueError(f"expected hello, got {hello[0]}")
        self.ready.set()
        # Subscribed first, then caught up: nothing falls between the two.
        await self.catch_up()

    async def on_frame(self, frame: dict) -> None:
        if frame.get("type") == "message":
            if frame["message"]["id"] not in self.delivered:
                self.progress_times.append(time.perf_counter())
            self._record(frame["message"])
        elif frame.get("type") == "resync":
            asyncio.create_task(self._catch_up_quietly())

    def _record(self, message: dict) -> None:
        self.delivered.add(message["id"])
        self.seqs.setdefault(message["conversation_id"], set()).add(message["seq"])

    def _last_seq(self, conversation_id: int) -> int:
        seen, seq = self.seqs.get(conversation_id, set()), 0
        while seq + 1 in seen:
            seq += 1
        return seq

    async def _catch_up_quietly(self) -> None:
        with contextlib.suppress(*TRANSIENT):
            await self.catch_up()

    async def catch_up(self) -> None:
        """Every conversation of the workspace, every message after the last seq seen."""
        self.catch_ups += 1
        conversation_ids: list[int] = []
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            r = await self.http.get("/api/v1/conversations", headers=self.headers, params=params)
            r.raise_for_status()
            body = r.json()
            conversation_ids += [c["id"] for c in body["data"]]
            cursor = body.get("next_cursor")
            if not cursor:
                break
        for conversation_id in conversation_ids:
            while True:
                r = await self.http.get(
                    f"/api/v1/conversations/{conversation_id}/messages",
                    headers=self.headers,
                    params={"after_seq": self._last_seq(conversation_id), "limit": 100},
                )
                r.raise_for_status()
                page = r.json()["data"]
                for message in page:
                    self._record(message)
                if len(page) < 100:
                    break


class ApiReplier:
    """An integration posting agent replies; retries with the same client_id until answered."""

    def __init__(self, api_token: str, endpoints: Endpoints, ledger: Ledger):
        self.headers = {"Authorization": f"Bearer {api_token}"}
        self.endpoints = endpoints
        self.ledger = ledger
        self.server_index = 0
        self.progress_times: list[float] = []
        self.count = 0

    async def reply(self, conversation_id: int) -> None:
        self.count += 1
        client_id = "api-" + uuid.uuid4().hex
        body = {"content": f"상담원 답변입니다 ({self.count})", "client_id": client_id}
        self.ledger.api_sent.add(client_id)
        backoff = BACKOFF_FIRST_S
        while True:
            try:
                r = await self.endpoints.http[self.server_index].post(
                    f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=self.headers
                )
                if r.status_code in (200, 201):
                    self.ledger.api_acked[client_id] = r.json()["id"]
                    self.progress_times.append(time.perf_counter())
                    return
                self.ledger.note_error(self.ledger.http_errors, f"{r.status_code} api-reply")
            except TRANSIENT:
                pass
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            self.server_index = (self.server_index + 1) % len(self.endpoints.urls)
