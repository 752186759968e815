"""A knowledge base of a few articles reads its decision against the shipped background (real
encoders, no database): what it holds is answered, what it does not is handed off."""

from __future__ import annotations

import numpy as np
import pytest

from sodam.knowledge.service import clean_query
from sodam.knowledge.vectors import encode_missing
from sodam.nlp import background, encoders
from sodam.nlp.ranking import Document, LexicalIndex
from tests.knowledge.helpers import ARTICLES

pytestmark = pytest.mark.skipif(not encoders.model_name("e5"), reason="the encoders are not installed")


# Two more of a shop's articles, title and body only, as a growing base adds them.
MORE_ARTICLES = [
    (
        "withdraw",
        "ko",
        "회원 탈퇴는 어떻게 하나요?",
        "마이페이지 > 계정 설정 > 회원 탈퇴에서 진행하실 수 있습니다. 탈퇴하시면 적립금은 복구되지 않습니다.",
        [],
    ),
    (
        "giftwrap",
        "ko",
        "선물 포장이 되나요?",
        "주문서의 선물 포장 항목을 선택하시면 2,000원에 포장해 드립니다. 메시지 카드도 함께 넣어 드립니다.",
        [],
    ),
]


def _index(language: str | None, more: int = 0) -> LexicalIndex:
    idx = LexicalIndex(language=language)
    docs = []
    for slug, locale, title, body, questions in ARTICLES + MORE_ARTICLES[:more]:
        if locale != "ko":
            continue
        units = encoders.article_units(title, body, questions)
        encoded = encode_missing({str(i): unit for i, unit in enumerate(units)})
        vectors: dict[str, list[np.ndarray]] = {}
        for i, (channel, _) in enumerate(units):
            vectors.setdefault(channel, []).append(encoded[str(i)])
        docs.append(
            Document(slug, title, body, tuple(questions), {c: np.stack(v) for c, v in vectors.items()})
        )
    idx.add_many(docs)
    return idx


def _result(idx: LexicalIndex, text: str):
    query, asked = idx.customer_question(clean_query(text))
    return idx.query(query, 5, encoders.query_vectors(query, idx.channels), asked=asked)


def _decide(idx: LexicalIndex, text: str) -> tuple[str, str | None]:
    result = _result(idx, text)
    return result.confidence.decision(), result.hits[0].doc_id if result.hits else None


def test_the_shipped_backgrounds_load_for_both_languages():
    for language in ("ko", "en"):
        shipped = background.for_language(language)
        assert shipped is not None and shipped.n_articles >= 50
        assert {"e5q", "e5p", "use", "e5s"} <= set(shipped.units)
    assert background.for_language("ja") is None


def test_a_three_article_base_hands_off_what_it_does_not_hold():
    with_background, without = _index("ko"), _index(None)
    # A receipt is none of shipping, refunds or a password: the closest article (the account's)
    # was the answer when a small base had no spread to read.
    assert _decide(without, "영수증 발급 되나요?") == ("answer", "account")
    assert _decide(with_background, "영수증 발급 되나요?")[0] == "handoff"
    # What the base holds, in a customer's words, is still answered with the right article.
    for text, slug in (
        ("택배 언제 와여", "shipping"),
        ("비번 까먹었어요", "account"),
        ("환불 받고싶어요ㅠ", "refunds"),
    ):
        assert _decide(with_background, text) == ("answer", slug)


def test_a_fifth_article_does_not_make_the_base_hand_off_what_it_answered():
    # A base's own z-scores over five articles are capped at √4 = 2: before the background's
    # prior, the fifth article the team wrote made the bot hand off questions it had answered.
    four, five = _index("ko", more=1), _index("ko", more=2)
    for text, slug in (
        ("택배 언제 와여", "shipping"),
        ("비번 까먹었어요", "account"),
        ("환불 받고싶어요ㅠ", "refunds"),
        ("탈퇴하고 싶어요", "withdraw"),
    ):
        at_four, at_five = _result(four, text), _result(five, text)
        assert _decide(four, text) == ("answer", slug)
        assert _decide(five, text) == ("answer", slug)
        assert at_five.confidence.value > 0.8 * at_four.confidence.value, text
    assert _decide(five, "선물 포장 되나요?") == ("answer", "giftwrap")
    assert _decide(five, "영수증 발급 되나요?")[0] == "handoff"
