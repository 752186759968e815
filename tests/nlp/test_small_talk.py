"""The small-talk gate: chit-chat that shares a word with an article is handed off; a customer's
question, an English base and a strong match are not gated."""

import numpy as np
import pytest

from sodam.nlp import encoders, small_talk
from sodam.nlp.ranking import LexicalIndex
from tests.nlp.test_query_adapter import airline_index

needs_encoders = pytest.mark.skipif(
    not {"e5q", "use"} <= set(encoders.available_channels()), reason="needs both encoders"
)


def _vectors(text: str) -> dict[str, np.ndarray]:
    return {
        c: encoders.get_encoder(encoders.CHANNELS[c][0]).queries([text])[0]
        for c in encoders.available_channels()
    }


@pytest.fixture(scope="module")
def airline() -> LexicalIndex:
    return airline_index()


def test_the_shipped_gate_is_korean_only_and_reads_both_encoders():
    gate = small_talk.for_language("ko")
    assert gate is not None and len(gate.e5) == 384 and len(gate.use) == 512
    assert 0.0 < gate.threshold < 1.0
    assert small_talk.for_language("en") is None and small_talk.for_language(None) is None
    assert gate.probability({"e5q": np.ones(384, np.float32)}) is None  # no USE vector: no opinion
    assert gate.probability({"e5q": np.ones(256, np.float32), "use": np.ones(512, np.float32)}) is None


@needs_encoders
@pytest.mark.parametrize(
    "chat", ["로또 번호 뽑아줘", "점심 뭐 먹지?", "내일 서울 비 와요?", "심심한데 놀아줘요"]
)
def test_chit_chat_is_handed_off(airline, chat, monkeypatch):
    result = airline.query(chat, 3, _vectors(chat))
    assert result.confidence.decision() == "handoff"
    assert small_talk.for_language("ko").fires(_vectors(chat))
    # the gate, not the match, hands it off: the hits are still listed, below any threshold
    assert all(h.score == 0.0 for h in result.hits)


@needs_encoders
@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("댕댕이 데리고 비행기 탈 수 있어요?", "pet"),
        ("취소했는데 돈 언제 들어와요?", "refund"),
        ("애기 데리고 타면 돈 내야돼요?", "infant"),
        ("비행기 3시간 늦게 떴는데 보상 되나요", "delay"),
    ],
)
def test_a_customer_question_is_not_gated(airline, question, article):
    assert not small_talk.for_language("ko").fires(_vectors(question))
    result = airline.query(question, 3, _vectors(question))
    assert result.hits[0].doc_id == article
    assert result.hits[0].score > 0.0


@needs_encoders
def test_a_strong_match_is_answered_even_when_the_gate_fires(monkeypatch):
    gate = small_talk.for_language("ko")
    chat = "로또 번호 뽑아줘"
    assert gate.fires(_vectors(chat))
    assert small_talk.gated(_vectors(chat), "ko", best_answer=small_talk.GUARD - 0.01)
    assert not small_talk.gated(_vectors(chat), "ko", best_answer=small_talk.GUARD)
    assert not small_talk.gated(_vectors(chat), "en", best_answer=0.1)
    monkeypatch.setenv("SODAM_SMALL_TALK", "off")
    assert not small_talk.gated(_vectors(chat), "ko", best_answer=0.1)
