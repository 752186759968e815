import os
from pathlib import Path

import pytest

from sodam.nlp.sentiment import KoreanSentimentModel, SentimentScorer, lexicon_score_en, lexicon_score_ko

POS = [
    "정말 친절하게 도와주셔서 감사합니다", "빠른 답변 최고예요", "문제가 바로 해결됐어요 고마워요", "너무 만족스러워요",
    "서비스가 훌륭하네요", "배송이 빨라서 좋았어요", "상담원분이 친절해요", "추천하고 싶어요 정말 좋아요",
    "완벽하게 처리해 주셨네요", "덕분에 편하게 썼어요", "좋은 하루 되세요 감사해요", "대박 좋아요 ㅋㅋ",
    "기대 이상이에요", "다음에도 또 이용할게요", "깔끔하고 좋네요", "역시 믿고 씁니다",
]  # fmt: skip
NEG = [
    "최악이에요 다시는 안 써요", "환불해 주세요 너무 실망했어요", "배송이 너무 느려요 짜증나요", "불친절해서 화나요",
    "아직도 해결이 안 됐어요 ㅠㅠ", "돈 아까워요", "제품이 고장났어요 불량이에요", "답답해서 미치겠어요",
    "몇 번을 말해야 하나요 어이없네요", "연락도 없고 별로예요", "정말 실망스럽네요", "다시는 주문 안 합니다",
    "엉망이에요", "사기 당한 기분이에요", "후회합니다", "기다리다 지쳤어요 ㅠㅠ",
]  # fmt: skip


def test_english_lexicon_direction_and_negation():
    assert lexicon_score_en("Thanks, that was really helpful!") > 0.2
    assert lexicon_score_en("This is terrible, I want a refund") < -0.2
    assert lexicon_score_en("not good at all") < 0
    assert lexicon_score_en("The order number is 12345") == 0


def test_korean_lexicon_direction():
    assert lexicon_score_ko("친절하게 도와주셔서 감사합니다") > 0.2
    assert lexicon_score_ko("최악이에요 ㅠㅠ 환불해 주세요") < -0.2
    assert lexicon_score_ko("별로 좋지 않아요") < 0


def test_tiny_korean_model_and_scorer(tmp_path):
    model = KoreanSentimentModel(weights=None, holdout=0.25).fit(POS + NEG, [1] * len(POS) + [0] * len(NEG))
    p = model.predict_proba(["친절하고 빨라서 감사합니다", "너무 느리고 불친절해서 최악"])
    assert p[0] > 0.5 > p[1]
    path = tmp_path / "sentiment_ko.joblib"
    model.save(path)
    scorer = SentimentScorer(path)
    pos = scorer.score("정말 친절하게 해결해 주셔서 감사해요")
    neg = scorer.score("배송이 느려서 짜증나요 환불해 주세요")
    assert (pos.language, pos.source) == ("ko", "model")
    assert pos.score > neg.score and pos.label != "negative" and neg.label != "positive"
    en = scorer.score("You guys are awesome, thank you!")
    assert (en.language, en.label, en.source) == ("en", "positive", "lexicon")


def test_scorer_without_model_uses_lexicon(tmp_path):
    scorer = SentimentScorer(tmp_path / "missing.joblib")
    s = scorer.score("감사합니다 최고예요")
    assert s.source == "lexicon" and s.label == "positive"
    assert scorer.score("the app keeps crashing, awful").label == "negative"


@pytest.mark.slow
def test_nsmc_model_direction():
    """Trains on NSMC train (minutes): only with SODAM_SLOW_TESTS=1."""
    from sodam.nlp.sentiment import read_nsmc

    data = Path(os.environ.get("SODAM_DATASETS", Path(__file__).resolve().parents[3] / "shared" / "datasets"))
    texts, labels = read_nsmc(data / "nsmc" / "ratings_train.txt")
    model = KoreanSentimentModel().fit(texts[:30000], labels[:30000])
    p = model.predict_proba(["정말 재밌고 감동적인 영화", "시간 아깝다 최악의 영화"])
    assert p[0] > 0.5 > p[1]


def test_the_batch_lexicon_scores_equal_one_text_at_a_time_and_share_kiwis_analysis():
    """score_many analyses the Korean texts as one Kiwi batch, kept for the search indexer
    (nlp.text.analyse_batch): the scores must be those of score() text by text, and a text
    analysed once is not analysed again."""
    from sodam.nlp import text as nlp_text
    from sodam.nlp.sentiment import SentimentScorer

    scorer = SentimentScorer(model_path=None)
    texts = [
        "배송이 너무 늦어요 최악이에요 ㅠㅠ",
        "정말 감사합니다 덕분에 해결됐어요",
        "좋지 않아요",
        "thanks a lot!",
        "",
    ]
    assert scorer.score_many(texts) == [scorer.score(t) for t in texts]
    plain = nlp_text.normalize("환불 신청은 어디에서 할 수 있나요? 고유번호 7731")
    (first,) = nlp_text.analyse_batch([plain])
    assert [(t.form, t.tag) for t in nlp_text.get_kiwi().tokenize(plain)] == list(first)
    (again,) = nlp_text.analyse_batch([plain])
    assert again == first


def test_analysed_texts_holding_the_separators_are_analysed_again_not_misread():
    from sodam.nlp import text as nlp_text

    odd = "배송\x1e언제\x1f와요"
    (first,) = nlp_text.analyse_batch([odd])
    (again,) = nlp_text.analyse_batch([odd])
    assert list(first) == list(again) == [(t.form, t.tag) for t in nlp_text.get_kiwi().tokenize(odd)]


def test_long_texts_are_analysed_but_not_kept():
    from sodam.nlp import text as nlp_text

    long_mail = "주문한 상품이 아직 도착하지 않았습니다. " * 200  # a mail body, not a chat line
    (toks,) = nlp_text.analyse_batch([long_mail])
    assert toks and toks[0].form == "주문"
    assert long_mail not in nlp_text._analysed
    short = "배송 언제 와요 고유번호 5521"
    nlp_text.analyse_batch([short])
    assert short in nlp_text._analysed
