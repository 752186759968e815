import time

import pytest

from sodam.nlp.ranking import Document, LexicalIndex

KB = [
    Document(
        "shipping",
        "배송 기간은 얼마나 걸리나요?",
        "주문 후 보통 2~3일 안에 받으실 수 있습니다.",
        ("배송 언제 와요", "택배 도착 예정일"),
    ),
    Document(
        "refund",
        "환불은 어떻게 하나요?",
        "마이페이지 > 주문 내역에서 환불을 신청해 주세요.",
        ("환불해 주세요", "돈 돌려받고 싶어요"),
    ),
    Document(
        "password",
        "비밀번호를 잊어버렸어요",
        "로그인 화면에서 비밀번호 재설정을 눌러 주세요.",
        ("비번 변경",),
    ),
    Document("plans", "요금제는 어떤 것이 있나요?", "무료, 프로, 엔터프라이즈 요금제가 있습니다.", ()),
    Document(
        "en-refund",
        "How do I get a refund?",
        "Open your orders and choose Request refund.",
        ("I want my money back",),
    ),
    Document(
        "en-card", "My card was declined", "Check the card details or contact your bank.", ("payment failed",)
    ),
]


@pytest.fixture(scope="module")
def index():
    idx = LexicalIndex()
    idx.add_many(KB)
    return idx


@pytest.mark.parametrize(
    "query", ["배송기간 얼마나 걸려요?", "배송 기간이 얼마나 걸리나요", "배송기간얼마나걸려요"]
)
def test_spacing_variants_rank_the_same_article_first(index, query):
    assert index.search(query, 3)[0][0] == "shipping"


@pytest.mark.parametrize("query", ["환불해주세여", "환불해 주세요", "환불 하고싶어요ㅠㅠ"])
def test_typo_and_ending_variants(index, query):
    assert index.search(query, 3)[0][0] == "refund"


def test_english_queries(index):
    assert index.search("refunding my order", 3)[0][0] == "en-refund"
    assert index.search("card got DECLINED!!", 3)[0][0] == "en-card"


def test_confidence_separates_on_and_off_topic(index):
    on = index.query("배송기간 얼마나 걸려요?")
    off = index.query("오늘 점심 메뉴 추천해 주세요")
    assert on.confidence.coverage > off.confidence.coverage
    assert on.confidence.decision() == "answer"
    assert off.confidence.decision() == "handoff"
    assert index.query("").hits == []


def test_update_and_remove(index):
    idx = LexicalIndex()
    idx.add_many(KB)
    idx.add(Document("plans", "쿠폰은 어디서 쓰나요?", "결제 화면에서 쿠폰을 선택하세요."))
    assert idx.search("쿠폰 사용", 1)[0][0] == "plans"
    assert all(d != "plans" for d, _ in idx.search("요금제 종류", 3))
    assert idx.remove("refund") and not idx.remove("refund")
    assert all(d != "refund" for d, _ in idx.search("환불해 주세요", 5))
    idx.compact()
    assert idx.search("배송기간얼마나걸려요", 1)[0][0] == "shipping"
    assert len(idx) == len(KB) - 1


def test_many_articles_stay_fast():
    """Incremental adds over the compaction threshold, then queries in a few ms."""
    idx = LexicalIndex()
    words = [
        "배송",
        "환불",
        "결제",
        "쿠폰",
        "회원",
        "비밀번호",
        "주문",
        "취소",
        "교환",
        "포인트",
        "요금",
        "계정",
    ]
    for i in range(1200):
        a, b = words[i % 12], words[(i * 7 + 3) % 12]
        idx.add(Document(f"d{i}", f"{a} {b} 문의 {i}번", f"{a}와 {b}에 관한 안내 {i}"))
    assert idx.search("환불 결제 문의 1번", 1)[0][0] in {f"d{i}" for i in range(1200)}
    start = time.perf_counter()
    for _ in range(50):
        idx.search("쿠폰 취소 어떻게 해요", 5)
    assert (time.perf_counter() - start) / 50 < 0.05


def _vec(*xs):
    import numpy as np

    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_sentence_vectors_are_fused_with_the_lexical_ranking():
    import numpy as np

    from sodam.nlp.ranking import Document

    money, other = _vec(1.0, 0.1), _vec(0.1, 1.0)
    docs = [
        Document(
            d.id,
            d.title,
            d.body,
            d.alternate_questions,
            {"e5q": np.stack([money if "refund" in d.id else other])},
        )
        for d in KB
    ]
    idx = LexicalIndex()
    idx.add_many(docs)
    assert idx.has_vectors
    result = idx.query("money please", 5, {"e5q": money})
    assert result.hits[0].doc_id in {"refund", "en-refund"}
    assert result.confidence.mode == "fused" and result.hits[0].dense == pytest.approx(1.0)
    idx.remove("en-refund")
    assert "en-refund" not in [h.doc_id for h in idx.query("money please", 5, {"e5q": money}).hits]
    # Without a query vector the same index ranks lexically.
    assert idx.query("money please", 5).confidence.mode == "lexical"


