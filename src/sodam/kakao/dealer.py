"""The dealer (딜러사) interface: what a real KakaoTalk 상담톡/알림톡 dealer API plugs into.

Sodam talks to a dealer through `KakaoDealerClient`. `HttpDealerClient` speaks the small JSON
protocol documented in docs/kakao.md (one adapter per dealer maps it onto that dealer's own
endpoints); tests run it against a fake dealer on loopback. Errors are split in two: a
`DealerUnavailable` (5xx, timeout, network) is retried with backoff, a `DealerRefused` (4xx:
bad key, unknown user, template not approved) fails the message for good.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

TIMEOUT_S = 10.0


class DealerError(Exception):
    """A dealer call that did not succeed."""


class DealerUnavailable(DealerError):
    """Worth another try later: the dealer answered 5xx, timed out or could not be reached."""


class DealerRefused(DealerError):
    """The dealer refused the request (4xx): another try would be refused the same way."""


@dataclass(frozen=True)
class Button:
    """A link button (Kakao's WL type): a label and a web address."""

    name: str
    url: str

    def wire(self) -> dict[str, str]:
        return {"type": "WL", "name": self.name, "url_mobile": self.url, "url_pc": self.url}


@dataclass(frozen=True)
class Part:
    """One 상담톡 message as the dealer takes it: text (≤ 1,000 characters) or one image."""

    text: str = ""
    image: tuple[str, str, bytes] | None = None  # filename, content type, data
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class DealerTemplate:
    code: str
    name: str
    body: str
    status: str  # registered | inspecting | approved | rejected
    reject_reason: str | None = None
    buttons: list[dict[str, Any]] = field(default_factory=list)


class KakaoDealerClient(Protocol):
    """What Sodam needs from a dealer. Every send carries `serial_number`, our idempotency key:
    a dealer that sees the same serial_number twice sends once."""

    async def send_message(self, *, sender_key: str, user_key: str, part: Part, serial_number: str) -> str:
        """Send one 상담톡 message in the user's open session; returns the dealer's message id."""
        ...

    async def send_alimtalk(
        self,
        *,
        sender_key: str,
        user_key: str | None,
        phone: str | None,
        template_code: str,
        text: str,
        buttons: list[Button],
        serial_number: str,
    ) -> str:
        """Send one 알림톡 from an approved template, filled in; returns the dealer's message id."""
        ...

    async def list_templates(self, *, sender_key: str) -> list[DealerTemplate]:
        """The channel's 알림톡 templates with their inspection state."""
        ...

    async def end_session(self, *, sender_key: str, user_key: str) -> None:
        """End the user's 상담톡 session (the agent's "end consultation")."""
        ...


class HttpDealerClient:
    """A dealer reached over HTTPS with a bearer key (docs/kakao.md, "The dealer protocol")."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = TIMEOUT_S):
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._timeout = timeout_s

    async def _call(self, method: str, path: str, *, json: Any = None, idem: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._key}"}
        if idem:
            headers["Idempotency-Key"] = idem
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                r = await client.request(method, self._base + path, json=json, headers=headers)
        except httpx.HTTPError as exc:  # timeouts included
            raise DealerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if r.status_code >= 500 or r.status_code == 429:
            raise DealerUnavailable(f"dealer answered {r.status_code}")
        if r.status_code >= 400:
            raise DealerRefused(f"dealer refused ({r.status_code}): {r.text[:200]}")
        return r.json() if r.content else {}

    async def send_message(self, *, sender_key: str, user_key: str, part: Part, serial_number: str) -> str:
        body: dict[str, Any] = {
            "sender_key": sender_key,
            "user_key": user_key,
            "serial_number": serial_number,
            "type": "image" if part.image else "text",
            "text": part.text,
            "buttons": [b.wire() for b in part.buttons],
        }
        if part.image:
            filename, content_type, data = part.image
            body["image"] = {
                "filename": filename,
                "content_type": content_type,
                "data": base64.b64encode(data).decode(),
            }
        out = await self._call("POST", "/v1/messages", json=body, idem=serial_number)
        return str(out.get("message_id") or "")

    async def send_alimtalk(
        self,
        *,
        sender_key: str,
        user_key: str | None,
        phone: str | None,
        template_code: str,
        text: str,
        buttons: list[Button],
        serial_number: str,
    ) -> str:
        body = {
            "sender_key": sender_key,
            "user_key": user_key,
            "phone": phone,
            "template_code": template_code,
            "text": text,
            "buttons": [b.wire() for b in buttons],
            "serial_number": serial_number,
        }
        out = await self._call("POST", "/v1/alimtalk", json=body, idem=serial_number)
        return str(out.get("message_id") or "")

    async def list_templates(self, *, sender_key: str) -> list[DealerTemplate]:
        out = await self._call("GET", f"/v1/templates?sender_key={sender_key}")
        return [
            DealerTemplate(
                code=str(t["code"]),
                name=str(t.get("name") or t["code"]),
                body=str(t.get("body") or ""),
                status=str(t.get("status") or "registered"),
                reject_reason=t.get("reject_reason"),
                buttons=list(t.get("buttons") or []),
            )
            for t in out.get("templates") or []
        ]

    async def end_session(self, *, sender_key: str, user_key: str) -> None:
        await self._call("POST", "/v1/sessions/end", json={"sender_key": sender_key, "user_key": user_key})


def client_for(channel) -> KakaoDealerClient:
    """The dealer client of a connected inbox (one kind today: the HTTP protocol)."""
    return HttpDealerClient(channel.dealer_url, channel.dealer_api_key)
