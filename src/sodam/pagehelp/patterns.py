r"""URL patterns of page rules: checked when saved, matched in the visitor's browser.

What a pattern is matched against: a pattern that starts with "/" (a regex: "^/") sees the
page's path (`/pricing`), and its query too (`/pricing?plan=pro`) when the pattern itself holds
a "?" (a regex: "\?"); any other pattern sees the whole address without its #fragment
(`https://shop.example/pricing?plan=pro`). At most the first 1,000 characters are compared. Types:
- glob: `*` stands for any run of characters, everything else is literal; the whole target must
  match (`/orders/*/return`).
- prefix: the target starts with the pattern.
- contains: the pattern appears anywhere in the target.
- regex: a regular expression (searched, not anchored) in the small subset that Python and the
  browser's JavaScript read alike. Refused: back-references, look-arounds, named groups, inline
  flags, and anything that can backtrack catastrophically — a repeated group that itself holds a
  repetition or an alternation (`(a+)+`, `(a|aa)*`, `(.*x){9}`), more than three open-ended
  repetitions (`*`, `+`, `{n,}`) in one expression — so no visitor's browser can be made to hang
  on a page address. Glob is the simple choice; regex is there for what glob cannot say.
Pure functions: no database, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+
    import re._constants as _sre_constants
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as _sre_constants  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

from sodam.core.errors import Invalid

MATCH_TYPES = ("glob", "prefix", "contains", "regex")
MAX_PATTERN = 500
MAX_REGEX = 200
MAX_REPEAT_BOUND = 100
MAX_OPEN_REPEATS = 3
MAX_TARGET = 1000

# Spelled in the pattern itself: constructs the two engines read differently (or not at all).
_REFUSED_SYNTAX = (
    (re.compile(r"\(\?[=!]|\(\?<[=!]"), "look-arounds are not allowed", "unportable"),
    (re.compile(r"\(\?P|\(\?<[A-Za-z_]"), "named groups are not allowed", "unportable"),
    (re.compile(r"\(\?[aiLmsux-]"), "inline flags are not allowed", "unportable"),
    (re.compile(r"\\[1-9]|\\g"), "back-references are not allowed", "unportable"),
    (re.compile(r"\\[AZz]"), "use ^ and $ for the ends", "unportable"),
    (re.compile(r"[*+?}][+]"), "possessive quantifiers are not allowed", "unportable"),
)

_op = _sre_constants
_REPEATS = {_op.MAX_REPEAT, _op.MIN_REPEAT}
_ALLOWED = {
    _op.LITERAL,
    _op.NOT_LITERAL,
    _op.ANY,
    _op.IN,
    _op.BRANCH,
    _op.SUBPATTERN,
    _op.MAX_REPEAT,
    _op.MIN_REPEAT,
    _op.AT,
}


def _bad(reason: str, rule: str = "syntax") -> Invalid:
    """422 invalid_pattern; `details.rule` names the check (the console words it in ko / en)."""
    return Invalid(
        f"pattern: {reason}",
        code="invalid_pattern",
        details={"field": "pattern", "reason": reason, "rule": rule},
    )


def _items(sub) -> list[tuple[Any, Any]]:
    return list(sub.data if hasattr(sub, "data") else sub)


def _risky(sub) -> bool:
    """Whether this (repeated) body can match one string in many ways: it repeats or branches."""
    for op, av in _items(sub):
        if op in _REPEATS:
            if av[1] > 1 or _risky(av[2]):
                return True
        elif op is _op.BRANCH:
            return True
        elif op is _op.SUBPATTERN:
            if _risky(av[-1]):
                return True
    return False


def _open_repeats(sub) -> int:
    count = 0
    for op, av in _items(sub):
        if op in _REPEATS:
            count += (av[1] == _op.MAXREPEAT) + _open_repeats(av[2])
        elif op is _op.BRANCH:
            count += sum(_open_repeats(b) for b in av[1])
        elif op is _op.SUBPATTERN:
            count += _open_repeats(av[-1])
    return count


def _walk(sub) -> None:
    for op, av in _items(sub):
        if op not in _ALLOWED:
            raise _bad(f"the construct {str(op).lower()} is not allowed", "unportable")
        if op in _REPEATS:
            low, high, body = av
            bound = high if high != _op.MAXREPEAT else low
            if bound > MAX_REPEAT_BOUND:
                raise _bad(f"a repetition count above {MAX_REPEAT_BOUND} is not allowed", "catastrophic")
            if high > 1 and _risky(body):
                raise _bad(
                    "a repeated group may not hold another repetition or an alternation (it can hang a browser)"
                )
            _walk(body)
        elif op is _op.BRANCH:
            for branch in av[1]:
                _walk(branch)
        elif op is _op.SUBPATTERN:
            group, add_flags, del_flags, body = av
            if add_flags or del_flags:
                raise _bad("inline flags are not allowed", "unportable")
            _walk(body)


def check_regex(pattern: str) -> str:
    """The regex as stored, or 422 invalid_pattern with the reason."""
    if len(pattern) > MAX_REGEX:
        raise _bad(f"a regular expression may have at most {MAX_REGEX} characters", "too_long")
    for found, reason, rule in _REFUSED_SYNTAX:
        if found.search(pattern):
            raise _bad(reason, rule)
    try:
        parsed = _sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise _bad(f"not a valid regular expression ({exc})") from None
    _walk(parsed)
    if _open_repeats(parsed) > MAX_OPEN_REPEATS:
        raise _bad(
            f"at most {MAX_OPEN_REPEATS} open-ended repetitions (*, +, {{n,}}) are allowed", "catastrophic"
        )
    return pattern


def check(match_type: str, pattern: str) -> str:
    """The pattern as stored (trimmed), or 422 invalid_pattern / invalid_match_type."""
    if match_type not in MATCH_TYPES:
        raise Invalid(
            "match_type must be one of glob, prefix, contains, regex",
            code="invalid_match_type",
            details={"field": "match_type", "reason": "unknown"},
        )
    pattern = (pattern or "").strip()
    if not pattern:
        raise _bad("the pattern is empty", "empty")
    if len(pattern) > MAX_PATTERN:
        raise _bad(f"a pattern may have at most {MAX_PATTERN} characters", "too_long")
    if any(ord(c) < 32 for c in pattern):
        raise _bad("control characters are not allowed", "syntax")
    if match_type == "regex":
        return check_regex(pattern)
    if match_type == "glob" and pattern.strip("*") == "":
        return "*"
    return pattern


def target(url: str, pattern: str) -> str:  # widget-pagehelp.js has its twin
    """What the pattern is matched against (see the module's note)."""
    url = url.split("#", 1)[0]
    if pattern.startswith(("/", "^/")):
        rest = url.split("://", 1)[-1]
        slash = rest.find("/")
        url = rest[slash:] if slash >= 0 else "/"
        asks_query = "\\?" in pattern if pattern.startswith("^") else "?" in pattern
        if not asks_query:
            url = url.split("?", 1)[0]
    return url[:MAX_TARGET]


def matches(match_type: str, pattern: str, url: str) -> bool:
    """The same decision the widget makes (tests and the console's "try a URL" use it)."""
    subject = target(url, pattern)
    if match_type == "prefix":
        return subject.startswith(pattern)
    if match_type == "contains":
        return pattern in subject
    if match_type == "glob":
        return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), subject, re.S) is not None
    return re.search(pattern, subject) is not None
