"""What a process loads before its first request or job, off the event loop."""

from __future__ import annotations

import gc


def warm_up_language_models(with_jobs: bool) -> None:
    # First what the first bot reply and the first handoff would load on the event loop: the
    # message catalogs (Babel parses the .po files) and the holiday calendar behind the
    # business hours (importing `holidays`: 0.6 s of the loop under load, every message waited).
    from datetime import UTC, datetime

    from sodam.core.i18n import LOCALES, catalog
    from sodam.hours.calendar import DEFAULT_HOURS, is_open

    for locale in LOCALES:
        catalog(locale)
    is_open(DEFAULT_HOURS, datetime.now(UTC))

    from sodam.nlp.text import get_kiwi

    get_kiwi().tokenize("워밍업 문장입니다")
    if with_jobs:
        # The reactions detect the language of every message that is not Korean (sentiment,
        # the bot). Building lingua's detector holds the GIL for 1-2 s: done during the first
        # English message, it stopped this process's event loop, the message path with it.
        from sodam.nlp.language import detect

        detect("warming up the language detector")

    # Everything loaded so far (modules, catalogs, models, pools) lives as long as the process:
    # out of the cyclic collector's reach. Otherwise every full collection scans it all again,
    # with the event loop stopped: ~140 ms for a warmed web process's 300,000 objects on a
    # quiet machine (tests/test_warmup.py), under 1 ms once they are frozen.
    gc.collect()
    gc.freeze()
