"""A low score or a strongly negative comment goes to a 매니저 at once: the conversation is
reopened (or one is opened for an answer without one) as urgent, tagged, assigned to a
supervisor of its team when there is one, with a private note holding the answer and a link
to the original conversation; the consoles are told over the socket. Run as a durable job
(tasks.py), once per answer (survey_escalations.answer_id is unique)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.accounts.models import Agent, Role
from sodam.channels.models import Inbox
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, MessageKind, Priority, SenderType, Status
from sodam.notifications import service as notifications
from sodam.surveys import questions as Q
from sodam.surveys.models import Survey, SurveyAnswer, SurveyEscalation

TAG = "survey-escalation"
SCALE_MAX = {"csat": 5, "nps": 10, "ces": 7}


def _scorer():
    from sodam.conversations.tasks import scorer

    return scorer()


async def score_comment(session: AsyncSession, *, answer: SurveyAnswer) -> float | None:
    """The comment's sentiment (−1..1), stored on the answer; scored on a worker thread."""
    if not answer.comment:
        return None
    result = await asyncio.to_thread(_scorer().score, answer.comment)
    await session.execute(
        update(SurveyAnswer).where(SurveyAnswer.id == answer.id).values(comment_sentiment=result.score)
    )
    answer.comment_sentiment = result.score
    return result.score


def reason_for(survey: Survey, answer: SurveyAnswer) -> str | None:
    """Why this answer escalates ("score", "sentiment"), or None."""
    if not survey.escalate:
        return None
    if Q.escalates(survey.kind, answer.score, survey.escalate_at):
        return "score"
    if answer.comment_sentiment is not None and answer.comment_sentiment <= Q.STRONGLY_NEGATIVE:
        return "sentiment"
    return None


async def _supervisor(session: AsyncSession, *, workspace_id: int, team_id: int | None) -> int | None:
    """An active supervisor of the team (the lowest id), if the team has one."""
    if team_id is None:
        return None
    members = await accounts.team_member_ids(session, workspace_id=workspace_id, team_id=team_id)
    if not members:
        return None
    return await session.scalar(
        select(Agent.id)
        .where(Agent.id.in_(members), Agent.role == Role.supervisor, Agent.is_active.is_(True))
        .order_by(Agent.id)
        .limit(1)
    )


async def _managers(session: AsyncSession, *, workspace_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(Agent.id).where(
                Agent.workspace_id == workspace_id,
                Agent.is_active.is_(True),
                Agent.role.in_([Role.supervisor, Role.admin]),
            )
        )
    )


async def _follow_up_conversation(
    session: AsyncSession, *, answer: SurveyAnswer
) -> tuple[Conversation, int | None]:
    """The answered conversation reopened, or a new one for the contact (an answer to a
    scheduled survey has none): in the inbox of their latest conversation, else the first."""
    if answer.conversation_id is not None:
        conversation = await session.get(Conversation, answer.conversation_id)
        if conversation is not None:
            if conversation.status != Status.open:
                await conversations.set_status(
                    session,
                    workspace_id=answer.workspace_id,
                    conversation_id=conversation.id,
                    status=Status.open,
                    actor_id=None,
                    actor_type="system",
                )
            return conversation, conversation.id
    latest = await session.scalar(
        select(Conversation.inbox_id)
        .where(Conversation.workspace_id == answer.workspace_id, Conversation.contact_id == answer.contact_id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    inbox_id = latest or await session.scalar(
        select(Inbox.id).where(Inbox.workspace_id == answer.workspace_id).order_by(Inbox.id).limit(1)
    )
    conversation = await conversations.create(
        session,
        workspace_id=answer.workspace_id,
        inbox_id=inbox_id,
        contact_id=answer.contact_id,
        actor_type="system",
    )
    return conversation, None


def note_text(survey: Survey, answer: SurveyAnswer, reason: str, original_id: int | None) -> str:
    """The private note: the answer, why it escalated, and where it came from (Korean and English,
    since a note is read by agents of either language)."""
    lines = [f"⚠ 설문 에스컬레이션 / Survey escalation — {survey.name} ({survey.kind.upper()})"]
    if answer.score is not None:
        lines.append(f"점수 / Score: {answer.score}/{SCALE_MAX.get(survey.kind, '?')}")
    if answer.comment:
        lines.append(f"의견 / Comment: {answer.comment}")
    for q in survey.questions:
        value = answer.answers.get(q["id"])
        if value is not None and q["type"] != "text" and q["id"] != "score":
            lines.append(f"{q['text']['ko']}: {value}")
    lines.append(
        "사유 / Reason: "
        + ("낮은 점수 / low score" if reason == "score" else "부정적인 의견 / negative comment")
    )
    if original_id is not None:
        lines.append(f"원래 대화 / Original conversation: /console/conversations/{original_id}")
    return "\n".join(lines)


async def check_answer(session: AsyncSession, *, answer_id: int) -> dict[str, Any] | None:
    """Score the comment, and escalate the answer when it calls for it (once per answer)."""
    answer = await session.get(SurveyAnswer, answer_id)
    if answer is None:
        return None
    survey = await session.get(Survey, answer.survey_id)
    if answer.comment and answer.comment_sentiment is None:
        await score_comment(session, answer=answer)
    reason = reason_for(survey, answer)
    if reason is None:
        return None
    claimed = await session.scalar(
        pg_insert(SurveyEscalation)
        .values(workspace_id=answer.workspace_id, answer_id=answer.id, survey_id=survey.id, reason=reason)
        .on_conflict_do_nothing(index_elements=["answer_id"])
        .returning(SurveyEscalation.id)
    )
    if claimed is None:
        return None  # escalated already (a re-run of the job, or a second submit)
    conversation, original_id = await _follow_up_conversation(session, answer=answer)
    wid = answer.workspace_id
    await conversations.set_priority(
        session,
        workspace_id=wid,
        conversation_id=conversation.id,
        priority=Priority.urgent,
        actor_id=None,
        actor_type="system",
    )
    await conversations.add_tags(
        session, workspace_id=wid, conversation_id=conversation.id, tags=[TAG], actor_type="system"
    )
    inbox = await session.get(Inbox, conversation.inbox_id)
    team_id = conversation.team_id or (inbox.settings or {}).get("team_id")
    supervisor = await _supervisor(session, workspace_id=wid, team_id=team_id)
    if supervisor is not None:
        await conversations.assign(
            session,
            workspace_id=wid,
            conversation_id=conversation.id,
            assignee_id=supervisor,
            actor_id=None,
            actor_type="system",
        )
    await conversations.create_message(
        session,
        conversation=conversation,
        content=note_text(survey, answer, reason, original_id),
        sender_type=SenderType.system,
        sender_id=None,
        kind=MessageKind.note,
        payload={"survey_answer_id": answer.id, "original_conversation_id": original_id},
    )
    await session.execute(
        update(SurveyEscalation)
        .where(SurveyEscalation.id == claimed)
        .values(conversation_id=conversation.id, assignee_id=supervisor)
    )
    notify = [supervisor] if supervisor is not None else await _managers(session, workspace_id=wid)
    await notifications.announce_escalation(
        session,
        workspace_id=wid,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        inbox_id=conversation.inbox_id,
        agent_ids=notify,
        kind=survey.kind,
        score=answer.score,
        reason=reason,
    )
    return {
        "escalation_id": claimed,
        "conversation_id": conversation.id,
        "assignee_id": supervisor,
        "reason": reason,
    }
