"""A contact's survey answers in their data export, and forgotten on erasure (the scores stay
for the figures, without the person: the contact row itself is anonymised by the caller)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.surveys.models import Survey, SurveyAnswer


async def export_for_contact(
    session: AsyncSession, *, workspace_id: int, contact_id: int
) -> list[dict[str, Any]]:
    """Every survey answer of the contact, oldest first."""
    rows = await session.execute(
        select(SurveyAnswer, Survey.name)
        .join(Survey, Survey.id == SurveyAnswer.survey_id)
        .where(SurveyAnswer.workspace_id == workspace_id, SurveyAnswer.contact_id == contact_id)
        .order_by(SurveyAnswer.id)
    )
    return [
        {
            "survey": name,
            "kind": a.kind,
            "score": a.score,
            "answers": a.answers,
            "comment": a.comment,
            "conversation_id": a.conversation_id,
            "answered_at": a.created_at.isoformat(),
            "updated_at": a.updated_at.isoformat() if a.updated_at else None,
        }
        for a, name in rows.all()
    ]


async def forget_contact(session: AsyncSession, *, workspace_id: int, contact_id: int) -> int:
    """Blank the comments and open-text answers the contact wrote; returns how many answers."""
    rows = await session.execute(
        select(SurveyAnswer, Survey.questions)
        .join(Survey, Survey.id == SurveyAnswer.survey_id)
        .where(SurveyAnswer.workspace_id == workspace_id, SurveyAnswer.contact_id == contact_id)
    )
    count = 0
    for answer, questions in rows.all():
        texts = {q["id"] for q in questions if q.get("type") == "text"}
        answer.answers = {k: v for k, v in (answer.answers or {}).items() if k not in texts}
        answer.comment = None
        answer.comment_sentiment = None
        count += 1
    await session.flush()
    return count
