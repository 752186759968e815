"""Filling `{{contact.name}}`-style placeholders: a tiny, safe substitution, never a template
engine on user text (an agent's reply body must not be able to run anything)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sodam.nlp.text import has_hangul

PLACEHOLDER_RE = re.compile(r"\{\{\s*((?:contact|agent)\.[^\s{}]{1,80})\s*\}\}")

# Two-syllable Korean family names (남궁민지 → 민지); the rest take one syllable.
COMPOUND_SURNAMES = frozenset(
    {
        "남궁",
        "황보",
        "제갈",
        "선우",
        "서문",
        "독고",
        "사공",
        "동방",
        "망절",
        "어금",
        "장곡",
        "황목",
        "강전",
        "소봉",
        "공손",
    }
)

# What a reply calls a customer whose name we do not know.
NAMELESS = {"ko": "고객", "en": "there"}


def _korean_given_name(name: str) -> str:
    parts = name.split()
    if len(parts) > 1:  # "김 민지"
        first = parts[0]
        if len(first) == 1 or first in COMPOUND_SURNAMES:
            return "".join(parts[1:])
        return name
    if len(name) == 4 and name[:2] in COMPOUND_SURNAMES:
        return name[2:]
    if len(name) == 3:
        return name[1:] if name[:2] not in COMPOUND_SURNAMES else name[2:]
    # Two syllables (이준) or longer: calling the customer by the given name alone reads oddly.
    return name


def first_name(name: str | None) -> str | None:
    """The name to greet someone by: 김민지 → 민지, "Minji Kim" → Minji, "Kim, Minji" → Minji."""
    name = " ".join((name or "").split())
    if not name or "@" in name:
        return None
    if has_hangul(name) and all(has_hangul(part) for part in name.split()):
        return _korean_given_name(name)
    if "," in name:  # "Kim, Minji"
        after = name.split(",", 1)[1].strip()
        if after:
            return after.split()[0]
    return name.split()[0]


def reply_language(body: str, contact_language: str | None = None) -> str:
    """The language a reply is written in (its own text decides; the contact's as a tiebreak)."""
    if has_hangul(body):
        return "ko"
    if contact_language and contact_language.lower().startswith("ko") and not re.search(r"[A-Za-z]", body):
        return "ko"
    return "en"


def values_for(
    *,
    contact: Any | None,
    agent_name: str | None,
    language: str,
) -> dict[str, str]:
    """Every known placeholder's value for this contact and agent (missing ones left out)."""
    nameless = NAMELESS.get(language, NAMELESS["en"])
    name = " ".join(((contact.name if contact else None) or "").split())
    values: dict[str, str] = {
        "contact.name": name or nameless,
        "contact.first_name": first_name(name) or nameless,
    }
    if agent_name:
        values["agent.name"] = agent_name
    if contact is not None:
        for field in ("email", "phone", "company"):
            value = getattr(contact, field, None)
            if value:
                values[f"contact.{field}"] = str(value)
        for key, value in (contact.custom_attributes or {}).items():
            if value is None or isinstance(value, dict | list) or f"contact.{key}" in values:
                continue
            values[f"contact.{key}"] = str(value)
    return values


def fill(body: str, values: Mapping[str, str]) -> str:
    """The body with every known placeholder replaced; unknown ones stay as typed, so the
    agent sees them before sending."""

    def replace(match: re.Match) -> str:
        return values.get(match.group(1), match.group(0))

    return PLACEHOLDER_RE.sub(replace, body)
