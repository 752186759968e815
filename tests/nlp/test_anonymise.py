"""The training sandbox's anonymiser (nlp/anonymise.py), as properties over generated Korean and
English personal data embedded in sentences: no original survives, one original has one
stand-in everywhere in a scenario (whichever way a phone number is written), and the words
around it are kept exactly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sodam.nlp.anonymise import anonymise

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민지서준호은현수빈우린유진윤아영태혁"
EN_FIRST = ["John", "Emily", "Michael", "Sarah", "David", "Olivia", "Daniel", "Grace", "Hannah"]
EN_LAST = ["Smith", "Johnson", "Brown", "Miller", "Wilson", "Taylor", "Parker", "Cooper"]
FILLERS = [
    "배송 관련해서 문의드려요.",
    "확인 부탁드립니다.",
    "환불 처리가 늦어지고 있어요.",
    "지금 바로 확인해 드리겠습니다.",
    "Thanks for your help.",
    "Could you check this please?",
    "The parcel has not arrived yet.",
    "불편을 드려 죄송합니다.",
]
digits = st.integers(min_value=0, max_value=9)


def block(n: int):
    """n digits, never all zeros (the stand-ins' reserved blocks)."""
    return st.text("0123456789", min_size=n, max_size=n).filter(lambda s: s.strip("0"))


ko_name = st.builds(lambda s, g: s + g, st.sampled_from(SURNAMES), st.text(GIVEN, min_size=2, max_size=2))
en_name = st.builds(lambda f, last: f"{f} {last}", st.sampled_from(EN_FIRST), st.sampled_from(EN_LAST))
email = st.builds(
    lambda local, n, domain: f"{local}{n}@{domain}",
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10),
    st.integers(1, 999),
    st.sampled_from(["gmail.com", "naver.com", "daum.net", "kakao.com", "mail.co.kr"]),
)


@st.composite
def ko_mobile(draw):
    """(one spelling, another spelling of the same number)."""
    mid, last = draw(block(4)), draw(block(4))
    spellings = [
        f"010-{mid}-{last}",
        f"010{mid}{last}",
        f"010 {mid} {last}",
        f"+82 10 {mid} {last}",
        f"+82-10-{mid}-{last}",
    ]
    first = draw(st.sampled_from(spellings))
    return first, draw(st.sampled_from(spellings))


landline = st.one_of(
    st.builds(lambda a, b: f"02-{a}-{b}", block(4), block(4)),
    st.builds(lambda a, b: f"031-{a}-{b}", block(3), block(4)),
    st.builds(lambda a, b: f"(051) {a}-{b}", block(3), block(4)),
)
international = st.one_of(
    st.builds(lambda b: f"+1 415-555-{b}", block(4)),
    st.builds(lambda a, b: f"+44 20 {a} {b}", block(4), block(4)),
    st.builds(lambda a, b: f"+81 3-{a}-{b}", block(4), block(4)),
)
card = st.builds(
    lambda a, b, c, d, sep: sep.join([a, b, c, d]),
    block(4),
    block(4),
    block(4),
    block(4),
    st.sampled_from(["-", " ", ""]),
)
order = st.one_of(
    st.builds(lambda n: f"ORD-2024{n}", block(6)),
    st.builds(lambda n: f"A{n}", block(7)),
    st.builds(lambda n: n, block(12)),
)
ko_address = st.builds(
    lambda region, road, n, unit: f"{region} {road} {n}{unit}",
    st.sampled_from(["서울특별시 강남구", "부산광역시 해운대구", "경기도 성남시 분당구", "서울 마포구"]),
    st.sampled_from(["테헤란로", "판교역로", "월드컵북로", "센텀중앙로", "봉은사로 12길"]),
    st.integers(1, 999),
    st.sampled_from(["", " 101동 1203호", ", 5층"]),
)
jibun_address = st.builds(
    lambda region, dong, a, b: f"{region} {dong} {a}-{b}",
    st.sampled_from(["서울특별시 강남구", "서울시 마포구", "경기도 성남시 분당구"]),
    st.sampled_from(["역삼동", "합정동", "정자동"]),
    st.integers(1, 999),
    st.integers(1, 99),
)
en_address = st.builds(
    lambda n, street, kind, city: f"{n} {street} {kind}, {city}",
    st.integers(1, 9999),
    st.sampled_from(["Baker", "Main", "Maple", "Sunset", "Elm Park"]),
    st.sampled_from(["Street", "Avenue", "Road", "Lane"]),
    st.sampled_from(["Springfield", "London", "San Francisco"]),
)

# Sentences around each kind: (prefix, suffix) pairs, Korean and English, the PII in between.
AROUND = {
    "name": [("제 이름은 ", "입니다."), ("", " 고객님, 문의 감사합니다."), ("", "님 안녕하세요")],
    "en_name": [("My name is ", "."), ("Hello, this is ", " speaking."), ("Dear ", ", thank you.")],
    "phone": [("제 번호는 ", "입니다."), ("", "로 연락 주세요."), ("Call me at ", " please.")],
    "email": [("이메일은 ", " 입니다."), ("Send it to ", ", thanks."), ("", "로 보내 주세요")],
    "card": [("카드번호 ", " 결제 취소해 주세요."), ("My card ", " was charged twice.")],
    "order": [("주문번호 ", " 확인 부탁드려요."), ("Order number ", " has not shipped."), ("주문번호: ", "")],
    "address": [("배송지는 ", "입니다."), ("주소: ", " 로 보내 주세요."), ("I live at ", ".")],
    "en_address": [("Ship it to ", " please."), ("My address is ", ".")],
}


