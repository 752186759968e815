"""Question types, the default questions of CSAT / NPS / CES surveys, checking a survey's
questions and a recipient's answers, and the scoring rules. Pure functions (no I/O)."""

from __future__ import annotations

import re
from typing import Any

from sodam.core.errors import Invalid

# type -> (lowest, highest) for the scored types
SCALES: dict[str, tuple[int, int]] = {
    "csat": (1, 5),
    "nps": (0, 10),
    "ces": (1, 7),
    "scale": (1, 10),
    "likert": (1, 5),
}
CHOICE_TYPES = ("single", "multi")
TYPES = (*SCALES, *CHOICE_TYPES, "text")
# The customer's survey kinds: their headline question and when an answer escalates.
HEADLINE = {"csat": "csat", "nps": "nps", "ces": "ces"}
# CSAT ≤ 2, NPS ≤ 3, CES ≥ 6 (a high CES means it was hard).
DEFAULT_ESCALATE_AT = {"csat": 2, "nps": 3, "ces": 6}
STRONGLY_NEGATIVE = -0.6  # a comment's sentiment at or under this escalates
MAX_QUESTIONS = 30
MAX_TEXT = 2000
_ID = re.compile(r"^[a-z0-9_-]{1,20}$")

DEFAULT_QUESTIONS: dict[str, list[dict[str, Any]]] = {
    "csat": [
        {
            "id": "score",
            "type": "csat",
            "required": True,
            "text": {"ko": "상담은 만족스러우셨나요?", "en": "How satisfied were you with our help?"},
        },
        {
            "id": "comment",
            "type": "text",
            "required": False,
            "text": {
                "ko": "더 하실 말씀이 있으신가요? (선택)",
                "en": "Anything else you would like to tell us? (optional)",
            },
        },
    ],
    "nps": [
        {
            "id": "score",
            "type": "nps",
            "required": True,
            "text": {
                "ko": "저희를 친구나 동료에게 추천하실 가능성은 얼마나 되시나요?",
                "en": "How likely are you to recommend us to a friend or colleague?",
            },
        },
        {
            "id": "comment",
            "type": "text",
            "required": False,
            "text": {
                "ko": "그렇게 평가하신 이유를 알려 주세요. (선택)",
                "en": "What is the main reason for your score? (optional)",
            },
        },
    ],
    "ces": [
        {
            "id": "score",
            "type": "ces",
            "required": True,
            "text": {
                "ko": "문제를 해결하기가 얼마나 어려우셨나요? (1 매우 쉬움 – 7 매우 어려움)",
                "en": "How hard was it to get your issue resolved? (1 very easy – 7 very hard)",
            },
        },
        {
            "id": "comment",
            "type": "text",
            "required": False,
            "text": {
                "ko": "더 하실 말씀이 있으신가요? (선택)",
                "en": "Anything else you would like to tell us? (optional)",
            },
        },
    ],
}


def _texts(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, str):
        value = {"ko": value, "en": value}
    if not isinstance(value, dict) or not str(value.get("ko") or value.get("en") or "").strip():
        raise Invalid(f"{where}: a text in ko and/or en is required", code="invalid_question")
    ko = str(value.get("ko") or value.get("en")).strip()[:500]
    en = str(value.get("en") or value.get("ko")).strip()[:500]
    return {"ko": ko, "en": en}


