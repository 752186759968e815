"""Korean particles that depend on the word before them (로 / 으로, 이 / 가)."""

from __future__ import annotations

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
FINAL_RIEUL = 8  # ㄹ: takes 로 like a syllable without a final consonant ("서울로")
# How each digit is read (영 일 이 삼 사 오 육 칠 팔 구): does it take 으로?
DIGIT_TAKES_EURO = {"0": True, "3": True, "6": True}
TRAILING = " \t\n'\"’”)]」』>"


def ro(word: str) -> str:
    """The particle 로 or 으로 for `word` by its last syllable's final consonant; "(으)로" when
    that cannot be told (a Latin letter, a symbol, nothing)."""
    stripped = word.rstrip(TRAILING)
    if not stripped:
        return "(으)로"
    last = stripped[-1]
    if last.isdigit() and last.isascii():
        return "으로" if DIGIT_TAKES_EURO.get(last) else "로"
    code = ord(last)
    if not HANGUL_FIRST <= code <= HANGUL_LAST:
        return "(으)로"
    final = (code - HANGUL_FIRST) % 28
    return "로" if final in (0, FINAL_RIEUL) else "으로"


def i_ga(word: str) -> str:
    """The subject particle 이 or 가 for `word` ("시스템이", "봇이", "매니저가"); "이(가)" when
    that cannot be told."""
    stripped = word.rstrip(TRAILING)
    code = ord(stripped[-1]) if stripped else 0
    if not HANGUL_FIRST <= code <= HANGUL_LAST:
        return "이(가)"
    return "가" if (code - HANGUL_FIRST) % 28 == 0 else "이"
