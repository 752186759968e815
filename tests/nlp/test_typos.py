"""Customers' typos of the knowledge base's own words are corrected; real words are not."""

from __future__ import annotations

from sodam.nlp.ranking import Document, LexicalIndex
from sodam.nlp.typos import TypoFixer, jamo

KB_WORDS = ["환불", "탈퇴", "쿠폰", "배송", "교환", "취소", "지원", "해외", "마이", "페이", "주소", "재고"]


def test_one_jamo_typos_of_the_bases_words_are_corrected():
    fixer = TypoFixer(KB_WORDS)
    assert fixer.fix("환볼 언제되나요") == "환불 언제되나요"  # vowel
    assert fixer.fix("환뷸 규정 알려주세요") == "환불 규정 알려주세요"
    assert fixer.fix("탈뢰 어디서해요") == "탈퇴 어디서해요"  # lead consonant
    assert fixer.fix("받은 쿠퐁 어디서 확인해요") == "받은 쿠폰 어디서 확인해요"  # final consonant
    assert fixer.fix("배숑 얼마나 걸려요") == "배송 얼마나 걸려요"


def test_real_words_near_the_bases_words_stay():
    fixer = TypoFixer(KB_WORDS)
    for text in (
        "어떻게 해요",  # 해요 is one jamo from 해외
        "직원분 계세요?",  # 직원 / 지원
        "아이디 까먹음",  # 아이 / 마이
        "네이버페이로 결제 가능해요?",  # 네이 / 페이
        "상세페이지 실측이랑 재보니까 좀 다른데",  # 재보 / 재고
        "배송주소에 동호수를 틀리게 적었어요",
        "오늘 날씨 어때요",
    ):
        assert fixer.fix(text) == text, text


def test_an_ambiguous_typo_is_left_alone_and_an_empty_base_changes_nothing():
    # 관불 is one jamo from both 환불 and 관물: no single right word (with 환불 alone it is fixed).
    assert TypoFixer(["환불"]).fix("관불 해주세요") == "환불 해주세요"
    assert TypoFixer(["환불", "관물"]).fix("관불 해주세요") == "관불 해주세요"
    assert TypoFixer([]).fix("환볼 언제되나요") == "환볼 언제되나요"
    assert jamo("환불") != jamo("환볼") and len(jamo("환불")) == 6


def test_the_index_corrects_with_its_own_vocabulary_and_follows_new_articles():
    idx = LexicalIndex()
    idx.add_many([Document("1", "환불은 언제 되나요?", "환불은 결제 수단으로 3영업일 안에 처리됩니다.")])
    assert idx.fix_typos("환볼 언제되나요") == "환불 언제되나요"
    assert idx.fix_typos("탈뢰 어디서해요") == "탈뢰 어디서해요"  # no 탈퇴 in the base yet
    idx.add_many([Document("2", "회원 탈퇴는 어떻게 하나요?", "마이페이지에서 회원 탈퇴를 누르세요.")])
    assert idx.fix_typos("탈뢰 어디서해요") == "탈퇴 어디서해요"
    assert idx.query(idx.fix_typos("탈뢰 어디서해요"), 1).hits[0].doc_id == "2"


def test_english_typos_of_the_bases_words_are_corrected_and_short_or_known_words_stay():
    from sodam.nlp.text import stem

    fixer = TypoFixer([stem(w) for w in ("receive", "download", "password", "delivered", "plan", "planet")])
    # a letter added, dropped, changed or two neighbours swapped: the base's word, as it spells it
    assert fixer.fix("how do i downlaod all my notes") == "how do i download all my notes"
    assert fixer.fix("forgot my pasword, pls help") == "forgot my password, pls help"
    assert fixer.fix("recieved the wrong one") == f"{stem('receive')} the wrong one"
    assert fixer.fix("delivred but not here") == f"{stem('delivered')} but not here"
    # the base's own words, short words ("plane" is not a typo of "plan") and far words stay
    assert fixer.fix("received it, can i use it on a plane") == "received it, can i use it on a plane"
    assert fixer.fix("refnd pls") == "refnd pls"
    assert fixer.fix("how do i change a flat tire") == "how do i change a flat tire"
    # two of the base's words one edit away: ambiguous, left alone
    assert TypoFixer(["planet"]).fix("planeg") == "planet"
    assert TypoFixer(["planet", "planed"]).fix("planeg") == "planeg"


def test_the_index_corrects_english_typos_with_its_own_vocabulary():
    idx = LexicalIndex()
    idx.add(Document("export", "Exporting your notes", "Download all your notes as Markdown from Settings."))
    assert idx.customer_question("how do i downlaod my notes")[0] == "how do i download my notes"
