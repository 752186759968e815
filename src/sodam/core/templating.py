"""Jinja2 environment for server-rendered pages (autoescaped; ko/en via gettext)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from fastapi.templating import Jinja2Templates

from sodam.core.i18n import translations

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_translations(translations("ko"), newstyle=True)  # type: ignore[attr-defined]
# Every time on a page is shown in one zone, Korea's (there is no per-agent or per-workspace
# setting yet); console.js reads the same zone from <body data-time-zone> for live messages.
SHOWN_ZONE_NAME = "Asia/Seoul"
SHOWN_ZONE = ZoneInfo(SHOWN_ZONE_NAME)


def shown_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time, or its ISO string, as the shown zone's wall-clock time."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(SHOWN_ZONE).strftime(fmt)


_env.filters["kst"] = shown_time
_env.globals["shown_time_zone"] = SHOWN_ZONE_NAME
templates = Jinja2Templates(env=_env)


def render(request, name: str, context: dict, *, locale: str, status_code: int = 200, headers=None):
    """Render a template in the given locale.

    Rendering is synchronous, so installing the locale's catalog just before it
    cannot interleave with another request's render.
    """
    _env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return templates.TemplateResponse(
        request, name, {"locale": locale, **context}, status_code=status_code, headers=headers
    )
