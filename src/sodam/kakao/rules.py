"""Kakao's rules as pure functions: the 상담톡 session window, text splitting, image size,
알림톡 template filling. No I/O here, so each rule is tested with any clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

SESSION_DAYS = 30  # a session stays open 30 days from the user's last message
MAX_TEXT_CHARS = 1000  # one 상담톡 text message
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # one 상담톡 image
MAX_BUTTONS = 5
PLACEHOLDER = re.compile(r"#\{([^{}#\s][^{}#]{0,29})\}")


def session_open(
    *,
    opened_at: datetime | None,
    last_user_message_at: datetime | None,
    ended_at: datetime | None,
    blocked: bool,
    now: datetime,
) -> bool:
    """Whether an agent may send: opened (상담 pressed or a message written), not ended, not
    blocked, and the user wrote within the last 30 days (the 상담 press counts when they have
    not written yet)."""
    if blocked or opened_at is None:
        return False
    if ended_at is not None and ended_at >= opened_at:
        return False
    last = max(opened_at, last_user_message_at or opened_at)
    return now < last + timedelta(days=SESSION_DAYS)


def expires_at(*, opened_at: datetime | None, last_user_message_at: datetime | None) -> datetime | None:
    if opened_at is None:
        return None
    return max(opened_at, last_user_message_at or opened_at) + timedelta(days=SESSION_DAYS)


_SENTENCE_END = re.compile(r"(?:[.!?。？！]|다\.|요\.|[.!?]\))(?=\s)|\n")


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """Cut a reply into parts of at most `limit` characters: after the last sentence end in
    the window when there is one in its second half, else at the last space, else hard."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = 0
        for m in _SENTENCE_END.finditer(window):
            if m.end() <= limit:
                cut = m.end()
        if cut < limit // 2:
            space = window.rfind(" ", 0, limit + 1)
            cut = space if space >= limit // 2 else cut
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def template_variables(body: str) -> list[str]:
    """The `#{변수}` names of a template, in order, each once."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(body):
        if name not in seen:
            seen.append(name)
    return seen


def fill_template(body: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """(the text with every `#{변수}` replaced, the names left without a value)."""
    missing = [n for n in template_variables(body) if not str(values.get(n, "")).strip()]
    if missing:
        return body, missing
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), body), []
