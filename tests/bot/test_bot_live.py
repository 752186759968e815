"""The bot as customers meet it: a widget message is answered by the job the message deferred."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from sodam.db.session import session_scope
from sodam.knowledge import service as knowledge
from tests.frames import next_frame, widget_socket_url
from tests.knowledge.helpers import add_shipping_article


async def test_widget_question_is_answered_live_by_the_bot(live_server, make_workspace):
    ws = await make_workspace(bot_enabled=True)
    await add_shipping_article(ws.workspace_id, "배송기간 얼마나 걸려요?")
    # The first bot job of a test session may load the sentence encoders and Kiwi in a server
    # that other tests keep busy: the answer's content is what is checked, not its speed.
    bot_frames = await _ask(live_server, ws.inbox_token, "배송기간 얼마나 걸려요?", "q-1")
    answer, question = bot_frames
    assert answer["payload"]["article"]["title"] == "배송 기간 안내" and "2~3일" in answer["content"]
    assert answer["payload"]["article"]["url"].endswith(
        f"/help/{ws.slug}/articles/{answer['payload']['article']['id']}"
    )
    assert question["content"] == "도움이 되었나요?" and len(question["payload"]["quick_replies"]) == 2


async def _ask(live_server, inbox_token: str, text: str, client_id: str) -> list[dict]:
    """A new visitor asks; the bot's messages until it answers or hands off."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        token = (await client.post(f"/widget/v1/{inbox_token}/session", json={})).json()["visitor_token"]
    url = await widget_socket_url(live_server, inbox_token, token)
    bot: list[dict] = []
    async with websockets.connect(url) as sock:
        await sock.send(json.dumps({"type": "message", "client_id": client_id, "content": text}))
        async with asyncio.timeout(90):
            while not bot or (bot[-1]["payload"] or {}).get("article") is not None and len(bot) < 2:
                frame = await next_frame(sock)
                if frame["type"] == "message" and frame["message"]["sender_type"] == "bot":
                    bot.append(frame["message"])
    return bot


async def test_the_bot_never_answers_from_an_article_unpublished_after_it_searched(
    live_server, make_workspace
):
    """The job worker (a child of the web process) keeps its own search index: an article an
    agent unpublishes must leave it too, although no vectors are recomputed for it."""
    ws = await make_workspace(bot_enabled=True, lead_capture="off")
    async with session_scope() as session:
        article = await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="반품 주소 안내",
            locale="ko",
            status="published",
            body="반품은 서울시 성동구 소담로 12, 소담물류센터로 보내 주세요.",
            alternate_questions=["반품 주소가 어디예요?"],
        )
    first = await _ask(live_server, ws.inbox_token, "반품 주소가 어디예요?", "first")
    assert first[0]["payload"]["article"]["id"] == article.id

    async with session_scope() as session:
        await knowledge.set_status(
            session, workspace_id=ws.workspace_id, article_id=article.id, status="draft"
        )
    second = await _ask(live_server, ws.inbox_token, "반품 주소가 어디예요?", "second")
    assert all((m["payload"] or {}).get("article") is None for m in second), second
    assert "소담로" not in " ".join(m["content"] for m in second)
