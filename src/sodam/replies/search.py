"""Finding a canned reply as the agent types: by shortcut prefix, then by words of the title
and body, Korean by morphemes (kiwipiepy, through `sodam.nlp.text`) so "환불해" finds
"환불 안내" and "배송" finds "배송이 지연되면…". Pure functions; callers run them off the
event loop (`asyncio.to_thread`) because morpheme analysis is CPU work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sodam.nlp.text import normalize, tokens

# Score bands: a shortcut match always outranks a word match, a word in the title one in the body.
SHORTCUT_EXACT = 1000
SHORTCUT_PREFIX = 800
TITLE_TEXT = 400
BODY_TEXT = 200
TERM_EXACT = 60
TERM_PREFIX = 25


def terms_of(*texts: str) -> list[str]:
    """The distinct search terms of a reply's texts (morphemes for Korean, stems for English)."""
    seen: dict[str, None] = {}
    for part in texts:
        for term in tokens(part or ""):
            seen.setdefault(term, None)
    return list(seen)


@dataclass(frozen=True)
class Candidate:
    id: int
    shortcut: str
    title: str
    body: str
    terms: Sequence[str]
    usage_count: int


def _fold(text: str) -> str:
    # Lower case and one space: cheap enough to run on every reply per keystroke (the full
    # normalize() is kept for the query and the stored terms).
    return " ".join(text.lower().split())


def score(candidate: Candidate, query: str, query_terms: Sequence[str]) -> int:
    """How well a reply matches (0: not at all)."""
    shortcut = _fold(candidate.shortcut)
    points = 0
    if shortcut == query:
        points = SHORTCUT_EXACT
    elif shortcut.startswith(query):
        points = SHORTCUT_PREFIX
    elif query in _fold(candidate.title):
        points = TITLE_TEXT
    elif query in _fold(candidate.body):
        points = BODY_TEXT
    matched = 0
    for term in query_terms:
        if term in candidate.terms:
            points += TERM_EXACT
            matched += 1
        elif any(t.startswith(term) for t in candidate.terms):
            points += TERM_PREFIX  # a word still being typed: "배" of 배송
            matched += 1
    if points < BODY_TEXT and query_terms and matched < len(query_terms):
        return 0  # by words alone, every word of the query must be there
    return points


def rank(candidates: Sequence[Candidate], query: str) -> list[tuple[int, Candidate]]:
    """Matching replies, best first: by score, then how often they were used, then newest."""
    query = normalize(query)
    if not query:
        scored = [(0, c) for c in candidates]
    else:
        query_terms = terms_of(query)
        scored = [(s, c) for c in candidates if (s := score(c, query, query_terms)) > 0]
    scored.sort(key=lambda pair: (-pair[0], -pair[1].usage_count, -pair[1].id))
    return scored
