"""The business-hours editor (운영 시간): several spans a day, time zone, holiday country,
days off and extra working days for an inbox and a team; bad input is refused with a message
naming the day and the span, and nothing is saved."""

from __future__ import annotations

import re

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.channels import service as inboxes
from sodam.db.session import session_scope
from tests.test_console_helpers import add_agent, console_client, post

GOOD = {
    "timezone": "Asia/Seoul",
    "holiday_country": "KR",
    "day_mon": "09:00-12:00, 13:00-18:00",
    "day_tue": "9:00-18:00",
    "day_wed": "09:00-18:00",
    "day_thu": "09:00-18:00",
    "day_fri": "09:00-17:00",
    "day_sat": "",
    "day_sun": "",
    "days_off": "2027-03-02 창립기념일",
    "extra_days": "2027-02-13 10:00-14:00",
}


def alerts(html: str) -> list[str]:
    block = re.search(r'id="hours-errors">(.*?)</div>', html, flags=re.S)
    return (
        [re.sub(r"\s+", " ", li).strip() for li in re.findall(r"<li>(.*?)</li>", block.group(1), flags=re.S)]
        if block
        else []
    )


async def test_supervisor_saves_an_inboxs_hours(live_server, make_workspace):
    ws = await make_workspace()
    _, email, password = await add_agent(ws, role=Role.supervisor)
    client = await console_client(live_server, email, password)
    try:
        page = await client.get(f"/console/settings/hours/inboxes/{ws.inbox_id}")
        assert page.status_code == 200 and 'id="hours-form"' in page.text
        saved = await post(client, f"/console/settings/hours/inboxes/{ws.inbox_id}", GOOD)
        assert saved.status_code == 200 and 'id="hours-saved"' in saved.text
        assert "09:00-12:00, 13:00-18:00" in saved.text and "설날" in saved.text  # upcoming holidays
    finally:
        await client.aclose()
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
    hours = inbox.settings["business_hours"]
    assert hours["days"]["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert hours["days"]["tue"] == [["09:00", "18:00"]] and "sat" not in hours["days"]
    assert hours["holiday_country"] == "KR" and hours["days_off"] == {"2027-03-02": "창립기념일"}
    assert hours["extra_days"] == {"2027-02-13": [["10:00", "14:00"]]}


async def test_bad_input_is_refused_with_clear_errors(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        url = f"/console/settings/hours/inboxes/{ws.inbox_id}"
        await post(client, url, GOOD)
        bad = {
            **GOOD,
            "timezone": "Asia/Busan",
            "day_mon": "09:00-12:00, 11:00-13:00",
            "day_tue": "18:00-09:00",
            "day_wed": "아홉시-여섯시",
            "days_off": "2027-02-30 없는 날",
            "extra_days": "2027-02-13",
        }
        r = await post(client, url, bad)
        assert r.status_code == 422
        assert alerts(r.text) == [
            "수요일: &#39;아홉시-여섯시&#39;은(는) 올바른 시간이 아닙니다. 09:00-18:00처럼 적어 주세요.",
            "시간대: 시간대 &#39;Asia/Busan&#39;을(를) 찾을 수 없습니다. Asia/Seoul처럼 적어 주세요.",
            "월요일: 09:00-12:00와(과) 11:00-13:00 구간이 겹칩니다.",
            "화요일: &#39;18:00-09:00&#39;: 끝나는 시각이 시작 시각보다 늦어야 합니다.",
            "휴무일: &#39;2027-02-30&#39;은(는) 올바른 날짜가 아닙니다. 2027-03-02처럼 적어 주세요.",
            "추가 근무일: 2027-02-13에 일하는 시간을 적어 주세요. 예: 2027-02-13 10:00-14:00",
        ]
        assert 'value="09:00-12:00, 11:00-13:00"' in r.text  # what was typed stays in the form
        assert 'id="hours-timezone" value="Asia/Busan"' in r.text and 'aria-invalid="true"' in r.text
        # In English too.
        await post(client, "/console/preferences/locale", {"locale": "en"})
        r = await post(client, url, {**GOOD, "day_mon": "10:00-09:00"})
        assert r.status_code == 422
        assert alerts(r.text) == ["Monday: &#39;10:00-09:00&#39;: the end must be after the start."]
    finally:
        await client.aclose()
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
    assert inbox.settings["business_hours"]["timezone"] == "Asia/Seoul"  # nothing of the bad form saved
    assert inbox.settings["business_hours"]["days"]["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]]


async def test_team_hours_and_inheriting(live_server, make_workspace):
    ws = await make_workspace()
    async with session_scope() as session:
        team = await accounts.create_team(session, workspace_id=ws.workspace_id, name="야간팀")
        await session.commit()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        url = f"/console/settings/hours/teams/{team.id}"
        page = await client.get(url)
        assert 'id="hours-inherit" checked' in page.text
        night = {**GOOD, "timezone": "America/New_York", "holiday_country": "US", "day_mon": "20:00-24:00"}
        r = await post(client, url, night)
        assert r.status_code == 200
        async with session_scope() as session:
            saved = await accounts.get_team(session, workspace_id=ws.workspace_id, team_id=team.id)
            assert saved.business_hours["days"]["mon"] == [["20:00", "24:00"]]
            assert saved.business_hours["timezone"] == "America/New_York"
        r = await post(client, url, {**night, "inherit": "1"})
        assert r.status_code == 200
        async with session_scope() as session:
            saved = await accounts.get_team(session, workspace_id=ws.workspace_id, team_id=team.id)
            assert saved.business_hours is None
        index = await client.get("/console/settings/hours")
        assert f"/console/settings/hours/teams/{team.id}" in index.text
    finally:
        await client.aclose()


async def test_agents_cannot_edit_hours(live_server, make_workspace):
    ws = await make_workspace()
    _, email, password = await add_agent(ws, role=Role.agent)
    client = await console_client(live_server, email, password)
    try:
        r = await post(client, f"/console/settings/hours/inboxes/{ws.inbox_id}", GOOD)
        assert r.status_code == 403
    finally:
        await client.aclose()
