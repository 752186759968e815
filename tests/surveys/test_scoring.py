"""Each survey kind with its scoring, on known answers: CSAT % (share of 4–5), NPS (% promoters
− % detractors with the three shares), CES mean, custom question distributions; an empty
survey gives zeros and nulls; answers are checked against the questions."""

from __future__ import annotations

import pytest

from sodam.core.errors import Invalid
from sodam.db.session import session_scope
from sodam.surveys import questions as Q
from sodam.surveys import service as surveys
from sodam.surveys.summary import nps_of, summarise
from tests.surveys.helpers import answer_as_new_contact, make_survey


async def _summary(ws, survey_id: int) -> dict:
    async with session_scope() as session:
        survey = await surveys.get(session, workspace_id=ws.workspace_id, survey_id=survey_id)
        return await summarise(session, survey=survey)


def test_nps_arithmetic():
    # 5 promoters, 3 passives, 2 detractors of 10: 50 % − 20 % = 30
    assert nps_of(5, 3, 2) == {
        "score": 30.0,
        "promoters": 5,
        "passives": 3,
        "detractors": 2,
        "promoters_pct": 50.0,
        "passives_pct": 30.0,
        "detractors_pct": 20.0,
    }
    assert nps_of(0, 0, 4)["score"] == -100.0
    assert nps_of(0, 0, 0)["score"] is None


async def test_nps_summary_on_known_answers(make_workspace):
    ws = await make_workspace()
    survey_id = await make_survey(ws, "nps")
    empty = await _summary(ws, survey_id)
    assert empty["answers"] == 0 and empty["sent"] == 0 and empty["response_rate"] is None
    assert empty["nps"] == nps_of(0, 0, 0)
    assert empty["csat"] is None and empty["ces"] is None
    assert empty["questions"][0]["distribution"] == {str(v): 0 for v in range(11)}
    # 10, 9, 9 promoters; 8, 7 passives; 6, 3, 0 detractors → (3 − 3) / 8 = 0; then one more 10
    for score in (10, 9, 9, 8, 7, 6, 3, 0, 10):
        await answer_as_new_contact(ws, survey_id, {"score": score})
    m = await _summary(ws, survey_id)
    assert m["answers"] == 9 and m["sent"] == 9 and m["response_rate"] == 100.0
    assert m["nps"]["promoters"] == 4 and m["nps"]["passives"] == 2 and m["nps"]["detractors"] == 3
    assert m["nps"]["score"] == round(100 * (4 - 3) / 9, 1) == 11.1
    assert m["nps"]["promoters_pct"] == 44.4 and m["nps"]["detractors_pct"] == 33.3
    assert m["questions"][0]["distribution"]["9"] == 2 and m["questions"][0]["distribution"]["5"] == 0


async def test_csat_percent_and_ces_mean(make_workspace):
    ws = await make_workspace()
    csat = await make_survey(ws, "csat")
    for score, comment in ((5, None), (4, "좋았어요"), (3, None), (1, "별로였어요")):
        await answer_as_new_contact(ws, csat, {"score": score, "comment": comment})
    m = await _summary(ws, csat)
    assert m["csat"] == {"positive": 2, "scored": 4, "percent": 50.0}
    assert m["comments"] == 2
    assert m["questions"][1] == {"id": "comment", "type": "text", "answered": 2}
    assert (await _summary(ws, await make_survey(ws, "csat")))["csat"] == {
        "positive": 0,
        "scored": 0,
        "percent": None,
    }

    ces = await make_survey(ws, "ces")
    for score in (1, 2, 7):
        await answer_as_new_contact(ws, ces, {"score": score})
    m = await _summary(ws, ces)
    assert m["ces"] == {"mean": 3.33, "scored": 3}
    assert (await _summary(ws, await make_survey(ws, "ces")))["ces"] == {"mean": None, "scored": 0}


CUSTOM = [
    {
        "id": "age",
        "type": "single",
        "text": {"ko": "연령대", "en": "Age"},
        "options": [
            {"id": "20s", "text": "20대"},
            {"id": "30s", "text": "30대"},
            {"id": "40s", "text": "40대 이상"},
        ],
    },
    {
        "id": "used",
        "type": "multi",
        "text": {"ko": "이용한 채널", "en": "Channels used"},
        "options": [
            {"id": "web", "text": "웹"},
            {"id": "app", "text": "앱"},
            {"id": "phone", "text": "전화"},
        ],
    },
    {"id": "ease", "type": "scale", "text": {"ko": "앱 사용 편의성", "en": "App ease of use"}},
    {"id": "agree", "type": "likert", "text": {"ko": "상담원이 친절했다", "en": "The agent was kind"}},
    {"id": "why", "type": "text", "required": False, "text": {"ko": "이유", "en": "Why"}},
]


async def test_custom_survey_distributions(make_workspace):
    ws = await make_workspace()
    survey_id = await make_survey(ws, "custom", questions=CUSTOM)
    await answer_as_new_contact(
        ws, survey_id, {"age": "20s", "used": ["app", "web"], "ease": 8, "agree": 5, "why": "빨라요"}
    )
    await answer_as_new_contact(ws, survey_id, {"age": "20s", "used": ["web"], "ease": "10", "agree": 4})
    await answer_as_new_contact(ws, survey_id, {"age": "40s", "used": ["phone"], "ease": 3, "agree": 1})
    m = await _summary(ws, survey_id)
    q = {x["id"]: x for x in m["questions"]}
    assert q["age"]["distribution"] == {"20s": 2, "30s": 0, "40s": 1}
    assert q["used"]["distribution"] == {"web": 2, "app": 1, "phone": 1}
    assert q["ease"]["mean"] == 7.0 and q["ease"]["distribution"]["10"] == 1
    assert q["agree"]["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1}
    assert q["why"]["answered"] == 1
    assert m["csat"] is None and m["nps"] is None and m["ces"] is None


def test_answers_are_checked_against_the_questions():
    questions = Q.clean_questions("custom", CUSTOM)
    assert questions[0]["text"] == {"ko": "연령대", "en": "Age"}
    assert questions[0]["options"][0]["text"] == {"ko": "20대", "en": "20대"}
    for bad in (
        {"age": "50s", "used": ["web"], "ease": 5, "agree": 3},  # unknown option
        {"age": "20s", "used": ["web"], "ease": 11, "agree": 3},  # out of range
        {"age": "20s", "used": ["web"], "ease": 5, "agree": True},  # not a number
        {"age": "20s", "used": ["web"], "ease": 5, "agree": 3, "extra": 1},  # unknown question
        {"used": ["web"], "ease": 5, "agree": 3},  # a required one missing
    ):
        with pytest.raises(Invalid):
            Q.clean_answers(questions, bad)
    with pytest.raises(Invalid):
        Q.clean_questions("nps", [{"type": "csat", "text": "x"}])  # an NPS survey starts with NPS
    assert [q["type"] for q in Q.clean_questions("csat", None)] == ["csat", "text"]


def test_escalation_thresholds():
    assert Q.escalates("csat", 2, None) and not Q.escalates("csat", 3, None)
    assert Q.escalates("nps", 3, None) and not Q.escalates("nps", 4, None)
    assert Q.escalates("ces", 6, None) and not Q.escalates("ces", 5, None)  # high CES = hard
    assert Q.escalates("csat", 3, 3) and not Q.escalates("custom", 1, None)
