"""The widget's promise outside hours names the next working day: on 설날 2027 (6–9 Feb,
with the substitute holiday) it is Wednesday 10 Feb, 09:00."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sodam.channels import promise
from sodam.channels.models import Inbox

SEOUL = ZoneInfo("Asia/Seoul")


def inbox(hours: dict | None) -> Inbox:
    return Inbox(id=1, workspace_id=1, name="웹 채팅", settings={"business_hours": hours} if hours else {})


async def test_next_opening_skips_seollal_and_its_substitute_day():
    now = datetime(2027, 2, 8, 15, 0, tzinfo=SEOUL)  # 설날 itself, a Monday
    kept = await promise.wait_promise(None, inbox(None), now)  # the default hours: Korea's holidays
    assert not kept.open_now
    assert kept.opens_at == datetime(2027, 2, 10, 9, 0, tzinfo=SEOUL)
    assert promise.promise_line(kept, now, "ko") == "지금은 운영 시간이 아니어서 모레 09:00부터 답변드립니다"
    assert "Feb 10 at 09:00" in promise.promise_line(kept, now, "en")
    friday_night = datetime(2027, 2, 5, 20, 0, tzinfo=SEOUL)
    kept = await promise.wait_promise(None, inbox(None), friday_night)
    assert "2월 10일 09:00" in promise.promise_line(kept, friday_night, "ko")
    # An inbox that works through the holidays says tomorrow (the old behaviour, chosen).
    working = {"timezone": "Asia/Seoul", "days": {"tue": ["09:00", "18:00"]}, "holiday_country": None}
    kept = await promise.wait_promise(None, inbox(working), now)
    assert kept.opens_at == datetime(2027, 2, 9, 9, 0, tzinfo=SEOUL)
    assert "내일 09:00" in promise.promise_line(kept, now, "ko")
    # Hours saved before holidays existed (no holiday key) in Seoul keep Korea's holidays.
    legacy = {"timezone": "Asia/Seoul", "days": {d: ["09:00", "18:00"] for d in ("mon", "tue", "wed")}}
    kept = await promise.wait_promise(None, inbox(legacy), now)
    assert kept.opens_at == datetime(2027, 2, 10, 9, 0, tzinfo=SEOUL)
