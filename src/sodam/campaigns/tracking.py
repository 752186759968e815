"""Tracked links and the e-mail open pixel: each URL carries a signed token naming only a
recipient and a link's index (no secret, no contact data, no target URL), and the target is
read from the campaign — so the redirect is never an open redirect, and the target site sees
no token (Referrer-Policy: no-referrer on the redirect)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from sodam.config import get_settings
from sodam.core.security import Signer

URL = re.compile(r"https?://[^\s<>\"')\]]+")
MAX_LINKS = 20


def _signer() -> Signer:
    return Signer(get_settings().resolved_secret_key(), salt="sodam.campaign.track")


def links_in(*texts: str) -> list[str]:
    """The distinct links of the copy, in order of first appearance (at most 20)."""
    out: list[str] = []
    for text in texts:
        for url in URL.findall(text or ""):
            if url not in out:
                out.append(url)
    return out[:MAX_LINKS]


# A short token keeps a tracked link readable in a chat bubble: the recipient id in base 36,
# the link's index ("p" for the pixel), and 96 bits of an HMAC over both; e.g.
# "2n9c-0-Xk3_9aQw7PzR1bYt" (the earlier, longer itsdangerous tokens still resolve).
_SHORT = re.compile(r"^([0-9a-z]{1,13})-(\d{1,2}|p)-([A-Za-z0-9_-]{16})$")


def _mac(recipient: str, link: str) -> str:
    key = get_settings().resolved_secret_key().encode()
    digest = hmac.new(key, f"sodam.campaign.track|{recipient}|{link}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def token(recipient_id: int, link: int | None = None) -> str:
    recipient, which = _base36(recipient_id), "p" if link is None else str(link)
    return f"{recipient}-{which}-{_mac(recipient, which)}"


def read(value: str) -> tuple[int, int | None] | None:
    """(recipient id, link index or None for the pixel); None for a forged or broken token."""
    if not value or len(value) >= 300:
        return None
    short = _SHORT.match(value)
    if short:
        recipient, which, mac = short.groups()
        if not hmac.compare_digest(mac, _mac(recipient, which)):
            return None
        return int(recipient, 36), None if which == "p" else int(which)
    payload = _signer().loads(value)
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        return None
    link = payload.get("l")
    return payload["r"], link if isinstance(link, int) else None


def base_url() -> str:
    return get_settings().base_url()


def rewrite(text: str, links: list[str], recipient_id: int, base: str) -> str:
    """The copy with each known link replaced by its tracked redirect for this recipient."""

    def swap(match: re.Match) -> str:
        url = match.group(0)
        if url not in links:
            return url
        return f"{base}/c/l/{token(recipient_id, links.index(url))}"

    return URL.sub(swap, text)


def pixel_url(recipient_id: int, base: str) -> str:
    return f"{base}/c/o/{token(recipient_id)}.gif"
