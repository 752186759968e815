"""Phone numbers as one comparable form: E.164, Korean numbers by default (010-1234-5678 ->
+821012345678), so the same number written two ways is one contact."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "KR"
_NOT_DIGITS = re.compile(r"[^\d]")


def normalise(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for a number phonenumbers can parse; else its digits (with a leading +), so an
    odd number still matches itself; None when nothing number-like is left."""
    if not raw or not raw.strip():
        return None
    value = raw.strip()
    try:
        parsed = phonenumbers.parse(value, region)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = _NOT_DIGITS.sub("", value)
    if len(digits) < 4:
        return None
    return ("+" if value.startswith("+") else "") + digits[:30]
