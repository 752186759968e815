"""How the bot speaks: its messages into a conversation, in the conversation's language,
through the message path (the same function every writer uses)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.conversations import message_path
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.core.i18n import gettext


class BotReplier:
    """Sends the bot's messages into a conversation in its language."""

    def __init__(self, session: AsyncSession, conversation: Conversation, language: str):
        self.session = session
        self.conversation = conversation
        self.language = language

    def t(self, key: str, **params: Any) -> str:
        return gettext(self.language, key, **params)

    async def say(self, content: str, payload: dict[str, Any] | None = None) -> Message:
        message, _ = await conversations.create_message(
            self.session,
            conversation=self.conversation,
            content=content,
            sender_type=SenderType.bot,
            sender_id=None,
            kind=MessageKind.bot,
            payload=payload,
        )
        return message

    async def statement_for(self, *messages: tuple[str, dict[str, Any] | None]):
        """say_all's statement and its parameters, for a caller that sends it with others
        (db.pipeline); its rows go to stored()."""
        return await message_path.messages_statement(
            self.session,
            conversation=self.conversation,
            messages=list(messages),
            sender_type=SenderType.bot,
            sender_id=None,
            kind=MessageKind.bot,
        )

    def stored(self, rows: list[tuple[Any, ...]]) -> list[Message]:
        """The messages statement_for's statement stored (its rows)."""
        return message_path.apply_stored(self.conversation, [row[0] for row in rows])

    async def say_all(self, *messages: tuple[str, dict[str, Any] | None]) -> list[Message]:
        """Several messages in this order, in one round trip."""
        statement, values = await self.statement_for(*messages)
        return message_path.apply_stored(
            self.conversation, list(await self.session.scalars(statement, values))
        )
