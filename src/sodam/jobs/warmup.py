"""What a process loads before its first request or job, off the event loop."""

from __future__ import annotations

import gc
import importlib
import importlib.util
import pkgutil


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

    _load_models()

    from sodam.nlp.text import get_kiwi

    get_kiwi().tokenize("워밍업 문장입니다")
    if with_jobs:
        for name in _REACTION_MODULES:
            importlib.import_module(name)
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


# Modules the reactions import inside their functions (to keep import cycles out): the first
# handoff or routing run would import them on the worker's event loop.
_REACTION_MODULES = (
    "sodam.bot.replier",
    "sodam.conversations.assignment",
    "sodam.conversations.tags",
    "sodam.routing.engine",
    "sodam.routing.presence",
    "sodam.routing.queue",
    "sodam.routing.service",
)


def _load_models() -> None:
    """Every domain's models, with SQLAlchemy's mappers configured. Otherwise the first job or
    request touching a domain not imported yet defines its classes and configures the mappers
    again on the event loop: with the reaction modules above, a first handoff in the job worker
    took 85-98 ms of CPU, 59-62 ms with them loaded here (bench/README.md, session 29), paid by
    the first few at once when a burst of conversations starts."""
    from sqlalchemy.orm import configure_mappers

    import sodam

    for package in pkgutil.iter_modules(sodam.__path__):
        name = f"sodam.{package.name}.models"
        if package.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    configure_mappers()
