"""Tracked-link tokens: short enough to read in a chat bubble, unforgeable, and the longer
tokens of links already sent still resolve."""

from __future__ import annotations

from sodam.campaigns import tracking


def test_short_tokens_round_trip_and_refuse_forgeries(monkeypatch):
    monkeypatch.setenv("SODAM_SECRET_KEY", "k" * 40)
    from sodam.config import get_settings

    get_settings.cache_clear()
    try:
        for recipient, link in ((1, 0), (123_456_789, 19), (2**40, None)):
            value = tracking.token(recipient, link)
            assert len(value) <= 30 and tracking.read(value) == (recipient, link)
        value = tracking.token(42, 3)
        recipient, which, mac = value.split("-")
        assert tracking.read(f"{recipient}-4-{mac}") is None  # another link of the same recipient
        assert tracking.read(f"{tracking._base36(43)}-{which}-{mac}") is None  # another recipient
        assert tracking.read(value[:-1] + ("A" if value[-1] != "A" else "B")) is None
        assert tracking.read("") is None and tracking.read("x" * 400) is None
        # A link sent before the short form still counts.
        old = tracking._signer().dumps({"r": 42, "l": 3})
        assert len(old) > 40 and tracking.read(old) == (42, 3)
        url = tracking.rewrite(
            "보기: https://shop.example/spring", ["https://shop.example/spring"], 7, "https://s.example"
        )
        assert (
            url.startswith("보기: https://s.example/c/l/")
            and len(url) < len("보기: https://s.example/c/l/") + 31
        )
    finally:
        get_settings.cache_clear()
