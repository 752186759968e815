"""Anonymous employee feedback: internal surveys that agents answer in the console.

An answer can never be tied to an agent: `staff_answers` holds a random uuid, the survey,
the day and the answers — no agent id, no time finer than the day, no sequence that follows
the order of answers; `staff_answered` says only that an agent answered (so they are not
asked twice), with no time and no reference to the answer. Both are written in one
transaction. Results are shown only as aggregates, and only once MIN_GROUP answers exist.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.core.errors import Conflict
from sodam.surveys import questions as Q
from sodam.surveys import service
from sodam.surveys.models import StaffAnswer, StaffAnswered, Survey

MIN_GROUP = 3


async def open_surveys(
    session: AsyncSession, *, workspace_id: int, agent_id: int
) -> list[tuple[Survey, bool]]:
    """The workspace's active internal surveys, each with whether this agent has answered it."""
    rows = await session.execute(
        select(Survey, StaffAnswered.agent_id.isnot(None))
        .outerjoin(
            StaffAnswered,
            (StaffAnswered.survey_id == Survey.id) & (StaffAnswered.agent_id == agent_id),
        )
        .where(Survey.workspace_id == workspace_id, Survey.audience == "agents", Survey.is_active.is_(True))
        .order_by(Survey.id.desc())
    )
    return [(survey, bool(done)) for survey, done in rows.all()]


async def answer(
    session: AsyncSession, *, workspace_id: int, survey_id: int, agent_id: int, answers: dict[str, Any]
) -> None:
    """Store an agent's answer anonymously (409 already_answered for a second one)."""
    survey = await service.get(session, workspace_id=workspace_id, survey_id=survey_id, audience="agents")
    if not survey.is_active:
        raise service.Expired("this survey is closed")
    cleaned = Q.clean_answers(survey.questions, answers)
    marked = await session.scalar(
        pg_insert(StaffAnswered)
        .values(workspace_id=workspace_id, survey_id=survey.id, agent_id=agent_id)
        .on_conflict_do_nothing()
        .returning(StaffAnswered.agent_id)
    )
    if marked is None:
        raise Conflict("you have already answered this survey", code="already_answered")
    # No id, no time from here: the database draws the uuid and the day.
    await session.execute(
        pg_insert(StaffAnswer).values(workspace_id=workspace_id, survey_id=survey.id, answers=cleaned)
    )


async def results(session: AsyncSession, *, workspace_id: int, survey_id: int) -> dict[str, Any]:
    """Aggregates only, and nothing at all under MIN_GROUP answers: per question the counts of
    each value (and the mean of a scale); open texts as a shuffled list."""
    survey = await service.get(session, workspace_id=workspace_id, survey_id=survey_id, audience="agents")
    total = int(
        await session.scalar(
            select(func.count())
            .select_from(StaffAnswer)
            .where(StaffAnswer.workspace_id == workspace_id, StaffAnswer.survey_id == survey.id)
        )
        or 0
    )
    out: dict[str, Any] = {
        "survey_id": survey.id,
        "answers": total,
        "min_group": MIN_GROUP,
        "shown": total >= MIN_GROUP,
    }
    if total < MIN_GROUP:
        out["questions"] = []
        return out
    rows = list(
        await session.scalars(
            select(StaffAnswer.answers)
            .where(StaffAnswer.workspace_id == workspace_id, StaffAnswer.survey_id == survey.id)
            .order_by(func.random())
        )
    )
    questions = []
    for q in survey.questions:
        values = [r[q["id"]] for r in rows if q["id"] in r]
        item: dict[str, Any] = {"id": q["id"], "type": q["type"], "text": q["text"], "answered": len(values)}
        if q["type"] == "text":
            item["texts"] = values
        else:
            counts: dict[str, int] = {}
            if q["type"] in Q.SCALES:
                low, high = Q.SCALES[q["type"]]
                counts = {str(v): 0 for v in range(low, high + 1)}
            else:
                counts = {o["id"]: 0 for o in q["options"]}
            for v in values:
                for one in v if isinstance(v, list) else [v]:
                    counts[str(one)] = counts.get(str(one), 0) + 1
            item["distribution"] = counts
            if q["type"] in Q.SCALES and values:
                item["mean"] = round(sum(values) / len(values), 2)
        questions.append(item)
    out["questions"] = questions
    return out
