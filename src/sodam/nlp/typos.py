"""Customers' typos of the knowledge base's own words: "환볼 언제되나요" -> "환불 언제되나요".

A word is corrected only when all of these hold, so real words are left alone ("해요" is not
"해외", "직원" is not "지원"):
- Kiwi finds its word (eojeol) odd: a root it cannot place (XR) or a noun it only knows as an
  unseen one (score below UNKNOWN_NOUN_SCORE; known nouns score -4 to -14, typos -20 to -25);
- a 2–4 syllable prefix of it is such an unknown word itself, not a word of the knowledge base;
- exactly one word of the knowledge base of the same length differs from it in one jamo
  (a vowel, a lead or a final consonant: 배숑/배송, 환뷸/환불, 탈뢰/탈퇴, 쿠퐁/쿠폰).

The candidates are the index's Hangul terms (its vocabulary, 2–4 syllables), looked up through
one-jamo-wildcard keys, so a query costs a few dictionary probes and one Kiwi call per odd word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sodam.nlp.text import get_kiwi

UNKNOWN_NOUN_SCORE = -18.0
MIN_SYLLABLES, MAX_SYLLABLES = 2, 4
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
_LEADS, _VOWELS, _TAILS = 19, 21, 28


def jamo(word: str) -> str:
    """Each Hangul syllable as three symbols (lead, vowel, tail — "no tail" is a symbol too), so
    one jamo typo is one substitution."""
    out = []
    for ch in word:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append(chr(0x1100 + code // 588))
            out.append(chr(0x1161 + (code % 588) // 28))
            out.append(chr(0x11A7 + code % 28))
        else:
            out.append(ch)
    return "".join(out)


def _keys(word: str) -> list[str]:
    j = jamo(word)
    return [j[:i] + "*" + j[i + 1 :] for i in range(len(j))]


_MANY = ""  # a key more than one word shares


class TypoFixer:
    def __init__(self, words: Iterable[str]) -> None:
        self.words: set[str] = set()
        # one-jamo-wildcard key -> the one word with it (or _MANY): only uniqueness matters
        self._by_key: dict[str, str] = {}
        for word in words:
            if MIN_SYLLABLES <= len(word) <= MAX_SYLLABLES and _HANGUL_WORD.fullmatch(word):
                if word in self.words:
                    continue
                self.words.add(word)
                for key in _keys(word):
                    self._by_key[key] = word if key not in self._by_key else _MANY

    def _candidate(self, prefix: str) -> str | None:
        found = {self._by_key[key] for key in _keys(prefix) if key in self._by_key}
        return next(iter(found)) if len(found) == 1 and _MANY not in found else None

    def fix(self, text: str) -> str:
        """The text with each odd word's typo of a knowledge-base word replaced by that word."""
        if not self.words:
            return text
        words = text.split(" ")
        changed = False
        for i, word in enumerate(words):
            if len(word) < MIN_SYLLABLES or not _HANGUL_WORD.match(word) or not _odd(word):
                continue
            for n in range(min(MAX_SYLLABLES, len(word)), MIN_SYLLABLES - 1, -1):
                prefix = word[:n]
                if not _HANGUL_WORD.fullmatch(prefix) or prefix in self.words:
                    continue
                right = self._candidate(prefix)
                if right is not None and _odd(prefix, whole=True):
                    words[i] = right + word[n:]
                    changed = True
                    break
        return " ".join(words) if changed else text


def _odd(word: str, *, whole: bool = False) -> bool:
    """Kiwi cannot place the word: a root (XR) or a noun scored as unseen; with `whole`, the
    word must be that one unseen noun (or hold such a root)."""
    tokens = get_kiwi().analyze(word, top_n=1)[0][0]
    if any(t.tag == "XR" for t in tokens):
        return True
    unknown = [t.tag in ("NNG", "NNP") and t.score < UNKNOWN_NOUN_SCORE for t in tokens]
    return (len(tokens) == 1 and unknown[0]) if whole else any(unknown)
