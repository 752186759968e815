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

English words ("recieve", "downlaod", "pasword") have no tagger to call them odd: a word is
corrected when its stem (nlp.text.stem) is at least EN_MIN_LETTERS letters, is not a word of the
knowledge base, and exactly one word of the knowledge base is one edit away (a letter added,
dropped, changed or two neighbours swapped), found through single-deletion keys. It is replaced by
that word as the index spells it (its stem: "recieve" -> "receiv"), which is what the ranking reads.
Short words are left alone: "plane" is not a typo of "plan".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sodam.nlp.text import get_kiwi, stem

UNKNOWN_NOUN_SCORE = -18.0
MIN_SYLLABLES, MAX_SYLLABLES = 2, 4
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
EN_MIN_LETTERS = 6
_LATIN_WORD = re.compile(r"(?<![\w'])[a-z]+(?![\w'])")
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
        self.english: set[str] = set()
        self._by_deletion: dict[str, str] = {}  # an English word or one of its single deletions -> it
        for word in words:
            if len(word) >= EN_MIN_LETTERS - 1 and word.isascii() and word.isalpha():
                self.english.add(word)
                for key in {word} | _deletions(word):
                    self._by_deletion[key] = word if self._by_deletion.get(key, word) == word else _MANY
                continue
            if MIN_SYLLABLES <= len(word) <= MAX_SYLLABLES and _HANGUL_WORD.fullmatch(word):
                if word in self.words:
                    continue
                self.words.add(word)
                for key in _keys(word):
                    self._by_key[key] = word if key not in self._by_key else _MANY

    def _candidate(self, prefix: str) -> str | None:
        found = {self._by_key[key] for key in _keys(prefix) if key in self._by_key}
        return next(iter(found)) if len(found) == 1 and _MANY not in found else None

    def _english(self, word: str) -> str:
        w = stem(word)
        if len(w) < EN_MIN_LETTERS or w in self.english:
            return word
        found = {self._by_deletion[k] for k in {w} | _deletions(w) if k in self._by_deletion}
        if len(found) != 1 or _MANY in found:
            return word
        right = next(iter(found))
        return right if _one_edit(w, right) else word

    def fix(self, text: str) -> str:
        """The text with each odd word's typo of a knowledge-base word replaced by that word."""
        if self.english and _LATIN_WORD.search(text):
            text = _LATIN_WORD.sub(lambda m: self._english(m.group(0)), text)
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


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """a and b differ by one letter added, dropped or changed, or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    return a[i + 1 :] == b[i + 1 :] or (a[i + 2 :] == b[i + 2 :] and a[i : i + 2] == b[i : i + 2][::-1])