# Questions on one topic that ask different things (paraKQC-like): the off-topic query
# shares the topic words ("농협카드 청구서 메일") with an article but asks something else.
SAME_TOPIC = [
    Document("nh-open", "농협카드 청구서 메일 어떻게 열어?"),
    Document("bill-which", "농협카드랑 신한카드 중 메일로 청구서를 보내주는 곳은?"),
    Document("shinhan", "신한카드 청구서를 메일로 받는 방법"),
    Document("mailbox", "메일함 정리는 어떻게 해?"),
    Document("card-lost", "카드를 잃어버렸어요"),
    Document("spam", "스팸 메일 차단하는 방법"),
]


@pytest.fixture(scope="module")
def topical():
    idx = LexicalIndex()
    idx.add_many([*KB, *SAME_TOPIC])
    return idx


def test_match_is_two_way(topical):
    same = topical.query("농협카드 청구서 메일 어떻게 열어?").hits[0]
    assert same.doc_id == "nh-open" and same.match == pytest.approx(1.0)
    paraphrase = topical.query("농협카드 청구서 메일은 어떻게 열어요?").hits[0]
    other = topical.query("농협카드 청구서는 메일로 보내지 마세요").hits[0]
    assert 0.0 < other.match < paraphrase.match < 1.0


def test_same_topic_other_question_hands_off(topical):
    # It shares most of its words with two articles; before the two-way match it was
    # offered them as choices.
    assert topical.query("농협카드 청구서는 메일로 보내지 마세요").confidence.decision() == "handoff"
    for query, article in [
        ("농협카드 청구서 메일 여는 법 알려줘", "nh-open"),
        ("신한카드 청구서 메일로 받으려면?", "shinhan"),
    ]:
        result = topical.query(query)
        assert result.hits[0].doc_id == article and result.confidence.decision() == "answer"


def test_alternate_question_paraphrase_answers(index):
    # "택배 도착 예정일" is an alternate question of "shipping": a short paraphrase of it is
    # answered (it was only offered as a choice before).
    result = index.query("택배 언제 도착해요")
    assert result.hits[0].doc_id == "shipping" and result.confidence.decision() == "answer"


def test_fused_bm25_reads_a_word_split_by_a_stray_space():
    import numpy as np

    from sodam.nlp.terms import analyze, joined_word_terms

    query = "결 제 했는데 취소 되나요"
    extra = joined_word_terms(query, analyze(query))
    assert "w:결제" in extra
    assert joined_word_terms("결제", analyze("결제")) == []
    # only when the ranking is the fused one: the lexical decision reads the query as typed
    from sodam.nlp.ranking import Document, LexicalIndex

    idx = LexicalIndex()
    idx.add_many(
        [Document("a", "결제 취소", "결제를 취소하는 방법", vectors={"e5q": np.eye(4, dtype=np.float32)[:1]})]
    )
    assert idx.query(query, 1, {"e5q": np.eye(4, dtype=np.float32)[0]}).hits[0].doc_id == "a"


