"""Tracked links and the e-mail open pixel: each URL carries a signed token naming only a
recipient and a link's index (no secret, no contact data, no target URL), and the target is
read from the campaign — so the redirect is never an open redirect, and the target site sees
no token (Referrer-Policy: no-referrer on the redirect)."""

from __future__ import annotations

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


def token(recipient_id: int, link: int | None = None) -> str:
    return _signer().dumps({"r": recipient_id, **({"l": link} if link is not None else {})})


def read(value: str) -> tuple[int, int | None] | None:
    """(recipient id, link index or None for the pixel); None for a forged or broken token."""
    payload = _signer().loads(value) if value and len(value) < 300 else None
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
