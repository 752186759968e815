"""Text normalisation and tokenisation for Korean and English.

Customers type "배송기간얼마나걸려요", "환불해주세여 ㅠㅠ" and "REFUNDED???": every
feature (search, intents, sentiment) first goes through the same normalisation,
then Korean goes through kiwipiepy morphemes and English through a light stemmer,
and both get character n-grams so spacing and typo variants still share terms.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from sodam.nlp.customer_words import lexicon_terms
from sodam.nlp.customer_words_en import english_customer_query

__all__ = [
    "HANGUL_RE",
    "Tok",
    "analyse_batch",
    "asked_words",
    "char_ngrams",
    "customer_query",
    "english_tokens",
    "get_kiwi",
    "has_hangul",
    "morphemes",
    "morphemes_batch",
    "normalize",
    "stem",
    "tagged_morphemes",
    "tagged_morphemes_batch",
    "tokens",
]

HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
_JAMO_RUN = re.compile(r"[\u3131-\u318e]+")  # ㅋㅋ ㅎㅎ ㅠㅠ ㅜㅜ ㄷㄷ ㅇㅇ ...
_JAMO_REPEAT = re.compile(r"([\u3131-\u318e])\1{2,}")
_EMOTICON = re.compile(r"(\^[_\-.]?\^|[:;]-?[()dpDP]|[tT]_[tT]|[-=]_[-=]|o_o|>_<|ㅡ_ㅡ)")
_PUNCT_REPEAT = re.compile(r"([!?.~,\-_=*+#@^])\1+")
_TILDE = re.compile(r"~+")
_SPACE = re.compile(r"\s+")
_EN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)

# Content morphemes: nouns, verb/adjective stems, roots, adverbs (negation "안", "못"
# matters), foreign words, Chinese characters and numbers.
_CONTENT_TAGS = frozenset({"NNG", "NNP", "NR", "VV", "VA", "XR", "MAG", "SL", "SH", "SN"})

# NFKC turns the compatibility jamo people type ("ㅋ" U+314B) into conjoining jamo
# (U+110F); map them back so "ㅋㅋ"/"ㅠㅠ" stay recognisable (and Kiwi tags them SW).
_COMPAT_JAMO = {
    ord(unicodedata.normalize("NFKC", chr(c))): chr(c)
    for c in range(0x3131, 0x318F)
    if len(unicodedata.normalize("NFKC", chr(c))) == 1 and unicodedata.normalize("NFKC", chr(c)) != chr(c)
}

_kiwi = None
_kiwi_lock = threading.Lock()


def get_kiwi():
    """One Kiwi per process: loading its model takes about a second and ~100 MB."""
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                _kiwi = Kiwi()
    return _kiwi


def has_hangul(text: str) -> bool:
    return HANGUL_RE.search(text) is not None


def normalize(text: str, *, keep_emoticons: bool = False) -> str:
    """NFKC, lower case, one space, repeated punctuation folded.

    With keep_emoticons the "ㅋㅋㅋㅋ"/"ㅠㅠㅠ"/"^^" survive (shortened) because they
    carry sentiment; for search and intents they are noise and are dropped.
    """
    text = unicodedata.normalize("NFKC", text or "").lower().translate(_COMPAT_JAMO)
    if keep_emoticons:
        text = _JAMO_REPEAT.sub(r"\1\1", text)
    else:
        text = _EMOTICON.sub(" ", text)
        text = _JAMO_RUN.sub(" ", text)
        text = _TILDE.sub(" ", text)
    text = _PUNCT_REPEAT.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


# How Korean customers write what a help center spells out: chat endings (여/염/용 for 요),
# common misspellings, and the clipped words and loanwords of shopping and app support.
# Applied to a query before it is matched (lexically and by the encoders); articles keep
# their own wording.
_CHAT_ENDINGS = (
    # Only after the syllables chat endings follow (the 여 of 대여 or 참여 and the 염 of
    # 감염 stay).
    (re.compile(r"(?<=[나까해세데어아라져줘와봐돼되가래게네시지거서고워러])(?:여|염)(?=[?!.,\s]|$)"), "요"),
    (re.compile(r"됬"), "됐"),
    (re.compile(r"(?<=[가-힣])되요"), "돼요"),
    (re.compile(r"몇일"), "며칠"),
    (re.compile(r"(?<![가-힣])안되"), "안 되"),
    (re.compile(r"(?<![가-힣])않되"), "안 되"),
)
_CLIPPED_WORDS = {
    "비번": "비밀번호",
    "아뒤": "아이디",
    "로긴": "로그인",
    "현영": "현금영수증",
    "업뎃": "업데이트",
    "어플": "앱",
    "카톡": "카카오톡",
    "멤버쉽": "멤버십",
    "리펀드": "환불",
    "리펀": "환불",
    "캔슬": "취소",
    "솔드아웃": "품절",
    "딜리버리": "배송",
    "프리 트라이얼": "무료체험",
    "트라이얼": "무료체험",
    "택배비": "배송비",
    "결재": "결제",
    "환블": "환불",
    "반풍": "반품",
    "교한": "교환",
    "배숑": "배송",
    "할인코드": "할인 쿠폰 코드",
    "쿠폰코드": "쿠폰 코드",
    "계좌이체": "계좌 이체",
    "폰번호": "휴대폰 번호",
    "고딩": "고등학생",
    "중딩": "중학생",
    "대딩": "대학생",
    "초딩": "초등학생",
}
_CLIPPED_RE = re.compile("|".join(sorted(map(re.escape, _CLIPPED_WORDS), key=len, reverse=True)))
# What customers say for a help center's terms, added after the query (not replacing it):
# "돈 돌려받을 수 있어요?" is a refund question, "돌려보낼래요" a return.
_EXPANSIONS = (
    (
        re.compile(
            r"돈\s*(?:을|은|이)?\s*돌려|돌려\s*받|돈\s*(?:이|은)?\s*(?:언제\s*|아직\s*)*(?:안\s*)?들어"
            r"|(?:돈|금액)\s*(?:은|이)?\s*(?:언제\s*|아직\s*)*(?:안\s*)?돌아(?:오|와)"
        ),
        "환불",
    ),
    (re.compile(r"돌려\s*보내|반송|물리(?:고|래|려)|물릴|무르(?:고|려)"), "반품"),
    (re.compile(r"공짜"), "무료"),
    (re.compile(r"(?<![가-힣])맘에"), "마음에"),
    (re.compile(r"교혼|교횐|교황신청"), "교환"),
    (re.compile(r"어케|어캐|어떡게"), "어떻게"),
    # Loanwords and everyday words for help-center nouns (a base that uses the customer's own
    # word still matches it: these are added, not substituted).
    (re.compile(r"마일리지"), "적립금"),  # not 포인트: many bases call it that
    (re.compile(r"기프트"), "선물"),
    (re.compile(r"외국"), "해외"),
    (re.compile(r"푸시|푸쉬"), "알림"),
    (re.compile(r"버퍼링"), "끊김"),
    (re.compile(r"업그레이드|다운그레이드"), "변경"),
    (re.compile(r"다운로드|다운\s*받"), "저장"),
    (re.compile(r"(?i)otp"), "인증"),
    (re.compile(r"고장|구멍|찢어|찢겨|터져|터졌|얼룩|하자|흠집|스크래치"), "불량"),
    (re.compile(r"(?:사이즈|치수|색상|색깔|컬러)[^.?!]{0,20}바(?:꾸|꿀|꿔|꿨)"), "교환"),
    # General help-desk words across business types (2026-12-04, sixth pass; measured company by
    # company on the four dev companies, bench/README.md "Issue 11, sixth pass").
    (re.compile(r"(?:계정|아이디)\s*(?:을|를)?\s*(?:삭제|지우|지워|없애|없앨)"), "탈퇴"),
    (re.compile(r"할인권|프로모션\s*코드|바우처"), "쿠폰"),
    (re.compile(r"후기|별점|평점|상품평"), "리뷰"),
    (re.compile(r"경비\s*처리|비용\s*처리|전표|증빙\s*서류"), "영수증 증빙"),
    (re.compile(r"카드\s*(?:를|을|가)?\s*(?:바꾸|바꿨|바꿔|바뀌|바뀌었|재발급|새로)"), "결제수단 변경"),
    (
        re.compile(r"주소[^.?!]{0,12}(?:잘못|틀리|틀렸|틀린|바꾸|바꿀|바꿔|바뀌|고치|고칠)|동\s*호수"),
        "주소 변경",
    ),
    (re.compile(r"먹통|버벅|로딩|튕기|튕겨|튕김|안\s*열려|안\s*틀어|(?:검은|까만)\s*화면"), "오류"),
    (re.compile(r"홀딩|휴강|휴회|잠(?:깐|시)\s*(?:멈|중지|쉬)"), "일시정지"),
    (re.compile(r"동시\s*(?:재생|접속|시청|사용)"), "동시에 여러 기기"),
    (re.compile(r"재고\s*(?:가|이)?\s*(?:없|부족)"), "품절"),
    # stopping a recurring payment: "정기결제 그만하고 싶어요", "돈 안 나가게 해주세요"
    (
        re.compile(
            r"(?:결제|구독|멤버십)[^.?!]{0,10}(?:그만|끊|중단|멈추|멈춰)|(?:돈|결제)\s*(?:이|가)?\s*안\s*나가"
        ),
        "해지",
    ),
)


# A run of this many Hangul syllables with no space is several words typed together (Korean
# words — a noun with its particle, a verb with its endings — rarely reach 8 syllables):
# "어제주문했는데보통며칠이면받을수있나요". Kiwi spaces such a run; shorter runs are left as the
# customer typed them (Kiwi's spacing of a whole query also splits words it does not know,
# "환볼" -> "환 볼", and writes compounds together, which lowered the dev set's top-1).
UNSPACED_RUN = 8
_UNSPACED = re.compile(rf"[\uac00-\ud7a3]{{{UNSPACED_RUN},}}")


def _space_runs(text: str) -> str:
    if not _UNSPACED.search(text):
        return text
    kiwi = get_kiwi()
    return _UNSPACED.sub(lambda m: kiwi.space(m.group(0)), text)


ENGLISH_CUSTOMER_WORDS = True  # a bench may switch them off to compare


def customer_query(text: str, *, expand: bool = True) -> str:
    """A customer's question in help-center spelling (normalize(), chat endings and clipped
    words spelled out, long unspaced runs spaced): "비번 바꾸고 싶어여 ㅠㅠ" -> "비밀번호 바꾸고
    싶어요", "배송기간얼마나걸려요" -> "배송 기간 얼마나 걸려요". With expand, the help-center
    words customers' phrases stand for are added after it ("돈 돌려받을 수 있어요?" + "환불");
    without, the result is the expanded one's first words. A question without Hangul goes
    through the English counterpart (nlp.customer_words_en: "cant get into my acct" -> "can't
    get into my account" + "login")."""
    text = normalize(text)
    if not has_hangul(text):
        return english_customer_query(text, expand=expand) if ENGLISH_CUSTOMER_WORDS else text
    for pattern, replacement in _CHAT_ENDINGS:
        text = pattern.sub(replacement, text)
    text = _CLIPPED_RE.sub(lambda m: _CLIPPED_WORDS[m.group(0)], text)
    text = _space_runs(text)  # after the endings: Kiwi spaces "…걸려요" better than "…걸려여"
    if not expand:
        return _SPACE.sub(" ", text).strip()
    extra = [words for pattern, words in _EXPANSIONS if pattern.search(text) and words not in text]
    extra += [w for w in lexicon_terms(text) if not any(w in e for e in extra)]
    if extra:
        text = text + " " + " ".join(extra)
    return _SPACE.sub(" ", text).strip()


def stem(word: str) -> str:
    """A light English suffix stripper: refunds/refunded/refunding -> refund, charge/charged -> charg.

    Deliberately cruder than Porter: it only has to make inflections of one word
    meet, and it must be fast and predictable.
    """
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    elif w.endswith("ed") and len(w) > 4:
        w = w[:-2]
        if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def english_tokens(text: str, *, normalized: bool = False) -> list[str]:
    """Lower-cased, stemmed English word tokens (digits kept)."""
    if not normalized:
        text = normalize(text)
    return [stem(w) for w in _EN_WORD.findall(text)]


class Tok(NamedTuple):
    """One morpheme of Kiwi's analysis (what the callers read of kiwipiepy's Token)."""

    form: str
    tag: str


# Kiwi's analysis of the texts seen last, shared by the jobs that read the same new messages:
# the sentiment job scores a customer message within a second, the search indexer indexes it
# within ten, and each ran Kiwi over it (the two normalisations agree for text without
# emoticons). 8,192 texts (16 s at 500 msg/s), each kept as one string "form<US>tag<RS>..."
# (~3 MB for the bench's lines; as token objects it was 25 MB).
_ANALYSED_MAX = 8192
_ANALYSED_MAX_CHARS = 2000  # chat lines; a long mail body is not worth its memory here
_analysed: OrderedDict[str, str] = OrderedDict()
_analysed_lock = threading.Lock()
_US, _RS = "\x1f", "\x1e"


def _unpack(packed: str) -> tuple[Tok, ...]:
    return tuple(Tok(*item.split(_US, 1)) for item in packed.split(_RS)) if packed else ()


def analyse_batch(texts: Sequence[str]) -> list[tuple[Tok, ...]]:
    """Kiwi's tokens of each (already normalised) text; the ones not analysed lately as one batch."""
    out: list[tuple[Tok, ...] | None] = [None] * len(texts)
    missing: dict[str, list[int]] = {}
    with _analysed_lock:
        hits = {}
        for i, t in enumerate(texts):
            packed = _analysed.get(t)
            if packed is None:
                missing.setdefault(t, []).append(i)
            else:
                _analysed.move_to_end(t)
                hits[i] = packed
    for i, packed in hits.items():
        out[i] = _unpack(packed)
    if missing:
        fresh = list(missing)
        analysed = [tuple(Tok(x.form, x.tag) for x in toks) for toks in get_kiwi().tokenize(fresh)]
        with _analysed_lock:
            for t, toks in zip(fresh, analysed, strict=True):
                for i in missing[t]:
                    out[i] = toks
                if _US in t or _RS in t or len(t) > _ANALYSED_MAX_CHARS:  # separators: a form could hold one
                    continue
                _analysed[t] = _RS.join(f"{x.form}{_US}{x.tag}" for x in toks)
            while len(_analysed) > _ANALYSED_MAX:
                _analysed.popitem(last=False)
    return out  # type: ignore[return-value]


def _content(tokens: Iterable) -> list[str]:
    out = []
    for t in tokens:
        tag = t.tag.split("-", 1)[0]
        if tag in _CONTENT_TAGS:
            form = t.form.lower()
            out.append(stem(form) if tag == "SL" else form)
    return out


# What a question asks about: nouns (and foreign words, roots, numbers), verbs and adjectives —
# the content morphemes without adverbs ("언제", "안") and without the verbs and words any
# question uses whatever it asks ("되나요", "있나요", "어떻게 해요", "알려주세요", "가능한가요";
# an article writes most of them as suffixes or auxiliaries, 완료되면 and 확인해 주세요, which
# are not its content words).
_ASKED_TAGS = _CONTENT_TAGS - {"MAG"}
_GENERIC_WORDS = frozenset(
    {"하", "되", "있", "없", "않", "같", "싶", "주", "받", "보", "가", "오", "드리", "어떻", "알리", "가능"}
)


# The English counterpart, without a tagger: the words any question is built of whatever it
# asks — articles, pronouns, auxiliaries, prepositions, question words, the light verbs and the
# "how long / how much" frame ("How long does it take to get a reset link?" asks about a reset
# link) — as english_tokens() spells them.
_EN_FRAME_WORDS = frozenset(
    stem(w)
    for w in """a an the i me my mine we us our ours you your yours it its they them their this that
    these those there here is are was were be been being am do does did done doing have has had
    can could will would shall should may might must to of in on at for from by with about into
    as and or but if so than then too very just also not no any some how what when where why
    which who whom whose get gets got getting take takes took taking make makes made go goes went
    want wants need needs know let please help long much many""".split()
)


def topic_words(text: str) -> list[str]:
    """What a question asks about, as the ranking's word terms spell it: asked_words() for a
    Korean question; for another, its English words but the frame words (_EN_FRAME_WORDS)."""
    if has_hangul(normalize(text)):
        return asked_words(text)
    words = []
    for w in english_tokens(text):
        if "'" in w:  # "can't", "don't": the frame; "where's", "order's": the word before it
            if w.endswith("n't"):
                continue
            w = stem(w.split("'", 1)[0])
        if w and w not in _EN_FRAME_WORDS:
            words.append(w)
    return list(dict.fromkeys(words))


def asked_words(text: str) -> list[str]:
    """The distinct nouns, verbs and adjectives of a Korean question but the generic ones, as
    tokens() spells them (the decision's "missing" feature, nlp.ranking); [] without Hangul."""
    text = normalize(text)
    if not has_hangul(text):
        return []
    out = []
    for t in analyse_batch([text])[0]:
        tag = t.tag.split("-", 1)[0]
        if tag in _ASKED_TAGS:
            form = t.form.lower()
            form = stem(form) if tag == "SL" else form
            if form not in _GENERIC_WORDS:
                out.append(form)
    return list(dict.fromkeys(out))


def morphemes(text: str, *, normalized: bool = False) -> list[str]:
    """Korean content morphemes (kiwipiepy), English words inside stemmed.

    Kiwi segments unspaced input itself ("배송기간얼마나걸려요" -> 배송 기간 얼마나 걸리),
    so spacing errors mostly disappear here already.
    """
    if not normalized:
        text = normalize(text)
    if not text:
        return []
    return _content(get_kiwi().tokenize(text))


def morphemes_batch(texts: Iterable[str], *, normalized: bool = False) -> Iterator[list[str]]:
    """morphemes() over many texts; Kiwi spreads the batch over its worker threads."""
    texts = [t if normalized else normalize(t) for t in texts]
    for toks in analyse_batch(texts):
        yield _content(toks)


def tagged_morphemes(text: str) -> list[str]:
    """Every morpheme as "form/TAG" (endings included): sentiment needs "었/EP", "ㅠㅠ/SW"."""
    if not text:
        return []
    return [f"{t.form}/{t.tag}" for t in get_kiwi().tokenize(text)]


def tagged_morphemes_batch(texts: Iterable[str]) -> Iterator[list[str]]:
    """tagged_morphemes() over many texts, on Kiwi's worker threads."""
    for toks in analyse_batch(list(texts)):
        yield [f"{t.form}/{t.tag}" for t in toks]


def tokens(text: str, *, normalized: bool = False) -> list[str]:
    """Word-level terms for any text: morphemes when it has Hangul, stemmed words otherwise."""
    if not normalized:
        text = normalize(text)
    if has_hangul(text):
        return morphemes(text, normalized=True)
    return english_tokens(text, normalized=True)


def char_ngrams(text: str, n_min: int = 2, n_max: int = 4, *, normalized: bool = False) -> list[str]:
    """Character n-grams over the text with spaces and punctuation removed.

    "배송기간" and "배송 기간" give the same n-grams; "주세여" still shares "주세" with "주세요".
    """
    if not normalized:
        text = normalize(text)
    s = _NOT_WORD.sub("", text)
    out = []
    for n in range(n_min, n_max + 1):
        out.extend(s[i : i + n] for i in range(len(s) - n + 1))
    if not out and s:
        out.append(s)
    return out
