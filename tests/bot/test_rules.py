"""The bot's closed-set rules: asking for a person, small talk, yes/no."""

import pytest

from sodam.bot import rules


@pytest.mark.parametrize(
    "text",
    [
        "상담원 연결",
        "상담원연결해주세요",
        "사람이랑 얘기하고 싶어요",
        "직원분 불러주세요",
        "상담사랑 통화하고 싶어요",
        "talk to a human",
        "I want to speak to an agent please",
        "agent",
        "Can I talk to a real person?",
        "직원분 계세요?",
        "챗봇 말고 진짜 사람이랑 상담하고 싶어요",
        "교환 건으로 상담원분이랑 직접 얘기하고 싶은데요",
        "자동응답 말고 사람이요",
        "실제 사람 있어요?",
        "사람 상담 가능한가요?",
        "상담원!!!",
        "상담사랑 채팅 할 수 있나요",
    ],
)
def test_asks_for_a_person(text):
    assert rules.wants_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "배송기간 얼마나 걸려요?",
        "환불해주세여",
        "사람 수에 따라 요금이 달라지나요?",
        "How long does shipping take?",
        "Can I change my agent password?",
        "직원 할인 있나요",
        "담당자 이메일 알려주세요",
        "매장에 사람 많아요?",
        "두 사람 상담 예약도 되나요? 같이 받고 싶어요",
    ],
)
def test_questions_are_not_requests_for_a_person(text):
    assert not rules.wants_human(text)


def test_small_talk():
    assert rules.small_talk("안녕하세요~") == "greeting"
    assert rules.small_talk("hi there") == "greeting"
    assert rules.small_talk("감사합니다!!") == "thanks"
    assert rules.small_talk("thanks so much") == "thanks"
    assert rules.small_talk("안녕하세요 환불 문의드려요") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("네, 도움이 됐어요", True),
        ("넵", True),
        ("👍", True),
        ("yes it did", True),
        ("아니요", False),
        ("별로요", False),
        ("👎", False),
        ("no", False),
        ("your shipping fee?", None),
        ("환불은요?", None),
        ("네 그런데 배송비는 얼마인가요 그리고 환불은 어떻게 하나요?", None),
    ],
)
def test_yes_or_no(text, expected):
    assert rules.yes_or_no(text) is expected