@st.composite
def scenario(draw):
    """(contact name, [(sentence, original, prefix, suffix, group)], fillers)."""
    contact = draw(st.one_of(ko_name, en_name))
    items: list[tuple[str, str, str]] = []  # (group, first spelling, second spelling)
    for kind, strategy in (
        ("name", ko_name),
        ("en_name", en_name),
        ("email", email),
        ("card", card),
        ("order", order),
        ("address", st.one_of(ko_address, jibun_address)),
        ("en_address", en_address),
    ):
        for value in draw(st.lists(strategy, min_size=0, max_size=2, unique=True)):
            items.append((kind, value, value))
    for first, second in draw(st.lists(ko_mobile(), max_size=2, unique_by=lambda p: p[0][-4:])):
        items.append(("phone", first, second))
    for value in draw(st.lists(st.one_of(landline, international), max_size=2, unique=True)):
        items.append(("phone", value, value))
    sentences = []
    for group, first, second in items:
        around = AROUND[group]
        a, b = draw(st.sampled_from(around)), draw(st.sampled_from(around))
        sentences.append((a[0] + first + a[1], first, a[0], a[1], group))
        sentences.append((b[0] + second + b[1], second, b[0], b[1], group))
    # the contact's name, also bare and (Korean) by the given name alone
    sentences.append((f"{contact} 고객님 안녕하세요", contact, "", " 고객님 안녕하세요", "contact"))
    fillers = draw(st.lists(st.sampled_from(FILLERS), min_size=1, max_size=4))
    order_ = draw(st.permutations(range(len(sentences))))
    return contact, [sentences[i] for i in order_], fillers


def _unique_originals(sentences) -> set[str]:
    return {s[1] for s in sentences}


@FAST
@given(scenario())
def test_no_original_survives_each_has_one_stand_in_and_the_rest_is_kept(data):
    contact, sentences, fillers = data
    texts = [s[0] for s in sentences] + fillers
    out, _anonymiser = anonymise(texts, names=[contact])
    joined = "\n".join(out)
    originals = _unique_originals(sentences) | {contact}
    for original in originals:
        assert original not in joined, (original, joined)
    # Non-PII text kept exactly: the fillers whole, and the words around each datum.
    assert out[len(sentences) :] == fillers
    stand_ins: dict[str, set[str]] = {}
    for (_text, original, prefix, suffix, _group), result in zip(
        sentences, out[: len(sentences)], strict=True
    ):
        assert result.startswith(prefix) and result.endswith(suffix), (prefix, suffix, result)
        stand_in = result[len(prefix) : len(result) - len(suffix)]
        assert stand_in and stand_in != original
        key = _canonical(original)
        stand_ins.setdefault(key, set()).add(stand_in)
    # One original (however spelled) → one stand-in everywhere in the scenario.
    assert all(len(found) == 1 for found in stand_ins.values()), stand_ins
    # Two different originals never share a stand-in.
    flat = [next(iter(v)) for v in stand_ins.values()]
    assert len(flat) == len(set(flat)), stand_ins


def _canonical(value: str) -> str:
    if value.startswith("+82"):
        return "0" + "".join(c for c in value[3:] if c.isdigit())
    if any(c.isdigit() for c in value) and not any(c.isalpha() for c in value):
        return "".join(c for c in value if c.isdigit())
    return value


def test_known_examples_korean_and_english():
    texts = [
        "안녕하세요, 제 이름은 김민지입니다. 010-1234-5678로 연락 주세요.",
        "주문번호 2024120512345 배송지는 서울특별시 강남구 테헤란로 123, 101동 1203호예요.",
        "민지 고객님, +82 10 1234 5678 번호 확인했습니다. 카드 1234-5678-9012-3456 취소됩니다.",
        "My name is John Smith, I live at 221 Baker Street, London. Call +44 20 7946 0958.",
        "도움말: https://sodam.example/help/ws-abc/articles/12 참고하세요. 서울시 마포구 합정동 123-45",
    ]
    out, _ = anonymise(texts, names=["김민지"])
    joined = "\n".join(out)
    for original in (
        "김민지", "민지", "010-1234-5678", "2024120512345", "테헤란로 123", "+82 10 1234 5678",
        "1234-5678-9012-3456", "John Smith", "221 Baker Street", "+44 20 7946 0958", "합정동 123-45",
    ):  # fmt: skip
        assert original not in joined, original
    assert out[0] == "안녕하세요, 제 이름은 김가상입니다. 010-0000-0001로 연락 주세요."
    assert "가상 고객님, 010-0000-0001 번호" in out[2]  # the given name and the +82 spelling
    assert "https://sodam.example/help/ws-abc/articles/12 참고하세요." in out[4]  # links kept


def test_plain_text_is_untouched():
    plain = [
        "혹시 내일로 3개 가능한가요? 정도 차이 7일",
        "배송은 보통 2~3일 걸립니다. 환불은 3-5영업일입니다.",
        "Your refund takes 3-5 business days; order again any time.",
        "선생님 감사합니다",
    ]
    out, anonymiser = anonymise(plain)
    assert out == plain and anonymiser.mapping == {}
