"""Query strings in server logs keep only harmless parameters.

uvicorn logs every request and socket handshake with its full URL at INFO; a
credential or a customer's search in a query string would be kept in the logs for
as long as they are. Values of parameters not on the allow-list become [redacted].
"""

from __future__ import annotations

import logging
import re

# Positions and switches: never a secret, never personal data.
SAFE_PARAMS = frozenset(
    {"after_seq", "conversation_id", "limit", "locale", "status", "view", "inbox", "page", "sort", "s", "a"}
)
_QUERY_PARAM = re.compile(r"([?&])([^=&\s\"]+)=([^&\s\"]*)")
UVICORN_LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact_url(text: str) -> str:
    """The text with the value of every non-allow-listed query parameter replaced."""
    if "?" not in text:
        return text

    def replace(match: re.Match) -> str:
        sep, key, value = match.groups()
        return match.group(0) if key in SAFE_PARAMS else f"{sep}{key}=[redacted]"

    return _QUERY_PARAM.sub(replace, text)


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


def install() -> None:
    """Add the filter to uvicorn's loggers (idempotent)."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
            logger.addFilter(RedactQueryStrings())
