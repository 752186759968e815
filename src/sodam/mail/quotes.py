"""Quoted history in a reply: the customer's new words apart from what they quoted.

Mail clients put the previous messages below the new text: lines starting with ">", an
attribution line ("On Mon, … wrote:", "2026년 12월 1일 (화) 오후 3:02, 홍길동님이 작성:"),
Outlook's "-----Original Message-----" or its header block ("From:/Sent:" or
"보낸 사람:/보낸 날짜:"). The console shows the new text and folds the rest.
"""

from __future__ import annotations

import re

_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,400}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^.{0,400}님이 작성(하신 글)?:\s*$"),
    re.compile(r"^.{0,400}\b(schrieb|a écrit|escribió)\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|원본 메시지|원본 메일)\s*-{2,}\s*$", re.IGNORECASE),
]
# Outlook's header block: the first line, then one of the others within a few lines.
_HEADER_START = re.compile(r"^\s*\**\s*(From|보낸 사람)\s*\**\s*:\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\**\s*(Sent|Date|To|Subject|보낸 날짜|받는 사람|날짜|제목)\s*\**\s*:", re.IGNORECASE
)
_RULE = re.compile(r"^\s*_{10,}\s*$")


def _attribution_at(lines: list[str], i: int) -> bool:
    line = lines[i]
    if any(p.match(line) for p in _ATTRIBUTION):
        return True
    # Gmail wraps a long attribution: "On Mon, 1 Dec 2026 at 15:02, Kim <" / "kim@x.kr> wrote:"
    if i + 1 < len(lines) and re.match(r"^\s*On\b", line, re.IGNORECASE):
        joined = line.rstrip() + " " + lines[i + 1].strip()
        if any(p.match(joined) for p in _ATTRIBUTION[:1]):
            return True
    if _HEADER_START.match(line):
        following = lines[i + 1 : i + 5]
        return sum(1 for f in following if _HEADER_NEXT.match(f)) >= 2
    return False


def split_quote(text: str) -> tuple[str, str]:
    """(new text, quoted history); the history is "" when there is none."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = None
    for i in range(len(lines)):
        if _attribution_at(lines, i):
            cut = i
            # An Outlook rule line just above belongs to the history too.
            if cut > 0 and _RULE.match(lines[cut - 1]):
                cut -= 1
            break
    if cut is None:
        # No attribution: a trailing block of ">" lines (blank lines inside it allowed).
        end = len(lines)
        while end > 0 and not lines[end - 1].strip():
            end -= 1
        start = end
        while start > 0 and (lines[start - 1].startswith(">") or not lines[start - 1].strip()):
            start -= 1
        while start < end and not lines[start].strip():
            start += 1
        if start < end and any(line.startswith(">") for line in lines[start:end]):
            cut = start
    if cut is None:
        return text.strip(), ""
    new = "\n".join(lines[:cut]).strip()
    quote = "\n".join(lines[cut:]).strip()
    if not new:
        # Nothing but history (a forward, a top-quoted mail): show it all.
        return text.strip(), ""
    return new, quote
