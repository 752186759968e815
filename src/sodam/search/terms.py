"""Search terms and highlighting: pure functions over `sodam.nlp.text` (kiwipiepy morphemes
for Korean, light stems for English). CPU work: callers run them off the event loop.

A message and a query go through the same analysis, so "환불했어요" (환불/NNG 하/XSV 었/EP
어요/EF) and "환불하고 싶어요" share the term 환불, and "refunded" meets "refunds" as
"refund". The highlight finds, in the original text, the spans whose analysis gives a
query term (Kiwi reports where each morpheme starts), and returns escaped HTML with
<mark> around them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

from sodam.nlp.text import english_tokens, get_kiwi, has_hangul, morphemes_batch, normalize, stem

# Words that would make every English query an AND over noise.
STOPWORDS = frozenset(
    "a an and are as at be but by do for from had has have i if in is it its me my no not of on or"
    " our so that the their them they this to was we were what when where which who will with you"
    " your".split()
)
MAX_TERM_CHARS = 60  # a tsvector lexeme must stay well under its 2 KB limit
MAX_QUERY_TERMS = 12
SNIPPET_CHARS = 160
_CONTENT_TAGS = frozenset({"NNG", "NNP", "NR", "VV", "VA", "XR", "MAG", "SL", "SH", "SN"})
_EN_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


def _clean(terms: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for term in terms:
        if term and term not in STOPWORDS and len(term) <= MAX_TERM_CHARS:
            seen.setdefault(term, None)
    return list(seen)


def terms_batch(texts: Sequence[str]) -> list[list[str]]:
    """The distinct terms of each text (Kiwi analyses the Korean ones as one batch)."""
    normalized = [normalize(t or "") for t in texts]
    out: list[list[str]] = [[] for _ in texts]
    korean = [i for i, t in enumerate(normalized) if has_hangul(t)]
    for i, t in enumerate(normalized):
        if not has_hangul(t):
            out[i] = _clean(english_tokens(t, normalized=True))
    if korean:
        analysed = morphemes_batch([normalized[i] for i in korean], normalized=True)
        for i, terms in zip(korean, analysed, strict=True):
            out[i] = _clean(terms)
    return out


def query_terms(query: str) -> list[str]:
    """The terms a search looks for (all of them must be in a message)."""
    (terms,) = terms_batch([query])
    return terms[:MAX_QUERY_TERMS]


def _quote(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(terms: Sequence[str]) -> str:
    """A tsvector's text form for these terms (no positions); '' for none."""
    return " ".join(_quote(t) for t in terms)


def tsquery_literal(terms: Sequence[str]) -> str:
    """Every term required."""
    return " & ".join(_quote(t) for t in terms)


def _spans(content: str, wanted: set[str], analysed=None) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if has_hangul(content):
        for tok in analysed if analysed is not None else get_kiwi().tokenize(content):
            tag = tok.tag.split("-", 1)[0]
            if tag not in _CONTENT_TAGS:
                continue
            form = tok.form.lower()
            if (stem(form) if tag == "SL" else form) in wanted:
                spans.append((tok.start, tok.start + tok.len))
    else:
        for m in _EN_WORD.finditer(content):
            if stem(m.group(0).lower()) in wanted:
                spans.append((m.start(), m.end()))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight_many(contents: Sequence[str], terms: Sequence[str]) -> list[tuple[Markup, int]]:
    """highlight() for a page of hits, the Korean ones analysed as one Kiwi batch."""
    korean = [i for i, c in enumerate(contents) if c and has_hangul(c)]
    analysed: dict[int, list] = {}
    if korean and terms:
        analysed = dict(zip(korean, get_kiwi().tokenize([contents[i] for i in korean]), strict=True))
    return [highlight(c, terms, analysed=analysed.get(i)) for i, c in enumerate(contents)]


def highlight(
    content: str, terms: Sequence[str], *, width: int = SNIPPET_CHARS, analysed=None
) -> tuple[Markup, int]:
    """(escaped HTML of a snippet around the first match with <mark> on every match, matches)."""
    content = content or ""
    spans = _spans(content, set(terms), analysed) if terms else []
    start = 0
    if spans and len(content) > width:
        start = max(0, min(spans[0][0] - width // 3, len(content) - width))
    end = min(len(content), start + width)
    parts: list[str] = ["…"] if start > 0 else []
    at = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        parts.append(str(escape(content[at:s])))
        parts.append(f"<mark>{escape(content[s:e])}</mark>")
        at = e
    parts.append(str(escape(content[at:end])))
    if end < len(content):
        parts.append("…")
    # Every part above is escaped text or a <mark> around escaped text.
    return Markup("".join(parts)), len(spans)  # noqa: S704
