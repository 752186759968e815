"""A conversation the bot is handling is nobody's unassigned work: the conversation's header
says so ("봇 응대 중"), as its row in the list does, not "미배정" (seen walking the console)."""

from __future__ import annotations

import re

from sqlalchemy import text as sql

from sodam.conversations import service as conversations
from sodam.db.session import session_scope
from sodam.jobs.app import load_task_modules
from tests.knowledge.helpers import add_shipping_article
from tests.mail.support import eventually
from tests.test_console_helpers import console_client, csrf_of, post, seed_conversation


async def test_the_header_names_the_bot_until_a_person_takes_it(live_server, make_workspace):
    ws = await make_workspace(bot_enabled=True)
    load_task_modules()  # the seeded message defers the bot's reply, as a server's would
    # The live server's worker runs the bot on the seeded message: with nothing to answer from
    # it would hand off (and the header would rightly say 미배정).
    await add_shipping_article(ws.workspace_id, "배송 언제 와요?")
    conversation_id, _ = await seed_conversation(ws, text="배송 언제 와요?")
    await _bot_has_answered(conversation_id)
    async with session_scope() as session:
        conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=conversation_id)
        assert conv.bot_handling  # the bot answered and still holds the conversation
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        for locale, bot, unassigned in (("ko", "봇 응대 중", "미배정"), ("en", "With the bot", "Unassigned")):
            await client.post(
                "/console/preferences/locale",
                data={"locale": locale, "next": "/console", "csrf_token": csrf_of(client)},
            )
            page = (await client.get(f"/console/conversations/{conversation_id}")).text
            header = re.search(r'id="assignee-name">([^<]*)<', page).group(1)
            assert header == bot, (header, unassigned)
        await post(client, f"/console/conversations/{conversation_id}/assign", {"assignee": "me"})
        page = (await client.get(f"/console/conversations/{conversation_id}")).text
        # Taken by a person: the header names them.
        assert re.search(r'id="assignee-name">([^<]*)<', page).group(1) == f"상담원 {ws.slug}"
    finally:
        await client.aclose()


async def _bot_has_answered(conversation_id: int) -> None:
    async def said() -> int:
        async with session_scope() as session:
            return await session.scalar(
                sql("SELECT count(*) FROM messages WHERE conversation_id = :c AND sender_type = 'bot'"),
                {"c": conversation_id},
            )

    await eventually(said, within=90)