def test_missing_is_the_share_of_the_asked_words_an_article_lacks():
    """The decision's "missing" feature: the idf-weighted share of the customer's nouns, verbs
    and adjectives (generic ones and adverbs left out) the article holds neither as a word nor
    inside its text. A question that uses the business's words but asks for something no
    article has lacks more of them in the best article than a paraphrase of a right one."""
    idx = LexicalIndex()
    idx.add_many(
        [
            Document(
                "lecture",
                "강의 구매와 수강 시작",
                "결제가 끝나면 내 강의실에서 바로 수강을 시작하실 수 있습니다.",
            ),
            Document("teacher", "강사에게 질문하기", "강의 화면 아래 질문 게시판에 글을 남겨 주세요."),
            Document("refund", "환불 규정", "수강 시작 후 7일 이내에는 전액 환불됩니다."),
        ]
    )
    slot = {doc_id: idx._slot[doc_id] for doc_id in ("lecture", "teacher", "refund")}
    assert idx._missing("강의 구매 어떻게 해요")(slot["lecture"]) == {"missing": 0.0}
    # 강사 is in "teacher"; 지원 (apply) is in no article: the largest share of the question's idf
    sell = idx._missing("강사로 지원하고 싶어요")(slot["teacher"])["missing"]
    assert 0.5 < sell < 1.0
    assert idx._missing("제 강의도 올려서 팔 수 있나요")(slot["lecture"])["missing"] > 0.5
    # held inside the article's text, though not as its own morpheme: "환불" in "환불됩니다"
    assert idx._missing("환불 돼요?")(slot["refund"]) == {"missing": 0.0}
    # generic words and adverbs only: nothing asked, nothing missing
    assert idx._missing("언제 돼요?")(slot["refund"]) == {"missing": 0.0}
    # English: its words but the frame words ("can", "my"); none of them is in a Korean article
    assert idx._missing("can I sell my course")(slot["lecture"]) == {"missing": 1.0}
    # document frequencies follow updates and removals
    before = idx._missing("지원 강사")(slot["teacher"])["missing"]
    idx.remove("refund")
    idx.add(Document("teacher", "강사에게 질문하기", "강사 지원은 채용 페이지에서 받습니다."))
    assert idx._missing("지원 강사")(idx._slot["teacher"])["missing"] == 0.0 < before
    assert idx._doc_df[idx._vocab["w:환불"]] == 0


def test_the_fused_decision_reads_the_asked_words_not_the_expansions():
    """customer_question: the ranked query carries the customer-word expansions, what was asked
    does not; the fused hits' decision features hold "missing" for the asked words, and the
    ranking does not depend on it."""
    import numpy as np

    from sodam.nlp import fusion, ranking

    idx = LexicalIndex()
    v = {"refund": _vec(1.0, 0.1), "other": _vec(0.1, 1.0)}
    idx.add_many(
        [
            Document(
                "refund",
                "환불 규정",
                "환불은 7일 이내 신청하실 수 있습니다.",
                (),
                {"e5q": np.stack([v["refund"]])},
            ),
            Document("ship", "배송 기간", "보통 2일 걸립니다.", (), {"e5q": np.stack([v["other"]])}),
        ]
    )
    query, asked = idx.customer_question("돈 돌려받을 수 있어여?")
    assert query == "돈 돌려받을 수 있어요? 환불" and asked == "돈 돌려받을 수 있어요?"
    seen = []
    inner = ranking.fuse

    def recording(*args):
        seen.append(inner(*args))
        return seen[-1]

    ranking.fuse = recording
    try:
        with_asked = idx.query(query, 2, {"e5q": v["refund"]}, asked=asked)
        read_query = idx.query(query, 2, {"e5q": v["refund"]})
    finally:
        ranking.fuse = inner
    assert [h.doc_id for h in with_asked.hits] == [h.doc_id for h in read_query.hits] == ["refund", "ship"]
    assert seen[0].features[0]["missing"] == 1.0  # 돈, 돌려받: not in the article
    assert seen[1].features[0]["missing"] < 1.0  # the expansion 환불 is
    assert with_asked.hits[0].score == pytest.approx(fusion.answer_probability(seen[0].features[0]))
    assert with_asked.hits[0].score < read_query.hits[0].score  # DECISION_WEIGHTS["missing"] < 0


def test_the_asked_words_are_read_while_the_encoders_still_run(monkeypatch):
    """The decision's reading of the asked words (a Kiwi analysis) happens before the query
    waits for its vectors, so it overlaps the encoding instead of following it."""
    import numpy as np

    from sodam.nlp import ranking

    idx = LexicalIndex()
    idx.add_many(
        [
            Document(
                "refund",
                "환불 규정",
                "환불은 7일 이내 신청하실 수 있습니다.",
                (),
                {"e5q": np.stack([_vec(1.0, 0.1)])},
            ),
            Document("ship", "배송 기간", "보통 2일 걸립니다.", (), {"e5q": np.stack([_vec(0.1, 1.0)])}),
        ]
    )
    order = []
    inner = ranking.topic_words

    def reading(text):
        order.append("asked words")
        return inner(text)

    def wait_for_vectors():
        order.append("vectors")
        return {"e5q": _vec(1.0, 0.1)}

    monkeypatch.setattr(ranking, "topic_words", reading)
    result = idx.query("환불 받을 수 있나요", 2, wait_for_vectors, asked="환불 받을 수 있나요")
    assert result.hits[0].doc_id == "refund" and result.hits[0].dense > 0.9
    assert order == ["asked words", "vectors"]


