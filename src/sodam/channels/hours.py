"""Business hours per inbox: are we open now, and when does a person reply next.

The arithmetic lives in `sodam.hours.calendar` (several spans a day, public holidays,
custom days off and working days, exact across time-zone changes); these names stay here
because the widget, the bot and routing call them as `channels.hours.*`.
"""

from __future__ import annotations

from sodam.hours.calendar import ALWAYS_OPEN as ALWAYS_OPEN
from sodam.hours.calendar import DAYS as DAYS
from sodam.hours.calendar import DEFAULT_HOURS as DEFAULT_HOURS
from sodam.hours.calendar import add_business_seconds as add_business_seconds
from sodam.hours.calendar import business_seconds_between as business_seconds_between
from sodam.hours.calendar import is_open as is_open
from sodam.hours.calendar import next_opening as next_opening
