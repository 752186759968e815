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
        "책임자 바꿔",
        "운영자님 계세요?",
        "전화 상담 가능해요? 직접 말하고 싶어요",
        "책임자분 연결해 주세요",
        "상담원이요 상담원",
        "챗봇 답답해요 상담원이요",
        "치아보험 감액 관련해서 사람한테 물어보고 싶어요 연결해주세요",
        "계정 정지 문제라 운영자님이랑 직접 얘기해야겠어요",
        "분실 배상 문제라 직원분이 직접 봐주셨으면 해요",
        "is there a real person here?",
        "Are there any humans around?",
        "can i call someone",
        "i need a human",
        "stop the bot and get me support staff",
        "no more bot please",
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
        "책임자 이메일 주소가 어떻게 되나요?",
        "Is there a human-readable invoice?",
        "전화 상담 가능한가요?",
        "직접 수령하고 싶어요",
        "운영자 모집 공고 있나요?",
        "다른 사람한테 양도할 수 있나요?",
        "사람이 직접 설치하러 오나요?",
        "사람한테 선물하고 싶어요",
        "상담원 교육은 어떻게 하세요",
        "Can I call customer service on weekends?",
        "I need a new phone",
        "get me a refund",
        "is this a bot?",
        "how do i add someone to my team",
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


@pytest.mark.parametrize(
    "text", ["이건 제 질문이 아니에요", "그거 아니에요", "질문이랑 상관없는 답이네요", "엉뚱한 답변이네요"]
)
def test_more_ways_of_saying_the_answer_did_not_help(text):
    assert rules.feedback(text) is False and rules.beyond_feedback(text) < 8


@pytest.mark.parametrize(
    ("text", "says_more"),
    [
        ("그건 도움이 안 됐어요", False),
        ("that didn't help", False),
        ("다른 거요", False),
        ("로그인이 안돼요 비밀번호 틀렸대요", True),
        ("그게 아니라 환불이요", True),
        ("no, I can't log in to my account at all", True),
    ],
)
def test_what_a_no_says_besides_the_verdict(text, says_more):
    from sodam.bot.dialogue import NEW_PROBLEM_CHARS

    assert (rules.beyond_feedback(text) >= NEW_PROBLEM_CHARS) is says_more


@pytest.mark.parametrize(
    "text",
    [
        "예약은 어떻게 하나요?",
        "네이버페이로 결제 가능해요?",
        "응급 상황이에요",
        "예외 있나요",
        "네 근데 배송비는요?",
        "좋아요 누르면 뭐가 돼요?",
        "okay so how do I return it",
        "great but where is it",
        "감사합니다 근데 교환은요?",
        "확인했는데 아직 안 왔어요",
    ],
)
def test_a_question_that_begins_like_a_yes_is_not_a_yes(text):
    """After an answer these are questions: '예약…' begins with '예', '네이버…' with '네'."""
    assert rules.feedback(text) is not True


@pytest.mark.parametrize(
    "text",
    ["네", "넵", "네네", "네!", "예 맞아요", "네 감사합니다", "응 해결됐어", "yes thanks", "ok", "thanks!"],
)
def test_a_plain_yes_is_a_yes(text):
    assert rules.feedback(text) is True
