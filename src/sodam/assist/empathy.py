"""The empathy / apology prompt: only when the customer's sentiment is negative, with copy
adapted to the situation the customer's words (or their history) point to."""

from __future__ import annotations

import re

from sodam.core.i18n import gettext

NEGATIVE = -0.2  # the sentiment labels' band (sodam.nlp.sentiment, crm.screen_pop)

# Situation → words that point to it (lower-cased substrings), checked in this order.
SITUATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("refund", ("환불", "반품", "취소", "돈 돌려", "refund", "money back", "chargeback", "cancel")),
    (
        "broken",
        (
            "고장",
            "파손",
            "깨져",
            "깨졌",
            "불량",
            "망가",
            "작동",
            "안 켜",
            "안켜",
            "broken",
            "damaged",
            "defective",
            "doesn't work",
            "does not work",
            "not working",
            "cracked",
        ),
    ),
    (
        "delay",
        (
            "늦",
            "지연",
            "언제",
            "아직",
            "안 와",
            "안와",
            "기다",
            "delay",
            "late",
            "still waiting",
            "where is",
            "hasn't arrived",
            "has not arrived",
            "not arrived",
            "waiting",
        ),
    ),
    (
        "repeat",
        (
            "또 ",
            "다시",
            "몇 번",
            "몇번",
            "이미 말",
            "계속",
            "again",
            "already told",
            "already asked",
            "third time",
            "second time",
            "keep asking",
        ),
    ),
)
_SPACE = re.compile(r"\s+")


def situation(texts: list[str], *, repeated_contact: bool = False) -> str:
    """delay, refund, repeat, broken or general: the first situation the words name, else
    `repeat` when the customer came back about it, else general."""
    joined = _SPACE.sub(" ", " ".join(texts).lower()) + " "
    for name, words in SITUATIONS:
        if any(w in joined for w in words):
            return name
    return "repeat" if repeated_contact else "general"


def is_negative(conversation_score: float | None, last_label: str | None, last_score: float | None) -> bool:
    """Negative: the conversation's score (mean of all and last five customer messages) or the
    last customer message is in the negative band."""
    if last_label == "negative" or (last_score is not None and last_score <= NEGATIVE):
        return True
    return conversation_score is not None and conversation_score <= NEGATIVE


def prompt(locale: str, name: str) -> str:
    """The copy for a situation, in the customer's language (존댓말 in Korean)."""
    keys = {
        "delay": "assist.empathy.delay",
        "refund": "assist.empathy.refund",
        "repeat": "assist.empathy.repeat",
        "broken": "assist.empathy.broken",
        "general": "assist.empathy.general",
    }
    return gettext(locale, keys.get(name, keys["general"]))
