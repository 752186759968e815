"""Phone numbers as callers' identities: one normal form, E.164 (+82…)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D+")
E164 = re.compile(r"^\+[1-9][0-9]{5,14}$")


def normalise(raw: str | None, country_code: str = "82") -> str | None:
    """'010-1234-5678' → '+821012345678'; '+82 10 1234 5678' → '+821012345678'; None if not a
    number (anonymous callers, 'client:…' identities)."""
    if not raw:
        return None
    text = raw.strip()
    digits = _DIGITS.sub("", text)
    if not digits:
        return None
    if text.startswith("+"):
        number = "+" + digits
    elif text.startswith("00"):
        number = "+" + digits[2:]
    elif digits.startswith("0"):
        number = f"+{country_code}{digits[1:]}"
    elif country_code == "82" and len(digits) == 8 and digits[:2] in ("15", "16", "18"):
        number = f"+82{digits}"  # 대표번호 (1588-1234): dialled without an area code
    else:
        number = "+" + digits
    return number if E164.match(number) else None


def display(number: str | None) -> str:
    """'+821012345678' → '010-1234-5678' (Korean numbers as Koreans write them)."""
    if not number:
        return ""
    if number.startswith("+82") and len(number) == 11 and number[3:5] in ("15", "16", "18"):
        return f"{number[3:7]}-{number[7:]}"
    if number.startswith("+82"):
        local = "0" + number[3:]
        if len(local) == 11:
            return f"{local[:3]}-{local[3:7]}-{local[7:]}"
        if len(local) == 9 and local.startswith("02"):
            return f"{local[:2]}-{local[2:5]}-{local[5:]}"
        if len(local) == 10 and local.startswith("02"):
            return f"{local[:2]}-{local[2:6]}-{local[6:]}"
        if len(local) == 10:
            return f"{local[:3]}-{local[3:6]}-{local[6:]}"
        return local
    return number
