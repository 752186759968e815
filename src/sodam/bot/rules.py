"""Small talk, "I want a person", and yes/no answers: rules, because these are short,
closed sets where a rule is exact and explainable (questions go to the knowledge base)."""

from __future__ import annotations

import re

from sodam.nlp.text import normalize

# Matched on normalised text with spaces removed, so "상담원 연결" == "상담원연결".
_HUMAN_KO = re.compile(
    r"(상담원|상담사|상담직원|직원|사람|매니저|담당자|책임자|실제사람|진짜사람)"
    r"(이랑|랑|하고|과|와|한테|에게|을|를|이|가|좀|분|님)*(직접|바로|좀|지금)*"
    r"(연결|바꿔|통화|얘기|이야기|대화|말|불러|부탁|요청|원해|원합니다|필요|채팅|상담하)"
    r"|^(상담원|상담사|사람|직원)(님|분)?(요|이요|좀)?[!?.~]*$"
    r"|(상담원|상담사|사람|실제사람|진짜사람)(이랑|랑|하고|과|와)?(상담|채팅|통화)(가능|되나|돼|할수|하고싶|원해)"
    r"|(상담원|상담사|직원|매니저|담당자|운영자|실제사람|진짜사람)(분|님)*(계세요|계신가요|계시나요|있나요|있어요|없나요)"
    r"|직접(말|얘기|이야기|통화|대화)(하고싶|할래|하고파|하게해|할수있)"
    r"|(챗봇|봇|로봇|자동응답|기계|ai)(이|가|은|는)?(말고|아니고|싫어|싫고)"
    # "상담원이요 상담원", "챗봇 답답해요 상담원이요": the word for a person, ending the message
    r"|(상담원|상담사|상담직원)(님|분)?(이요|요)?[!?.~]*((상담원|상담사)(님|분)?(이요|요)?[!?.~]*)*$"
    # "사람한테 물어보고 싶어요", "직원분이 직접 봐주셨으면", "운영자님이랑 직접 얘기해야겠어요"
    r"|(상담원|상담사|직원|사람|운영자|담당자)(분|님)*(한테|에게|이랑|랑|하고|과|와)(직접)?"
    r"(물어|설명|얘기|이야기|상담|문의|하고싶)"
    r"|(상담원|상담사|직원|사람|운영자|담당자)(분|님)*(이|가)직접(봐|처리|확인|상담|얘기|이야기|설명|연락)"
)
_HUMAN_EN = re.compile(
    r"\b(talk|speak|chat|connect|transfer)\b.*\b(human|person|agent|someone|representative|rep|staff|people)\b"
    r"|\b(human|real person|live agent|customer service|representative)\b\s*(please|pls)?$"
    r"|^(agent|human|operator)\b"
    r"|\b(is|are) (there|anyone|anybody)\b.*\b(real (person|people)|humans?(?![-\w])|live agents?)"
    r"|\b(call|phone|ring)\b (someone|somebody|a (person|human|real person)|an agent)\b"
    r"|\b(need|want) (a|an|to see a|to get a) (human|real person|live agent|agent)\b"
    r"|\bget me (a |an |some )?(human|person|real person|agent|someone|somebody|support|staff)\b"
    r"|\b(stop|enough with|no more) (the |this |a |your )?(bot|robot|chatbot)\b"
)
_GREETING_KO = re.compile(r"^(안녕하세요|안녕하십니까|안녕|하이|헬로|반갑습니다|여보세요|저기요)[.!?~ ]*$")
_GREETING_EN = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening)|yo)( there)?[.!? ]*$")
_THANKS_KO = re.compile(r"^(감사합니다|감사해요|고맙습니다|고마워요|고마워|땡큐|감사|ㄱㅅ)[.!?~ ]*$")
_THANKS_EN = re.compile(r"^(thanks|thank you|thx|ty|cheers)( (so|very) much)?[.!? ]*$")
# On the spaced and the compact text: a one-syllable yes only as a word of its own ("예약은요?",
# "네이버페이 되나요?", "응급이에요" are questions), the longer ones as they begin.
_YES_KO = re.compile(
    r"^((네|예|응|넵|넹|넴)+(?![가-힣])|(네|예|응|넵|넹)+(요|!|~|\.)"
    r"|맞아요|맞습니다|좋아요|됐어요|해결됐어요|도움이됐어요|도움이되었어요|도움됐어요|도움이돼요)"
)
# A yes, then a new question: "네 근데 배송비는요?", "okay so how do I return it" (spaced text).
_YES_THEN_QUESTION = re.compile(
    r"^\S+[,.!~]*\s+(근데|그런데|그럼|그러면|하지만|but|so|how|what|where|when|why|can|could|do|does|is)\b"
    r"|\?"
    # "확인했는데 아직 안 왔어요", "감사하지만 …": a yes-like start, then a "but" (compact or spaced).
    r"|^\S*(는데|은데|인데|지만)"
)
_NO_KO = re.compile(r"^(아니요|아뇨|아니|아니오|별로|안됐어요|도움이안|도움안|해결안|안돼요)")
_YES_EN = re.compile(r"^(yes|yep|yeah|y|ok|okay|sure|it helped|helpful|solved|great)\b")
_NO_EN = re.compile(r"^(no|nope|nah|not really|didn'?t help|did not help|not helpful)\b")
# A yes/no is short; a longer message is a new question even if it starts with "네".
_MAX_ANSWER_CHARS = 30

