"""Jobs every install has."""

from __future__ import annotations

from sodam.jobs.app import job_app


@job_app.task(name="sodam.echo", queue="default")
async def echo(**kwargs) -> dict:
    """A no-op used to check that workers run jobs (tests, `sodam worker --check`)."""
    return kwargs
