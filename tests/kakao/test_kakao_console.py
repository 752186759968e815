"""The console's KakaoTalk parts over HTTP: the session panel, 상담 종료, the 알림톡 form (errors in
the agent's language), the delivery states, the reply refused outside a session with the ko/en
words, the channel picker's field; and another workspace's agent gets 404 on each."""

from __future__ import annotations

import pytest

from tests.kakao.fake_dealer import FakeDealer
from tests.kakao.support import api, event, kakao_inbox
from tests.mail.support import eventually
from tests.test_console_helpers import add_agent, console_client, post


@pytest.fixture
async def dealer():
    d = await FakeDealer().start()
    yield d
    await d.stop()


async def test_the_session_panel_end_and_alimtalk_form(kakao_server, make_workspace, dealer):
    from sodam.accounts.models import Role

    ws = await make_workspace()
    client = api(kakao_server, ws.api_token)
    agent = await console_client(kakao_server, ws.agent_email, ws.agent_password)
    _id, en_email, en_password = await add_agent(ws, role=Role.agent, locale="en")
    english = await console_client(kakao_server, en_email, en_password)
    other = await make_workspace()
    stranger = await console_client(kakao_server, other.agent_email, other.agent_password)
    try:
        kakao = await kakao_inbox(client, dealer)
        await client.post(
            f"/api/v1/inboxes/{kakao['inbox_id']}/kakao/templates",
            json={"code": "HELLO", "name": "인사", "body": "#{고객명}님, 문의 주셔서 감사합니다."},
        )
        dealer.templates = [{"code": "HELLO", "name": "인사", "status": "approved"}]
        await client.post(f"/api/v1/inboxes/{kakao['inbox_id']}/kakao/templates/sync")
        cid = (await event(kakao_server.url, kakao, "message", "u-1", text="문의요")).json()[
            "conversation_id"
        ]

        page = await agent.get(f"/console/conversations/{cid}")
        assert page.status_code == 200
        assert f'hx-get="/console/kakao/conversations/{cid}/panel"' in page.text
        panel = await agent.get(f"/console/kakao/conversations/{cid}/panel")
        assert "상담 세션 열림" in panel.text and 'id="kakao-end"' in panel.text
        assert 'id="kakao-alimtalk"' not in panel.text  # open: no 알림톡 offered

        sent = await post(agent, f"/console/conversations/{cid}/messages", {"content": "네 말씀하세요"})
        assert sent.status_code == 201
        mid = sent.json()["id"]

        async def delivered():
            r = await agent.get(f"/console/kakao/conversations/{cid}/deliveries")
            return r.json()["deliveries"].get(str(mid), {}).get("status") == "sent"

        await eventually(delivered)

        ended = await post(agent, f"/console/kakao/conversations/{cid}/end")
        assert ended.status_code == 200 and "상담원이 상담을 종료했습니다" in ended.text
        assert (
            'id="kakao-alimtalk"' in ended.text
            and 'value="HELLO"' in ended.text
            and 'name="var_고객명"' in ended.text
        )

        refused = await post(
            agent,
            f"/console/conversations/{cid}/messages",
            {"content": "더 있으세요?"},
            headers={"Accept": "application/json"},
        )
        assert refused.status_code == 409 and "알림톡" in refused.json()["error"]["message"]
        refused_en = await post(
            english,
            f"/console/conversations/{cid}/messages",
            {"content": "More?"},
            headers={"Accept": "application/json"},
        )
        assert "AlimTalk" in refused_en.json()["error"]["message"]

        missing = await post(
            agent, f"/console/kakao/conversations/{cid}/alimtalk", {"template_code": "HELLO"}
        )
        assert missing.status_code == 422 and "고객명" in missing.text and "변수를 모두 채워" in missing.text
        ok = await post(
            agent,
            f"/console/kakao/conversations/{cid}/alimtalk",
            {"template_code": "HELLO", "var_고객명": "민지"},
        )
        assert ok.status_code == 200 and 'id="kakao-sent"' in ok.text

        async def alim():
            return dealer.alimtalks()

        (got,) = await eventually(alim)
        assert got["text"] == "민지님, 문의 주셔서 감사합니다."

        # Another workspace's agent: every console endpoint answers 404, nothing changes.
        for method, path, data in [
            ("GET", f"/console/kakao/conversations/{cid}/panel", None),
            ("GET", f"/console/kakao/conversations/{cid}/deliveries", None),
            ("POST", f"/console/kakao/conversations/{cid}/end", {}),
            (
                "POST",
                f"/console/kakao/conversations/{cid}/alimtalk",
                {"template_code": "HELLO", "var_고객명": "x"},
            ),
        ]:
            r = await (stranger.get(path) if method == "GET" else post(stranger, path, data))
            assert r.status_code == 404, (path, r.status_code)
        assert len(dealer.alimtalks()) == 1
    finally:
        for c in (client, agent, english, stranger):
            await c.aclose()
