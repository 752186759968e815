"""The bot as customers meet it: a widget message is answered by the job the message deferred."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from sodam.db.session import session_scope
from sodam.knowledge import service as knowledge
from tests.frames import next_frame, widget_socket_url


async def test_widget_question_is_answered_live_by_the_bot(live_server, make_workspace):
    ws = await make_workspace(bot_enabled=True)
    async with session_scope() as session:
        await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="배송 기간 안내",
            locale="ko",
            status="published",
            body="주문 후 평균 2~3일(영업일 기준) 안에 도착합니다.",
            alternate_questions=["배송기간 얼마나 걸려요?"],
        )
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        token = (await client.post(f"/widget/v1/{ws.inbox_token}/session", json={})).json()["visitor_token"]
    url = await widget_socket_url(live_server, ws.inbox_token, token)
    async with websockets.connect(url) as sock:
        await sock.send(
            json.dumps({"type": "message", "client_id": "q-1", "content": "배송기간 얼마나 걸려요?"})
        )
        bot_frames = []
        # The first bot job of a test session may load the sentence encoders and Kiwi in a
        # server that other tests keep busy: the answer's content is what is checked, not its speed.
        async with asyncio.timeout(90):
            while len(bot_frames) < 2:
                frame = await next_frame(sock)
                if frame["type"] == "message" and frame["message"]["sender_type"] == "bot":
                    bot_frames.append(frame["message"])
    answer, question = bot_frames
    assert answer["payload"]["article"]["title"] == "배송 기간 안내" and "2~3일" in answer["content"]
    assert answer["payload"]["article"]["url"].endswith(
        f"/help/{ws.slug}/articles/{answer['payload']['article']['id']}"
    )
    assert question["content"] == "도움이 되었나요?" and len(question["payload"]["quick_replies"]) == 2
