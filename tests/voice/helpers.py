"""A Twilio-compatible provider driving the voice webhook over HTTP: form-encoded POSTs
signed with X-Twilio-Signature (HMAC-SHA1 over the URL and the sorted parameters)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from xml.etree import ElementTree as ET

import httpx

from sodam.hours.calendar import ALWAYS_OPEN

AUTH_TOKEN = "provider-auth-token-0123456789"
CALLER = "+821012345678"


def sign(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's algorithm, written out here independently of sodam.voice.signature."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class Provider:
    """One phone call, as the provider makes the requests."""

    def __init__(
        self, client: httpx.AsyncClient, webhook_url: str, *, caller: str = CALLER, token: str = AUTH_TOKEN
    ):
        self.client = client
        self.base = webhook_url.rsplit("/", 1)[0]  # …/voice/v1/{token}
        self.caller = caller
        self.token = token
        self.call_sid = "CA" + secrets.token_hex(16)

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": "+8215881234",
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }

    async def post(self, url: str, *, signature: str | None = None, **extra: str) -> httpx.Response:
        if not url.startswith("http"):
            url = f"{self.base}/{url}"
        params = self.params(**extra)
        sig = signature if signature is not None else sign(self.token, url, params)
        return await self.client.post(url, data=params, headers={"X-Twilio-Signature": sig})

    async def twiml(self, url: str, **extra: str) -> ET.Element:
        r = await self.post(url, **extra)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/xml")
        return ET.fromstring(r.text)  # noqa: S314 - our own server's TwiML


def says(doc: ET.Element) -> list[str]:
    return [el.text or "" for el in doc.iter("Say")]


def gather_action(doc: ET.Element) -> str:
    gather = doc.find("Gather")
    assert gather is not None, ET.tostring(doc, encoding="unicode")
    return gather.get("action")


def verbs(doc: ET.Element) -> list[str]:
    return [el.tag for el in doc]


async def phone_inbox(client: httpx.AsyncClient, *, hours=None, name: str = "대표번호") -> tuple[int, dict]:
    r = await client.post(
        "/api/v1/inboxes",
        json={
            "name": name,
            "channel_type": "phone",
            "settings": {"auto_assign": False, "auto_reply": False, "business_hours": hours or ALWAYS_OPEN},
        },
    )
    assert r.status_code == 201, r.text
    inbox_id = r.json()["id"]
    r = await client.put(
        f"/api/v1/phone/lines/{inbox_id}", json={"auth_token": AUTH_TOKEN, "number": "1588-1234"}
    )
    assert r.status_code == 200, r.text
    return inbox_id, r.json()


TREE = {
    "root": "main",
    "nodes": {
        "main": {
            "prompt": {
                "ko": "주문 문의는 1번, 결제는 2번, 전화 예약은 3번, 음성 메시지는 4번, 공지는 5번, 대리점은 6번",
                "en": "Orders 1, billing 2, callback 3, voicemail 4, notice 5, dealer 6",
            },
            "options": {
                "1": {"action": "menu", "node": "orders"},
                "2": {"action": "person"},
                "3": {"action": "callback"},
                "4": {"action": "voicemail"},
                "5": {
                    "action": "announcement",
                    "text": {"ko": "배송은 2일 걸립니다", "en": "Delivery takes 2 days"},
                },
                "6": {"action": "forward", "number": "02-555-1234"},
            },
        },
        "orders": {
            "prompt": {"ko": "배송 조회는 1번, 반품은 2번", "en": "Tracking 1, returns 2"},
            "options": {
                "1": {"action": "announcement", "text": {"ko": "조회 안내", "en": "tracking"}},
                "2": {"action": "menu", "node": "returns"},
            },
        },
        "returns": {
            "prompt": {"ko": "반품 메뉴입니다", "en": "Returns"},
            "options": {"9": {"action": "menu", "node": "main"}},
        },
    },
}
