"""Helpers for browser tests: what an agent does, what the database holds."""

from __future__ import annotations


async def agent_reply(ws, conversation_id: int, content: str) -> int:
    """An agent's reply through the service layer, committed in this process (the
    server process hears of it by NOTIFY, as it would from any other node)."""
    from sodam.conversations import service as conversations
    from sodam.conversations.models import SenderType
    from sodam.db.session import session_scope

    async with session_scope() as session:
        conversation = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=conversation_id
        )
        message, _ = await conversations.create_message(
            session,
            conversation=conversation,
            content=content,
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        return message.id


async def stored_messages(ws) -> list:
    """Every message of the workspace's conversations, oldest first (what the database holds)."""
    from sodam.conversations import service as conversations
    from sodam.db.session import session_scope

    async with session_scope() as session:
        convs = await conversations.list_(session, workspace_id=ws.workspace_id, status=None)
        out = []
        for conv in sorted(convs, key=lambda c: c.id):
            out += await conversations.messages_after(
                session, workspace_id=ws.workspace_id, conversation_id=conv.id
            )
        return out
