"""Korean and English catalogs (gettext .po files read with Babel)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("ko", "en")
DEFAULT_LOCALE = "ko"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


@lru_cache
def catalog(locale: str) -> dict[str, str]:
    """Every *.po file of a locale merged (one file per area: widget, console, api, ...)."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            cat = read_po(fh, locale=locale)
        merged.update({str(m.id): str(m.string) for m in cat if m.id and m.string})
    return merged


def gettext(locale: str, msgid: str, **params: object) -> str:
    text = catalog(normalise(locale)).get(msgid, msgid)
    return text.format(**params) if params else text


class CatalogTranslations(Translations):
    """A Babel Translations object over our dict, for Jinja2's i18n extension."""

    def __init__(self, locale: str):
        super().__init__()
        self._catalog = dict(catalog(normalise(locale)))
        self.locale = normalise(locale)


@lru_cache
def translations(locale: str) -> CatalogTranslations:
    return CatalogTranslations(locale)


def normalise(locale: str | None) -> str:
    if not locale:
        return DEFAULT_LOCALE
    short = locale.strip().lower().replace("_", "-").split("-")[0]
    return short if short in LOCALES else DEFAULT_LOCALE


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Pick ko or en from an Accept-Language header."""
    if not accept_language:
        return default
    best, best_q = None, -1.0
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        lang, _, q = piece.partition(";q=")
        short = lang.strip().lower().split("-")[0]
        try:
            quality = float(q) if q else 1.0
        except ValueError:
            quality = 0.0
        if short in LOCALES and quality > best_q:
            best, best_q = short, quality
    return best or default
