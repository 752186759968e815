"""A fake KakaoTalk dealer (딜러사): a real HTTP server on loopback speaking the protocol of
sodam.kakao.dealer.HttpDealerClient, standing for the third-party service we cannot run here.
It checks the bearer key, answers scripted statuses (then 200), sends each serial_number once
(as a real dealer dedupes), and keeps what it received."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeDealer:
    api_key: str = "dealer-key-1"
    statuses: list[int] = field(default_factory=list)  # for sends, in order; then 200
    templates: list[dict[str, Any]] = field(default_factory=list)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # serial_number -> body (first)
    tries: list[tuple[str, int]] = field(default_factory=list)  # (path, status answered)
    ended: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    server: asyncio.base_events.Server | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def messages(self) -> list[dict[str, Any]]:
        return [b for b in self.sent.values() if "template_code" not in b]

    def alimtalks(self) -> list[dict[str, Any]]:
        return [b for b in self.sent.values() if "template_code" in b]

    async def start(self) -> FakeDealer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {"code": "unauthorized"}
        url = urlsplit(path)
        if method == "GET" and url.path == "/v1/templates":
            sender = parse_qs(url.query).get("sender_key", [""])[0]
            return 200, {"templates": [t for t in self.templates if t.get("sender_key", sender) == sender]}
        data = json.loads(body or b"{}")
        if url.path == "/v1/sessions/end":
            self.ended.append(data)
            return 200, {}
        if url.path in ("/v1/messages", "/v1/alimtalk"):
            status = self.statuses.pop(0) if self.statuses else 200
            self.tries.append((url.path, status))
            if status != 200:
                return status, {"code": "error"}
            serial = data["serial_number"]
            if serial in self.sent:
                self.duplicates += 1
            else:
                self.sent[serial] = data
            return 200, {"code": "0000", "message_id": f"dealer-{serial}"}
        return 404, {"code": "not_found"}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, out = self._answer(method, path, headers, body)
                raw = json.dumps(out).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n\r\n".encode()
                    + raw
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
