"""One promise: the 진행 상황 answer gives the waiting customer the wait the widget's bar and
header give (the bar read "예상 대기 시간 약 5분" while 진행 상황 said only "대기 순번은 1번입니다",
seen walking the widget). Without a routing estimate both fall back to the measured, then the
configured, reply time."""

from __future__ import annotations

import pytest

from sodam.channels.hours import ALWAYS_OPEN
from tests.pagehelp.fixture import widget


@pytest.mark.parametrize(("locale", "figure"), [("ko", "약 5분"), ("en", "about 5 min")])
async def test_the_status_answer_gives_the_bar_s_wait(live_server, make_workspace, locale, figure):
    ws = await make_workspace(typical_reply_minutes=5, business_hours=ALWAYS_OPEN)
    async with widget(live_server, ws) as w:
        token = (await w.post("/session", json={"locale": locale})).json()["visitor_token"]
        headers = {"X-Sodam-Visitor": token}
        r = await w.post(
            "/messages", json={"client_id": "q-1", "content": "환불 문의드려요"}, headers=headers
        )
        assert r.status_code == 201, r.text
        bar = (await w.get("/queue", headers=headers)).json()
        assert bar["position"] == 1 and bar["wait_seconds"] == 300  # the bar: "… 약 5분"
        status = (await w.get("/status", params={"locale": locale}, headers=headers)).json()
        assert status["state"] == "queued"
        assert figure in status["text"], status["text"]
