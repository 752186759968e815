"""The loop every job-running process runs beside its job worker: drain the outbox and run
due journey steps every `SODAM_AUTOMATIONS_POLL_S` seconds (events written by the database
triggers defer no job; this is what picks them up within a second)."""

from __future__ import annotations

import asyncio
import logging

from sodam.config import get_settings

log = logging.getLogger(__name__)


async def run_forever() -> None:
    from sodam.automations import runner

    poll = get_settings().automations_poll_s
    if poll <= 0:
        await asyncio.Event().wait()  # switched off: stay idle until cancelled
    while True:
        try:
            await runner.process()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("automations: processing failed; trying again", exc_info=True)
        await asyncio.sleep(poll)
