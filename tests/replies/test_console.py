"""The console side of canned replies over real HTTP: the settings page (create, edit, delete,
scope choices by permission, refusals in the agent's language) and the picker's JSON."""

from __future__ import annotations

import re

from sodam.accounts.models import Role
from sodam.db.session import session_scope
from sodam.replies import service
from tests.test_console_helpers import add_agent, console_client, post, seed_conversation


async def test_an_agent_manages_personal_replies_and_inserts_one(live_server, make_workspace):
    ws = await make_workspace()
    _, email, password = await add_agent(ws, role=Role.agent)
    agent = await console_client(live_server, email, password)
    try:
        page = await agent.get("/console/settings/replies")
        assert page.status_code == 200 and 'id="replies-page"' in page.text
        assert 'name="scope"' in page.text and 'value="personal"' in page.text
        assert 'value="workspace"' not in page.text  # an agent is offered personal replies only
        assert 'id="nav-replies"' in page.text

        r = await post(
            agent,
            "/console/settings/replies",
            {
                "shortcut": "배송",
                "title": "배송 안내",
                "body": "{{contact.first_name}}님, 배송은 내일 출발합니다.",
            },
        )
        assert r.status_code == 200 and "/배송 답변을 추가했습니다." in r.text
        reply_id = int(re.search(r'data-reply-id="(\d+)"', r.text).group(1))

        taken = await post(
            agent, "/console/settings/replies", {"shortcut": "배송", "title": "x", "body": "x"}
        )
        assert taken.status_code == 409 and "이미 이 단축어를 쓰는 답변이 있습니다" in taken.text
        shared = await post(
            agent,
            "/console/settings/replies",
            {"shortcut": "공지", "title": "x", "body": "x", "scope": "workspace"},
        )
        assert shared.status_code == 403 and "매니저나 관리자만" in shared.text
        blank = await post(
            agent, "/console/settings/replies", {"shortcut": "빈칸", "title": "x", "body": "  "}
        )
        assert blank.status_code == 422 and "내용을 입력하세요." in blank.text

        edit = await agent.get(f"/console/settings/replies/{reply_id}")
        assert edit.status_code == 200 and "배송은 내일 출발합니다." in edit.text
        saved = await post(
            agent,
            f"/console/settings/replies/{reply_id}",
            {
                "shortcut": "배송",
                "title": "배송 출발 안내",
                "body": "{{contact.first_name}}님, 배송은 오늘 출발합니다.",
            },
        )
        assert saved.status_code == 200 and "배송 출발 안내" in saved.text

        # The picker: a search, then the insertion fills the contact's name and counts a use.
        conversation_id, _ = await seed_conversation(ws, name="김민지")
        found = await agent.get(
            "/console/replies/suggest", params={"q": "배송"}, headers={"Accept": "application/json"}
        )
        assert [x["id"] for x in found.json()["data"]] == [reply_id]
        assert found.json()["data"][0]["scope_label"] == "개인용"
        inserted = await post(agent, f"/console/replies/{reply_id}/insert?conversation_id={conversation_id}")
        assert inserted.status_code == 200 and inserted.json() == {"text": "민지님, 배송은 오늘 출발합니다."}
        without_csrf = await agent.post(
            f"/console/replies/{reply_id}/insert?conversation_id={conversation_id}"
        )
        assert without_csrf.status_code == 403

        deleted = await post(agent, f"/console/settings/replies/{reply_id}/delete")
        assert deleted.status_code == 200 and "/배송 답변을 삭제했습니다." in deleted.text
        async with session_scope() as session:
            viewer = await service.viewer(
                session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, role="admin"
            )
            assert await service.list_(session, workspace_id=ws.workspace_id, viewer=viewer) == []
    finally:
        await agent.aclose()


async def test_an_admin_shares_a_reply_in_english(live_server, make_workspace):
    ws = await make_workspace()
    _, email, password = await add_agent(ws, role=Role.agent, locale="en")
    admin = await console_client(live_server, ws.agent_email, ws.agent_password)
    agent = await console_client(live_server, email, password)
    try:
        settings = await admin.get("/console/settings")
        assert 'id="replies-settings-link"' in settings.text
        page = await admin.get("/console/settings/replies")
        assert 'value="workspace"' in page.text
        r = await post(
            admin,
            "/console/settings/replies",
            {
                "shortcut": "thanks",
                "title": "Thanks",
                "body": "Thanks, {{contact.first_name}}!",
                "scope": "workspace",
            },
        )
        assert r.status_code == 200 and "전체 공유" in r.text
        theirs = await agent.get("/console/settings/replies")
        assert "Canned replies" in theirs.text and "Everyone" in theirs.text
        assert "reply-delete" not in theirs.text  # an agent sees the shared reply but cannot delete it
    finally:
        await admin.aclose()
        await agent.aclose()
