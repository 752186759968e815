"""Shared set-up for the survey tests: a contact with a resolved conversation, a survey, answers."""

from __future__ import annotations

from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from sodam.surveys import service as surveys


async def contact_with_conversation(
    ws, *, name: str = "김고객", language: str | None = "ko", text: str = "문의드립니다"
):
    """(contact id, conversation id) in the workspace's inbox."""
    async with session_scope() as session:
        contact = await contacts.create(
            session, workspace_id=ws.workspace_id, name=name, email=None, language=language
        )
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        await conversations.create_message(
            session, conversation=conv, content=text, sender_type=SenderType.contact, sender_id=contact.id
        )
        await session.commit()
        return contact.id, conv.id


async def make_survey(ws, kind: str, **kw) -> int:
    async with session_scope() as session:
        survey = await surveys.create(
            session, workspace_id=ws.workspace_id, name=f"{kind} 설문", kind=kind, **kw
        )
        await session.commit()
        return survey.id


async def answer_as_new_contact(ws, survey_id: int, answers: dict) -> int:
    """A fresh contact asked the survey by link, answering; returns the answer id."""
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="응답자", email=None)
        survey = await surveys.get(session, workspace_id=ws.workspace_id, survey_id=survey_id)
        recipient, _ = await surveys.invite(session, survey=survey, contact_id=contact.id)
        answer, _ = await surveys.submit(session, recipient=recipient, survey=survey, answers=answers)
        await session.commit()
        return answer.id
