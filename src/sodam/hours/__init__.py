"""Business hours and holidays (운영 시간): the calendar arithmetic and the console editor."""
