"""What a bot decision reads before it decides, and the row lock it writes under."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Workspace
from sodam.bot import reply_jobs
from sodam.bot.models import BotConversation
from sodam.campaigns import announcements
from sodam.channels.models import Inbox
from sodam.conversations.models import Conversation, Message

# The message a job answers (reply_jobs.message_to_answer: the job's, or the latest question) —
# only the columns the decision reads, no Message object — with its conversation, its inbox
# and the bot's record of the conversation: one round trip where there were two (the workspace
# too: the answer's help-center link reads it from the session, no statement).
_MESSAGE_COLUMNS = (
    Message.id,
    Message.sender_type,
    Message.seq,
    Message.payload,
    Message.content,
    Message.conversation_id,
    Message.inbox_id,
    Message.workspace_id,
)
_READ = (
    reply_jobs.to_answer_statement(
        *_MESSAGE_COLUMNS,
        announcements.any_live(Message.workspace_id, bindparam("now")).label("announcing"),
        Conversation,
        Inbox,
        BotConversation,
        Workspace,
    )
    .select_from(Message)
    .outerjoin(Conversation, Conversation.id == Message.conversation_id)
    .outerjoin(Workspace, Workspace.id == Conversation.workspace_id)
    .outerjoin(Inbox, and_(Inbox.id == Message.inbox_id, Inbox.workspace_id == Message.workspace_id))
    .outerjoin(
        BotConversation,
        and_(
            BotConversation.conversation_id == Conversation.id,
            BotConversation.workspace_id == Conversation.workspace_id,
        ),
    )
)
# NO KEY UPDATE, as the message function takes it (see handle_customer_message).
LOCK_CONVERSATION = (
    select(Conversation)
    .where(Conversation.id == bindparam("conversation_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


async def read(session: AsyncSession, message_id: int, now: datetime):
    """(message, answered, conversation, inbox, bot record) for a job's message: the message it
    answers (reply_jobs.answering) as a row of _MESSAGE_COLUMNS and `announcing` (an active
    announcement at `now` in its workspace), whether a bot reply after it is
    there already; (None, False, None, None, None) when the message is gone. The inbox is None
    when the message's inbox is not in its workspace (the caller reads it as before)."""
    rows = (await session.execute(_READ, {"message_id": message_id, "now": now})).all()
    chosen, answered = reply_jobs.answering(
        message_id, [(row.id, row.sender_type, row.seq, row.answered) for row in rows]
    )
    if chosen is None:
        return None, False, None, None, None
    row = rows[chosen]
    # The identity map holds objects weakly: kept for the session's life, so that it is there.
    session.info["bot_workspace"] = row.Workspace
    return row, answered, row.Conversation, row.Inbox, row.BotConversation
