"""Jinja2 environment for server-rendered pages (autoescaped; ko/en via gettext)."""

from __future__ import annotations

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
# Times on console pages are shown in Korea's time zone (as the audit log says it does).
SHOWN_ZONE = ZoneInfo("Asia/Seoul")
_env.filters["kst"] = lambda value: value.astimezone(SHOWN_ZONE).strftime("%Y-%m-%d %H:%M") if value else ""
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
