"""Business-hours arithmetic: several spans a day, Korean public holidays (설날 with its
substitute day), custom days, a time-zone boundary and DST, and a minute-by-minute brute
force compared with the exact arithmetic by hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sodam.channels import hours

SEOUL = ZoneInfo("Asia/Seoul")
KR_HOURS = {
    "timezone": "Asia/Seoul",
    "days": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holiday_country": "KR",
}


def kst(*args) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def test_old_single_span_form_is_still_read():
    config = {"timezone": "Asia/Seoul", "days": {"mon": ["09:00", "18:00"]}}
    assert hours.is_open(config, kst(2026, 12, 7, 9, 0))  # a Monday
    assert not hours.is_open(config, kst(2026, 12, 7, 18, 0))
    assert hours.next_opening(config, kst(2026, 12, 7, 19, 0)) == kst(2026, 12, 14, 9, 0)


def test_lunch_break_is_closed_and_counts_nothing():
    assert not hours.is_open(KR_HOURS, kst(2026, 12, 7, 12, 30))
    assert hours.next_opening(KR_HOURS, kst(2026, 12, 7, 12, 30)) == kst(2026, 12, 7, 13, 0)
    assert (
        hours.business_seconds_between(KR_HOURS, kst(2026, 12, 7, 11, 0), kst(2026, 12, 7, 14, 0)) == 2 * 3600
    )


def test_seollal_2027_with_its_substitute_day_is_closed():
    # 설날 2027: Sat 6 – Mon 8 Feb, and Tue 9 Feb in place of the Sunday.
    friday_evening = kst(2027, 2, 5, 17, 0)
    for day in (8, 9):
        assert not hours.is_open(KR_HOURS, kst(2027, 2, day, 10, 0))
    assert hours.next_opening(KR_HOURS, kst(2027, 2, 5, 18, 30)) == kst(2027, 2, 10, 9, 0)
    # One business hour left on Friday, the rest after the holiday.
    due = hours.add_business_seconds(KR_HOURS, friday_evening, 4 * 3600)
    assert due == kst(2027, 2, 10, 12, 0)
    assert hours.business_seconds_between(KR_HOURS, friday_evening, due) == 4 * 3600
    # Without the holiday list the same hours reopen on Monday.
    plain = {**KR_HOURS, "holiday_country": None}
    assert hours.next_opening(plain, kst(2027, 2, 5, 18, 30)) == kst(2027, 2, 8, 9, 0)


def test_chuseok_and_custom_days():
    config = {
        **KR_HOURS,
        "days_off": {"2027-03-02": "창립기념일"},
        "extra_days": {"2027-09-15": [["10:00", "14:00"]]},  # open on 추석 itself, briefly
    }
    assert not hours.is_open(config, kst(2027, 3, 2, 10, 0))
    assert not hours.is_open(config, kst(2027, 9, 14, 10, 0))  # the day before 추석
    assert hours.is_open(config, kst(2027, 9, 15, 10, 0))
    assert hours.next_opening(config, kst(2027, 9, 13, 19, 0)) == kst(2027, 9, 15, 10, 0)


def test_a_time_zone_boundary_between_seoul_and_new_york():
    # New York's hours seen from Seoul: Mon 09:00 EST is Mon 23:00 KST.
    ny = {"timezone": "America/New_York", "days": {"mon": [["09:00", "17:00"]]}}
    assert hours.next_opening(ny, kst(2026, 12, 7, 12, 0)) == datetime(
        2026, 12, 7, 9, 0, tzinfo=ZoneInfo("America/New_York")
    )
    assert hours.next_opening(ny, kst(2026, 12, 7, 12, 0)) == kst(2026, 12, 7, 23, 0)
    # From Seoul's Tuesday morning (still Monday in New York) 2 hours are left that day.
    start = kst(2026, 12, 8, 5, 0)  # Mon 15:00 in New York
    assert hours.business_seconds_between(ny, start, start + timedelta(days=1)) == 2 * 3600


def test_dst_days_count_the_wall_clock():
    ny = {"timezone": "America/New_York", "days": {d: [["00:00", "24:00"]] for d in hours.DAYS}}
    spring = datetime(2027, 3, 14, tzinfo=ZoneInfo("America/New_York"))  # 02:00 → 03:00
    fall = datetime(2027, 11, 7, tzinfo=ZoneInfo("America/New_York"))  # 02:00 → 01:00
    day = timedelta(days=1)
    assert (
        hours.business_seconds_between(ny, spring, (spring + day).replace(tzinfo=spring.tzinfo)) == 23 * 3600
    )
    assert hours.business_seconds_between(ny, fall, (fall + day).replace(tzinfo=fall.tzinfo)) == 25 * 3600
    night = {"timezone": "America/New_York", "days": {"sun": [["01:30", "03:00"]]}}
    # In the repeated hour 01:00–01:59 happens twice; only 01:30–01:59 of each counts (1 h),
    # then 01:30–02:00 EST... the span is wall-clock time: 01:30–01:59 EDT, 01:30–02:59 EST.
    assert hours.business_seconds_between(night, fall, fall + day) == 30 * 60 + 90 * 60
    # The skipped hour counts nothing: 01:30–02:00 EST, then 03:00 is the end.
    assert hours.business_seconds_between(night, spring, spring + day) == 30 * 60


# ---- the brute force --------------------------------------------------------------------------

ZONES = ["Asia/Seoul", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]
times = st.integers(min_value=0, max_value=47).map(lambda q: f"{q // 2:02d}:{30 * (q % 2):02d}")


@st.composite
def configs(draw):
    days = {}
    for name in hours.DAYS:
        bounds = sorted(set(draw(st.lists(st.integers(0, 48), max_size=4))))
        if len(bounds) % 2:
            bounds = bounds[:-1]
        days[name] = [
            [f"{a // 2:02d}:{30 * (a % 2):02d}", "24:00" if b == 48 else f"{b // 2:02d}:{30 * (b % 2):02d}"]
            for a, b in zip(bounds[::2], bounds[1::2], strict=True)
        ]
    return {
        "timezone": draw(st.sampled_from(ZONES)),
        "days": days,
        "holiday_country": draw(st.sampled_from(["KR", None])),
        "days_off": {"2027-03-10": "x"} if draw(st.booleans()) else {},
        "extra_days": {"2027-03-13": [["10:00", "11:30"]]} if draw(st.booleans()) else {},
    }


# Around 설날 2027, the US and UK spring DST changes and Lord Howe's half-hour one.
starts = st.integers(min_value=0, max_value=60 * 24 * 60).map(
    lambda m: datetime(2027, 2, 1, tzinfo=UTC) + timedelta(minutes=m)
)


def brute_minutes(config, start: datetime, minutes: int) -> int:
    return sum(hours.is_open(config, start + timedelta(minutes=i)) for i in range(minutes))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs(), start=starts, minutes=st.integers(0, 4 * 24 * 60))
def test_business_seconds_between_equals_the_brute_force(config, start, minutes):
    end = start + timedelta(minutes=minutes)
    assert hours.business_seconds_between(config, start, end) == 60 * brute_minutes(config, start, minutes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs(), start=starts, minutes=st.integers(1, 3 * 24 * 60))
def test_add_business_seconds_lands_on_the_brute_force_minute(config, start, minutes):
    due = hours.add_business_seconds(config, start, minutes * 60)
    if due is None:
        assert brute_minutes(config, start, 14 * 24 * 60) < minutes
        return
    # The minute the count reaches `minutes`, walking forward one minute at a time.
    count, at = 0, start
    while count < minutes:
        count += hours.is_open(config, at)
        at += timedelta(minutes=1)
    assert due == at
    assert hours.business_seconds_between(config, start, due) == minutes * 60


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs(), start=starts)
def test_next_opening_is_the_first_open_minute(config, start):
    opening = hours.next_opening(config, start)
    if opening is None:
        assert brute_minutes(config, start, 14 * 24 * 60) == 0
        return
    assert hours.is_open(config, opening)
    gap = int((opening - start).total_seconds() // 60)
    assert brute_minutes(config, start, gap) == 0
