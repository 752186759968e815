"""Personal data in free text replaced by stand-ins, consistently within one document set.

Used for training scenarios (a resolved conversation replayed to a trainee): names, e-mail
addresses, phone numbers (Korean mobile 010-…, +82…, landlines, 대표번호, international),
addresses (Korean road and jibun addresses, English street addresses), order numbers and card
numbers are found and replaced. One `Anonymiser` serves one scenario: the same original gives
the same stand-in everywhere in it ("010-1234-5678" and "+82 10 1234 5678" are one number),
and the contact's name is replaced wherever it appears, its given name too (김민지 → 민지).

Detection is by patterns, not a model: every candidate span is collected, overlaps are
resolved by kind (e-mail before card before phone …) and then by length, and the text is
rebuilt once, so a stand-in is never itself re-read. Web addresses are left untouched
(help-center links must survive). Stand-ins come from reserved forms that are never real
data: 010-0000-NNNN, 0000-0000-0000-NNNN, customerN@example.com, "가상구 연습로".

Pure text: no database, no domain (import-linter keeps `nlp/` so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["KINDS", "Anonymiser", "anonymise"]

KINDS = ("email", "card", "phone", "address", "order", "name")

# Korean family names (most common first); a name is a family name and one or two syllables.
_SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구"
    "민진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부"
)
_KO_NAME = rf"(?:남궁|황보|제갈|선우|독고|[{_SURNAMES}])[가-힣]{{1,2}}"
# What may follow a Korean name mentioned with a cue (이름은 …, … 고객님, … 입니다).
_KO_NAME_AFTER = (
    r"(?=\s*(?:고객님|고객|님|씨|입니다|이에요|예요|이고요|이고|이요|요|라고|이라고|[.,!?)]|$)|\s)"
)
_EN_WORD = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+|(?<![\w@])/(?:help|console|api)/[^\s<>\"']+")
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}"
)
_CARD = re.compile(
    r"(?<![\d-])(?:\d{4}[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}(?:[- ]?\d{3})?|\d{4}[- ]?\d{6}[- ]?\d{5})(?![\d])"
)
_PHONE = re.compile(
    r"(?<![\d+])(?:"
    r"\+82[-. ]?(?:\(0\)[-. ]?)?\d{1,2}[-. ]?\d{3,4}[-. ]?\d{4}"  # +82 10 1234 5678, +82-2-123-4567
    r"|\+(?:[1-79]\d{0,2}|8[013-9]\d?)[-. ]?(?:\(\d{1,4}\)[-. ]?)?\d{1,4}(?:[-. ]?\d{2,4}){1,3}"  # other
    r"|01[016789][-. ]?\d{3,4}[-. ]?\d{4}"  # Korean mobile
    r"|\(?0(?:2|[3-6][1-5]|70|50\d)\)?[-. ]?\d{3,4}[-. ]?\d{4}"  # Korean landline, 070, 050x
    r"|1[568]\d{2}-\d{4}"  # 대표번호 1588-1234
    r"|\(\d{3}\) ?\d{3}-\d{4}"  # (415) 555-0132
    r")(?![\d])"
)
_NOT_REGIONS = (
    r"(?!(?:혹시|다시|역시|동시|잠시|당시|즉시|항시|표시|제시|지시|무시|정도|속도|친구|도구|요구|연구|가구|"
    r"입구|출구|창구|하시|오시|가시|보시|주시|계시|드시|그러시|맞으시)(?:\s|$))"
)
_KO_REGION = (
    r"(?:[가-힣]{1,10}(?:특별시|광역시|특별자치시|특별자치도|도|시|군|구|읍|면)"
    r"|서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주)"
)
_KO_ADDRESS = re.compile(
    rf"(?<![가-힣]){_NOT_REGIONS}{_KO_REGION}(?:\s+{_KO_REGION}){{0,3}}\s+"
    r"(?:[가-힣0-9]{1,20}(?:로|길)(?:\s?\d{1,4}(?:번길|길))?\s?\d{1,5}(?:-\d{1,5})?"  # road
    r"|[가-힣0-9]{1,20}(?:동|리|가)\s?\d{1,5}(?:-\d{1,5})?(?:번지)?)"  # jibun
    r"(?:,?\s?[가-힣A-Za-z0-9]{0,20}(?:아파트|빌라|빌딩|타워|오피스텔))?"
    r"(?:,?\s?\d{1,4}동)?(?:\s?\d{1,5}호)?"
)
_EN_ADDRESS = re.compile(
    r"(?<![\w])\d{1,6}\s(?:[A-Z][a-z]+\s){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace)\b\.?"
    r"(?:,?\s(?:Apt|Apartment|Suite|Unit|#)\.?\s?[A-Za-z0-9-]{1,6})?"
    r"(?:,\s[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2})?"
    r"(?:,\s[A-Z]{2}(?:\s\d{5}(?:-\d{4})?)?)?"
    r"(?:\s\d{5})?"
)
# An order number after its cue (the cue kept), or one that looks like one on its own.
_ORDER_CUED = re.compile(
    r"(?:주문\s?번호|주문|송장\s?번호|예약\s?번호|order\s?(?:number|no\.?|id|#)?|invoice|booking)"
    r"\s*(?:[:：#]|은|는|이|가)?\s*#?(?P<v>[A-Za-z0-9](?:[A-Za-z0-9-]{4,38})[A-Za-z0-9])(?![\w-])",
    re.IGNORECASE,
)
_ORDER_SHAPE = re.compile(
    r"(?<![\w-])(?:(?:ORD|ORDER|ODR|INV|SO)-?\d[\dA-Z-]{3,30}\d|#[A-Z]?\d{5,20})(?![\w-])"
)
_NAME_CUED_KO = re.compile(
    rf"(?:이름은|성함은|이름:|성함:)\s*(?P<v>{_KO_NAME}){_KO_NAME_AFTER}"
    rf"|(?:저는|상담원|담당자)\s*(?P<u>{_KO_NAME})(?=\s?(?:입니다|이에요|예요|이고|이라고|라고)|\s(?:고객|상담원|입니다))"
    rf"|(?<![가-힣])(?P<w>{_KO_NAME})(?=\s?(?:고객님|님|씨)(?![가-힣]))"
)
_NAME_CUED_EN = re.compile(
    rf"(?:[Mm]y name is|[Nn]ame:|[Tt]his is|I am|I'm|[Dd]ear|Mr\.?|Mrs\.?|Ms\.?|Dr\.?)\s+(?P<v>{_EN_WORD}(?:\s{_EN_WORD})?)"
)
# Words a cue may be followed by that are not names.
_NOT_NAMES = frozenset(
    {
        "고객", "상담원", "문의", "주문", "배송", "환불", "교환", "결제", "회원", "지금", "정말", "이번",
        "선생", "사장", "기사", "부장", "차장", "손님", "주인", "원장", "반장", "이사", "고객센", "상담사",
        "소담", "오늘", "내일", "확인", "감사", "안녕", "처음", "다시", "이미", "도움", "고객님", "여기",
        "Sodam", "Support", "Team", "The", "There", "That", "This", "It", "Is", "Not", "Sorry", "Just",
        "Thanks", "Thank", "Customer", "Here", "What", "Your", "Our", "Happy", "Glad", "Sure", "Still",
        "Really", "Very", "So", "Good", "Great", "Hello", "Hi", "Okay", "Ok",
    }
)  # fmt: skip

# Kind order: the first kind wins a contested span (an e-mail's digits are not a phone).
_PRIORITY = {"url": 0, "email": 1, "card": 2, "phone": 3, "known": 4, "address": 5, "order": 6, "name": 7}

_KO_STAND_INS = (
    "김가상",
    "이연습",
    "박모의",
    "최예시",
    "정샘플",
    "강훈련",
    "조시험",
    "윤가명",
    "장보기",
    "임예제",
)
_EN_STAND_INS = (
    "Alex Sample",
    "Sam Example",
    "Jamie Testing",
    "Casey Mockley",
    "Robin Practice",
    "Drew Placeholder",
)
_HANGUL = re.compile(r"[가-힣]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str  # a KINDS member, "url" (kept) or "known" (a known name's string)
    value: str

    @property
    def length(self) -> int:
        return self.end - self.start


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _phone_key(text: str) -> str:
    digits = _digits(text)
    if text.lstrip("(").startswith("+82"):
        rest = digits[2:]
        return rest if rest.startswith("0") else "0" + rest
    return ("+" if text.startswith("+") else "") + digits


def _key(kind: str, value: str) -> str:
    """The form two spellings of one original share."""
    if kind == "phone":
        return _phone_key(value)
    if kind == "card":
        return _digits(value)
    if kind == "email":
        return value.lower()
    if kind == "order":
        return value.upper().lstrip("#")
    return _SPACES.sub(" ", value.strip())


@dataclass
class Anonymiser:
    """One scenario's replacements: feed it the contact's known names, then its texts."""

    mapping: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, key) → stand-in
    _known: dict[str, str] = field(default_factory=dict)  # a known name's string → stand-in
    _counters: dict[str, int] = field(default_factory=dict)
    _known_re: re.Pattern | None = None

    # -- names ------------------------------------------------------------------------------
    def add_name(self, name: str | None) -> None:
        """A name to replace wherever it appears (the contact's, one found by a cue)."""
        name = _SPACES.sub(" ", (name or "").strip())
        if len(name) < 2 or name in self._known:
            return
        stand_in = self._stand_in("name", name)
        self._known[name] = stand_in
        parts, stand_parts = name.split(" "), stand_in.split(" ")
        if _HANGUL.search(name) and len(parts) == 1 and 3 <= len(name) <= 4:
            # 김민지 → 민지 (how Korean agents address a customer): the stand-in's given name
            given = name[2:] if name[:2] in ("남궁", "황보", "제갈", "선우", "독고") else name[1:]
            if len(given) >= 2 and given not in self._known:
                self._known[given] = stand_in[1:]
        elif len(parts) >= 2 and len(stand_parts) >= 2:
            for part, stand in ((parts[0], stand_parts[0]), (parts[-1], stand_parts[-1])):
                if len(part) >= 3 and part not in self._known and part not in _NOT_NAMES:
                    self._known[part] = stand
        self._known_re = None

    def learn(self, texts: Iterable[str]) -> None:
        """Collect the names mentioned with a cue anywhere in the scenario first, so that a
        later bare mention of the same name is replaced too."""
        for text in texts:
            for span in self._cued_names(text or ""):
                self.add_name(span.value)

    # -- text -------------------------------------------------------------------------------
    def text(self, text: str | None) -> str:
        """The text with every personal datum replaced by its stand-in."""
        if not text:
            return text or ""
        for span in self._cued_names(text):
            self.add_name(span.value)
        chosen = self._resolve(self._candidates(text))
        out, at = [], 0
        for span in chosen:
            out.append(text[at : span.start])
            out.append(span.value if span.kind == "url" else self._replace(span))
            at = span.end
        out.append(text[at:])
        return "".join(out)

    def _replace(self, span: _Span) -> str:
        if span.kind == "known":
            return self._known[span.value]
        if span.kind == "name":
            self.add_name(span.value)
            return self._known[_key("name", span.value)]
        return self._stand_in(span.kind, span.value)

    def _stand_in(self, kind: str, value: str) -> str:
        key = (kind, _key(kind, value))
        found = self.mapping.get(key)
        if found is not None:
            return found
        originals = {k for _kind, k in self.mapping}
        while True:
            n = self._counters.get(kind, 0) + 1
            self._counters[kind] = n
            candidate = self._make(kind, value, n)
            fresh = _key(kind, candidate) not in originals and _key(kind, candidate) != key[1]
            if fresh and candidate not in self._known:
                break
        self.mapping[key] = candidate
        return candidate

    @staticmethod
    def _make(kind: str, value: str, n: int) -> str:
        korean = bool(_HANGUL.search(value))
        if kind == "email":
            return f"customer{n}@example.com"
        if kind == "card":
            return f"0000-0000-0000-{n:04d}"
        if kind == "phone":
            key = _phone_key(value)
            if key.startswith("+"):
                return f"+1 555-000-{n:04d}"
            if key.startswith("01"):
                return f"010-0000-{n:04d}"
            if key.startswith("0"):
                return f"02-0000-{n:04d}"
            if len(key) == 8 and key.startswith("1"):
                return f"1500-{n:04d}"
            return f"+1 555-000-{n:04d}"
        if kind == "order":
            return f"TR-{n:06d}"
        if kind == "address":
            return f"서울특별시 가상구 연습로 {n}" if korean else f"{n} Sample Street, Testville"
        pool = _KO_STAND_INS if korean else _EN_STAND_INS
        if n <= len(pool):
            return pool[n - 1]
        return f"{pool[(n - 1) % len(pool)]}{n}" if korean else f"{pool[(n - 1) % len(pool)]} {n}"

    # -- finding ----------------------------------------------------------------------------
    def _cued_names(self, text: str) -> list[_Span]:
        spans = []
        for match in _NAME_CUED_KO.finditer(text):
            group = next(g for g in ("v", "u", "w") if match.group(g))
            value = match.group(group)
            if value not in _NOT_NAMES and value[:2] not in _NOT_NAMES:
                spans.append(_Span(match.start(group), match.end(group), "name", value))
        for match in _NAME_CUED_EN.finditer(text):
            words = [w for w in match.group("v").split(" ")]
            while words and words[-1] in _NOT_NAMES:
                words.pop()
            if words and words[0] not in _NOT_NAMES:
                value = " ".join(words)
                start = match.start("v")
                spans.append(_Span(start, start + len(value), "name", value))
        return spans

    def _known_pattern(self) -> re.Pattern | None:
        if not self._known:
            return None
        if self._known_re is None:
            names = sorted(self._known, key=len, reverse=True)
            alternatives = [
                re.escape(n) if _HANGUL.search(n) else rf"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])"
                for n in names
            ]
            self._known_re = re.compile("|".join(alternatives))
        return self._known_re

    def _candidates(self, text: str) -> list[_Span]:
        found: list[_Span] = []
        for kind, pattern in (
            ("url", _URL),
            ("email", _EMAIL),
            ("card", _CARD),
            ("phone", _PHONE),
            ("address", _KO_ADDRESS),
            ("address", _EN_ADDRESS),
            ("order", _ORDER_SHAPE),
        ):
            found.extend(_Span(m.start(), m.end(), kind, m.group(0)) for m in pattern.finditer(text))
        for match in _ORDER_CUED.finditer(text):
            value = match.group("v")
            if any(c.isdigit() for c in value):
                found.append(_Span(match.start("v"), match.end("v"), "order", value))
        known = self._known_pattern()
        if known is not None:
            found.extend(_Span(m.start(), m.end(), "known", m.group(0)) for m in known.finditer(text))
        found.extend(self._cued_names(text))
        return found

    @staticmethod
    def _resolve(spans: list[_Span]) -> list[_Span]:
        """Non-overlapping spans: by kind first, then the longer one."""
        chosen: list[_Span] = []
        for span in sorted(spans, key=lambda s: (_PRIORITY[s.kind], -s.length, s.start)):
            if all(span.end <= c.start or span.start >= c.end for c in chosen):
                chosen.append(span)
        return sorted(chosen, key=lambda s: s.start)


def anonymise(texts: list[str], *, names: Iterable[str | None] = ()) -> tuple[list[str], Anonymiser]:
    """Every text of one scenario anonymised with one set of stand-ins (and the anonymiser, whose
    `mapping` says what became what — keep it out of storage: it holds the originals)."""
    anonymiser = Anonymiser()
    for name in names:
        anonymiser.add_name(name)
    anonymiser.learn(texts)
    return [anonymiser.text(t) for t in texts], anonymiser
