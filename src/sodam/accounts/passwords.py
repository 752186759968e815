"""The password policy (NIST SP 800-63B style): long enough, not a known-common password,
not the account's own e-mail or name. No composition rules: they make passwords worse."""

from __future__ import annotations

import re

from sodam.core.errors import Invalid

DEFAULT_MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 handles any length; this only stops abuse
# The most used passwords in public breach corpora, and the keyboard walks Korean users
# favour (1q2w3e4r, qwer1234, ...). Compared after lower-casing and dropping separators.
COMMON = frozenset(
    """
    1234567890 0123456789 1234512345 1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx3edc qwer1234!! qwerty1234
    qwertyuiop asdfghjkl; asdfghjkl zxcvbnm123 qazwsxedc123 password1! password12 password123
    password1234 passw0rd12 p@ssw0rd12 p@ssword123 iloveyou12 iloveyou123 admin12345 admin1234!
    administrator welcome123 welcome1234 letmein123 sunshine12 princess12 football12 baseball12
    dragon1234 monkey1234 master1234 superman12 trustno123 abc1234567 abcd123456 abcdefghij
    a123456789 aa12345678 q1w2e3r4t5 1a2b3c4d5e 1111111111 0000000000 1212121212 9876543210
    changeme12 changeme123 secret1234 loveyou123 sarang1234 saranghae1 saranghae12 tkfkdgo123
    gksrmf1234 dkssud1234 qwer12341234 1q2w3e4r!! 1q2w3e4r1q2w3e4r asdf1234!! asdf123456
    zxcv123456 test123456 testtest12 guest12345 sodam12345 sodam-demo sodamsodam
    """.split()
)
_SEPARATORS = re.compile(r"[\s._\-]+")


def check(password: str, *, email: str = "", name: str = "", min_length: int = DEFAULT_MIN_LENGTH) -> None:
    """Raise Invalid(weak_password) with a machine-readable reason when the password is refused."""
    reason = refusal(password, email=email, name=name, min_length=min_length)
    if reason is None:
        return
    messages = {
        "too_short": f"the password needs at least {min_length} characters",
        "too_long": f"the password may have at most {MAX_LENGTH} characters",
        "common": "this password is too common: choose one nobody would guess",
        "personal": "the password must not contain your e-mail address or name",
        "repetitive": "the password is one character repeated",
    }
    raise Invalid(
        messages[reason], code="weak_password", details={"reason": reason, "min_length": min_length}
    )


def refusal(
    password: str, *, email: str = "", name: str = "", min_length: int = DEFAULT_MIN_LENGTH
) -> str | None:
    """Why the policy refuses this password (a reason code), or None when it is fine."""
    if len(password) < min_length:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    folded = _SEPARATORS.sub("", password.lower())
    if folded in COMMON or password.lower() in COMMON:
        return "common"
    if len(set(folded)) <= 2:
        return "repetitive"
    local = _SEPARATORS.sub("", email.split("@", 1)[0].lower())
    personal = [p for p in (local, _SEPARATORS.sub("", name.lower())) if len(p) >= 4]
    if any(p in folded for p in personal):
        return "personal"
    return None
