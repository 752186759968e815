"""Kakao's rules with any clock: the 30-day session window, splitting at 1,000 characters,
알림톡 placeholders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sodam.kakao import rules

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def open_at(now, **kw):
    base = {"opened_at": T0, "last_user_message_at": T0, "ended_at": None, "blocked": False}
    return rules.session_open(**{**base, **kw}, now=now)


def test_a_session_stays_open_30_days_from_the_users_last_message():
    assert open_at(T0 + timedelta(days=29, hours=23))
    assert not open_at(T0 + timedelta(days=30))
    # A later message moves the window.
    later = T0 + timedelta(days=20)
    assert open_at(T0 + timedelta(days=49), last_user_message_at=later)
    assert not open_at(T0 + timedelta(days=50, seconds=1), last_user_message_at=later)
    # 상담 pressed but nothing written yet: open from the press.
    assert open_at(T0 + timedelta(days=1), last_user_message_at=None)


def test_ended_by_agent_user_or_block_and_never_opened_are_closed():
    assert not open_at(T0 + timedelta(hours=1), ended_at=T0 + timedelta(minutes=5))
    assert not open_at(T0 + timedelta(hours=1), blocked=True)
    assert not open_at(T0, opened_at=None, last_user_message_at=None)
    # Opened again after an end: open.
    assert open_at(T0 + timedelta(hours=1), ended_at=T0 - timedelta(days=1))


def test_long_replies_split_at_1000_characters_on_sentence_then_space_boundaries():
    sentence = "주문하신 상품은 오늘 출발합니다. "  # 19 characters
    text = sentence * 120  # ~2,280 characters
    parts = rules.split_text(text)
    assert len(parts) == 3
    assert all(len(p) <= 1000 for p in parts)
    assert all(p.endswith("출발합니다.") for p in parts)  # cut after a sentence, never inside one
    assert " ".join(parts) == text.strip()
    # No sentence end: at a space; no space at all: a hard cut.
    words = ("가나다라마 " * 300).strip()
    cut = rules.split_text(words)
    assert all(len(p) <= 1000 and not p.endswith(" ") for p in cut) and " ".join(cut) == words
    solid = "가" * 2500
    assert [len(p) for p in rules.split_text(solid)] == [1000, 1000, 500]
    assert rules.split_text("짧은 답변") == ["짧은 답변"]
    exact = "a" * 1000
    assert rules.split_text(exact) == [exact]


def test_template_placeholders_are_found_and_all_must_be_filled():
    body = "#{고객명}님, 주문 #{주문번호}이(가) 발송되었습니다. #{고객명}님 감사합니다."
    assert rules.template_variables(body) == ["고객명", "주문번호"]
    text, missing = rules.fill_template(body, {"고객명": "김민지"})
    assert missing == ["주문번호"]
    text, missing = rules.fill_template(body, {"고객명": "김민지", "주문번호": "A-1001"})
    assert missing == [] and text == "김민지님, 주문 A-1001이(가) 발송되었습니다. 김민지님 감사합니다."
    assert rules.fill_template(body, {"고객명": " ", "주문번호": "1"})[1] == ["고객명"]
