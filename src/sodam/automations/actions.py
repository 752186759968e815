"""The steps a rule can take, each through the owning domain's service, in the run's
transaction (so the step, its effect and the run's progress commit together, once).

Each action returns a small dict for the timeline (`detail`); a refusal the workspace can fix
(no e-mail address, a deleted survey) raises an AppError, which the executor records as a
failed step before it goes on with the journey.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType, Inbox
from sodam.contacts import service as contacts
from sodam.contacts.models import Contact
from sodam.conversations import assignment
from sodam.conversations import service as conversations
from sodam.conversations import start as starting
from sodam.conversations.models import Conversation, MessageKind, Priority, SenderType
from sodam.core.errors import Invalid
from sodam.notifications import service as notifications
from sodam.replies import placeholders
from sodam.surveys import service as surveys
from sodam.webhooks import service as webhooks

EVENT_PLACEHOLDER_RE = re.compile(r"\{\{\s*event\.([A-Za-z0-9_.\-]{1,64})\s*\}\}")
WEBHOOK_EVENT = "automation.step"


def language_of(contact: Contact | None) -> str:
    """The contact's language among the templates' (Korean when unknown: Korean first)."""
    lang = ((contact.language if contact else None) or "ko").lower()
    return "en" if lang.startswith("en") else "ko"


def render(template: dict[str, str], *, contact: Contact | None, context: dict[str, Any]) -> tuple[str, str]:
    """(language, text): the template in the contact's language with its placeholders filled
    (`{{contact.name}}` as in canned replies, `{{event.order_id}}` from the trigger's event)."""
    lang = language_of(contact)
    body = template.get(lang) or template.get("ko") or ""
    body = placeholders.fill(body, placeholders.values_for(contact=contact, agent_name=None, language=lang))
    props = context.get("data") or {}

    def event_value(match: re.Match) -> str:
        value = props.get(match.group(1))
        return "" if value is None or isinstance(value, dict | list) else str(value)

    return lang, EVENT_PLACEHOLDER_RE.sub(event_value, body)


async def _conversation(session: AsyncSession, run) -> Conversation | None:
    if run.conversation_id is None:
        return None
    return await session.scalar(
        select(Conversation).where(
            Conversation.workspace_id == run.workspace_id, Conversation.id == run.conversation_id
        )
    )


async def _inbox_for_new(session: AsyncSession, *, run, step: dict[str, Any]) -> int:
    """Where a message starts a conversation: the step's inbox, else the contact's latest one."""
    if step.get("inbox_id"):
        return int(step["inbox_id"])
    latest = await session.scalar(
        select(Conversation.inbox_id)
        .where(Conversation.workspace_id == run.workspace_id, Conversation.contact_id == run.contact_id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if latest is None:  # a contact who never wrote: the workspace's first chat widget
        latest = await session.scalar(
            select(Inbox.id)
            .where(Inbox.workspace_id == run.workspace_id, Inbox.channel_type == ChannelType.web_widget)
            .order_by(Inbox.id)
            .limit(1)
        )
    if latest is None:
        raise Invalid("no inbox to write to: set the step's inbox", code="no_inbox")
    return int(latest)


async def _post(session: AsyncSession, conversation: Conversation, text: str, run, step_no: int) -> int:
    message, _created = await conversations.create_message(
        session,
        conversation=conversation,
        content=text,
        sender_type=SenderType.bot,
        sender_id=None,
        kind=MessageKind.bot,
        # One message per (run, step) even if a step were ever tried twice.
        client_id=f"auto-{run.id}-{step_no}",
        payload={"automation": {"rule_id": run.rule_id, "run_id": run.id}},
    )
    return message.id


async def message(
    session: AsyncSession, *, run, step: dict[str, Any], step_no: int, contact: Contact
) -> dict:
    lang, text = render(step["text"], contact=contact, context=run.context)
    conversation = await _conversation(session, run)
    started = False
    if conversation is None or step.get("inbox_id") not in (None, conversation.inbox_id):
        inbox_id = await _inbox_for_new(session, run=run, step=step)
        conversation = (
            await starting.start(
                session,
                workspace_id=run.workspace_id,
                inbox_id=inbox_id,
                contact_id=run.contact_id,
                agent_id=None,
            )
        ).conversation
        started = True
    message_id = await _post(session, conversation, text, run, step_no)
    return {
        "conversation_id": conversation.id,
        "message_id": message_id,
        "language": lang,
        "started": started,
        "preview": text[:120],
    }


async def email(session: AsyncSession, *, run, step: dict[str, Any], step_no: int, contact: Contact) -> dict:
    inbox = await inboxes.get(session, workspace_id=run.workspace_id, inbox_id=int(step["inbox_id"]))
    if inbox.channel_type != ChannelType.email:
        raise Invalid("the step's inbox is not an e-mail inbox", code="not_email_inbox")
    lang, text = render(step["text"], contact=contact, context=run.context)
    _lang, subject = render(step["subject"], contact=contact, context=run.context)
    started = await starting.start(
        session,
        workspace_id=run.workspace_id,
        inbox_id=inbox.id,
        contact_id=run.contact_id,
        agent_id=None,
        subject=subject[:300],
    )
    message_id = await _post(session, started.conversation, text, run, step_no)
    return {
        "conversation_id": started.conversation.id,
        "message_id": message_id,
        "language": lang,
        "subject": subject[:120],
        "preview": text[:120],
    }


async def tag(session: AsyncSession, *, run, step: dict[str, Any], step_no: int, contact: Contact) -> dict:
    conversation = await _conversation(session, run)
    if conversation is not None:
        await conversations.add_tags(
            session,
            workspace_id=run.workspace_id,
            conversation_id=conversation.id,
            tags=[step["tag"]],
            actor_type="system",
        )
        return {"tag": step["tag"], "conversation_id": conversation.id}
    # No conversation: the contact's own tags (the `tags` attribute, a list).
    attrs = dict(contact.custom_attributes or {})
    tags = attrs.get("tags") if isinstance(attrs.get("tags"), list) else []
    if step["tag"] not in tags:
        attrs["tags"] = [*tags, step["tag"]]
        contact.custom_attributes = attrs
        await session.flush()
    return {"tag": step["tag"], "contact": True}


async def _need_conversation(session: AsyncSession, run) -> Conversation:
    conversation = await _conversation(session, run)
    if conversation is None:
        raise Invalid("this step needs a conversation", code="no_conversation")
    return conversation


async def assign(session: AsyncSession, *, run, step: dict[str, Any], step_no: int, contact: Contact) -> dict:
    conversation = await _need_conversation(session, run)
    await assignment.assign(
        session,
        workspace_id=run.workspace_id,
        conversation_id=conversation.id,
        assignee_id=step.get("agent_id", conversation.assignee_id),
        team_id=step.get("team_id"),
        set_team="team_id" in step,
        actor_id=None,
        actor_type="system",
        reason={"automation_rule_id": run.rule_id},
        conversation=conversation,
    )
    return {
        "conversation_id": conversation.id,
        "team_id": step.get("team_id"),
        "agent_id": step.get("agent_id"),
    }


async def priority(
    session: AsyncSession, *, run, step: dict[str, Any], step_no: int, contact: Contact
) -> dict:
    conversation = await _need_conversation(session, run)
    await conversations.set_priority(
        session,
        workspace_id=run.workspace_id,
        conversation_id=conversation.id,
        priority=Priority(step["priority"]),
        actor_id=None,
        actor_type="system",
    )
    return {"conversation_id": conversation.id, "priority": step["priority"]}


async def escalate(
    session: AsyncSession, *, run, step: dict[str, Any], step_no: int, contact: Contact
) -> dict:
    note = ""
    if step.get("note"):
        _lang, note = render(step["note"], contact=contact, context=run.context)
    told = await notifications.notify_managers(
        session,
        workspace_id=run.workspace_id,
        kind="automation_escalation",
        details={
            "rule_id": run.rule_id,
            "rule_name": run.context.get("rule_name", ""),
            "contact_id": run.contact_id,
            "contact_name": contact.name or "",
            "conversation_id": run.conversation_id,
            "note": note[:300],
        },
    )
    return {"managers": told}


async def survey(session: AsyncSession, *, run, step: dict[str, Any], step_no: int, contact: Contact) -> dict:
    found = await surveys.get(session, workspace_id=run.workspace_id, survey_id=int(step["survey_id"]))
    recipient, created = await surveys.invite(
        session, survey=found, contact_id=run.contact_id, conversation_id=run.conversation_id
    )
    return {"survey_id": found.id, "recipient_id": recipient.id, "created": created}


async def webhook(
    session: AsyncSession, *, run, step: dict[str, Any], step_no: int, contact: Contact
) -> dict:
    sub = await webhooks.get(
        session, workspace_id=run.workspace_id, subscription_id=int(step["subscription_id"])
    )
    if sub.inbox_id is not None or sub.status != "active":
        raise Invalid("the webhook subscription is not active", code="webhook_inactive")
    new = await webhooks.enqueue(
        session,
        workspace_id=run.workspace_id,
        subscription_ids=[sub.id],
        event_key=f"automation_{run.id}_{step_no}",
        type=WEBHOOK_EVENT,
        data={
            "rule_id": run.rule_id,
            "run_id": run.id,
            "step": step_no,
            "trigger": run.trigger_type,
            "contact": {"id": contact.id, "name": contact.name, "email": contact.email},
            "conversation_id": run.conversation_id,
            "event": run.context.get("data") or {},
        },
    )
    return {"subscription_id": sub.id, "queued": new}


ACTIONS = {
    "message": message,
    "email": email,
    "tag": tag,
    "assign": assign,
    "priority": priority,
    "escalate": escalate,
    "survey": survey,
    "webhook": webhook,
}


async def load_contact(session: AsyncSession, *, workspace_id: int, contact_id: int) -> Contact:
    return await contacts.get(session, workspace_id=workspace_id, contact_id=contact_id)
