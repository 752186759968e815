"""Jinja2 environment for server-rendered pages (autoescaped; ko/en via gettext)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from sodam.core.i18n import translations

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR), extensions=["jinja2.ext.i18n"])
templates.env.autoescape = True
templates.env.install_gettext_translations(translations("ko"), newstyle=True)  # type: ignore[attr-defined]


def render(request, name: str, context: dict, *, locale: str, status_code: int = 200):
    """Render a template in the given locale."""
    env = templates.env
    trans = translations(locale)
    env.install_gettext_translations(trans, newstyle=True)  # type: ignore[attr-defined]
    return templates.TemplateResponse(request, name, {"locale": locale, **context}, status_code=status_code)
