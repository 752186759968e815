"""The sandbox's arithmetic, without a database: when each customer message is due in a
playback, and how an attempt is scored against the original.

Playback: the customer's messages keep their original spacing from the first one (at 0), a
single gap capped at MAX_GAP_MS (nobody practises a customer who went to lunch), divided by
the speed (×1, ×2, ×4).

Score (0–100), from the parts that apply, each with its points and maximum:
- first_reply (40): the trainee's first reply time against the original agent's — full points
  when as fast or faster, else 40 × original / trainee; 0 without a reply. When the original
  had no agent reply, any reply within FAST_REPLY_MS gets full points, slower ones decay the same way.
- article (30): whether a reply links one of the help-center articles the original agent linked;
  not counted when the original linked none.
- resolved (30): whether the trainee marked the practice resolved (the original was).
- csat: the original customer's CSAT, shown for context, never scored (it was not the trainee's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_GAP_MS = 120_000
FAST_REPLY_MS = 60_000
WEIGHTS = {"first_reply": 40, "article": 30, "resolved": 30}
FIVE_RESOLVED = 5
# /help/{workspace slug}/articles/{id}, as the help center and the bot build links.
ARTICLE_LINK_RE = re.compile(r"/help/([A-Za-z0-9_-]{1,80})/articles/([0-9]{1,18})(?![0-9])")


def customer_schedule(messages: list[dict], speed: int) -> list[int]:
    """For each message of the scenario, when (ms after the attempt started) it is shown; agent
    and bot messages of the original are never shown in a playback (-1)."""
    due, last_at, clock = [], None, 0
    for message in messages:
        at = int(message.get("at_ms") or 0)
        if message.get("role") != "customer":
            due.append(-1)
            continue
        if last_at is not None:
            clock += min(max(at - last_at, 0), MAX_GAP_MS)
        last_at = at
        due.append(clock // max(speed, 1))
    return due


def linked_articles(texts: Iterable[str], slug: str) -> set[int]:
    """Ids of this workspace's help-center articles linked in the texts."""
    found = set()
    for text in texts:
        for link_slug, raw in ARTICLE_LINK_RE.findall(text or ""):
            if link_slug == slug:
                found.add(int(raw))
    return found


@dataclass(frozen=True)
class Outcome:
    score: int
    parts: list[dict]


def score(
    *,
    first_reply_ms: int | None,
    original_first_reply_ms: int | None,
    used_article_ids: set[int],
    original_article_ids: Iterable[int],
    resolved: bool,
    original_csat: int | None,
) -> Outcome:
    """The attempt's score and its parts (each: key, points, max, and the figures it used)."""
    parts: list[dict] = []
    # first reply
    target = original_first_reply_ms if original_first_reply_ms is not None else FAST_REPLY_MS
    target = max(target, 1)
    w = WEIGHTS["first_reply"]
    if first_reply_ms is None:
        points = 0
    elif first_reply_ms <= target:
        points = w
    else:
        points = round(w * target / first_reply_ms)
    parts.append(
        {
            "key": "first_reply",
            "points": points,
            "max": w,
            "trainee_ms": first_reply_ms,
            "original_ms": original_first_reply_ms,
        }
    )
    # article
    wanted = sorted(set(original_article_ids))
    w = WEIGHTS["article"]
    if wanted:
        hit = sorted(used_article_ids & set(wanted))
        parts.append(
            {"key": "article", "points": w if hit else 0, "max": w, "original_ids": wanted, "used_ids": hit}
        )
    else:
        parts.append({"key": "article", "points": None, "max": None, "original_ids": [], "used_ids": []})
    # resolved
    w = WEIGHTS["resolved"]
    parts.append({"key": "resolved", "points": w if resolved else 0, "max": w, "resolved": resolved})
    parts.append({"key": "csat", "points": None, "max": None, "original_csat": original_csat})
    earned = sum(p["points"] for p in parts if p["max"])
    possible = sum(p["max"] for p in parts if p["max"])
    return Outcome(score=round(100 * earned / possible) if possible else 0, parts=parts)


def new_badges(
    *,
    held: set[str],
    finished_count: int,
    resolved_count: int,
    first_reply_ms: int | None,
    original_first_reply_ms: int | None,
) -> list[str]:
    """Badges a just-finished attempt earns (counts include it)."""
    earned = []
    if finished_count >= 1:
        earned.append("first_practice")
    target = original_first_reply_ms if original_first_reply_ms is not None else FAST_REPLY_MS
    if first_reply_ms is not None and first_reply_ms <= target:
        earned.append("fast_reply")
    if resolved_count >= FIVE_RESOLVED:
        earned.append("five_resolved")
    return [b for b in earned if b not in held]
