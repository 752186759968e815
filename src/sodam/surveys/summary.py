"""A survey's figures: counts, CSAT % (share of 4–5), NPS (% promoters − % detractors, with
the three shares), CES mean, and every question's distribution. One pass over the answers in
SQL for the headline, one for the distributions; an empty survey gives zeros and nulls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.surveys import questions as Q
from sodam.surveys.models import Survey

_HEADLINE = text(
    """
    SELECT count(*) AS answers,
           count(score) AS scored,
           count(*) FILTER (WHERE score >= 4) AS csat_positive,
           count(*) FILTER (WHERE score >= 9) AS promoters,
           count(*) FILTER (WHERE score BETWEEN 7 AND 8) AS passives,
           count(*) FILTER (WHERE score <= 6) AS detractors,
           avg(score)::float AS mean,
           count(comment) AS comments
      FROM survey_answers
     WHERE workspace_id = :ws AND survey_id = :survey
    """
)
_SENT = text(
    "SELECT count(*) FROM survey_recipients WHERE workspace_id = :ws AND survey_id = :survey AND sent_at IS NOT NULL"
)
# Each answered value of each question: scalars as themselves, multi-choice one per option.
_DISTRIBUTION = text(
    """
    SELECT q.key AS question, v.value AS value, count(*) AS n
      FROM survey_answers a
     CROSS JOIN LATERAL jsonb_each(a.answers) q
     CROSS JOIN LATERAL (
           SELECT elem #>> '{}' AS value FROM jsonb_array_elements(
               CASE WHEN jsonb_typeof(q.value) = 'array' THEN q.value ELSE jsonb_build_array(q.value) END) elem
     ) v
     WHERE a.workspace_id = :ws AND a.survey_id = :survey
     GROUP BY 1, 2
    """
)


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def nps_of(promoters: int, passives: int, detractors: int) -> dict[str, Any]:
    """NPS = % promoters − % detractors (−100..100), with the three shares; None when empty."""
    total = promoters + passives + detractors
    if not total:
        return {
            "score": None,
            "promoters": 0,
            "passives": 0,
            "detractors": 0,
            "promoters_pct": None,
            "passives_pct": None,
            "detractors_pct": None,
        }
    return {
        "score": round(100.0 * (promoters - detractors) / total, 1),
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "promoters_pct": _share(promoters, total),
        "passives_pct": _share(passives, total),
        "detractors_pct": _share(detractors, total),
    }


async def summarise(session: AsyncSession, *, survey: Survey) -> dict[str, Any]:
    """Counts, the kind's headline figure and per-question distributions."""
    params = {"ws": survey.workspace_id, "survey": survey.id}
    h = (await session.execute(_HEADLINE, params)).mappings().one()
    sent = int(await session.scalar(_SENT, params) or 0)
    rows = (await session.execute(_DISTRIBUTION, params)).all()
    counts: dict[str, dict[str, int]] = {}
    for question, value, n in rows:
        counts.setdefault(question, {})[value] = int(n)
    out: dict[str, Any] = {
        "survey_id": survey.id,
        "kind": survey.kind,
        "sent": sent,
        "answers": int(h["answers"]),
        "response_rate": _share(int(h["answers"]), sent),
        "comments": int(h["comments"]),
        "csat": None,
        "nps": None,
        "ces": None,
        "questions": [],
    }
    scored = int(h["scored"])
    if survey.kind == "csat":
        out["csat"] = {
            "positive": int(h["csat_positive"]),
            "scored": scored,
            "percent": _share(int(h["csat_positive"]), scored),
        }
    elif survey.kind == "nps":
        out["nps"] = nps_of(int(h["promoters"]), int(h["passives"]), int(h["detractors"]))
    elif survey.kind == "ces":
        out["ces"] = {"mean": round(h["mean"], 2) if h["mean"] is not None else None, "scored": scored}
    for q in survey.questions:
        seen = counts.get(q["id"], {})
        if q["type"] in Q.SCALES:
            low, high = Q.SCALES[q["type"]]
            values = [str(v) for v in range(low, high + 1)]
        elif q["type"] in Q.CHOICE_TYPES:
            values = [o["id"] for o in q["options"]]
        else:
            values = []
        item: dict[str, Any] = {"id": q["id"], "type": q["type"], "answered": sum(seen.values())}
        if q["type"] == "text":
            item["answered"] = sum(seen.values())
        else:
            item["distribution"] = {v: seen.get(v, 0) for v in values}
        if q["type"] in Q.SCALES and item["answered"]:
            item["mean"] = round(sum(int(v) * n for v, n in seen.items()) / item["answered"], 2)
        out["questions"].append(item)
    return out
