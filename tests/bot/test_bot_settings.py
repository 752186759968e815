"""Supervisors turn the bot on and set business hours in the inbox settings."""

from __future__ import annotations

from sodam.channels import service as inboxes
from sodam.db.session import session_scope
from tests.test_console_helpers import console_client, post


async def test_admin_enables_the_bot_and_sets_hours(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await client.get(f"/console/settings/inboxes/{ws.inbox_id}")
        assert page.status_code == 200 and 'id="bot-settings"' in page.text and "봇 설정" in page.text
        form = {
            "name": "웹 채팅",
            "color": "#3b5bdb",
            "bot_enabled": "1",
            "lead_capture": "always",
            "hours_timezone": "Asia/Seoul",
            "hours_open": "10:00",
            "hours_close": "19:00",
            "assume_resolved_minutes": "15",
        }
        saved = await post(client, f"/console/settings/inboxes/{ws.inbox_id}", form)
        assert saved.status_code == 200
        bad = await post(client, f"/console/settings/inboxes/{ws.inbox_id}", {**form, "hours_close": "08:00"})
        assert "운영 시간 또는 시간대가 올바르지 않습니다" in bad.text
    finally:
        await client.aclose()
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
    settings = inbox.settings
    assert settings["bot_enabled"] is True and settings["lead_capture"] == "always"
    assert settings["business_hours"]["days"]["mon"] == ["10:00", "19:00"]
    assert "sat" not in settings["business_hours"]["days"]
    assert settings["bot_assume_resolved_after_s"] == 15 * 60
