"""What the ranking takes and gives: a Document (an article's title, body, alternate questions
and its unit vectors), a SearchHit, the Confidence a bot thresholds, and a SearchResult."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Document:
    id: str
    title: str = ""
    body: str = ""
    alternate_questions: Sequence[str] = ()
    # Sentence vectors of the document's units per dense channel (nlp.encoders.article_units),
    # computed by a job ahead of time; None: lexical only until they exist.
    vectors: dict[str, np.ndarray] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SearchHit:
    doc_id: str
    score: float
    question_coverage: float  # share of the query's idf mass found in the best title/alternate question
    body_coverage: float
    # sqrt(query share found in the question × question share found in the query), best question
    # unit (title or alternate), idf-weighted over distinct terms: 1.0 = same terms both ways.
    match: float = 0.0
    # best sentence-vector similarity of the query to one of the article's units (-1: none)
    dense: float = -1.0
    # the idf-weighted share of the question's topic words (text.topic_words) the document does
    # not hold: 0 = it holds them all (fused ranking only; lexical hits read 0)
    lacks: float = 0.0


@dataclass(frozen=True)
class Confidence:
    """How sure the ranking is: a bot answers, offers choices or hands off on these numbers.

    coverage: how well the top article matches, 0..1: the best question's two-way
    term match (SearchHit.match), or 0.7 × the body's query coverage when the body
    matches better — an off-topic question shares few terms either way.
    margin: (top1 - top2) / top1 — near 0 means two articles are equally good.
    value: coverage + MARGIN_WEIGHT × min(margin, 1), what decision() thresholds.

    With sentence vectors (mode "fused"): coverage is the top article's dense similarity,
    value its fused score (nlp.fusion.fuse) and margin the absolute lead of the fused score
    over the second article's; thresholds are FUSED_*.
    """

    coverage: float
    margin: float
    ratio: float
    value: float
    mode: str = "lexical"

    # Chosen on the paraKQC dev split (bench/faq.py, `sodam bench faq --split dev`).
    # At these, 91 % of the dev split's off-topic queries are handed off (the target is
    # 90 %); a lower threshold answers more but hands fewer off (see docs/knowledge.md). One
    # threshold for both: a sure match is answered, or offered among the top three as choices
    # when the second article scores within 5 % of it.
    ANSWER_AT = 0.58
    CHOICES_AT = 0.58
    MIN_MARGIN = 0.05
    # On the decision's answer probability (nlp.fusion.answer_probability), chosen with it on the
    # Korean dev set (bench/faq_tune.py --train): the highest probability at which 91 % of the
    # issue's traffic mix to hand off is handed off (dev's business-like off-topic questions
    # weighted 8, the other off-topic ones 20, requests for a person 5; faq_tune.MIX_HANDOFF).
    # No choices band: offered choices are not a handoff.
    FUSED_ANSWER_AT = 0.2397
    FUSED_CHOICES_AT = 0.2397
    FUSED_MIN_MARGIN = 0.0

    def decision(
        self,
        *,
        answer_at: float | None = None,
        choices_at: float | None = None,
        min_margin: float | None = None,
    ) -> str:
        """ "answer", "choices" or "handoff" on value and margin (defaults: the class constants)."""
        fused = self.mode == "fused"
        if answer_at is None:
            answer_at = self.FUSED_ANSWER_AT if fused else self.ANSWER_AT
        if choices_at is None:
            choices_at = self.FUSED_CHOICES_AT if fused else self.CHOICES_AT
        if min_margin is None:
            min_margin = self.FUSED_MIN_MARGIN if fused else self.MIN_MARGIN
        if self.value >= answer_at and self.margin >= min_margin:
            return "answer"
        if self.value >= choices_at:
            return "choices"
        return "handoff"


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    confidence: Confidence

    def pairs(self) -> list[tuple[str, float]]:
        return [(h.doc_id, h.score) for h in self.hits]


NO_CONFIDENCE = Confidence(0.0, 0.0, 0.0, 0.0)

BODY_FACTOR = 0.7  # the body matches more loosely than a title or a question
MARGIN_WEIGHT = 0.3


def lexical_confidence(hits: list[SearchHit]) -> Confidence:
    """Lexical: value is the top article's coverage plus MARGIN_WEIGHT × its lead."""
    if not hits:
        return NO_CONFIDENCE
    s1 = hits[0].score
    s2 = hits[1].score if len(hits) > 1 else 0.0
    margin = max(0.0, (s1 - s2) / s1) if s1 > 0 else 0.0
    # The body matches more loosely (long text shares many words), so it counts for less.
    coverage = max(hits[0].match, BODY_FACTOR * hits[0].body_coverage)
    value = coverage + MARGIN_WEIGHT * min(1.0, margin)
    return Confidence(float(coverage), float(margin), float(s2 / s1) if s1 > 0 else 0.0, float(value))


def fused_confidence(hits: list[SearchHit], ranking: list[float]) -> Confidence:
    """Fused: value is the top article's answer probability (nlp.fusion.answer_probability),
    margin the lead of its ranking score over the second's."""
    if not hits:
        return NO_CONFIDENCE
    lead = ranking[0] - ranking[1] if len(ranking) > 1 else ranking[0]
    s1 = hits[0].score
    s2 = hits[1].score if len(hits) > 1 else 0.0
    return Confidence(
        float(hits[0].dense), float(max(0.0, lead)), float(s2 / s1) if s1 > 0 else 0.0, float(s1), "fused"
    )