def clean_questions(kind: str, questions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The survey's questions as stored; a CSAT / NPS / CES survey without questions gets the
    defaults, and always keeps its headline question first."""
    if not questions:
        if kind in DEFAULT_QUESTIONS:
            return [dict(q) for q in DEFAULT_QUESTIONS[kind]]
        raise Invalid("a custom survey needs at least one question", code="invalid_question")
    if len(questions) > MAX_QUESTIONS:
        raise Invalid(f"at most {MAX_QUESTIONS} questions", code="invalid_question")
    out, seen = [], set()
    for i, raw in enumerate(questions):
        if not isinstance(raw, dict):
            raise Invalid(f"question {i + 1} must be an object", code="invalid_question")
        qtype = raw.get("type")
        if qtype not in TYPES:
            raise Invalid(
                f"question {i + 1}: type must be one of {', '.join(TYPES)}", code="invalid_question"
            )
        qid = str(raw.get("id") or f"q{i + 1}")
        if not _ID.match(qid) or qid in seen:
            raise Invalid(f"question {i + 1}: id must be unique, a-z 0-9 _ -", code="invalid_question")
        seen.add(qid)
        q: dict[str, Any] = {
            "id": qid,
            "type": qtype,
            "required": bool(raw.get("required", qtype != "text")),
            "text": _texts(raw.get("text"), f"question {i + 1}"),
        }
        if qtype in CHOICE_TYPES:
            options = raw.get("options") or []
            if not isinstance(options, list) or not 2 <= len(options) <= 20:
                raise Invalid(f"question {i + 1}: 2 to 20 options", code="invalid_question")
            q["options"] = []
            for j, opt in enumerate(options):
                oid = str((opt or {}).get("id") or f"o{j + 1}") if isinstance(opt, dict) else f"o{j + 1}"
                text = opt.get("text") if isinstance(opt, dict) else opt
                q["options"].append({"id": oid, "text": _texts(text, f"question {i + 1} option {j + 1}")})
            if len({o["id"] for o in q["options"]}) != len(q["options"]):
                raise Invalid(f"question {i + 1}: option ids must be unique", code="invalid_question")
        out.append(q)
    headline = HEADLINE.get(kind)
    if headline and out[0]["type"] != headline:
        raise Invalid(f"a {kind} survey starts with a {headline} question", code="invalid_question")
    return out


def clean_answers(questions: list[dict[str, Any]], raw: dict[str, Any]) -> dict[str, Any]:
    """A recipient's answers, checked against the questions (unknown ids refused)."""
    if not isinstance(raw, dict):
        raise Invalid("answers must be an object", code="invalid_answer")
    by_id = {q["id"]: q for q in questions}
    unknown = set(raw) - set(by_id)
    if unknown:
        raise Invalid("unknown question ids", code="invalid_answer", details={"questions": sorted(unknown)})
    out: dict[str, Any] = {}
    for q in questions:
        value = raw.get(q["id"])
        if value is None or value == "" or value == []:
            if q["required"]:
                raise Invalid(
                    "this question needs an answer", code="answer_required", details={"question": q["id"]}
                )
            continue
        out[q["id"]] = _one(q, value)
    return out


def _one(q: dict[str, Any], value: Any) -> Any:
    qtype = q["type"]
    bad = Invalid("an answer out of range", code="invalid_answer", details={"question": q["id"]})
    if qtype in SCALES:
        low, high = SCALES[qtype]
        if isinstance(value, bool):
            raise bad
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise bad from None
        if str(number) != str(value).strip() or not low <= number <= high:
            raise bad
        return number
    if qtype == "text":
        if not isinstance(value, str) or "\x00" in value:
            raise bad
        return value.strip()[:MAX_TEXT]
    options = {o["id"] for o in q["options"]}
    if qtype == "single":
        if not isinstance(value, str) or value not in options:
            raise bad
        return value
    values = value if isinstance(value, list) else [value]
    if not values or any(not isinstance(v, str) or v not in options for v in values):
        raise bad
    return sorted(set(values), key=[o["id"] for o in q["options"]].index)


def headline_score(kind: str, answers: dict[str, Any], questions: list[dict[str, Any]]) -> int | None:
    """The score of a CSAT / NPS / CES survey's first question (None for a custom survey)."""
    if kind not in HEADLINE or not questions:
        return None
    value = answers.get(questions[0]["id"])
    return int(value) if value is not None else None


def comment_of(answers: dict[str, Any], questions: list[dict[str, Any]]) -> str | None:
    """The open-text answers joined (what sentiment and the console read)."""
    texts = [answers[q["id"]] for q in questions if q["type"] == "text" and answers.get(q["id"])]
    return "\n".join(texts) or None


def escalates(kind: str, score: int | None, threshold: int | None) -> bool:
    """Whether a score calls for a 매니저: at or under the threshold (CES: at or over)."""
    if score is None or kind not in DEFAULT_ESCALATE_AT:
        return False
    at = DEFAULT_ESCALATE_AT[kind] if threshold is None else threshold
    return score >= at if kind == "ces" else score <= at


def localised(question: dict[str, Any], language: str) -> dict[str, Any]:
    """A question with its texts in one language (ko or en)."""
    lang = "en" if language == "en" else "ko"
    out = {**question, "text": question["text"][lang]}
    if "options" in question:
        out["options"] = [{"id": o["id"], "text": o["text"][lang]} for o in question["options"]]
    if question["type"] in SCALES:
        out["min"], out["max"] = SCALES[question["type"]]
    return out
