import pytest

from sodam.nlp.intent import IntentClassifier, choose_threshold

TRAIN = {
    "refund": ["환불해 주세요", "환불 받고 싶어요", "돈 돌려주세요", "환불 신청은 어디서 하나요", "I want a refund", "refund my order please", "give me my money back", "how do I get refunded"],
    "shipping": ["배송 언제 와요", "배송 기간이 얼마나 걸리나요", "택배 어디쯤 왔나요", "주문한 물건이 안 와요", "where is my package", "when will my order arrive", "track my delivery", "shipping takes how long"],
    "password": ["비밀번호를 잊어버렸어요", "비번 변경하고 싶어요", "로그인이 안 돼요", "비밀번호 재설정 방법", "I forgot my password", "reset my password", "can't log in to my account", "change my password"],
}  # fmt: skip


@pytest.fixture(scope="module")
def clf():
    texts = [t for ts in TRAIN.values() for t in ts]
    labels = [lab for lab, ts in TRAIN.items() for _ in ts]
    val = [
        "환불 가능한가요",
        "택배 언제 도착해요",
        "password reset please",
        "오늘 날씨 어때요",
        "tell me a joke",
        "주식 추천해 줘",
    ]
    val_labels = ["refund", "shipping", "password", None, None, None]
    return IntentClassifier(use_embeddings=False).fit(texts, labels, val_texts=val, val_labels=val_labels)


def test_in_scope(clf):
    assert clf.predict("환불해주세여")[0] == "refund"
    assert clf.predict("배송기간 얼마나 걸려요?")[0] == "shipping"
    assert clf.predict("forgot password")[0] == "password"


def test_out_of_scope_is_rejected(clf):
    for text in (
        "play some jazz music",
        "book a flight to Busan",
        "축구 경기 결과 알려줘",
        "점심 메뉴 골라 줘",
    ):
        label, conf = clf.predict(text)
        assert label is None and 0 <= conf <= 1, text


def test_save_and_load(clf, tmp_path):
    path = tmp_path / "intent.joblib"
    clf.save(path)
    again = IntentClassifier.load(path)
    assert again.predict("환불 받고 싶어요") == clf.predict("환불 받고 싶어요")


def test_holdout_without_validation():
    texts = [t for ts in TRAIN.values() for t in ts]
    labels = [lab for lab, ts in TRAIN.items() for _ in ts]
    clf = IntentClassifier(use_embeddings=False).fit(texts, labels, holdout=0.25)
    assert clf.predict("refund please")[0] == "refund"


def test_choose_threshold_balances_both_errors():
    import numpy as np

    p_in = np.array([0.9, 0.8, 0.7, 0.6])
    ok = np.array([True, True, True, False])
    p_oos = np.array([0.3, 0.5, 0.65])
    t = choose_threshold(p_in, ok, p_oos)
    assert 0.65 < t <= 0.7


def test_threshold_for_a_minimum_out_of_scope_recall():
    import numpy as np

    from sodam.nlp.intent import _threshold_for_recall

    p_in = np.array([0.9, 0.8, 0.7, 0.35, 0.31])
    correct = np.array([True, True, False, True, True])
    p_oos = np.array([0.1, 0.2, 0.4, 0.6])
    # Rejecting half of the out-of-scope messages needs a threshold between 0.2 and 0.4.
    t, acc = _threshold_for_recall(p_in, correct, p_oos, 0.5)
    assert 0.2 < t <= 0.4 and (p_oos < t).mean() >= 0.5
    assert acc == pytest.approx(4 / 5)  # 0.35 and 0.31 are kept
    t, acc = _threshold_for_recall(p_in, correct, p_oos, 0.75)
    assert 0.4 < t <= 0.6 and acc == pytest.approx(2 / 5)


def test_min_oos_recall_is_met_on_validation():
    texts = [t for ts in TRAIN.values() for t in ts]
    labels = [lab for lab, ts in TRAIN.items() for _ in ts]
    val = [
        "환불 가능한가요",
        "택배 언제 도착해요",
        "password reset please",
        "오늘 날씨 어때요",
        "tell me a joke",
    ]
    clf = IntentClassifier(use_embeddings=False, min_oos_recall=1.0).fit(
        texts, labels, val_texts=val, val_labels=["refund", "shipping", "password", None, None]
    )
    assert [clf.predict(t)[0] for t in val[3:]] == [None, None]


def test_fine_tuned_top_layers(tmp_path):
    """With the `embeddings` extra: fine-tuned MiniLM layers join the average and survive save/load."""
    from sodam.nlp import embeddings

    if not (embeddings.available() and embeddings.resolve_model_path()):
        pytest.skip("the embeddings extra is not installed")
    texts = [t for ts in TRAIN.values() for t in ts]
    labels = [lab for lab, ts in TRAIN.items() for _ in ts]
    clf = IntentClassifier(use_embeddings=True, tune_layers=1, tune_epochs=3).fit(texts, labels, holdout=0.25)
    assert clf._p.tuner is not None and clf._p.tuner.top is not None
    p = clf.predict_proba(["환불해 주세요", "where is my package"])
    assert p.shape == (2, 3) and abs(p.sum(1) - 1).max() < 1e-5
    assert clf.predict("refund my order please")[0] == "refund"
    path = tmp_path / "intent.joblib"
    clf.save(path)
    again = IntentClassifier.load(path)
    assert again.predict_proba(["track my delivery"]) == pytest.approx(
        clf.predict_proba(["track my delivery"])
    )


def test_two_intents():
    """sklearn's LinearSVC gives one score column for two classes: predict must still work."""
    texts = [t for lab in ("refund", "shipping") for t in TRAIN[lab]]
    labels = [lab for lab in ("refund", "shipping") for _ in TRAIN[lab]]
    clf = IntentClassifier(use_embeddings=False).fit(texts, labels, holdout=0.25)
    assert clf.predict_proba(["환불해 주세요"]).shape == (1, 2)
    assert clf.predict("refund my order please")[0] == "refund"
