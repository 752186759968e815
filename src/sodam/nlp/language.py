"""Language detection: Korean or English first, a few neighbours so we can say "neither".

Hangul decides Korean on its own (cheap and certain); otherwise lingua, limited to
a handful of languages and built once per process, decides between the rest.
"""

from __future__ import annotations

import re
import threading

__all__ = ["LANGUAGES", "NEEDS_MODEL", "detect", "detect_at_once"]

# ISO 639-1 codes lingua may answer with; ko and en are the product's, the others
# keep an obviously foreign message from being forced into English.
LANGUAGES = ("ko", "en", "ja", "zh", "es", "fr", "de", "vi")

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_detector = None
_lock = threading.Lock()


def _get_detector():
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from lingua import IsoCode639_1, LanguageDetectorBuilder

                codes = [getattr(IsoCode639_1, c.upper()) for c in LANGUAGES]
                _detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()
    return _detector


# detect_at_once's answer when only the statistical model can tell.
NEEDS_MODEL = object()


def detect_at_once(text: str, default: str | None = None):
    """detect()'s answer when it needs no statistics (no letters, Hangul, a short ASCII word):
    cheap enough for an event loop. NEEDS_MODEL when only the model can tell."""
    letters = _LETTER.findall(text or "")
    if not letters:
        return default
    hangul = sum(1 for ch in letters if _HANGUL.match(ch))
    if hangul / len(letters) >= 0.25:
        return "ko"
    if all(ch.isascii() for ch in letters) and len(letters) < 4:
        return "en"  # "ok", "hi": too short for statistics, and ASCII letters are English here
    return NEEDS_MODEL


def detect(text: str, default: str | None = None) -> str | None:
    """ISO 639-1 code of the text's language ("ko", "en", ...), or default when there are no letters.

    Korean wins when at least a quarter of the letters are Hangul: a Korean
    sentence with an English product name ("iPhone 배터리 교체") is still Korean.
    """
    at_once = detect_at_once(text, default)
    if at_once is not NEEDS_MODEL:
        return at_once
    lang = _get_detector().detect_language_of(text)
    if lang is None:
        return default
    return lang.iso_code_639_1.name.lower()
