"""Jobs every install has."""

from __future__ import annotations

from sodam.config import get_settings
from sodam.jobs.app import job_app


@job_app.task(name="sodam.echo", queue="default")
async def echo(**kwargs) -> dict:
    """A no-op used to check that workers run jobs (tests, `sodam worker --check`)."""
    return kwargs


@job_app.periodic(cron="*/5 * * * *")
@job_app.task(name="sodam.purge_rate_limits", queue="default", queueing_lock="sodam.purge_rate_limits")
async def purge_rate_limits(timestamp: int) -> dict:
    """Drop rate-limit buckets that are full again and sign-in counters that have expired."""
    from sodam.accounts import throttle
    from sodam.core import ratelimit

    return {
        "buckets": await ratelimit.purge(),
        "login_throttles": await throttle.purge(window_s=get_settings().login_failure_window_s),
    }