# Typed feedback about the bot's last answer, anywhere in a short message (compact text).
_NOT_HELPFUL_KO = re.compile(
    r"도움(이|은|도)?안(됐|되었|되네|돼|되)|도움(이|은)?(하나도|전혀)?안|도움(이|은)?되지않|도움안"
    r"|안(됐|되었)어|해결(이|은)?안|해결(이|은)?되지않|별로(예요|에요|네요|요)?$|다른(거|것|걸|답)"
    r"|그게아니|이게아니|그건아니|그거말고|이거말고|아닌데|틀렸|원하는(답|내용)이아니|이해가안"
    r"|소용없|쓸모없|모르겠는데|^아니(요|오|에요|예요)?$|^아뇨$|^노노?$|^ㄴㄴ$"
    r"|그거아니(에요|예요|야|라|고|거든)|질문(이|은)?아니|(엉뚱한|상관없는)(답|대답|내용|얘기|소리|글)"
)
_NOT_HELPFUL_EN = re.compile(
    r"\b(didn'?t|did not|doesn'?t|does not|not) (help|work|answer)|\bnot helpful|\bunhelpful|\buseless"
    r"|\bnot what i|\bsomething else|\bthat'?s not it|\bwrong (answer|article)|^(no|nope|nah)\b"
)
_HELPFUL_KO = re.compile(
    r"^(감사|고맙|고마워|땡큐|ㄱㅅ|해결(됐|되었|했)|도움(이|은)?(됐|되었|돼|되네)|알겠습니다|알겠어요"
    r"|확인(했|됐)|좋아요|좋네요|오케이|ㅇㅋ|완벽|덕분에)"
)
_HELPFUL_EN = re.compile(
    r"^(thanks|thank you|thx|ty|cheers|solved|that (helped|worked|works)|it (helped|worked)|great|perfect"
    r"|got it|awesome)\b"
)
_MAX_FEEDBACK_CHARS = 40

# A follow-up that only makes sense with the previous question: "그럼 교환은요?", "배송비는요?",
# "and exchanges?", "what about international?".
_FOLLOW_UP_KO = re.compile(
    r"^(그럼|그러면|그리고|그럼요|근데|아그럼|또|그건|그거)|(은요|는요|이요|도요|도돼요|도되나요)\??$"
)
_FOLLOW_UP_EN = re.compile(r"^(and|what about|how about|also|then)\b")
_MAX_FOLLOW_UP_CHARS = 25


def _compact(text: str) -> str:
    return normalize(text).replace(" ", "")


def wants_human(text: str) -> bool:
    """The customer asks for a person ("상담원 연결", "사람이랑 얘기하고 싶어요", "talk to a human")."""
    compact = _compact(text)
    spaced = normalize(text)
    return bool(_HUMAN_KO.search(compact) or _HUMAN_EN.search(spaced))