def test_a_bulk_build_ranks_as_one_built_article_by_article():
    """A base's first load adds its articles in one batch that skips the postings' delta and
    compacts once; the same articles added a few at a time (through the delta) must rank alike,
    and an article changed afterwards must be found through the delta again."""
    import random

    from sodam.nlp import ranking

    words = "배송 환불 교환 비밀번호 적립금 쿠폰 회원 탈퇴 결제 취소 주소 영수증".split()
    rnd = random.Random(7)
    docs = [
        Document(
            f"d{i}",
            " ".join(rnd.sample(words, 3)) + " 문의",
            " ".join(rnd.sample(words, 5)) + " 안내입니다.",
            (" ".join(rnd.sample(words, 2)) + " 어떻게 하나요",),
        )
        for i in range(ranking.BULK_DOCS + 40)
    ]
    bulk, piecewise = LexicalIndex(), LexicalIndex()
    bulk.add_many(docs)
    for start in range(0, len(docs), 25):
        piecewise.add_many(docs[start : start + 25])
    for query in ("배송 언제 와요", "환불 취소 하고 싶어요", "쿠폰 적립금", "회원 탈퇴 방법"):
        got, want = bulk.query(query, 10), piecewise.query(query, 10)
        assert [h.doc_id for h in got.hits] == [h.doc_id for h in want.hits]
        assert [h.score for h in got.hits] == pytest.approx([h.score for h in want.hits])
    bulk.add(Document("d0", "선물 포장 문의", "선물 포장은 무료입니다.", ()))
    assert bulk.query("선물 포장", 3).hits[0].doc_id == "d0"


def test_a_fused_hit_says_how_much_of_the_questions_topic_it_lacks():
    """SearchHit.lacks, what the bot reads of a second article after a "no": two English
    articles that share the question's frame ("How long does … take") but only one its topic."""
    import numpy as np

    idx = LexicalIndex()
    idx.add_many(
        [
            Document(
                "ship",
                "How long does shipping take?",
                "Orders arrive in 2-3 business days.",
                (),
                {"e5q": np.stack([_vec(1.0, 0.2)])},
            ),
            Document(
                "reset",
                "How do I reset my password?",
                "Choose 'Forgot password' and we e-mail you a reset link.",
                (),
                {"e5q": np.stack([_vec(0.9, 0.3)])},
            ),
        ]
    )
    hits = idx.query("How long does it take to get a reset link?", 2, {"e5q": _vec(1.0, 0.25)}).hits
    lacks = {h.doc_id: h.lacks for h in hits}
    assert lacks == {"ship": 1.0, "reset": 0.0}
    # Korean: the decision's "missing"
    ko = LexicalIndex()
    ko.add_many(
        [
            Document(
                "wrap", "선물 포장", "선물 포장은 2,000원입니다.", (), {"e5q": np.stack([_vec(1.0, 0.1)])}
            ),
            Document("ship", "배송 기간", "보통 2일 걸립니다.", (), {"e5q": np.stack([_vec(0.1, 1.0)])}),
        ]
    )
    ko_lacks = {h.doc_id: h.lacks for h in ko.query("선물 포장 비용", 2, {"e5q": _vec(1.0, 0.1)}).hits}
    assert ko_lacks["wrap"] == ko._missing("선물 포장 비용")(ko._slot["wrap"])["missing"]
    assert 0.0 < ko_lacks["wrap"] < ko_lacks["ship"] == 1.0  # 비용 is in no article
    # lexical ranking: not computed
    assert all(h.lacks == 0.0 for h in idx.query("reset link", 2).hits)


def test_a_question_is_prepared_once_until_the_vocabulary_grows(monkeypatch):
    """The bot prepares a question when it starts encoding it and again when it ranks it: the
    second time is the first one's answer, until an article brings new words (typo fixes
    read the vocabulary)."""
    from sodam.nlp import ranking

    calls = []
    real = ranking.customer_query
    monkeypatch.setattr(ranking, "customer_query", lambda text, **kw: calls.append(text) or real(text, **kw))
    idx = LexicalIndex()
    idx.add(Document("refund", "환불 규정", "수강 시작 후 7일 이내에는 전액 환불됩니다."))
    first = idx.customer_question("환볼 언제 돼요")
    assert first[0].startswith("환불")  # the base's own word, typo fixed
    assert idx.customer_question("환볼 언제 돼요") == first
    assert len(calls) == 2  # one preparation: with and without the expansions
    idx.add(Document("exchange", "교환 신청", "마이페이지에서 교환을 신청하실 수 있습니다."))
    assert idx.customer_question("환볼 언제 돼요") == first
    assert len(calls) == 4  # prepared again against the grown vocabulary