def small_talk(text: str) -> str | None:
    """'greeting' or 'thanks' when that is all the message says."""
    spaced = normalize(text)
    compact = spaced.replace(" ", "")
    if _GREETING_KO.match(compact) or _GREETING_EN.match(spaced):
        return "greeting"
    if _THANKS_KO.match(compact) or _THANKS_EN.match(spaced):
        return "thanks"
    return None


def yes_or_no(text: str) -> bool | None:
    """True for yes, False for no, None when the reply is neither (a new question)."""
    raw = (text or "").strip()
    if raw.startswith("👍"):
        return True
    if raw.startswith("👎"):
        return False
    if len(raw) > _MAX_ANSWER_CHARS:
        return None
    spaced = normalize(raw)
    compact = spaced.replace(" ", "")
    if _NO_KO.match(compact) or _NO_EN.match(spaced):
        return False
    if _YES_KO.match(spaced) or _YES_KO.match(compact) or _YES_EN.match(spaced):
        return None if _YES_THEN_QUESTION.search(spaced) else True
    return None


def feedback(text: str) -> bool | None:
    """What a short reply says about the last answer: True (it helped), False (it did not),
    None (neither: read it as a question). Wider than yes_or_no: "그건 도움이 안 됐어요",
    "다른 거요", "별로예요", "that didn't help"."""
    verdict = yes_or_no(text)
    if verdict is not None:
        return verdict
    raw = (text or "").strip()
    if len(raw) > _MAX_FEEDBACK_CHARS:
        return None
    spaced = normalize(raw)
    compact = spaced.replace(" ", "")
    if _NOT_HELPFUL_KO.search(compact) or _NOT_HELPFUL_EN.search(spaced):
        return False
    if _HELPFUL_KO.match(compact) or _HELPFUL_EN.match(spaced):
        return None if _YES_THEN_QUESTION.search(spaced) else True
    return None


_YES_NO_WORD = re.compile(
    r"^(네|예|응|넵|넹|아니요|아뇨|아니|아니오|노|ㅇㅇ|ㄴㄴ|yes|yep|yeah|no|nope|nah|ok|okay|sure)[.!~ ]*$"
)
# "아니요 괜찮아요", "no thanks": a no, then more words ("네 김예린이에요" may be a name: not a yes).
_NO_THEN_MORE = re.compile(r"^(아니요|아뇨|아니오|아니|no|nope|nah)[,.!~]* ")


def is_verdict(text: str) -> bool:
    """A reply that only judges the last answer ("네", "그건 도움이 안 됐어요", "감사합니다"), for
    a question whose answer may begin like a yes: feedback() reads "예린" or "아니타" as a
    yes or a no by their first syllable, this does not."""
    spaced = normalize((text or "").strip())
    compact = spaced.replace(" ", "")
    if _YES_NO_WORD.match(compact) or _YES_NO_WORD.match(spaced) or _NO_THEN_MORE.match(spaced):
        return True
    if len(compact) > _MAX_FEEDBACK_CHARS:
        return False
    return bool(
        _NOT_HELPFUL_KO.search(compact)
        or _NOT_HELPFUL_EN.search(spaced)
        or _HELPFUL_KO.match(compact)
        or _HELPFUL_EN.match(spaced)
    )


def beyond_feedback(text: str) -> int:
    """How many characters a message says besides its "not helpful" phrases (compact text):
    "로그인이 안돼요 비밀번호 틀렸대요" says a new problem, "그건 도움이 안 됐어요" nothing more."""
    spaced = normalize((text or "").strip())
    compact = _NOT_HELPFUL_KO.sub("", spaced.replace(" ", ""))
    return len(_NOT_HELPFUL_EN.sub("", spaced).replace(" ", "")) if compact.isascii() else len(compact)


def is_follow_up(text: str) -> bool:
    """A short message that leans on the previous question ("그럼 교환은요?")."""
    raw = (text or "").strip()
    if not raw or len(raw) > _MAX_FOLLOW_UP_CHARS:
        return False
    spaced = normalize(raw)
    compact = spaced.replace(" ", "")
    return bool(_FOLLOW_UP_KO.search(compact) or _FOLLOW_UP_EN.match(spaced))
